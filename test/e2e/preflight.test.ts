/**
 * The preflight for real: sts-init in the local stack (registry 3.0.0, moto S3 behind the enforcer, the local STS/ECR)
 * with each IAM document broken in turn by denials matching its statements (Pod Identity through the local AWS's EKS
 * Pod Identity agent; the chained role of overlays/cross-account.yaml; another account's registry, as
 * overlays/ecr-other-account.yaml); not ecr-pull-through-cache-policy.json, whose ecr:BatchImportUpstreamImage has no
 * API call to probe (docs/operations.md, "Preflight"); the `preflight` subcommand as an operator
 * runs it in the registry container; and moto's own IAM evaluation of chart-values/aws/s3-cache-policy.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES, statementFor } from '../../packages/preflight/src/fix.js';
import { startFakeAws, type DenialSpec, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, repoRoot, requireBuilt, runExe } from '../support/exe.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { startStack, StsInitFailed, type Stack } from '../support/stack.js';
import { requireTools, toolPaths } from '../support/tools.js';
import { stsInit, workDir } from '../integration/sts-init-support.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const fixOf = (file: string, action?: string) => {
  const sid = action ? statementFor(file, action) : undefined;
  return `; fix ${file}${sid ? ` (statement ${sid})` : ''}`;
};

interface Broken {
  doc: string;
  sts?: DenialSpec[];
  ecr?: DenialSpec[];
  s3?: DenialSpec[];
  /** sts-init env beyond the values'. */
  env?: Record<string, string>;
  /** IRSA (default) or the Pod Identity agent (overlays/pod-identity.yaml). */
  source?: 'irsa' | 'pod-identity';
  /** The start of sts-init's last line, and its end (the fix). */
  line: RegExp;
}

const PRINCIPAL = 'arn:aws:sts::123456789012:assumed-role/ecr-pull-through-cache/\\S+';
const BUCKET = 'arn:aws:s3:::registry-cache';
const REPO = 'arn:aws:ecr:us-east-1:123456789012:repository/ecr-pull-through-cache';
/** overlays/cross-account.yaml: the role sts-init chains into, in the ECR account. */
const TARGET_ROLE = 'arn:aws:iam::210987654321:role/ecr-pull-through-cache-reader';
/** What overlays/cross-account.yaml gives sts-init: the role to chain into, and that role as the expected one. */
const CHAINED = { TARGET_ROLE_ARN: TARGET_ROLE, EXPECTED_ROLE_ARN: TARGET_ROLE };
const ROLE = 'arn:aws:iam::123456789012:role/ecr-pull-through-cache';
/** overlays/ecr-other-account.yaml: the ECR registry of another account, pulled from by the cluster account's role. */
const OTHER_ECR = '210987654321.dkr.ecr.us-east-1.amazonaws.com';
const OTHER_REPO = 'arn:aws:ecr:us-east-1:210987654321:repository/ecr-pull-through-cache';
const failLine = (action: string, resource: string, file: string) =>
  new RegExp(`^sts-init: preflight: FAIL ${escape(action)} on ${resource} as ${PRINCIPAL}: .*${escape(fixOf(file, file === FILES.bucketPolicy ? undefined : action))} \\(PREFLIGHT=off skips the preflight\\)$`);

