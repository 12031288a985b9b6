import { describe, expect, it } from 'vitest';
import { classify } from './errors.js';
import { awsError } from './test-fakes.js';

describe(classify.name, () => {
  it.each([
    ['AccessDenied', 403, 'access_denied', true],
    ['InvalidIdentityToken', 400, 'invalid_identity_token', true],
    ['ExpiredTokenException', 400, 'expired_token', true],
    ['ExpiredToken', 403, 'expired_token', true],
    ['Throttling', 400, 'throttling', false],
    ['InternalFailure', 500, 'server_error', false],
    ['ServiceUnavailable', 503, 'server_error', false],
    ['SomethingNew', 400, 'other', true],
  ] as const)('%s (%d) -> %s, permanent %s', (name, status, reason, permanent) => {
    expect(classify(awsError(name, status))).toEqual({ reason, permanent });
  });
  it('network and timeouts are transient', () => {
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toEqual({ reason: 'network', permanent: false });
    expect(classify(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toEqual({ reason: 'timeout', permanent: false });
    expect(classify(Object.assign(new Error('x'), { name: 'DeadlineError' }))).toEqual({ reason: 'timeout', permanent: false });
  });
});
