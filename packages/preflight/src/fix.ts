/**
 * Which file of this repository grants (or denies) an AWS action, so a failed check can name the one document to
 * fix. The statement ids are those of the files under chart-values/aws/ (test/chart checks they still exist).
 *
 * AWS says in an AccessDenied message which kind of policy refused ("… because no identity-based policy allows the
 * s3:PutObject action", "… with an explicit deny in a resource-based policy"; documented in IAM's "Troubleshoot
 * access denied error messages"); when it does, the file follows it, otherwise the identity policy is named.
 */
export type Mode = 'same-account' | 'cross-account';

export interface Fix {
  /** Path from the repository root. */
  file: string;
  /** Statement id in that file, when one statement is meant. */
  sid?: string;
}

export const FILES = {
  s3Policy: 'chart-values/aws/s3-cache-policy.json',
  bucketPolicy: 'chart-values/aws/bucket-policy.json',
  bucketPolicyCrossAccount: 'chart-values/aws/bucket-policy-cross-account.json',
  ecrPolicy: 'chart-values/aws/ecr-pull-policy.json',
  trustIrsa: 'chart-values/aws/trust-irsa.json',
  trustPodIdentity: 'chart-values/aws/trust-pod-identity.json',
  trustCrossAccount: 'chart-values/aws/trust-cross-account.json',
  assumeTarget: 'chart-values/aws/assume-target-role-policy.json',
  values: 'chart-values/values-s3-ecr-proxy.yaml',
} as const;

const S3_SID: Record<string, string> = {
  's3:ListBucket': 'ListTheCacheBucket',
  's3:ListBucketMultipartUploads': 'ListTheCacheBucket',
  's3:GetBucketLocation': 'ListTheCacheBucket',
  's3:GetObject': 'ReadWriteUnderDockerPrefix',
  's3:PutObject': 'ReadWriteUnderDockerPrefix',
  's3:DeleteObject': 'ReadWriteUnderDockerPrefix',
};
const S3_SID_CROSS: Record<string, string> = {
  's3:ListBucket': 'TargetRoleListsTheBucket',
  's3:GetObject': 'TargetRoleReadsWritesDockerPrefix',
  's3:PutObject': 'TargetRoleReadsWritesDockerPrefix',
  's3:DeleteObject': 'TargetRoleReadsWritesDockerPrefix',
};

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
      if (blamed === 'identity') return { file: FILES.s3Policy, ...sid(S3_SID, action) };
      return { file: FILES.bucketPolicyCrossAccount, ...sid(S3_SID_CROSS, action) };
    }
    if (blamed === 'resource') return { file: FILES.bucketPolicy };
    return { file: FILES.s3Policy, ...sid(S3_SID, action) };
  }
  if (service === 'ecr') {
    return { file: FILES.ecrPolicy, sid: action === 'ecr:GetAuthorizationToken' ? 'EcrLoginToken' : 'EcrPullOnly' };
  }
  if (action === 'sts:AssumeRoleWithWebIdentity') return { file: FILES.trustIrsa };
  if (action === 'sts:AssumeRole') return blamed === 'identity' ? { file: FILES.assumeTarget } : { file: FILES.trustCrossAccount };
  return { file: FILES.values };
}

function sid(table: Record<string, string>, action: string): { sid?: string } {
  const found = table[action];
  return found ? { sid: found } : {};
}

export function fixText(fix: Fix): string {
  return fix.sid ? `${fix.file} (statement ${fix.sid})` : fix.file;
}

/**
 * The file to fix when sts-init itself is refused a role (before any preflight can run): the trust policy for
 * sts:AssumeRoleWithWebIdentity, the trust or the caller's policy for sts:AssumeRole. undefined: not a denial.
 */
export function fixForStsError(err: unknown): Fix | undefined {
  const e = (err ?? {}) as { name?: string; message?: string };
  if (e.name !== 'AccessDenied' && e.name !== 'AccessDeniedException') return undefined;
  const action = /sts:(AssumeRoleWithWebIdentity|AssumeRole)\b/.exec(e.message ?? '')?.[0];
  return action ? fixFor(action, e.message ?? '', 'same-account') : undefined;
}
