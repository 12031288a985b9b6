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
  it('a proxy failure is its own reason: 407/403 permanent, the rest transient', async () => {
    const { ProxyError } = await import('@ecr-proxy/core/proxy-agent');
    expect(classify(new ProxyError('proxy p:3128 answered CONNECT sts.amazonaws.com:443 with 407', 407))).toEqual({ reason: 'proxy', permanent: true });
    expect(classify(new ProxyError('proxy p:3128 answered CONNECT sts.amazonaws.com:443 with 502', 502))).toEqual({ reason: 'proxy', permanent: false });
    expect(classify(new ProxyError('proxy p:1080 (SOCKS5) failed sts.amazonaws.com:443: rejected'))).toEqual({ reason: 'proxy', permanent: false });
  });

  it('network and timeouts are transient', () => {
    expect(classify(Object.assign(new Error('x'), { code: 'EHOSTUNREACH' }))).toEqual({ reason: 'network', permanent: false });
    expect(classify(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toEqual({ reason: 'timeout', permanent: false });
    expect(classify(Object.assign(new Error('x'), { name: 'DeadlineError' }))).toEqual({ reason: 'timeout', permanent: false });
  });

  it('an answer over the size limit, a 2xx body the SDK cannot parse, a container answer out of format: invalid_response, retried', () => {
    expect(classify(Object.assign(new Error('x'), { name: 'ResponseTooLargeError' }))).toEqual({ reason: 'invalid_response', permanent: false });
    // What the SDK's deserializer throws for a truncated body or a bad timestamp: status 200, the hidden $response.
    const parse = Object.assign(new Error('@aws-sdk XML parse error: unexpected end of input.\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'), { $metadata: { httpStatusCode: 200 }, $response: {} });
    expect(classify(parse)).toEqual({ reason: 'invalid_response', permanent: false });
    expect(describeError(parse)).toBe('Error: @aws-sdk XML parse error: unexpected end of input.');
    const wrapped = Object.assign(new Error('ResponseTooLargeError: 127.0.0.1:1 answered more than 65536 bytes; refused before parsing'), { name: 'CredentialsProviderError' });
    expect(classify(wrapped)).toEqual({ reason: 'invalid_response', permanent: false });
    expect(classify(Object.assign(new Error('no source'), { name: 'CredentialsProviderError' }))).toEqual({ reason: 'no_credentials', permanent: true });
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

describe('classify by the kind of error (issue 10: a reset connection was counted as timeout)', () => {
  const errno = (code: string, name = 'Error') => Object.assign(new Error(`socket ${code}`), { code, name });
  it.each([
    [errno('ECONNRESET'), 'connection_reset'],
    [errno('EPIPE'), 'connection_reset'],
    // The SDK names some socket failures TimeoutError; the errno says what really happened.
    [errno('ECONNRESET', 'TimeoutError'), 'connection_reset'],
    [Object.assign(new Error('fetch failed'), { cause: errno('ECONNRESET') }), 'connection_reset'],
    [errno('ECONNREFUSED'), 'connection_refused'],
    [errno('ENOTFOUND'), 'dns'],
    [errno('EAI_AGAIN'), 'dns'],
    [errno('ETIMEDOUT'), 'timeout'],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), 'timeout'],
    [awsError('ThrottlingException', 400), 'throttling'],
    [awsError('AccessDeniedException', 400), 'access_denied'],
    [Object.assign(new Error('expiry'), { name: 'ExpiryError' }), 'invalid_expiry'],
  ])('%s -> %s', (err, reason) => {
    expect(classify(err).reason).toBe(reason);
  });

  it('never matches a prototype key as an AWS error code', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(classify(Object.assign(new Error('x'), { name, $metadata: {} })).reason).toBe('other');
    }
  });
});

describe('describe', () => {
  it('is one line, scrubbed of token-like text and bounded, whatever the server echoed', async () => {
    const { describe: describeError } = await import('./errors.js');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
    const echoed = Object.assign(new Error(`bad request\nAction=AssumeRoleWithWebIdentity&WebIdentityToken=${jwt}\n${'x '.repeat(5000)}`), { name: 'InvalidParameterValue' });
    const line = describeError(echoed);
    expect(line).not.toContain('\n');
    expect(line).not.toContain(jwt.slice(0, 20));
    expect(line).not.toContain('c2lnbmF0dXJl');
    expect(line.length).toBeLessThanOrEqual(301);
  });
});
