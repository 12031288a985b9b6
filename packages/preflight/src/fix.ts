/**
 * Which file of this repository grants (or denies) an AWS action, so a failed check can name the one document to
 * fix, and the statement in it (read from the file itself, bundled into the executable).
 *
 * AWS says in an AccessDenied message which kind of policy refused ("… because no identity-based policy allows the
 * s3:PutObject action", "… with an explicit deny in a resource-based policy"; documented in IAM's "Troubleshoot
 * access denied error messages"); when it does, the file follows it, otherwise the identity policy is named.
 */
import bucketPolicyCrossAccount from '../../../chart-values/aws/bucket-policy-cross-account.json' with { type: 'json' };
import ecrPolicy from '../../../chart-values/aws/ecr-pull-policy.json' with { type: 'json' };
import ecrRepositoryPolicyCrossAccount from '../../../chart-values/aws/ecr-repository-policy-cross-account.json' with { type: 'json' };
import s3Policy from '../../../chart-values/aws/s3-cache-policy.json' with { type: 'json' };

export type Mode = 'same-account' | 'cross-account';

export interface Fix {
  /** Path from the repository root. */
  file: string;
  /** Statement id in that file (a policy document), or the key (the values file), when one is meant. */
  sid?: string;
  /** What refused, when the error itself does not say (one clause). */
  why?: string;
}

export const FILES = {
  s3Policy: 'chart-values/aws/s3-cache-policy.json',
  bucketPolicy: 'chart-values/aws/bucket-policy.json',
  bucketPolicyCrossAccount: 'chart-values/aws/bucket-policy-cross-account.json',
  ecrPolicy: 'chart-values/aws/ecr-pull-policy.json',
  ecrRepositoryPolicyCrossAccount: 'chart-values/aws/ecr-repository-policy-cross-account.json',
  trustIrsa: 'chart-values/aws/trust-irsa.json',
  trustPodIdentity: 'chart-values/aws/trust-pod-identity.json',
  trustCrossAccount: 'chart-values/aws/trust-cross-account.json',
  assumeTarget: 'chart-values/aws/assume-target-role-policy.json',
  values: 'chart-values/values-s3-ecr-proxy.yaml',
} as const;

interface PolicyDocument {
  Statement: Array<{ Sid?: string; Effect: string; Action: string | string[] }>;
}

/** The documents themselves, bundled at build time, so a renamed statement can never be named wrongly here. */
const DOCUMENTS: Partial<Record<string, PolicyDocument>> = {
  [FILES.s3Policy]: s3Policy,
  [FILES.bucketPolicyCrossAccount]: bucketPolicyCrossAccount,
  [FILES.ecrPolicy]: ecrPolicy,
  [FILES.ecrRepositoryPolicyCrossAccount]: ecrRepositoryPolicyCrossAccount,
};

/** The id of the first Allow statement of `file` that grants `action` (exactly or by a `service:*` wildcard). */
export function statementFor(file: string, action: string): string | undefined {
  const doc = DOCUMENTS[file];
  const [service] = action.split(':');
  return doc?.Statement.find((st) => st.Effect === 'Allow' && [st.Action].flat().some((a) => a === action || a === `${service}:*`))?.Sid;
}

/** Which kind of policy the AccessDenied message blames, if it says. */
export function blamedPolicy(message: string): 'identity' | 'resource' | undefined {
  if (/resource-based policy/i.test(message)) return 'resource';
  if (/identity-based policy|permissions boundary|session policy/i.test(message)) return 'identity';
  return undefined;
}

/** The file to fix for a denied action. */
export function fixFor(action: string, message: string, mode: Mode): Fix {
  const blamed = blamedPolicy(message);
  const [service] = action.split(':');
  if (action.startsWith('kms:')) return { file: FILES.s3Policy };
  if (service === 's3') {
    if (mode === 'cross-account') {
      // The target role is in another account: the bucket policy must allow it, and so must its own policies.
      return withSid(blamed === 'identity' ? FILES.s3Policy : FILES.bucketPolicyCrossAccount, action);
    }
    if (blamed === 'resource') return { file: FILES.bucketPolicy };
    return withSid(FILES.s3Policy, action);
  }
  if (service === 'ecr') {
    // A repository policy refused a principal of another account: the ECR account's repository policy
    // (overlays/ecr-other-account.yaml). In the principal's own account no file of this repository sets one.
    if (blamed === 'resource' && crossAccountEcr(message)) return withSid(FILES.ecrRepositoryPolicyCrossAccount, action);
    return withSid(FILES.ecrPolicy, action);
  }
  if (action === 'sts:AssumeRoleWithWebIdentity') return { file: FILES.trustIrsa };
  if (action === 'sts:AssumeRole') return blamed === 'identity' ? { file: FILES.assumeTarget } : { file: FILES.trustCrossAccount };
  return { file: FILES.values };
}

/** The AccessDenied message names a principal (`User: arn:…:ACCOUNT:…`) of another account than the repository's. */
function crossAccountEcr(message: string): boolean {
  const principal = /User: arn:aws[\w-]*:(?:sts|iam)::(\d{12}):/.exec(message)?.[1];
  const repository = /arn:aws[\w-]*:ecr:[\w-]+:(\d{12}):repository\//.exec(message)?.[1];
  return principal !== undefined && repository !== undefined && principal !== repository;
}

function withSid(file: string, action: string): Fix {
  const sid = statementFor(file, action);
  return sid ? { file, sid } : { file };
}

/** `file (statement Sid)` for a policy document, `file (key path)` for the values file. */
export function fixText(fix: Fix): string {
  if (!fix.sid) return fix.file;
  return `${fix.file} (${fix.file.endsWith('.json') ? 'statement' : 'key'} ${fix.sid})`;
}

/**
 * The file to fix when sts-init itself is refused a role (before any preflight can run): the trust policy for
 * sts:AssumeRoleWithWebIdentity, the trust or the caller's policy for sts:AssumeRole, and trust-pod-identity.json
 * when the EKS Pod Identity agent answers 400. undefined: not a denial.
 *
 * The agent passes on EKS Auth's AssumeRoleForPodIdentity error with its HTTP status (aws/eks-pod-identity-agent,
 * pkg/errors/errors.go); 400 is AccessDeniedException (the role's trust policy refuses pods.eks.amazonaws.com or
 * its tag conditions do not match), or a token EKS Auth rejects (InvalidTokenException, ExpiredTokenException,
 * both kubelet's to renew); 404 is no association, which no file of this repository makes. The SDK's container
 * provider (@aws-sdk/credential-provider-http) keeps only the status ("Server responded with status: 400").
 */
export function fixForStsError(err: unknown): Fix | undefined {
  const e = (err ?? {}) as { name?: string; message?: string };
  if (e.name === 'CredentialsProviderError' && /Server responded with status: 400\b/.test(e.message ?? '')) {
    return { file: FILES.trustPodIdentity, why: 'the EKS Pod Identity agent: eks-auth:AssumeRoleForPodIdentity refused the role (AccessDenied by its trust policy, or a rejected token)' };
  }
  if (e.name !== 'AccessDenied' && e.name !== 'AccessDeniedException') return undefined;
  const action = /sts:(AssumeRoleWithWebIdentity|AssumeRole)\b/.exec(e.message ?? '')?.[0];
  return action ? fixFor(action, e.message ?? '', 'same-account') : undefined;
}
