/**
 * Credential sources, each a `fromX(init) => provider` factory, and the rules every credential set must pass, composed
 * in one chain by `sourceFor`: the configured base source (web identity, the container endpoint, env keys, a
 * profile, or, only when opted in, the EC2 instance role), optionally a chained target role, then the rules:
 * temporary only, a sane expiry, a known and expected principal. A set that breaks a rule is a failed attempt; the
 * caller keeps its last good value.
 */
import { checkExpiry, ExpiryError, isSessionOf, MAX_AWS_LIFETIME_MS, principalFromArn, readRegularFile, type Principal } from '@ecr-proxy/core';
import type { AwsCredentials, CredentialProvider, TemporaryCredentials } from './aws-credentials.js';
import { SourceError } from './errors.js';
import type { StsApi } from './sts-seam.js';

export interface WebIdentityInit {
  roleArn: string;
  tokenFile: string;
  sessionName: string;
  durationSeconds: number;
  sts: StsApi;
  readFile?: (path: string) => Promise<string>;
}

/**
 * A token file, read whole (a regular file only, at most 64 KiB) and trimmed: a kubelet-projected or hand-written
 * file may end in a newline, which no token holds and no HTTP header can carry. Throws SourceError (`token_file`,
 * permanent) naming the file and its variable when it is missing, unreadable, not a regular file, empty, or holds
 * a character an HTTP header cannot carry (a line break inside it).
 */
export async function readTokenFile(path: string, what: string, variable: string, read: (path: string) => Promise<string>): Promise<string> {
  let token: string;
  try {
    token = (await read(path)).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const problem = code === 'ENOENT' ? 'does not exist' : code === 'EFTYPE' ? (err as Error).message.replace(/^.* is /, 'is ') : `cannot be read (${code})`;
    throw new SourceError(`${what} ${path} (${variable}) ${problem}`, 'token_file', true);
  }
  if (token === '') throw new SourceError(`${what} ${path} (${variable}) is empty`, 'token_file', true);
  // RFC 9110 field values: visible ASCII, space and tab (obs-text aside, which no token uses).
  if (/[^\t\x20-\x7e]/.test(token)) throw new SourceError(`${what} ${path} (${variable}) holds a line break or control character inside the token; it must hold the token alone`, 'token_file', true);
  return token;
}

const readTokenText = (path: string) => readRegularFile(path, 'token file', 64 * 1024);

/** IRSA: the projected token is read on every call, since the kubelet rotates it. Only a regular file is read. */
export function fromWebIdentity(init: WebIdentityInit): CredentialProvider {
  const read = init.readFile ?? readTokenText;
  return async (signal) => {
    const token = await readTokenFile(init.tokenFile, 'web identity token file', 'AWS_WEB_IDENTITY_TOKEN_FILE', read);
    return init.sts.assumeRoleWithWebIdentity(
      { roleArn: init.roleArn, sessionName: init.sessionName, webIdentityToken: token, durationSeconds: init.durationSeconds },
      signal,
    );
  };
}