const CASES: Array<[string, Broken]> = [
  ['trust-irsa.json: the role does not trust the service account', {
    doc: FILES.trustIrsa,
    sts: [{ action: 'sts:AssumeRoleWithWebIdentity', policy: 'resource' }],
    line: new RegExp(`^sts-init: AccessDenied: .*sts:AssumeRoleWithWebIdentity.*${escape(fixOf(FILES.trustIrsa))}$`),
  }],
  ['s3-cache-policy.json without the bucket-level statement', {
    doc: FILES.s3Policy,
    s3: [{ action: 's3:ListBucket' }, { action: 's3:GetBucketLocation' }, { action: 's3:ListBucketMultipartUploads' }],
    line: failLine('s3:ListBucket', escape(BUCKET), FILES.s3Policy),
  }],
  ['s3-cache-policy.json without the object statement', {
    doc: FILES.s3Policy,
    // the values' layout has no rootdirectory: the probe object is .preflight/… at the bucket root
    s3: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'].map((action) => ({ action, resourcePrefix: `${BUCKET}/` })),
    line: failLine('s3:DeleteObject', `${escape(BUCKET)}/\\.preflight/\\S+`, FILES.s3Policy),
  }],
  ['s3-cache-policy.json granting writes but not reads', {
    doc: FILES.s3Policy,
    s3: [{ action: 's3:GetObject', resourcePrefix: `${BUCKET}/` }],
    line: failLine('s3:GetObject', `${escape(BUCKET)}/\\S+`, FILES.s3Policy),
  }],
  ['bucket-policy.json denying the registry (explicit deny in the bucket policy)', {
    doc: FILES.bucketPolicy,
    s3: [{ action: 's3:PutObject', policy: 'resource' }],
    line: failLine('s3:PutObject', `${escape(BUCKET)}/\\.preflight/\\S+`, FILES.bucketPolicy),
  }],
  ['ecr-pull-policy.json without the login statement', {
    doc: FILES.ecrPolicy,
    ecr: [{ action: 'ecr:GetAuthorizationToken' }],
    line: failLine('ecr:GetAuthorizationToken', '\\*', FILES.ecrPolicy),
  }],
  ['ecr-pull-policy.json without the pull statement (with the optional probe repository set)', {
    doc: FILES.ecrPolicy,
    // The values leave the repository probe off (no repository exists before the first pull); an operator who names one gets this check.
    env: { PREFLIGHT_ECR_REPOSITORY: 'ecr-pull-through-cache' },
    ecr: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'].map((action) => ({ action })),
    line: failLine('ecr:BatchGetImage', escape(REPO), FILES.ecrPolicy),
  }],
  ['trust-pod-identity.json: the role does not trust this pod (Pod Identity, through the agent)', {
    doc: FILES.trustPodIdentity,
    source: 'pod-identity',
    // EKS Auth assumes the role as pods.eks.amazonaws.com; the trust policy's tag conditions do not match.
    sts: [{ action: 'sts:AssumeRole', resourcePrefix: ROLE, policy: 'resource' }],
    line: new RegExp(`^sts-init: CredentialsProviderError: Server responded with status: 400 \\(the EKS Pod Identity agent: .*\\); fix ${escape(FILES.trustPodIdentity)}$`),
  }],
  ['trust-cross-account.json: the role in the ECR account does not trust the cluster role', {
    doc: FILES.trustCrossAccount,
    env: CHAINED,
    sts: [{ action: 'sts:AssumeRole', resourcePrefix: TARGET_ROLE, policy: 'resource' }],
    // (the message's role names are redacted by sts-init's server-text scrubbing; the accounts stay)
    line: new RegExp(`^sts-init: AccessDenied: User: arn:aws:sts::123456789012:\\S+ is not authorized to perform: sts:AssumeRole on resource: "arn:aws:iam::210987654321:\\S+" with an explicit deny in a resource-based policy${escape(fixOf(FILES.trustCrossAccount))}$`),
  }],
  ['assume-target-role-policy.json: the cluster role may not chain into the ECR account', {
    doc: FILES.assumeTarget,
    env: CHAINED,
    sts: [{ action: 'sts:AssumeRole', resourcePrefix: TARGET_ROLE, policy: 'identity' }],
    line: new RegExp(`^sts-init: AccessDenied: .*because no identity-based policy allows the sts:AssumeRole action${escape(fixOf(FILES.assumeTarget))}$`),
  }],
  ['ecr-repository-policy-cross-account.json: the repository in the ECR account does not let the cluster role pull', {
    doc: FILES.ecrRepositoryPolicyCrossAccount,
    env: { ECR_REGISTRIES: OTHER_ECR, PREFLIGHT_ECR_REPOSITORY: 'ecr-pull-through-cache' },
    ecr: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'].map((action) => ({ action, resourcePrefix: OTHER_REPO, policy: 'resource' as const })),
    line: new RegExp(`^sts-init: preflight: FAIL ecr:BatchGetImage on ${escape(OTHER_REPO)} as ${PRINCIPAL}: .*${escape(fixOf(FILES.ecrRepositoryPolicyCrossAccount, 'ecr:BatchGetImage'))} \\(PREFLIGHT=off skips the preflight\\)$`),
  }],
];

/** The same stacks without a denial start: each broken case fails because of its denial, not its setup. */
const UNBROKEN: Array<[string, Pick<Broken, 'env' | 'source'>]> = [
  ['Pod Identity through the agent', { source: 'pod-identity' }],
  ['the role chained into the ECR account', { env: CHAINED }],
  ['the ECR registry of another account, with the probe repository', { env: { ECR_REGISTRIES: OTHER_ECR, PREFLIGHT_ECR_REPOSITORY: 'ecr-pull-through-cache' } }],
];

