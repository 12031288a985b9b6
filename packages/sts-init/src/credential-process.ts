/**
 * The `credential_process` of the written profile: prints the stored credentials in the process-credentials format
 * with an `Expiration` earlier than the real one by the margin, so the SDK (Go v1 in the registry) asks again early
 * and never signs a 20-minute presigned URL with credentials about to expire. No network call.
 */
import { checkDurationBounds, ConfigError, DeadlineError, durationFrom, expiryProblem, oneLine, parseDuration, parseFlags, withDeadline, type Env } from '@ecr-proxy/core';
import { readCredentials, type StoredCredentials } from './credentials-file.js';

export const DEFAULT_MARGIN_MS = 25 * 60_000;
/** credential-process reads one local file; if that takes longer, the file is stuck (a FIFO, a hung mount). */
export const CREDENTIAL_PROCESS_TIMEOUT_MS = 5000;
const MARGIN_BOUNDS = { minMs: 100, maxMs: 43_200_000 };

export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

/**
 * The Expiration to report. When the margin would put it in the past, report a moment just ahead, so the SDK uses
 * these still-valid credentials briefly and asks again soon (the refresher should have replaced them by then).
 */
export function reportedExpiration(creds: StoredCredentials, marginMs: number, now: number): Date {
  const real = Date.parse(creds.Expiration);
  const early = real - marginMs;
  if (early > now) return new Date(early);
  return new Date(Math.min(real, now + 60_000));
}

export function toProcessCredentials(creds: StoredCredentials, marginMs: number, now: number): ProcessCredentials {
  return {
    Version: 1,
    AccessKeyId: creds.AccessKeyId,
    SecretAccessKey: creds.SecretAccessKey,
    SessionToken: creds.SessionToken,
    Expiration: reportedExpiration(creds, marginMs, now).toISOString(),
  };
}

export interface CredentialProcessConfig {
  dir: string;
  marginMs: number;
  timeoutMs: number;
}

export function credentialProcessConfig(argv: readonly string[], env: Env): CredentialProcessConfig {
  const flags = parseFlags(argv, ['dir', 'margin']);
  const dir = flags.get('dir') ?? env.CREDENTIALS_DIR;
  if (!dir) throw new ConfigError('no credentials directory; pass --dir or set CREDENTIALS_DIR');
  const margin = flags.get('margin');
  const marginMs = margin
    ? checkDurationBounds(parseDuration(margin, '--margin'), margin, '--margin', MARGIN_BOUNDS)
    : durationFrom(env, 'CREDENTIALS_MARGIN', DEFAULT_MARGIN_MS, MARGIN_BOUNDS);
  return { dir, marginMs, timeoutMs: CREDENTIAL_PROCESS_TIMEOUT_MS };
}

/**
 * Prints JSON on success; on failure a one-line error on stderr (the SDK shows it) and exit 1 (2 for a bad flag or
 * env). Reading credentials.json has a deadline (CREDENTIAL_PROCESS_TIMEOUT_MS): a blocked file is a failure, not a
 * hang of the registry's SDK.
 */
export async function credentialProcessMain(argv: readonly string[], env: Env, now = Date.now()): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let config: CredentialProcessConfig;
  try {
    config = credentialProcessConfig(argv, env);
  } catch (err) {
    return { stdout: '', stderr: `credential-process: ${oneLine((err as Error).message)}\n`, exitCode: err instanceof ConfigError ? 2 : 1 };
  }
  try {
    const creds = await withDeadline(config.timeoutMs, `reading the credentials in ${config.dir}`, () => readCredentials(config.dir));
    // The same expiry sanity as where the credentials arrive: an expiry further than STS can issue (a year-9999 or
    // +5-day value someone wrote) would be cached by the registry's SDK "until then" and never asked again.
    const problem = expiryProblem(Date.parse(creds.Expiration), now, { marginMs: 0 });
    if (problem === 'expired' || problem === 'invalid') {
      return { stdout: '', stderr: `credential-process: the credentials in ${config.dir} expired at ${creds.Expiration}; is cred-refresher running?\n`, exitCode: 1 };
    }
    if (problem) {
      return { stdout: '', stderr: `credential-process: the credentials in ${config.dir} claim to expire at ${creds.Expiration}, further away than STS can issue (12 h); refused: is something other than sts-init / cred-refresher writing credentials.json?\n`, exitCode: 1 };
    }
    return { stdout: JSON.stringify(toProcessCredentials(creds, config.marginMs, now)) + '\n', stderr: '', exitCode: 0 };
  } catch (err) {
    const message = err instanceof DeadlineError ? `${err.message}; is ${config.dir}/credentials.json a FIFO or on a hung mount?` : (err as Error).message;
    return { stdout: '', stderr: `credential-process: ${oneLine(message)}\n`, exitCode: 1 };
  }
}