/** The container endpoint (EKS Pod Identity, ECS), env keys, a profile, or the instance role: exactly that one. */
export function fromSdkSource(init: { source: Exclude<BaseSource, { kind: 'web-identity' }>; sts: StsApi; readFile?: (path: string) => Promise<string> }): CredentialProvider {
  const { source } = init;
  if (source.kind !== 'container' || !source.tokenFile) return (signal) => init.sts.fromSource(source, signal);
  // The container endpoint's authorization token file is ours to read (the SDK would send a trailing newline and fail
  // with an error naming no file), on every call: EKS rotates it.
  const tokenFile = source.tokenFile;
  const read = init.readFile ?? readTokenText;
  return async (signal) => {
    const authorizationToken = await readTokenFile(tokenFile, 'Pod Identity token file', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', read);
    return init.sts.fromSource({ kind: 'container', authorizationToken }, signal);
  };
}

export interface AssumedRoleInit {
  roleArn: string;
  externalId?: string;
  sessionName: string;
  durationSeconds: number;
  sts: StsApi;
}

/** Chains into a second role (cross-account) with the source's credentials of this very call. */
export function fromAssumedRole(source: CredentialProvider, init: AssumedRoleInit): CredentialProvider {
  return async (signal) => {
    const creds = await source(signal);
    return init.sts.assumeRole(
      {
        roleArn: init.roleArn,
        sessionName: init.sessionName,
        durationSeconds: init.durationSeconds,
        ...(init.externalId ? { externalId: init.externalId } : {}),
      },
      creds,
      signal,
    );
  };
}

export function isTemporary(creds: AwsCredentials): creds is TemporaryCredentials {
  return !!creds.sessionToken && creds.expiration instanceof Date && !Number.isNaN(creds.expiration.getTime());
}

/** Long-term keys never leave: a consumer could not refresh them and they would outlive any revocation. */
export function temporaryOnly(provider: CredentialProvider): (signal: AbortSignal) => Promise<TemporaryCredentials> {
  return async (signal) => {
    const creds = await provider(signal);
    if (creds.sessionToken && creds.expiration !== undefined && !isTemporary(creds)) {
      throw new SourceError('the new AWS credentials have an expiry that is not a date', 'invalid_expiry', false);
    }
    if (!isTemporary(creds)) {
      throw new SourceError(
        'the source credentials are long-term keys (no session token or expiry); set --target-role-arn to assume a role with them',
        'no_credentials',
        true,
      );
    }
    return creds;
  };
}

type Temporary = (signal: AbortSignal) => Promise<TemporaryCredentials>;

/**
 * Rule: the expiry is sane. Already expired, within `marginMs`, or further than STS can issue (12 h, plus the skew
 * allowance) is a failed attempt with reason `invalid_expiry`, not a success: a hostile or broken endpoint, or a
 * clock far off, must not replace good credentials nor make the caller call again at once.
 */
export function withSaneExpiry(provider: Temporary, init: { marginMs: number; now: () => number; clockSkewMs?: () => number | undefined }): Temporary {
  return async (signal) => {
    const creds = await provider(signal);
    try {
      checkExpiry('the new AWS credentials', creds.expiration, init.now(), { marginMs: init.marginMs, maxLifetimeMs: MAX_AWS_LIFETIME_MS, measuredSkewMs: init.clockSkewMs?.() });
    } catch (err) {
      if (err instanceof ExpiryError) throw new SourceError(err.message, 'invalid_expiry', false);
      throw err;
    }
    return creds;
  };
}

/**
 * Rule: the principal is known and is the expected role. STS named it in an AssumeRole answer; otherwise (container
 * endpoint, env keys, profile, instance role) one sts:GetCallerIdentity per new credential set asks. With an
 * expected role, any other principal is a permanent `wrong_principal` failure.
 */
export function withPrincipal(provider: Temporary, init: { sts: StsApi; expectedRoleArn?: string }): Temporary {
  return async (signal) => {
    const creds = await provider(signal);
    const arn = creds.principalArn ?? (await init.sts.getCallerIdentity(creds, signal)).arn;
    const principal: Principal = principalFromArn(arn);
    if (init.expectedRoleArn && !isSessionOf(principal, init.expectedRoleArn)) {
      throw new SourceError(`the credentials act as ${arn}, not as the expected role ${init.expectedRoleArn}`, 'wrong_principal', true);
    }
    return { ...creds, principalArn: arn };
  };
}

/** Where the first credentials come from. Chosen from the env at the edge (config.ts), never by falling through. */
export type BaseSource =
  | { kind: 'web-identity'; roleArn: string; tokenFile: string }
  /** `tokenFile`: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity); `authorizationToken`: its trimmed
   * content, read by fromSdkSource on each call and handed to the SDK (never from config). */
  | { kind: 'container'; tokenFile?: string; authorizationToken?: string }
  | { kind: 'static' }
  | { kind: 'profile'; profile: string }
  | { kind: 'instance' };

export interface SourceConfig {
  base: BaseSource;
  target?: { roleArn: string; externalId?: string };
  sessionName: string;
  durationSeconds: number;
  /** The role the credentials must act as: EXPECTED_ROLE_ARN, else the target role, else the web identity role. */
  expectedRoleArn?: string;
}

export interface SourceOptions {
  /** Refuse credentials expiring within this many ms (CREDENTIALS_MARGIN). Default 0. */
  marginMs?: number;
  now?: () => number;
  readFile?: (path: string) => Promise<string>;
  /** AWS's clock minus this host's (ms), from the last STS answer's Date header; named in an expiry error. */
  clockSkewMs?: () => number | undefined;
}

/** The one chain: base source → chained role → temporary only → sane expiry → expected principal. */
export function sourceFor(config: SourceConfig, sts: StsApi, opts: SourceOptions = {}): Temporary {
  const { base } = config;
  const first =
    base.kind === 'web-identity'
      ? fromWebIdentity({ roleArn: base.roleArn, tokenFile: base.tokenFile, sessionName: config.sessionName, durationSeconds: config.durationSeconds, sts, ...(opts.readFile ? { readFile: opts.readFile } : {}) })
      : fromSdkSource({ source: base, sts, ...(opts.readFile ? { readFile: opts.readFile } : {}) });
  const chained = config.target
    ? fromAssumedRole(first, { ...config.target, sessionName: config.sessionName, durationSeconds: config.durationSeconds, sts })
    : first;
  const sane = withSaneExpiry(temporaryOnly(chained), { marginMs: opts.marginMs ?? 0, now: opts.now ?? Date.now, ...(opts.clockSkewMs ? { clockSkewMs: opts.clockSkewMs } : {}) });
  return withPrincipal(sane, { sts, ...(config.expectedRoleArn ? { expectedRoleArn: config.expectedRoleArn } : {}) });
}