describe('a misconfigured stack fails at the init step with the line naming the fix', () => {
  beforeAll(() => {
    requireTools('registry300', 'crane', 'motoServer');
    requireBuilt();
  });

  it.each(CASES)('%s', async (_name, broken) => {
    const started = startStack({
      ...(broken.env ? { initEnv: broken.env } : {}),
      ...(broken.source ? { credentialSource: broken.source } : {}),
      beforeInit: ({ fake, s3 }) => {
        for (const d of [...(broken.sts ?? []), ...(broken.ecr ?? [])]) fake.denials.add(d);
        for (const d of broken.s3 ?? []) s3.denials.add(d);
      },
    });
    const err = await started.then((stack) => stack.stop().then(() => undefined), (e: unknown) => e);
    expect(err).toBeInstanceOf(StsInitFailed);
    expect((err as StsInitFailed).line).toMatch(broken.line);
    expect((err as StsInitFailed).line).toContain(broken.doc);
  });

  it.each(UNBROKEN)('without the denial, %s passes the init step', async (_name, setup) => {
    const stack = await startStack({ ...(setup.env ? { initEnv: setup.env } : {}), ...(setup.source ? { credentialSource: setup.source } : {}) });
    try {
      expect(stack.initLog).toMatch(/preflight: passed/);
      if (setup.source === 'pod-identity') expect(stack.fake.calls('eks-auth:AssumeRoleForPodIdentity').map((c) => c.status)).toContain(200);
    } finally {
      await stack.stop();
    }
  });
});

