/**
 * Which file of this repository grants (or denies) an AWS action, so a failed check can name the one document to
 * fix, and the statement in it (read from the file itself, bundled into the executable).
 *
 * AWS says in an AccessDenied message which kind of policy refused ("… because no identity-based policy allows the
 * s3:PutObject action", "… with an explicit deny in a resource-based policy"; documented in IAM's "Troubleshoot
 * access denied error messages"); when it does, the file follows it, otherwise the identity policy is named. The same
 * page lists kinds no file of this repository holds (a VPC endpoint policy, a service control policy, a resource
 * control policy): those are named as what to fix, with no file, rather than a document that already allows the action.
 */
import bucketPolicyCrossAccount from '../../../chart-values/aws/bucket-policy-cross-account.json' with { type: 'json' };
import ecrPolicy from '../../../chart-values/aws/ecr-pull-policy.json' with { type: 'json' };
import ecrRepositoryPolicyCrossAccount from '../../../chart-values/aws/ecr-repository-policy-cross-account.json' with { type: 'json' };
import s3Policy from '../../../chart-values/aws/s3-cache-policy.json' with { type: 'json' };

export type Mode = 'same-account' | 'cross-account';

export interface Fix {
  /** Path from the repository root; undefined when what refused is in no file of this repository (`outside`). */
  file?: string;
  /** Statement id in that file (a policy document), or the key (the values file), when one is meant. */
  sid?: string;
  /** What refused, when the error itself does not say (one clause). */
  why?: string;
  /** Other files to fix in a variant this process cannot tell from the one it knows: `when` is one clause. */
  also?: { when: string; files: string[] };
  /** The kind of policy outside this repository that refused (one noun phrase), when AWS names one. */
  outside?: string;
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
  trustCrossAccountPodIdentity: 'chart-values/aws/trust-cross-account-pod-identity.json',
  assumeTargetPodIdentity: 'chart-values/aws/assume-target-role-policy-pod-identity.json',
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

type Blamed = 'identity' | 'resource' | 'vpc-endpoint' | 'scp' | 'rcp';

/** The kinds AWS names that no file of this repository holds, as the line names them. */
const OUTSIDE: Record<Exclude<Blamed, 'identity' | 'resource'>, string> = {
  'vpc-endpoint': "the VPC endpoint policy (not a file of this repository: the policy of the S3 gateway or interface endpoint in the pod's VPC)",
  scp: "a service control policy (not a file of this repository: AWS Organizations, the account's or an OU's SCPs)",
  rcp: "a resource control policy (not a file of this repository: AWS Organizations, the bucket account's or an OU's RCPs)",
};

/** Which kind of policy the AccessDenied message blames, if it says. */
export function blamedPolicy(message: string): Blamed | undefined {
  // Checked first: "…in a VPC endpoint policy" would otherwise never be told from the kinds below.
  if (/VPC endpoint policy/i.test(message)) return 'vpc-endpoint';
  if (/service control polic/i.test(message)) return 'scp';
  if (/resource control polic/i.test(message)) return 'rcp';
  if (/resource-based policy/i.test(message)) return 'resource';
  if (/identity-based policy|permissions boundary|session policy/i.test(message)) return 'identity';
  return undefined;
}

/**
 * The mode S3 denials are named in, from what is certain once the principal is known: `configured` (cross-account
 * when a role is chained, TARGET_ROLE_ARN), or cross-account when the principal (`arn:…:sts::ACCOUNT:…`) is of
 * another account than `clusterRole`, the role of the bucket's account the configuration names: that is the Pod
 * Identity association's targetRoleArn, where EKS makes the hop and no env of ours names the target role.
 */
export function modeFor(configured: Mode, principal: string | undefined, clusterRole: string | undefined): Mode {
  if (configured === 'cross-account') return configured;
  const account = (arn: string | undefined) => /^arn:aws[\w-]*:(?:sts|iam)::(\d{12}):/.exec(arn ?? '')?.[1];
  const mine = account(principal);
  const home = account(clusterRole);
  return mine !== undefined && home !== undefined && mine !== home ? 'cross-account' : configured;
}

/** The file to fix for a denied action. */
export function fixFor(action: string, message: string, mode: Mode): Fix {
  const blamed = blamedPolicy(message);
  if (blamed && blamed !== 'identity' && blamed !== 'resource') return { outside: OUTSIDE[blamed] };
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

/**
 * `file (statement Sid)` for a policy document, `file (key path)` for the values file, then `; with …: a or b` for
 * `also`; or the kind of policy outside this repository. What follows "fix " in a FAIL line.
 */
export function fixText(fix: Fix): string {
  if (!fix.file) return fix.outside ?? 'the policy AWS names';
  const main = fix.sid ? `${fix.file} (${fix.file.endsWith('.json') ? 'statement' : 'key'} ${fix.sid})` : fix.file;
  return fix.also ? `${main}; ${fix.also.when}: ${fix.also.files.join(' or ')}` : main;
}

/**
 * The file to fix when sts-init itself is refused a role (before any preflight can run): the trust policy for
 * sts:AssumeRoleWithWebIdentity, the trust or the caller's policy for sts:AssumeRole, and trust-pod-identity.json
 * when the EKS Pod Identity agent answers 400, plus the two documents of the targetRoleArn variant
 * (trust-cross-account-pod-identity.json, assume-target-role-policy-pod-identity.json): EKS Auth makes both hops,
 * a refusal of either reaches the pod as the same 400, and nothing in it says which hop. undefined: not a denial.
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
    return {
      file: FILES.trustPodIdentity,
      why: 'the EKS Pod Identity agent: eks-auth:AssumeRoleForPodIdentity refused the role (AccessDenied by its trust policy, or a rejected token)',
      also: { when: "with the association's targetRoleArn", files: [FILES.trustCrossAccountPodIdentity, FILES.assumeTargetPodIdentity] },
    };
  }
  if (e.name !== 'AccessDenied' && e.name !== 'AccessDeniedException') return undefined;
  const action = /sts:(AssumeRoleWithWebIdentity|AssumeRole)\b/.exec(e.message ?? '')?.[0];
  return action ? fixFor(action, e.message ?? '', 'same-account') : undefined;
}
