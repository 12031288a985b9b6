/** "Full jitter" exponential backoff: a random delay in [0, min(cap, base * 2^attempt)]. Spreads out retries of many
 * pods that fail at the same moment (ECR allows about 20 GetAuthorizationToken calls a second per account). */
export function fullJitter(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
