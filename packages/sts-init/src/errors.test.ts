import { describe, expect, it } from 'vitest';
import { classify, describe as describeError } from './errors.js';
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

  it('a local environment error (an OS call, a file) is permanent and described in one line, never network', async () => {
    const { setPriority } = await import('node:os');
    const { readFile } = await import('node:fs/promises');
    const systemError = (() => {
      try {
        setPriority(2 ** 30, 0); // no such process: a real Node SystemError, as uv_os_homedir's
      } catch (err) {
        return err;
      }
      throw new Error('expected a SystemError');
    })();
    const fileError = await readFile('/nonexistent/.aws/config').catch((err: unknown) => err);
    for (const err of [systemError, fileError]) {
      expect(classify(err)).toEqual({ reason: 'other', permanent: true });
      expect(describeError(err)).toMatch(/^local environment: \S+ .*failed with E[A-Z]+$/);
    }
  });
});