describe('the preflight subcommand in the registry container, against the running stack', () => {
  let stack: Stack;
  let env: Record<string, string>;
  const preflightArgs = () => [
    'preflight', '--bucket', 'registry-cache', '--rootdirectory', '/docker', '--s3-endpoint', stack.s3.url, '--s3-force-path-style', 'true',
    '--ecr-registries', stack.ecrHost, '--ecr-repository', 'ecr-pull-through-cache',
  ];
  const probes = async () => (await stack.s3Keys()).filter((k) => k.includes('/.preflight/'));

  beforeAll(async () => {
    requireTools('registry300', 'crane', 'motoServer');
    requireBuilt();
    stack = await startStack();
    // What `kubectl exec … -c docker-registry -- docker-credential-ecr-login preflight` sees: the profile sts-init
    // wrote (credential_process), no IRSA env.
    env = cleanEnv({
      ...stack.fake.endpointEnv(),
      AWS_CONFIG_FILE: join(stack.credsDir, 'aws', 'aws-config'), // the values' /creds/aws/aws-config
      AWS_SHARED_CREDENTIALS_FILE: join(stack.credsDir, 'aws', 'aws-credentials'),
      AWS_SDK_LOAD_CONFIG: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
      ECR_LOGIN_CACHE_IDENTITY: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache',
      EXPECTED_ROLE_ARN: 'arn:aws:iam::123456789012:role/ecr-pull-through-cache', // as the values set it
      HOME: stack.work,
    });
  });
  afterAll(async () => stack?.stop());

  it('passes with one line per check on stdout, exit 0, and leaves no probe', async () => {
    const result = await runExe(preflightArgs(), { env });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('preflight: passed (10 checks)');
    expect(lines.filter((l) => l.startsWith('preflight: ok   '))).toHaveLength(10);
    expect(lines[0]).toMatch(/^preflight: ok   sts:GetCallerIdentity \S+ \(a session of arn:aws:iam::123456789012:role\/ecr-pull-through-cache\)$/);
    expect(await probes()).toEqual([]);
  });

  it('a read denied after the write: exit 1, the line names the fix, and the probe is still removed', async () => {
    stack.s3.denials.add({ action: 's3:GetObject', resourcePrefix: 'arn:aws:s3:::registry-cache/docker/.preflight/' });
    try {
      const result = await runExe(preflightArgs(), { env });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^preflight: FAIL s3:GetObject on arn:aws:s3:::registry-cache/docker/\\.preflight/\\S+ as ${PRINCIPAL}: AccessDenied .*${escape(fixOf(FILES.s3Policy, 's3:GetObject'))}$`, 'm'));
      expect(result.stdout).toMatch(/^preflight: ok   s3:DeleteObject .* \(probe removed\)$/m);
      expect(await probes()).toEqual([]);
    } finally {
      stack.s3.denials.clear();
    }
  });

  it('bad flags are a configuration error (exit 2, one line)', async () => {
    const result = await runExe(['preflight', '--bucket', 'Not_A_Bucket'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('preflight: --bucket / REGISTRY_STORAGE_S3_BUCKET: "Not_A_Bucket" is not an S3 bucket name\n');
  });
});

/**
 * moto evaluates identity-based IAM policies once its auth is switched on (INITIAL_NO_AUTH_ACTION_COUNT, here through
 * /moto-api/reset-auth); it does not evaluate bucket policies for signed requests, so those are covered by the
 * injected denials above. The policy attached is the repository's own file, with the bucket name put in.
 */
describe("moto's own IAM evaluation of chart-values/aws/s3-cache-policy.json", () => {
  let moto: MotoProcess;
  const BUCKET_NAME = 'my-registry-cache-bucket';
  const policy = JSON.parse(readFileSync(join(repoRoot, FILES.s3Policy), 'utf8')) as { Statement: Array<{ Sid: string }> };

  /** A user with `doc` as its only policy; returns its static keys. */
  const userWith = (name: string, doc: unknown): { id: string; secret: string } => {
    const script = [
      'import boto3, json, sys',
      'iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")',
      'iam.create_user(UserName=sys.argv[2])',
      'iam.put_user_policy(UserName=sys.argv[2], PolicyName="cache", PolicyDocument=sys.argv[3])',
      'k = iam.create_access_key(UserName=sys.argv[2])["AccessKey"]',
      'print(json.dumps({"id": k["AccessKeyId"], "secret": k["SecretAccessKey"]}))',
    ].join('\n');
    return JSON.parse(execFileSync(toolPaths.python, ['-c', script, moto.url, name, JSON.stringify(doc)], { encoding: 'utf8' })) as { id: string; secret: string };
  };
  const preflight = (keys: { id: string; secret: string }) =>
    runExe(['preflight', '--bucket', BUCKET_NAME, '--rootdirectory', '/docker', '--s3-endpoint', moto.url, '--s3-force-path-style', 'true'], {
      env: cleanEnv({ AWS_ACCESS_KEY_ID: keys.id, AWS_SECRET_ACCESS_KEY: keys.secret, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_STS: moto.url, AWS_EC2_METADATA_DISABLED: 'true', HOME: '/nonexistent' }),
    });
  const without = (sid: string) => ({ ...policy, Statement: policy.Statement.filter((s) => s.Sid !== sid) });

  let full: { id: string; secret: string };
  let noObjects: { id: string; secret: string };
  let noList: { id: string; secret: string };
  beforeAll(async () => {
    requireTools('motoServer');
    requireBuilt();
    moto = await startMoto();
    expect((await fetch(`${moto.url}/${BUCKET_NAME}`, { method: 'PUT' })).ok).toBe(true);
    full = userWith('full', policy);
    noObjects = userWith('no-objects', without(statementFor(FILES.s3Policy, 's3:PutObject')!));
    noList = userWith('no-list', without(statementFor(FILES.s3Policy, 's3:ListBucket')!));
    // From here on moto checks every request against the caller's policies (the listing above stays unsigned only
    // because it ran before).
    expect((await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', body: '0' })).ok).toBe(true);
  });
  afterAll(async () => moto?.stop());

  it('the file as written grants every S3 check', async () => {
    const result = await preflight(full);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^preflight: ok   sts:GetCallerIdentity arn:aws:iam::\d{12}:user\/full /m);
    expect(result.stdout).toMatch(/^preflight: ok   s3:DeleteObject arn:aws:s3:::my-registry-cache-bucket\/docker\/\.preflight\/\S+ \(probe removed\)$/m);
  });

  it('without its object statement: the line names that statement, and nothing was written', async () => {
    const result = await preflight(noObjects);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^preflight: FAIL s3:DeleteObject on arn:aws:s3:::my-registry-cache-bucket/docker/\\.preflight/\\S+ as arn:aws:iam::\\d{12}:user/no-objects: AccessDenied${escape(fixOf(FILES.s3Policy, 's3:DeleteObject'))}$`, 'm'));
    expect(result.stdout).not.toMatch(/s3:PutObject/);
  });

  it('without its bucket statement: the line names that statement', async () => {
    const result = await preflight(noList);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^preflight: FAIL s3:ListBucket on arn:aws:s3:::my-registry-cache-bucket as arn:aws:iam::\\d{12}:user/no-list: .*${escape(fixOf(FILES.s3Policy, 's3:ListBucket'))}$`, 'm'));
  });

  it('left nothing in the bucket', async () => {
    // Listing is a signed, authorized call now: ask as the user that may list.
    const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: full.id, secretAccessKey: full.secret } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET_NAME }));
    expect(listed.Contents ?? []).toEqual([]);
    s3.destroy();
  });
});

/**
 * A bucket the cache has been using, on moto: what it holds is the user's to decide, so no preflight call may fail
 * only because it is large. Every AWS answer of ours is read within core's 64 KiB cap (issue 9, meant for credential
 * answers); the preflight asks S3 only for answers whose size it bounds itself. sts-init as the chart runs it, the
 * local STS over real HTTP.
 */
describe('preflight on a bucket the cache has been using (moto)', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/ecr-pull-through-cache';
  let fake: FakeAws;
  let moto: MotoProcess;
  let s3: S3Client;

  beforeAll(async () => {
    requireBuilt();
    requireTools('motoServer');
    fake = await startFakeAws({ stsLifetimeSeconds: 3600 });
    moto = await startMoto();
    s3 = new S3Client({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  });
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
    await fake?.stop();
  });

  const runStsInit = async (bucket: string) => {
    const root = await workDir('pf-used-');
    await mkdir(join(root, 'creds'), { mode: 0o755 });
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    return stsInit([], cleanEnv({
      ...fake.endpointEnv(), HOME: root, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, CREDENTIALS_DIR: join(root, 'creds', 'aws'),
      REGISTRY_STORAGE_S3_BUCKET: bucket, REGISTRY_STORAGE_S3_REGION: 'us-east-1',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: moto.url, REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
    }));
  };

  it('a scheduler-state.json of 1000 entries (247 KB) is "readable": sts-init passes the preflight and exits 0', async () => {
    // What registry 3.0.0's proxy scheduler writes: a JSON map of `<repo>@<digest>` entries, ~247 bytes each.
    const state: Record<string, { Key: string; Expiry: string; EntryType: number }> = {};
    for (let i = 0; i < 1000; i++) {
      const key = `team-${i % 20}/service-${i % 7}@sha256:${i.toString(16).padStart(64, '0')}`;
      state[key] = { Key: key, Expiry: '2026-12-07T07:00:00.123456789Z', EntryType: 0 };
    }
    const body = JSON.stringify(state);
    expect(body.length).toBeGreaterThan(64 * 1024);
    await s3.send(new CreateBucketCommand({ Bucket: 'used-cache' }));
    await s3.send(new PutObjectCommand({ Bucket: 'used-cache', Key: 'scheduler-state.json', Body: body }));
    const out = await runStsInit('used-cache');
    expect(out.stderr).not.toContain('ResponseTooLargeError');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/preflight: ok +s3:GetObject arn:aws:s3:::used-cache\/scheduler-state\.json \(readable\)/);
  });

  it('200 keys of 1000 bytes at the root (a 100-key page was 123 KB): both listings pass, sts-init exits 0', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'long-keys' }));
    // Sorted before ".preflight/" or after it: the bucket listing and the probe's listing both meet them. (S3 keys
    // may be 1024 bytes; a shared bucket or a long root directory gets near that.)
    const keys = Array.from({ length: 200 }, (_, i) => `${i % 2 ? 'docker' : '-shared'}/${String(i).padStart(4, '0')}/${'k'.repeat(985)}`);
    for (let i = 0; i < keys.length; i += 20) {
      await Promise.all(keys.slice(i, i + 20).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'long-keys', Key, Body: '' }))));
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'long-keys' }));
    expect(listed.KeyCount).toBe(200);
    const out = await runStsInit('long-keys');
    expect(out.stderr).not.toContain('ResponseTooLargeError');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/preflight: ok +s3:ListBucket arn:aws:s3:::long-keys \(bucket exists, lists \/\)/);
    expect(out.stderr).toMatch(/preflight: ok +s3:ListBucket arn:aws:s3:::long-keys \(lists the probe just written\)/);
  });
});
