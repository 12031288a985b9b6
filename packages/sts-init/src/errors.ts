import { localEnvironmentProblem } from '@ecr-proxy/core';

/**
 * What went wrong, as a metric label and a retry decision. "Permanent" errors (a role we may not assume, a bad or
 * expired identity token, a missing token file) are not retried by sts-init: retrying cannot fix them, and failing
 * fast with one clear line is what an init container should do. Throttling, 5xx, network errors and timeouts are.
 */
export type FailureReason =
  | 'access_denied'
  | 'invalid_identity_token'
  | 'expired_token'
  | 'token_file'
  | 'no_credentials'
  | 'invalid_response'
  | 'throttling'
  | 'server_error'
  | 'network'
  | 'proxy'
  | 'timeout'
  | 'write'
  | 'other';

/** An error we raise ourselves with a known reason (token file, long-term keys, a failed write). */
export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    message: string,
    readonly reason: FailureReason,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

const PERMANENT: Record<string, FailureReason> = {
  AccessDenied: 'access_denied',
  AccessDeniedException: 'access_denied',
  InvalidIdentityToken: 'invalid_identity_token',
  InvalidIdentityTokenException: 'invalid_identity_token',
  IDPRejectedClaim: 'invalid_identity_token',
  IDPRejectedClaimException: 'invalid_identity_token',
  ExpiredToken: 'expired_token',
  ExpiredTokenException: 'expired_token',
  InvalidClientTokenId: 'access_denied',
  UnrecognizedClientException: 'access_denied',
  MalformedPolicyDocument: 'other',
  RegionDisabledException: 'other',
  ValidationError: 'other',
  CredentialsProviderError: 'no_credentials',
};

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

export interface Classified {
  reason: FailureReason;
  permanent: boolean;
}

export function classify(err: unknown): Classified {
  if (err instanceof SourceError) return { reason: err.reason, permanent: err.permanent };
  // Not the network: the OS or the file system said no, and will again (core's local-env.ts).
  if (localEnvironmentProblem(err)) return { reason: 'other', permanent: true };
  const e = err as { name?: string; code?: string; status?: number; $metadata?: { httpStatusCode?: number }; $fault?: string } | null;
  const name = e?.name ?? '';
  // The proxy, not AWS, said no (core's proxy-agent.ts). It must need credentials (407) or forbids the target (403):
  // retrying cannot help. Any other answer (502, 503, a SOCKS failure) may be passing.
  if (name === 'ProxyError') return { reason: 'proxy', permanent: e?.status === 407 || e?.status === 403 };
  if (name in PERMANENT) return { reason: PERMANENT[name]!, permanent: true };
  if (THROTTLING.has(name)) return { reason: 'throttling', permanent: false };
  if (name === 'DeadlineError' || name === 'AbortError' || name === 'TimeoutError') return { reason: 'timeout', permanent: false };
  if (e?.code && NETWORK_CODES.has(e.code)) return { reason: 'network', permanent: false };
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return { reason: 'server_error', permanent: false };
  if (status === 429) return { reason: 'throttling', permanent: false };
  if (status !== undefined && status >= 400) return { reason: 'other', permanent: true };
  // No HTTP status: the request never got an answer (socket hang up, a proxy, DNS): worth another try.
  return { reason: e?.$metadata ? 'other' : 'network', permanent: false };
}

/** One line, no secrets: the error's name (AWS error code) and message. Messages of STS name no keys. */
export function describe(err: unknown): string {
  const e = err as Error;
  if (e instanceof SourceError) return e.message;
  const local = localEnvironmentProblem(err);
  if (local) return local;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.replace(/\s+/g, ' ').trim();
}
