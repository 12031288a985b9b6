import { describe, expect, it } from 'vitest';
import { checkExpiry, ExpiryError, expiryProblem } from './expiry.js';

const now = Date.parse('2030-01-01T00:00:00Z');
const H = 3_600_000;

describe(expiryProblem.name, () => {
  it.each([
    [now - 1, 'expired'],
    [now, 'expired'],
    [now + 1000, 'within_margin'],
    [now + 12 * H + 6 * 60_000, 'too_long'],
    [Date.parse('9999-12-31T23:59:59Z'), 'too_long'],
    [Number.NaN, 'invalid'],
    [now + H, undefined],
    [now + 12 * H + 4 * 60_000, undefined],
  ])('%d -> %s', (at, problem) => {
    expect(expiryProblem(at, now, { marginMs: 60_000 })).toBe(problem);
  });

  it('checkExpiry names what and when on one line', () => {
    expect(() => checkExpiry('the ECR token of x', new Date('2015-01-01T00:00:00Z'), now, { marginMs: 0 })).toThrow(
      new ExpiryError('the ECR token of x: expiry 2015-01-01T00:00:00.000Z is already past (now 2030-01-01T00:00:00.000Z); if AWS issued it just now, this host\'s clock is ahead: check the node\'s clock (NTP, chrony)', 'expired'),
    );
  });

  it('names the clock as what to check, with the skew measured from an AWS Date header when known', () => {
    const past = new Date(now - 60_000);
    const message = (rule: Parameters<typeof checkExpiry>[3]) => {
      try {
        checkExpiry('the new AWS credentials', past, now, rule);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(message({ marginMs: 0, measuredSkewMs: -7_200_000 })).toMatch(/; this host's clock is 7200 s ahead of AWS's \(Date header of its answer\): fix the node's clock \(NTP, chrony\)$/);
    // AWS's clock agrees with ours: the expiry itself is wrong, and the clock is not blamed.
    expect(message({ marginMs: 0, measuredSkewMs: 200 })).toMatch(/is already past \(now [^)]+\)$/);
    expect(() => checkExpiry('x', new Date(now + 13 * H), now, { marginMs: 0 })).toThrow(/this host's clock is behind: check the node's clock/);
  });
});
