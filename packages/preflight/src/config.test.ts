import { describe, expect, it } from 'vitest';
import { ConfigError } from '@ecr-proxy/core';
import { preflightConfig, preflightEnabled } from './config.js';

describe(preflightConfig.name, () => {
  it('reads the registry\'s own S3 variables, and the expected role from the chained role first', () => {
    const c = preflightConfig([], {
      AWS_REGION: 'eu-west-1',
      REGISTRY_STORAGE_S3_BUCKET: 'my-cache',
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: '/docker/',
      REGISTRY_STORAGE_S3_ENCRYPT: 'true',
      REGISTRY_STORAGE_S3_KEYID: 'arn:aws:kms:eu-west-1:123456789012:key/k',
      ECR_REGISTRIES: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/irsa',
      TARGET_ROLE_ARN: 'arn:aws:iam::210987654321:role/reader',
    });
    expect(c.s3).toEqual({ bucket: 'my-cache', region: 'eu-west-1', prefix: 'docker/', forcePathStyle: false, encryption: { kind: 'aws:kms', keyId: 'arn:aws:kms:eu-west-1:123456789012:key/k' } });
    expect(c.expectedRole).toBe('arn:aws:iam::210987654321:role/reader');
    expect(c.mode).toBe('cross-account');
    expect(c.ecrRegistries.map((r) => r.host)).toEqual(['123456789012.dkr.ecr.eu-west-1.amazonaws.com']);
  });

  it('flags win over env; no bucket means no S3 checks', () => {
    const c = preflightConfig(['--expected-role-arn', 'arn:aws:iam::123456789012:role/x', '--timeout', '5s'], { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/y' });
    expect(c).toMatchObject({ s3: undefined, expectedRole: 'arn:aws:iam::123456789012:role/x', timeoutMs: 5000, mode: 'same-account' });
  });

  it('the expected role: the rule of sts-init and cred-refresher; ECR_LOGIN_CACHE_IDENTITY is never one', () => {
    const cacheKeyOnly = { ECR_LOGIN_CACHE_IDENTITY: 'arn:aws:iam::123456789012:role/source' };
    expect(preflightConfig([], cacheKeyOnly).expectedRole).toBeUndefined();
    expect(preflightConfig([], { ...cacheKeyOnly, EXPECTED_ROLE_ARN: 'arn:aws:iam::210987654321:role/reader', TARGET_ROLE_ARN: 'arn:aws:iam::210987654321:role/other' }).expectedRole)
      .toBe('arn:aws:iam::210987654321:role/reader');
    expect(preflightConfig([], { ...cacheKeyOnly, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/irsa' }).expectedRole).toBe('arn:aws:iam::123456789012:role/irsa');
  });

  it('instance metadata: the helper\'s opt-in (ECR_LOGIN_ALLOW_INSTANCE_ROLE, --allow-instance-role), off by default', () => {
    expect(preflightConfig([], {}).allowInstanceRole).toBe(false);
    expect(preflightConfig([], { ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'true' }).allowInstanceRole).toBe(true);
    expect(preflightConfig(['--allow-instance-role', 'false'], { ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'true' }).allowInstanceRole).toBe(false);
    // sts-init's own opt-in is another variable: it does not open the subcommand's chain.
    expect(preflightConfig([], { ALLOW_INSTANCE_ROLE: 'true' }).allowInstanceRole).toBe(false);
  });

  it.each([
    [{ REGISTRY_STORAGE_S3_BUCKET: 'Bad_Bucket' }, /REGISTRY_STORAGE_S3_BUCKET: "Bad_Bucket" is not an S3 bucket name/],
    [{ EXPECTED_ROLE_ARN: 'role/x' }, /EXPECTED_ROLE_ARN: "role\/x" is not an IAM role ARN/],
    [{ ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'yes please' }, /ECR_LOGIN_ALLOW_INSTANCE_ROLE/],
    [{ PREFLIGHT_ECR_REPOSITORY: 'Up/Case' }, /is not an ECR repository name/],
    [{ REGISTRY_STORAGE_S3_BUCKET: 'ok-bucket', REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'maybe' }, /must be true or false/],
    [{ PREFLIGHT_TIMEOUT: '0s' }, /must be greater than zero/],
    // 2^31 ms and more overflow the deadline's timer to 1 ms: bounded like STS_TIMEOUT.
    [{ PREFLIGHT_TIMEOUT: '2147484s' }, /PREFLIGHT_TIMEOUT: "2147484s" is out of range; use between 1ms and 1h/],
  ])('refuses bad input with one line: %o', (env, message) => {
    expect(() => preflightConfig([], env)).toThrow(ConfigError);
    expect(() => preflightConfig([], env)).toThrow(message);
  });

  it.each(['docker/../../other', '/docker/./x', 'a//b', '..'])('refuses a root directory %s with a "." or ".." or empty segment', (root) => {
    const env = { REGISTRY_STORAGE_S3_BUCKET: 'ok-bucket', REGISTRY_STORAGE_S3_ROOTDIRECTORY: root };
    expect(() => preflightConfig([], env)).toThrow(ConfigError);
    expect(() => preflightConfig([], env)).toThrow(/^--rootdirectory \/ REGISTRY_STORAGE_S3_ROOTDIRECTORY: .* segment/);
  });

  it('names only the variables when the caller takes none of the flags (sts-init)', () => {
    expect(() => preflightConfig([], { PREFLIGHT_TIMEOUT: '-5' }, { flags: false })).toThrow(/^PREFLIGHT_TIMEOUT\b/);
    expect(() => preflightConfig([], { PREFLIGHT_TIMEOUT: '-5' }, { flags: false })).not.toThrow(/--timeout/);
    expect(() => preflightConfig([], { REGISTRY_STORAGE_S3_BUCKET: 'ok-bucket', REGISTRY_STORAGE_S3_ROOTDIRECTORY: 'a/../b' }, { flags: false }))
      .toThrow(/^REGISTRY_STORAGE_S3_ROOTDIRECTORY: "a\/..\/b"/);
    expect(() => preflightConfig([], { PREFLIGHT_TIMEOUT: '-5' })).toThrow(/^--timeout \/ PREFLIGHT_TIMEOUT/);
  });

  it('PREFLIGHT turns it off with off/false/0 only', () => {
    expect(preflightEnabled(undefined)).toBe(true);
    expect(preflightEnabled('on')).toBe(true);
    expect(preflightEnabled('off')).toBe(false);
    expect(() => preflightEnabled('maybe')).toThrow(/must be on or off/);
  });
});
