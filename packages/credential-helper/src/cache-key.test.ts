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

describe('identityPlan', () => {
  it('keys profiles and the bare default chain by the resolved access key (the reference\'s keying), not the profile name', async () => {
    const { identityPlan, resolveIdentity } = await import('./cache-key.js');
    expect(identityPlan({ AWS_PROFILE: 'p', AWS_CONFIG_FILE: '/c' })).toEqual({ kind: 'resolved' });
    expect(identityPlan({})).toEqual({ kind: 'resolved' });
    expect(await resolveIdentity({ kind: 'resolved' }, async () => 'ASIAB')).toBe('key:ASIAB');
    expect(identityPlan({ AWS_PROFILE: 'p', ECR_LOGIN_CACHE_IDENTITY: 'pinned' })).toEqual({ kind: 'fixed', identity: 'pinned' });
    expect(identityPlan({ AWS_ROLE_ARN: 'arn:r' })).toEqual({ kind: 'fixed', identity: 'role:arn:r' });
  });

  it('keys the container endpoint by its authorization token too: two tokens are two principals', async () => {
    const { identityPlan, resolveIdentity } = await import('./cache-key.js');
    const uri = 'http://169.254.170.23/v1/credentials';
    const a = await resolveIdentity(identityPlan({ AWS_CONTAINER_CREDENTIALS_FULL_URI: uri, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'tok-a' }), async () => 'x');
    const b = await resolveIdentity(identityPlan({ AWS_CONTAINER_CREDENTIALS_FULL_URI: uri, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'tok-b' }), async () => 'x');
    expect(a).not.toBe(b);
    expect(a.startsWith(`container:${uri}#`)).toBe(true);
    expect(a).not.toContain('tok-a');
  });
});
