// The control API under /_fake/, for a test or demo in another process than the fake's (e2e, the standalone
// process). Every route maps onto one method of the in-process API, so the two cannot drift apart.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeAws } from '../fake-aws.js';
import type { DenialSpec } from './denials.js';
import type { FaultSpec, FaultTarget } from './faults.js';
import { normaliseRoles, type RoleSpec } from './roles.js';
import { sendJson } from './wire.js';

type Route = (input: Record<string, unknown>, query: URLSearchParams, rest: string) => unknown;

export function createControl(fake: FakeAws) {
  const routes: Record<string, Route> = {
    'GET state': () => ({ url: fake.url, now: fake.now(), settings: fake.state, faults: fake.faults.list(), counts: fake.counts() }),
    'POST settings': (input) => applySettings(fake, input),
    'POST faults': (input) => {
      const { target = 'all', ...spec } = input as unknown as { target?: FaultTarget } & FaultSpec;
      fake.faults.set(target, spec);
      return fake.faults.list();
    },
    'DELETE faults': (_input, query) => {
      fake.faults.clear((query.get('target') ?? undefined) as FaultTarget | undefined);
      return fake.faults.list();
    },
    'GET denials': () => fake.denials.list(),
    'POST denials': (input) => {
      fake.denials.add(input as unknown as DenialSpec);
      return fake.denials.list();
    },
    'DELETE denials': () => {
      fake.denials.clear();
      return fake.denials.list();
    },
    'GET calls': (_input, query) => fake.calls(query.get('key') ?? undefined),
    'DELETE calls': () => fake.resetCalls(),
    'GET ecr-passwords': () => fake.validEcrPasswords(),
    'GET ecr-tokens': () => fake.validEcrTokens(),
    'POST tokens': (input) => ({ token: fake.signToken(input as { sub: string }) }),
    'POST credentials': (input) => fake.issueCredentials(input as { roleArn: string }),
    'GET keys': (_input, _query, akid) => ({ accessKeyId: akid, status: fake.isValidKey(akid) }),
    'POST clock': (input) => {
      fake.advanceClock(Number(input.advanceSeconds ?? 0));
      return { now: fake.now() };
    },
  };

  return async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, , name = '', ...rest] = url.pathname.split('/');
    const route = routes[`${req.method} ${name}`];
    if (!route) return sendJson(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
    try {
      const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      sendJson(res, 200, route(input, url.searchParams, decodeURIComponent(rest.join('/'))) ?? { ok: true });
    } catch (error) {
      sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  };
}

function applySettings(fake: FakeAws, input: Record<string, unknown>) {
  for (const name of ['stsLifetimeSeconds', 'ecrTokenLifetimeSeconds', 'latencyMs'] as const) {
    if (input[name] === undefined) continue;
    const value = Number(input[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
    fake.state[name] = value;
  }
  if (input.roles !== undefined) fake.state.roles = normaliseRoles(input.roles as Array<string | RoleSpec> | undefined);
  if (typeof input.audience === 'string') fake.state.audience = input.audience;
  if (input.podIdentityAssociations !== undefined) fake.state.podIdentityAssociations = { ...(input.podIdentityAssociations as Record<string, string>) };
  return fake.state;
}
