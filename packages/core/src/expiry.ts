/**
 * Expiry sanity, applied wherever an expiry arrives (STS, the container endpoint, ECR, ECR Public, the cache file):
 * a value that is already expired, expires within the margin, or claims a lifetime longer than the service can
 * issue is refused. Protocol facts: STS sessions last at most 12 h (DurationSeconds 900–43200, IAM "Maximum session
 * duration"); ECR and ECR Public authorization tokens last 12 h (GetAuthorizationToken API reference).
 */

/** The longest lifetime STS and ECR issue: 12 h. */
export const MAX_AWS_LIFETIME_MS = 12 * 3_600_000;
/** Allowance for this host's clock being behind AWS's. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;

export type ExpiryProblem = 'invalid' | 'expired' | 'within_margin' | 'too_long';

export class ExpiryError extends Error {
  override name = 'ExpiryError';
  constructor(
    message: string,
    readonly problem: ExpiryProblem,
  ) {
    super(message);
  }
}

export interface ExpiryRule {
  /** Refused if it expires within this many ms of now; 0: only an expired value is refused. */
  marginMs: number;
  /** The longest lifetime the issuer can grant (default 12 h); more, beyond the skew allowance, is absurd. */
  maxLifetimeMs?: number;
  /** Default CLOCK_SKEW_ALLOWANCE_MS. */
  skewMs?: number;
  /** AWS's clock minus this host's (ms), measured from the `Date` header of an AWS answer, when known: named in the
   * error so an operator sees whether the clock is the cause. */
  measuredSkewMs?: number | undefined;
}

/** The problem with an expiry (epoch ms) seen at `now`, or undefined when it is sane. */
export function expiryProblem(expiresAt: number, now: number, rule: ExpiryRule): ExpiryProblem | undefined {
  if (!Number.isFinite(expiresAt)) return 'invalid';
  if (expiresAt <= now) return 'expired';
  if (expiresAt - now <= rule.marginMs) return 'within_margin';
  if (expiresAt - now > (rule.maxLifetimeMs ?? MAX_AWS_LIFETIME_MS) + (rule.skewMs ?? CLOCK_SKEW_ALLOWANCE_MS)) return 'too_long';
  return undefined;
}

const SAYS: Record<ExpiryProblem, string> = {
  invalid: 'is not a date',
  expired: 'is already past',
  within_margin: 'is within the margin',
  too_long: 'is further away than the service can issue (12 h)',
};

/** Throws ExpiryError naming `what` unless the expiry is sane. `expiresAt` is a Date, epoch ms or text. */
export function checkExpiry(what: string, expiresAt: Date | number | string | undefined, now: number, rule: ExpiryRule): number {
  const at = expiresAt instanceof Date ? expiresAt.getTime() : typeof expiresAt === 'number' ? expiresAt : Date.parse(String(expiresAt));
  const problem = expiryProblem(at, now, rule);
  if (problem) {
    const shown = Number.isFinite(at) ? new Date(at).toISOString() : JSON.stringify(String(expiresAt)).slice(0, 40);
    throw new ExpiryError(`${what}: expiry ${shown} ${SAYS[problem]} (now ${new Date(now).toISOString()})${clockHint(problem, rule.measuredSkewMs)}`, problem);
  }
  return at;
}

/**
 * An expiry judged against this host's clock: one past or near (or absurdly far) may be fresh by AWS's clock while
 * this host's is ahead (behind). The hint says what to check, with the measured skew when a `Date` header gave one.
 */
function clockHint(problem: ExpiryProblem, measuredSkewMs: number | undefined): string {
  if (problem === 'invalid') return '';
  const ahead = problem !== 'too_long';
  if (measuredSkewMs !== undefined && Math.abs(measuredSkewMs) >= 1000) {
    const seconds = Math.round(Math.abs(measuredSkewMs) / 1000);
    const hostAhead = measuredSkewMs < 0;
    return `; this host's clock is ${seconds} s ${hostAhead ? 'ahead of' : 'behind'} AWS's (Date header of its answer): fix the node's clock (NTP, chrony)`;
  }
  if (measuredSkewMs !== undefined) return '';
  return `; if AWS issued it just now, this host's clock is ${ahead ? 'ahead' : 'behind'}: check the node's clock (NTP, chrony)`;
}
