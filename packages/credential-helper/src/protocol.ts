/**
 * The docker-credential-helpers protocol exactly as docker-credential-ecr-login v0.12.0 speaks it: one verb in
 * argv, input on stdin, everything (errors too) on stdout, exit 1 on any error. This layer knows no HTTP and no SDK.
 */
import { DeadlineError, withDeadline, type Logger } from '@ecr-proxy/core';
import type { TokenCache } from './cache.js';
import type { FetchToken } from './ecr-token.js';
import { getCredentials } from './get-credentials.js';

export const NAME = 'docker-credential-ecr-login';
export const PACKAGE = 'github.com/awslabs/amazon-ecr-credential-helper/ecr-login';
export const VERSION = '0.12.0';
export const NOT_FOUND = 'credentials not found in native keychain';
export const USAGE = `Usage: ${NAME} <store|get|erase|list|version>`;

export interface ProtocolDeps {
  readStdin: () => Promise<string>;
  cache: TokenCache;
  fetchToken: FetchToken;
  identity: string | (() => Promise<string>);
  allowedRegistries: readonly string[];
  ignoreCredsStorage: boolean;
  timeoutMs: number;
  log: Logger;
  now?: () => number;
  /** Called once the request is read, with the deadline in ms: the wiring arms its last-resort exit from there. */
  onDeadlineStart?: (ms: number) => void;
}

export interface Outcome {
  stdout: string;
  stderr?: string;
  exitCode: 0 | 1 | 2;
}

const fail = (message: string): Outcome => ({ stdout: `${message}\n`, exitCode: 1 });
const versionLine = `${NAME} (${PACKAGE}) ${VERSION}\n`;

/** Go's json encoder escapes these; doing the same keeps our output byte-identical to the reference. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export async function runProtocol(args: readonly string[], deps: ProtocolDeps): Promise<Outcome> {
  // The reference parses Go flags before the verb: -v prints a banner, -h the flag usage, anything else is exit 2.
  if (args[0]?.startsWith('-')) return flag(args[0]);
  if (args.length !== 1) return fail(USAGE);
  switch (args[0]) {
    case 'get':
      return get(deps);
    case 'store':
      return store(deps);
    case 'erase':
      return erase(deps);
    case 'list':
      return list(deps);
    case 'version':
      return { stdout: versionLine, exitCode: 0 };
    default:
      return fail(`${NAME}: unknown action: ${args[0]}`);
  }
}

const FLAG_USAGE = `Usage of ${NAME}:\n  -v\tprint version and exit\n`;

function flag(arg: string): Outcome {
  const name = arg.replace(/^--?/, '').split('=')[0];
  if (name === 'v') return { stdout: `amazon-ecr-credential-helper\nVersion:    ${VERSION}\nGit commit: \n`, exitCode: 0 };
  if (name === 'h' || name === 'help') return { stdout: '', stderr: FLAG_USAGE, exitCode: 0 };
  return { stdout: '', stderr: `flag provided but not defined: -${name}\n${FLAG_USAGE}`, exitCode: 2 };
}

/** Go's json.Decoder messages for the inputs a caller can actually get wrong. */
function decodeJson(text: string): { value: Record<string, unknown> } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { error: 'EOF' };
  if (!/^[{["\-0-9tfn]/.test(trimmed)) return { error: `invalid character '${trimmed[0]}' looking for beginning of value` };
  try {
    const value = JSON.parse(trimmed) as unknown;
    return { value: typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {} };
  } catch {
    return { error: 'unexpected EOF' };
  }
}

/** Nothing is ever stored; the input is still checked as docker-credential-helpers checks it. */
async function store(deps: ProtocolDeps): Promise<Outcome> {
  const decoded = decodeJson(await deps.readStdin());
  if ('error' in decoded) return fail(decoded.error);
  if (!decoded.value.ServerURL) return fail('no credentials server URL');
  if (!decoded.value.Username) return fail('no credentials username');
  return deps.ignoreCredsStorage ? { stdout: '', exitCode: 0 } : fail('not implemented');
}

async function erase(deps: ProtocolDeps): Promise<Outcome> {
  if ((await deps.readStdin()).trim() === '') return fail('no credentials server URL');
  return deps.ignoreCredsStorage ? { stdout: '', exitCode: 0 } : fail('not implemented');
}

async function get(deps: ProtocolDeps): Promise<Outcome> {
  const serverUrl = (await deps.readStdin()).trim();
  if (serverUrl === '') return fail('no credentials server URL');
  deps.onDeadlineStart?.(deps.timeoutMs);
  // The AWS call gets 80% of the budget, so a failed refresh still leaves time to serve a valid cached token; the
  // cache write after it gets until 90%: a token in hand is answered even when the cache lock is contended.
  const fetchBudget = Math.max(1, Math.floor(deps.timeoutMs * 0.8));
  const writeBudget = Math.max(1, Math.floor(deps.timeoutMs * 0.9));
  try {
    const result = await withDeadline(deps.timeoutMs, 'get', (signal) =>
      getCredentials(
        serverUrl,
        { ...deps, allowed: deps.allowedRegistries },
        AbortSignal.any([signal, AbortSignal.timeout(fetchBudget)]),
        AbortSignal.any([signal, AbortSignal.timeout(writeBudget)]),
      ),
    );
    if (!result.ok) {
      deps.log.info('credentials not found', { serverUrl, reason: result.reason });
      return fail(NOT_FOUND);
    }
    deps.log.debug('credentials found', { serverUrl, source: result.source });
    const { username, password } = result.credentials;
    return { stdout: `${goJson({ ServerURL: serverUrl, Username: username, Secret: password })}\n`, exitCode: 0 };
  } catch (err) {
    const reason = err instanceof DeadlineError ? err.message : `unexpected error: ${(err as Error).message}`;
    deps.log.error('credentials not found', { serverUrl, reason });
    return fail(NOT_FOUND);
  }
}

async function list(deps: ProtocolDeps): Promise<Outcome> {
  const entries = await deps.cache.list().catch(() => []);
  const endpoints = [...new Set(entries.map((e) => e.ProxyEndpoint))].sort();
  return { stdout: `${goJson(Object.fromEntries(endpoints.map((e) => [e, 'AWS'])))}\n`, exitCode: 0 };
}
