/**
 * Every IAM policy document under chart-values/aws/, filled in as docs/aws-setup.md fills it, passes parliament
 * (Duo Labs' IAM linter: unknown actions, condition keys that do not apply, resources that match no action,
 * malformed statements), plus the community auditors. Resource-based documents (trust policies, the bucket and
 * repository policies) are linted as what they grant: Principal dropped, Resource set to the resource they are
 * attached to. And the S3 grant is exactly the keys the registry touches (measured by storage-health.test.ts).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../chart/chart-values.js';
import { requireTools, toolPaths } from '../support/tools.js';

const AWS_DIR = join(ROOT, 'chart-values', 'aws');
// Not IAM: the bucket's lifecycle configuration.
const NOT_IAM = new Set(['lifecycle.json']);
const ACCOUNT = '111122223333';
const ECR_ACCOUNT = '444455556666';
const REGION = 'eu-west-2';
const OIDC = `oidc.eks.${REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF`;

/** What docs/aws-setup.md's fill() does, with test values. */
const fill = (text: string) => text
  .replaceAll('oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE', OIDC)
  .replaceAll('210987654321', ECR_ACCOUNT)
  .replaceAll('123456789012', ACCOUNT)
  .replaceAll('us-east-1', REGION)
  .replaceAll('my-registry-cache-bucket', 'registry-cache-test');

/** The resource a resource-based policy is attached to, for the statements that name none. */
const ATTACHED_TO: Record<string, string> = {
  'trust-irsa.json': `arn:aws:iam::${ACCOUNT}:role/ecr-pull-through-cache`,
  'trust-pod-identity.json': `arn:aws:iam::${ACCOUNT}:role/ecr-pull-through-cache`,
  'trust-cross-account.json': `arn:aws:iam::${ECR_ACCOUNT}:role/ecr-pull-through-cache-reader`,
  'trust-cross-account-pod-identity.json': `arn:aws:iam::${ECR_ACCOUNT}:role/ecr-pull-through-cache-reader`,
  'ecr-repository-policy-cross-account.json': `arn:aws:ecr:${REGION}:${ECR_ACCOUNT}:repository/cache-test/busybox`,
};

// Findings that are parliament's, not the policy's, each with the reason it is accepted.
const CREDENTIALS = 'the community auditor flags every action that returns credentials; handing out short-lived '
  + 'credentials (sts:AssumeRole*, ecr:GetAuthorizationToken) is what these roles are for';
const KNOWN: { files: string[]; issue: string; detail: RegExp; why: string }[] = [
  {
    files: ['ecr-pull-through-cache-policy.json'],
    issue: 'RESOURCE_MISMATCH',
    detail: /ecr:BatchImportUpstreamImage/,
    why: 'parliament 1.6.4 lists no resource type for it; the AWS Service Authorization Reference and the ECR '
      + 'pull-through cache guide scope it to repository ARNs',
  },
  {
    files: ['trust-irsa.json'],
    issue: 'UNKNOWN_CONDITION_FOR_ACTION',
    detail: /^"Unknown condition oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/[0-9A-F]{32}:(sub|aud) for action sts:AssumeRoleWithWebIdentity"$/,
    why: 'the OIDC provider\'s own keys (<issuer>:sub, <issuer>:aud), which IAM documents for web identity federation',
  },
  {
    files: ['assume-target-role-policy.json', 'assume-target-role-policy-pod-identity.json', 'ecr-pull-policy.json', 'trust-irsa.json',
      'trust-pod-identity.json', 'trust-cross-account.json', 'trust-cross-account-pod-identity.json'],
    issue: 'CREDENTIALS_EXPOSURE', detail: /^""$/, why: CREDENTIALS,
  },
];

interface Statement { Principal?: unknown; Resource?: unknown; NotResource?: unknown; [k: string]: unknown }
interface Finding { issue: string; detail: unknown; severity: string }

function asIdentityPolicy(file: string, doc: { Statement: Statement[] }): unknown {
  return {
    ...doc,
    Statement: doc.Statement.map(({ Principal: _principal, ...s }) =>
      (s.Resource ?? s.NotResource) !== undefined ? s : { ...s, Resource: ATTACHED_TO[file] ?? '*' }),
  };
}

function lint(policy: unknown): Promise<{ code: number; findings: Finding[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(toolPaths.parliament, ['--json', '--include-community-auditors'], (err, stdout) => {
      const findings = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Finding);
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? Number(err.code) : 0, findings });
    });
    child.stdin!.end(JSON.stringify(policy)); // parliament reads stdin when it is not a terminal
  });
}

const files = readdirSync(AWS_DIR).filter((f) => f.endsWith('.json') && !NOT_IAM.has(f)).sort();

describe('IAM documents pass parliament', () => {
  requireTools('parliament');

  it('the documents are the ones docs/aws-setup.md uses', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'aws-setup.md'), 'utf8');
    // named whole (chart-values/aws/x.json) or in a loop over names (for f in x y; do fill "chart-values/aws/$f.json")
    for (const f of [...files, ...NOT_IAM]) expect(doc, f).toMatch(new RegExp(`chart-values/aws/${f.replace('.', '\\.')}|\\bfor f in [^;]*\\b${f.replace('.json', '')}\\b`));
  });

  it.each(files)('%s', async (file) => {
    const doc = JSON.parse(fill(readFileSync(join(AWS_DIR, file), 'utf8'))) as { Statement: Statement[] };
    const { findings } = await lint(asIdentityPolicy(file, doc));
    const unexpected = findings.filter((f) => !KNOWN.some((k) => k.files.includes(file) && k.issue === f.issue && k.detail.test(JSON.stringify(f.detail))));
    expect(unexpected).toEqual([]);
  });

  it('a misspelled action and a condition key that does not apply are found', async () => {
    const bad = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:GetObjekt', 'sts:AssumeRole'], Resource: '*', Condition: { StringEquals: { 's3:prefix': 'x' } } }],
    };
    const { code, findings } = await lint(bad);
    expect(code).not.toBe(0);
    expect(findings.map((f) => f.issue)).toEqual(expect.arrayContaining(['UNKNOWN_ACTION']));
  });
});

describe('least privilege on the bucket', () => {
  it('objects: docker/* (the registry layout), scheduler-state.json (the proxy expiry list) and the preflight probe, nothing else', () => {
    for (const file of ['s3-cache-policy.json', 'bucket-policy-cross-account.json']) {
      const doc = JSON.parse(readFileSync(join(AWS_DIR, file), 'utf8')) as { Statement: Statement[] };
      const objectResources = doc.Statement.filter((s) => s.Effect === 'Allow')
        .flatMap((s) => [s.Resource].flat() as string[]).filter((r) => r.includes('/'));
      expect(new Set(objectResources), file).toEqual(new Set([
        'arn:aws:s3:::my-registry-cache-bucket/docker/*',
        'arn:aws:s3:::my-registry-cache-bucket/scheduler-state.json',
        'arn:aws:s3:::my-registry-cache-bucket/.preflight/*', // sts-init's preflight probe object, deleted at once
      ]));
    }
  });
});
