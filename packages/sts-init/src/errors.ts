import { localEnvironmentProblem } from '@ecr-proxy/core';

/**
 * What went wrong, as a metric label and a retry decision. "Permanent" errors (a role we may not assume, a bad or
 * expired identity token, a missing token file) are not retried by sts-init: retrying cannot fix them, and failing
 * fast with one clear line is what an init container should do. Throttling, 5xx, network errors and timeouts are.
 */
import { oneLine, serverText } from '@ecr-proxy/core';

export type FailureReason =
  | 'access_denied'
  | 'invalid_expiry'
  | 'wrong_principal'
  | 'connection_reset'
  | 'connection_refused'
  | 'dns'
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
/** By errno code, the kind of network failure: what an operator needs to tell a firewall from DNS from a dead peer. */
const NETWORK_CODES: Record<string, FailureReason> = {
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  ECONNREFUSED: 'connection_refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  EHOSTUNREACH: 'network',
  ENETUNREACH: 'network',
};

/** The errno code of an error or of any error in its `cause` chain (undici and the SDK wrap socket errors). */
function errnoCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && Object.prototype.hasOwnProperty.call(NETWORK_CODES, e.code)) return e.code;
  }
  return undefined;
}

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
  // The container endpoint provider (fromHttp) wraps every failure in a CredentialsProviderError carrying only the
  // text: an answer over the size limit or not in the credentials format is an invalid response, worth a retry.
  if (name === 'CredentialsProviderError' && /ResponseTooLargeError|not of the required format/.test(String((err as Error).message))) {
    return { reason: 'invalid_response', permanent: false };
  }
  // The proxy, not AWS, said no (core's proxy-agent.ts). It must need credentials (407) or forbids the target (403):
  // retrying cannot help. Any other answer (502, 503, a SOCKS failure) may be passing.
  if (name === 'ProxyError') return { reason: 'proxy', permanent: e?.status === 407 || e?.status === 403 };
  if (Object.prototype.hasOwnProperty.call(PERMANENT, name)) return { reason: PERMANENT[name]!, permanent: true };
  if (THROTTLING.has(name)) return { reason: 'throttling', permanent: false };
  // The errno first: the SDK reports a reset socket as a TimeoutError-named error in some paths.
  const code = errnoCode(err);
  if (code) return { reason: NETWORK_CODES[code]!, permanent: false };
  if (name === 'ExpiryError') return { reason: 'invalid_expiry', permanent: false };
  if (name === 'ResponseTooLargeError') return { reason: 'invalid_response', permanent: false };
  if (name === 'FileTypeError') return { reason: 'write', permanent: true };
  if (name === 'DeadlineError' || name === 'AbortError' || name === 'TimeoutError') return { reason: 'timeout', permanent: false };
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return { reason: 'server_error', permanent: false };
  if (status === 429) return { reason: 'throttling', permanent: false };
  if (status !== undefined && status >= 400) return { reason: 'other', permanent: true };
  // A 2xx answer the SDK could not parse (a truncated body, a bad timestamp): its deserializer attaches $response.
  if (status !== undefined && status < 300 && (err as { $response?: unknown }).$response !== undefined) return { reason: 'invalid_response', permanent: false };
  // No HTTP status: the request never got an answer (socket hang up, a proxy, DNS): worth another try.
  return { reason: e?.$metadata ? 'other' : 'network', permanent: false };
}

/**
 * One line, no secrets: the error's name (AWS error code) and message. The message may be server text (a hostile
 * endpoint can echo the request, web-identity token included), so it is scrubbed and length-limited (serverText).
 */
export function describe(err: unknown): string {
  const e = err as Error;
  if (e instanceof SourceError) return oneLine(e.message);
  const local = localEnvironmentProblem(err);
  if (local) return oneLine(local);
  return serverText(`${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.replace(/\s+/g, ' ').trim());
}
