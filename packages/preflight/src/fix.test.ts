import { describe, expect, it } from 'vitest';
import { FILES, fixFor, fixForStsError, statementFor } from './fix.js';

const DENY_REPO = (principalAccount: string, repoAccount: string, how: string) =>
  `User: arn:aws:sts::${principalAccount}:assumed-role/ecr-pull-through-cache/s is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:${repoAccount}:repository/app ${how}`;

describe('fixFor: ECR', () => {
  it("a repository policy of another account refusing: that account's repository policy, with its statement", () => {
    const fix = fixFor('ecr:BatchGetImage', DENY_REPO('123456789012', '210987654321', 'because no resource-based policy allows the ecr:BatchGetImage action'), 'same-account');
    expect(fix).toEqual({ file: FILES.ecrRepositoryPolicyCrossAccount, sid: statementFor(FILES.ecrRepositoryPolicyCrossAccount, 'ecr:BatchGetImage') });
    expect(fix.sid).toBe('TheClusterAccountRegistryRolePulls');
  });

  it('the identity policy refusing, or a repository policy in the same account: the pull policy', () => {
    expect(fixFor('ecr:BatchGetImage', DENY_REPO('123456789012', '210987654321', 'because no identity-based policy allows the ecr:BatchGetImage action'), 'same-account').file).toBe(FILES.ecrPolicy);
    expect(fixFor('ecr:BatchGetImage', DENY_REPO('123456789012', '123456789012', 'with an explicit deny in a resource-based policy'), 'same-account').file).toBe(FILES.ecrPolicy);
  });
});

describe('fixForStsError', () => {
  it('the Pod Identity agent answering 400 (as the SDK container provider reports it): trust-pod-identity.json, saying what refused', () => {
    const err = Object.assign(new Error('CredentialsProviderError: Server responded with status: 400'), { name: 'CredentialsProviderError' });
    expect(fixForStsError(err)).toMatchObject({ file: FILES.trustPodIdentity, why: expect.stringContaining('AssumeRoleForPodIdentity') });
  });

  it('the agent answering 404 (no association) or 500 names no file; nor does a non-denial', () => {
    for (const status of [404, 500]) {
      expect(fixForStsError(Object.assign(new Error(`CredentialsProviderError: Server responded with status: ${status}`), { name: 'CredentialsProviderError' }))).toBeUndefined();
    }
    expect(fixForStsError(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))).toBeUndefined();
  });

  it('sts:AssumeRole refused by the trust policy or by the caller\'s policy', () => {
    const msg = (why: string) => `User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/t ${why}`;
    expect(fixForStsError(Object.assign(new Error(msg('with an explicit deny in a resource-based policy')), { name: 'AccessDenied' }))?.file).toBe(FILES.trustCrossAccount);
    expect(fixForStsError(Object.assign(new Error(msg('because no identity-based policy allows the sts:AssumeRole action')), { name: 'AccessDenied' }))?.file).toBe(FILES.assumeTarget);
    // A trust policy that does not name the caller: AWS's message then says no policy kind at all.
    expect(fixForStsError(Object.assign(new Error(msg('').trim()), { name: 'AccessDenied' }))?.file).toBe(FILES.trustCrossAccount);
  });
});
