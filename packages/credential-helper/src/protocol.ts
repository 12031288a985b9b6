/**
 * The docker-credential-helpers protocol exactly as docker-credential-ecr-login v0.12.0 speaks it: one verb in
 * argv, input on stdin, everything (errors too) on stdout, exit 1 on any error. This layer knows no HTTP and no SDK.
 */
import { DeadlineError, redactUserinfo, withDeadline, type Logger } from '@ecr-proxy/core';
import type { TokenCache } from './cache.js';
import type { FetchToken } from './ecr-token.js';
import type { EcrRegistry } from './registry-host.js';
import type { RunOutcome } from './run-log.js';
import { getCredentials } from './get-credentials.js';
import { cachedPairs, listCredentials, type ListAws } from './list.js';
import { goJsonObject, goJsonString, goTrimSpace, scanLinesJoined } from './go-text.js';

export const NAME = 'docker-credential-ecr-login';
export const PACKAGE = 'github.com/awslabs/amazon-ecr-credential-helper/ecr-login';
export const VERSION = '0.12.0';
export const NOT_FOUND = 'credentials not found in native keychain';
export const USAGE = `Usage: ${NAME} <store|get|erase|list|version>`;

export interface ProtocolDeps {
  /** All of stdin; a string is taken as its UTF-8 bytes. */
  readStdin: () => Promise<Buffer | string>;
  cache: TokenCache;
  fetchToken: FetchToken;
  identity: string | ((registry: EcrRegistry) => Promise<string>);
  allowedRegistries: readonly string[];
  ignoreCredsStorage: boolean;
  timeoutMs: number;
  log: Logger;
  now?: () => number;
  /** Called once the request is read, with the deadline in ms: the wiring arms its last-resort exit from there. */
  onDeadlineStart?: (ms: number) => void;
  /** For `list`: its extra AWS calls, the default region, and whether the cache is enabled at all. */
  list: { aws: ListAws; region: string | undefined; cacheEnabled: boolean };
  /** Told each `get`'s outcome once, before it answers (run-log.ts); must not throw. */
  recordRun?: (outcome: RunOutcome) => void;
}

export interface Outcome {
  stdout: string;
  stderr?: string;
  exitCode: 0 | 1 | 2;
}

const fail = (message: string): Outcome => ({ stdout: `${message}\n`, exitCode: 1 });
const versionLine = `${NAME} (${PACKAGE}) ${VERSION}\n`;


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
  const input = await deps.readStdin();
  const scanned = scanLinesJoined(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  if (!scanned.ok) return fail(scanned.error);
  const decoded = decodeJson(scanned.bytes.toString('utf8'));
  if ('error' in decoded) return fail(decoded.error);
  if (!decoded.value.ServerURL) return fail('no credentials server URL');
  if (!decoded.value.Username) return fail('no credentials username');
  return deps.ignoreCredsStorage ? { stdout: '', exitCode: 0 } : fail('not implemented');
}

async function erase(deps: ProtocolDeps): Promise<Outcome> {
  const input = await serverUrlFrom(deps);
  if ('error' in input) return fail(input.error);
  return deps.ignoreCredsStorage ? { stdout: '', exitCode: 0 } : fail('not implemented');
}

/**
 * The server URL as docker-credential-helpers reads it: lines joined, then trimmed (go-text.ts). `text` has one
 * code unit per byte (latin1), which is what the host grammar needs; `bytes` is echoed back as Go would.
 */
async function serverUrlFrom(deps: ProtocolDeps): Promise<{ bytes: Buffer; text: string } | { error: string }> {
  const input = await deps.readStdin();
  const scanned = scanLinesJoined(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  if (!scanned.ok) return { error: scanned.error };
  const bytes = goTrimSpace(scanned.bytes);
  if (bytes.length === 0) return { error: 'no credentials server URL' };
  return { bytes, text: bytes.toString('latin1') };
}

const FAILURE_OUTCOME = { not_ecr_host: 'not_ecr_host', not_allowed: 'not_allowed', identity: 'identity', ecr: 'ecr_error' } as const;
const SUCCESS_OUTCOME = { cache: 'cache', ecr: 'ecr', 'stale-cache': 'stale_cache' } as const;

async function get(deps: ProtocolDeps): Promise<Outcome> {
  const record = deps.recordRun ?? (() => {});
  const input = await serverUrlFrom(deps);
  if ('error' in input) {
    record('bad_input');
    return fail(input.error);
  }
  const serverUrl = input.text;
  // A server URL may carry user info (`https://user:password@host`): never logged (the reference logs it verbatim).
  const logged = redactUserinfo(input.bytes.toString('utf8'));
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
      record(FAILURE_OUTCOME[result.kind]);
      deps.log.info('credentials not found', { serverUrl: logged, reason: result.reason });
      return fail(NOT_FOUND);
    }
    record(SUCCESS_OUTCOME[result.source]);
    deps.log.debug('credentials found', { serverUrl: logged, source: result.source });
    const { username, password } = result.credentials;
    const json = `{"ServerURL":${goJsonString(input.bytes)},"Username":${goJsonString(Buffer.from(username))},"Secret":${goJsonString(Buffer.from(password))}}`;
    return { stdout: `${json}\n`, exitCode: 0 };
  } catch (err) {
    const reason = err instanceof DeadlineError ? err.message : `unexpected error: ${(err as Error).message}`;
    record(err instanceof DeadlineError ? 'deadline' : 'error');
    deps.log.error('credentials not found', { serverUrl: logged, reason });
    return fail(NOT_FOUND);
  }
}

/** Always exit 0, as the reference: a failed call only means fewer entries. The calls share the helper's deadline. */
async function list(deps: ProtocolDeps): Promise<Outcome> {
  const listDeps = { ...deps, ...deps.list, cache: deps.list.cacheEnabled ? deps.cache : undefined };
  let pairs: Array<[string, Buffer]>;
  try {
    pairs = await withDeadline(deps.timeoutMs, 'list', (signal) => listCredentials(listDeps, signal));
  } catch (err) {
    deps.log.warn('list: priming the cache did not finish; listing what it holds', { reason: (err as Error).message });
    pairs = listDeps.cache ? await cachedPairs(listDeps.cache) : [];
  }
  // A Go map: one entry per endpoint; the encoder sorts the keys.
  return { stdout: `${goJsonObject([...new Map(pairs)], { sortKeys: true })}\n`, exitCode: 0 };
}
