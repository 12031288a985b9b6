import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheIdentity, cacheKey } from './cache-key.js';
import { parseEcrRegistry } from './registry-host.js';

describe(cacheIdentity.name, () => {
  it.each([
    [{ ECR_LOGIN_CACHE_IDENTITY: 'mine', AWS_ROLE_ARN: 'arn:r', AWS_ACCESS_KEY_ID: 'AKID' }, 'mine'],
    [{ AWS_ROLE_ARN: 'arn:aws:iam::1:role/r', AWS_ACCESS_KEY_ID: 'ASIA1' }, 'role:arn:aws:iam::1:role/r'],
    [{ AWS_ACCESS_KEY_ID: 'AKID' }, 'key:AKID'],
    [{ AWS_PROFILE: 'p', AWS_CONFIG_FILE: '/c' }, 'profile:p@/c'],
    [{ AWS_SHARED_CREDENTIALS_FILE: '/creds/aws-credentials' }, 'profile:default@/creds/aws-credentials'],
    [{ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' }, 'container:http://169.254.170.23/v1/credentials'],
    [{ AWS_ROLE_ARN: '' }, 'default'],
    [{}, 'default'],
  ])('%j → %s', (env, identity) => {
    expect(cacheIdentity(env)).toBe(identity);
  });

  it('does not change when a temporary access key rotates under a stable role', () => {
    const a = cacheIdentity({ AWS_ROLE_ARN: 'arn:r', AWS_ACCESS_KEY_ID: 'ASIAONE' });
    const b = cacheIdentity({ AWS_ROLE_ARN: 'arn:r', AWS_ACCESS_KEY_ID: 'ASIATWO' });
    expect(a).toBe(b);
  });
});

describe(cacheKey.name, () => {
  const hash = createHash('sha256').update('id').digest('base64');
  it('has the reference shape for private and public registries', () => {
    expect(cacheKey('id', parseEcrRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com')!)).toBe(`eu-west-1-${hash}-123456789012`);
    expect(cacheKey('id', parseEcrRegistry('public.ecr.aws')!)).toBe(`ecr-public-${hash}`);
  });
});
