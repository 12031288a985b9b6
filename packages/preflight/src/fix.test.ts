import { describe, expect, it } from 'vitest';
import { blamedPolicy, FILES, fixFor, fixForStsError, fixText, modeFor, statementFor } from './fix.js';

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

describe('fixFor: policies in no file of this repository', () => {
  // AWS names these kinds too (IAM User Guide, "Troubleshoot access denied error messages"): naming
  // s3-cache-policy.json would send the operator to a document that already allows the action.
  it.each([
    ['with an explicit deny in a VPC endpoint policy', 'vpc-endpoint', 'VPC endpoint policy'],
    ['because no VPC endpoint policy allows the s3:PutObject action', 'vpc-endpoint', 'VPC endpoint policy'],
    ['with an explicit deny in a service control policy', 'scp', 'service control policy'],
    ['because no service control policy allows the s3:PutObject action', 'scp', 'service control policy'],
    ['with an explicit deny in a resource control policy', 'rcp', 'resource control policy'],
    ['because no resource control policy allows the s3:PutObject action', 'rcp', 'resource control policy'],
  ])('"%s" names the kind (%s), no file', (because, kind, words) => {
    const message = `User: arn:aws:sts::111122223333:assumed-role/cache-role/s is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::bucket/docker/x" ${because}`;
    expect(blamedPolicy(message)).toBe(kind);
    for (const mode of ['same-account', 'cross-account'] as const) {
      const fix = fixFor('s3:PutObject', message, mode);
      expect(fix.file).toBeUndefined();
      expect(fixText(fix)).toContain(words);
      expect(fixText(fix)).toContain('not a file of this repository');
    }
    expect(fixFor('ecr:BatchGetImage', message.replace(/s3:PutObject/g, 'ecr:BatchGetImage'), 'same-account').file).toBeUndefined();
  });
});

describe('modeFor', () => {
  const CLUSTER = 'arn:aws:iam::123456789012:role/ecr-pull-through-cache';
  it('cross-account when the principal is of another account than the cluster role, else as configured', () => {
    expect(modeFor('same-account', 'arn:aws:sts::210987654321:assumed-role/reader/s', CLUSTER)).toBe('cross-account');
    expect(modeFor('same-account', 'arn:aws:sts::123456789012:assumed-role/ecr-pull-through-cache/s', CLUSTER)).toBe('same-account');
    expect(modeFor('cross-account', 'arn:aws:sts::123456789012:assumed-role/x/s', CLUSTER)).toBe('cross-account');
    // Not known for certain: kept as configured.
    expect(modeFor('same-account', 'unknown', CLUSTER)).toBe('same-account');
    expect(modeFor('same-account', 'arn:aws:sts::210987654321:assumed-role/reader/s', undefined)).toBe('same-account');
  });
});

describe('fixForStsError', () => {
  it("the agent's 400 names the Pod Identity target-role documents too: EKS Auth makes both hops, the 400 does not say which refused", () => {
    const fix = fixForStsError(Object.assign(new Error('Server responded with status: 400'), { name: 'CredentialsProviderError' }))!;
    expect(fixText(fix)).toBe(`${FILES.trustPodIdentity}; with the association's targetRoleArn: ${FILES.trustCrossAccountPodIdentity} or ${FILES.assumeTargetPodIdentity}`);
  });

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
