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
  'trust-cross-account.json': {
    Principal: { AWS: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache' },
    // TagSession: EKS Pod Identity's targetRoleArn hop passes the session tags on (docs/aws-setup.md step 4)
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: undefined,
  },
};

describe('trust policies: exactly this principal, action and condition', () => {
  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const all = statements(file);
    expect(all).toHaveLength(1);
    const { Principal, Action, Condition, Effect } = all[0]!;
    expect(Effect).toBe('Allow');
    expect({ Principal, Action, Condition }).toStrictEqual(expected);
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
