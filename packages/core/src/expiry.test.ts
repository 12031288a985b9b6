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
      new ExpiryError('the ECR token of x: expiry 2015-01-01T00:00:00.000Z is already past (now 2030-01-01T00:00:00.000Z)', 'expired'),
    );
  });
});
