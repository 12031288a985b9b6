// The trust policies of chart-values/aws/: exactly who may assume the role and under which conditions. The policy
// linter (test/e2e/iam-policies.test.ts) cannot judge a principal, so a "*" or a dropped condition is caught here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './chart-values.js';

const OIDC = 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
interface Statement { Effect: string; Principal: unknown; Action: unknown; Condition?: unknown }
const statements = (file: string): Statement[] =>
  (JSON.parse(readFileSync(join(ROOT, 'chart-values', 'aws', file), 'utf8')) as { Statement: Statement[] }).Statement;

const EXPECTED: Record<string, Omit<Statement, 'Effect'>> = {
  'trust-irsa.json': {
    Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${OIDC}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${OIDC}:sub`]: 'system:serviceaccount:registry-cache:ecr-pull-through-cache', [`${OIDC}:aud`]: 'sts.amazonaws.com' } },
  },
  // The form of the EKS User Guide, "Create IAM role with trust policy required by EKS Pod Identity"
  // (docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html; awsdocs/amazon-eks-user-guide pod-id-role.adoc):
  // scoped by the session tags EKS sets. That page (and the rest of the guide) documents no aws:SourceAccount or
  // aws:SourceArn for pods.eks.amazonaws.com, and a StringEquals on a key absent from the request is false, so none
  // is added (checked 2026-11: see docs/aws-setup.md "Instead: EKS Pod Identity").
  'trust-pod-identity.json': {
    Principal: { Service: 'pods.eks.amazonaws.com' },
    Action: ['sts:AssumeRole', 'sts:TagSession'], // EKS Pod Identity tags every session
    Condition: {
      StringEquals: {
        'aws:RequestTag/eks-cluster-arn': 'arn:aws:eks:us-east-1:123456789012:cluster/my-cluster',
        'aws:RequestTag/kubernetes-namespace': 'registry-cache',
        'aws:RequestTag/kubernetes-service-account': 'ecr-pull-through-cache',
      },
    },
  },
  // IRSA chained by sts-init (docs/aws-setup.md step 4 a): its AssumeRole passes no session tags, so no TagSession.
  'trust-cross-account.json': {
    Principal: { AWS: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache' },
    Action: 'sts:AssumeRole',
    Condition: undefined,
  },
  // EKS Pod Identity's targetRoleArn (step 4 b): EKS passes the session tags on to the target role, which the EKS
  // User Guide's "Access AWS Resources using EKS Pod Identity Target IAM Roles" (pod-id-assign-target-role) trusts
  // for AssumeRole and TagSession, scoped by the same tags.
  'trust-cross-account-pod-identity.json': {
    Principal: { AWS: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache' },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: {
      StringEquals: {
        'aws:RequestTag/eks-cluster-arn': 'arn:aws:eks:us-east-1:123456789012:cluster/my-cluster',
        'aws:RequestTag/kubernetes-namespace': 'registry-cache',
        'aws:RequestTag/kubernetes-service-account': 'ecr-pull-through-cache',
      },
    },
  },
};

/** The cluster account role's permission to take the hop to the target role: exactly the actions of its variant. */
const HOP: Record<string, unknown> = {
  'assume-target-role-policy.json': 'sts:AssumeRole',
  'assume-target-role-policy-pod-identity.json': ['sts:AssumeRole', 'sts:TagSession'],
};

describe('trust policies: exactly this principal, action and condition', () => {
  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const all = statements(file);
    expect(all).toHaveLength(1);
    const { Principal, Action, Condition, Effect } = all[0]!;
    expect(Effect).toBe('Allow');
    expect({ Principal, Action, Condition }).toStrictEqual(expected);
  });

  it.each(Object.entries(HOP))('%s: only the target role, only its variant\'s actions', (file, action) => {
    const all = statements(file) as (Statement & { Resource: unknown })[];
    expect(all).toHaveLength(1);
    expect([all[0]!.Effect, all[0]!.Action, all[0]!.Resource]).toStrictEqual(['Allow', action, 'arn:aws:iam::210987654321:role/ecr-pull-through-cache-reader']);
  });

  it('the steps of each cross-account variant use that variant\'s trust and permission documents', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'aws-setup.md'), 'utf8');
    const block = (tag: string) => [...doc.matchAll(/^```sh ([^\n]*)\n([\s\S]*?)^```$/gm)].find((m) => m[1]!.split(' ').includes(tag))![2]!;
    const uses = (tag: string) => [...block(tag).matchAll(/\$WORK\/((?:trust-cross-account|assume-target-role-policy)[a-z-]*\.json)/g)].map((m) => m[1]).sort();
    expect(new Set(uses('cross-account'))).toEqual(new Set(['assume-target-role-policy.json', 'trust-cross-account.json']));
    expect(new Set(uses('pod-identity-target'))).toEqual(new Set(['assume-target-role-policy-pod-identity.json', 'trust-cross-account-pod-identity.json']));
  });

  it('a wildcard principal or a dropped condition fails the comparison', () => {
    const broad = { ...EXPECTED['trust-cross-account.json'], Principal: '*' };
    expect(broad).not.toStrictEqual(EXPECTED['trust-cross-account.json']);
    const cond = EXPECTED['trust-pod-identity.json']!.Condition as { StringEquals: Record<string, string> };
    const { 'aws:RequestTag/kubernetes-namespace': _dropped, ...rest } = cond.StringEquals;
    expect({ ...EXPECTED['trust-pod-identity.json'], Condition: { StringEquals: rest } }).not.toStrictEqual(EXPECTED['trust-pod-identity.json']);
  });
});

describe('ECR pull grants: only what the registry v2 API through an ECR token needs', () => {
  // registry 3.0.0's proxy speaks the registry v2 API only: manifests (BatchGetImage), blobs
  // (GetDownloadUrlForLayer, BatchCheckLayerAvailability), tags/list (ListImages); never Describe*.
  const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability', 'ecr:ListImages'];
  it('ecr-pull-policy.json', () => {
    const [token, pull, ...rest] = statements('ecr-pull-policy.json') as (Statement & { Resource: unknown })[];
    expect(rest).toEqual([]);
    expect([token?.Action, token?.Resource]).toEqual(['ecr:GetAuthorizationToken', '*']);
    expect(pull?.Action).toEqual(PULL);
    expect(pull?.Resource).toBe('arn:aws:ecr:us-east-1:123456789012:repository/*');
  });
  it('ecr-repository-policy-cross-account.json', () => {
    const all = statements('ecr-repository-policy-cross-account.json');
    expect(all).toHaveLength(1);
    expect(all[0]?.Principal).toEqual({ AWS: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache' });
    expect(all[0]?.Action).toEqual(PULL);
  });
});
