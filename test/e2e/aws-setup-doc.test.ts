/**
 * docs/aws-setup.md, executed: its `sh` blocks, in document order, in one bash with `set -euo pipefail`, with only
 * the variables of step 1 changed (another account id than the placeholder, a region other than us-east-1, other
 * names for the cluster, namespace, service account, role, image repository and tag), against moto's server through
 * the real AWS CLI (PyPI awscli). Stubbed, in test/e2e/doc-stubs/: kubectl, helm, eksctl and docker (no cluster
 * here; eksctl's cluster and OIDC provider are created in moto), and the few AWS operations moto lacks (EKS add-ons
 * and Pod Identity associations, ECR pull-through-cache rules). Blocks tagged `cluster` talk to the running cache
 * and are not run. A block tagged with variant names runs only in those variants.
 *
 * Each variant runs the setup twice (every block must be re-runnable), checks what it left in moto, then runs the
 * removal and checks that nothing is left: in moto, in the stubs' state (Pod Identity associations and the agent
 * add-on, pull-through-cache rules, the namespace; a namespace that existed before the steps stays), and the docker
 * logins. moto 5.2.5, the newest on PyPI, has no ECR pull-through-cache API, so the rules are the stub's; the
 * repositories ECR would create through them on a first pull are created in moto by the test.
 *
 * What existed before the steps must survive the removal (review/ATTACK-REST.md finding 1): the pull-through-cache
 * variant starts with a `k8s` rule and a pushed `quay/team/app` repository, the Pod Identity variant with a namespace
 * and a bucket of the same names (holding two keys); and in two variants an IAM role of the same name (the cache's
 * role; the ECR account's target role) makes the setup refuse, leaving its trust alone, and the removal keep it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../chart/chart-values.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { requireTools, toolPaths } from '../support/tools.js';

const DOC = join(ROOT, 'docs', 'aws-setup.md');
const STUBS = join(ROOT, 'test', 'e2e', 'doc-stubs');
const ACCOUNT = '111122223333';
const ECR_ACCOUNT = '444455556666';
const REGION = 'eu-west-2';

/** Step 1's assignments, as written in the doc, and what the test sets instead. */
const STEP1: [RegExp, string][] = [
  [/^export AWS_REGION=us-east-1$/m, `export AWS_REGION=${REGION}`],
  [/^export CLUSTER=my-cluster$/m, 'export CLUSTER=test-cluster'],
  [/^export NS=registry-cache SA=ecr-pull-through-cache ROLE=ecr-pull-through-cache$/m, 'export NS=cache-ns SA=cache-sa ROLE=cache-role'],
  [/^export RELEASE=registry-cache$/m, 'export RELEASE=cache'],
  [/^export IMAGE_REPO=ecr-pull-through-cache TAG=3\.0\.0-1$/m, 'export IMAGE_REPO=platform/registry-cache TAG=3.0.0-7'],
  [/^export ECR_ACCOUNT_ID=210987654321 TARGET_ROLE=ecr-pull-through-cache-reader$/m, `export ECR_ACCOUNT_ID=${ECR_ACCOUNT} TARGET_ROLE=cache-reader`],
];

interface Block { line: number; tags: string[]; text: string; removal: boolean }

function blocks(): Block[] {
  const doc = readFileSync(DOC, 'utf8');
  const removalAt = doc.indexOf('\n## Remove');
  const out: Block[] = [];
  for (const m of doc.matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```$/gm)) {
    out.push({
      line: doc.slice(0, m.index).split('\n').length,
      tags: m[1]!.trim().split(/\s+/).filter(Boolean),
      text: m[2]!,
      removal: m.index! > removalAt,
    });
  }
  return out;
}

const VARIANTS: Record<string, string[]> = {
  'IRSA, with pull-through-cache rules': ['irsa', 'ptc'],
  'EKS Pod Identity': ['pod-identity', 'pod-identity-same-account'],
  'ECR in another account, IRSA chained by sts-init': ['irsa', 'cross-account'],
  'ECR in another account, Pod Identity targetRoleArn': ['pod-identity', 'pod-identity-target'],
  'ECR in another account, repository policy': ['irsa', 'repository-policy'],
};

function script(selected: Block[]): string {
  return ['set -euo pipefail', ...selected.map((b) => `echo "--- docs/aws-setup.md block at line ${b.line}" >&2\n${b.text}`)].join('\n');
}

describe('docs/aws-setup.md runs as written', () => {
  it('has the blocks the variants name, and only four that need a live cluster', () => {
    const all = blocks();
    const known = new Set(['cluster', ...Object.values(VARIANTS).flat()]);
    for (const b of all) for (const t of b.tags) expect(known.has(t), `line ${b.line}: tag ${t}`).toBe(true);
    expect(all.filter((b) => b.tags.includes('cluster')).length).toBe(4);
    for (const [pattern] of STEP1) expect(all[0]!.text, String(pattern)).toMatch(pattern);
  });

  describe.each(Object.entries(VARIANTS))('%s', (_name, tags) => {
    let moto: MotoProcess;
    let home: string;
    let env: Record<string, string>;
    const stubLog = () => readFileSync(env.STUB_LOG!, 'utf8');
    const state = () => JSON.parse(readFileSync(env.STUB_STATE!, 'utf8')) as
      { associations: Record<string, string>[]; ptc_rules: { prefix: string }[]; addons: { name: string; tags: Record<string, string> }[] };
    const namespaces = () => JSON.parse(readFileSync(join(env.STUB_DIR!, 'namespaces.json'), 'utf8')) as Record<string, Record<string, string>>;
    // One variant installs into a namespace that existed before the steps: the removal must leave that one alone.
    const nsExisted = tags.includes('pod-identity-same-account');
    // ... and the same variant a bucket of the name of step 3, with two keys of its own: reused, kept with them
    const bucketExisted = nsExisted;
    const BUCKET = `registry-cache-${ACCOUNT}-${REGION}`;
    const FOREIGN_KEYS = ['docker/registry/v2/repositories/nginx/_layers/x', 'reports/2026.csv'];
    // The pull-through-cache variant starts with someone's k8s rule and a repository pushed under quay/: both stay.
    const rulesExisted = tags.includes('ptc');
    const aws = (args: string[], profile?: string) => new Promise<string>((resolve, reject) => {
      execFile(toolPaths.aws, [...(profile ? ['--profile', profile] : []), ...args, '--output', 'json', '--region', REGION], { env }, (err, stdout, stderr) =>
        (err ? reject(new Error(stderr)) : resolve(stdout)));
    });
    const run = (selected: Block[]) => new Promise<{ code: number; stderr: string }>((resolve) => {
      const file = join(home, 'run.sh');
      writeFileSync(file, script(selected));
      execFile('bash', [file], { env, cwd: ROOT, maxBuffer: 32 << 20, timeout: 300_000 }, (err, _stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }));
    });
    const selected = (removal: boolean): Block[] => {
      const all = blocks().filter((b) => b.removal === removal && !b.tags.includes('cluster') && (b.tags.length === 0 || b.tags.some((t) => tags.includes(t))));
      if (!removal) {
        let first = all[0]!.text;
        for (const [pattern, replacement] of STEP1) first = first.replace(pattern, replacement);
        return [{ ...all[0]!, text: first }, ...all.slice(1)];
      }
      // the removal runs in a new shell: step 1 and fill() first
      return [...selected(false).slice(0, 2), ...all];
    };

    beforeAll(async () => {
      requireTools('aws', 'motoServer');
      moto = await startMoto({ env: { MOTO_ACCOUNT_ID: ACCOUNT } });
      home = mkdtempSync(join(tmpdir(), 'aws-setup-doc-'));
      const stubDir = join(home, 'stub');
      mkdirSync(stubDir);
      env = {
        PATH: `${STUBS}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: home,
        REAL_AWS: toolPaths.aws,
        STUB_LOG: join(stubDir, 'calls.log'),
        STUB_STATE: join(stubDir, 'state.json'),
        STUB_DIR: stubDir,
        AWS_ENDPOINT_URL: moto.url,
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7TESTING',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_CONFIG_FILE: join(home, 'aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
      };
      writeFileSync(env.STUB_LOG!, '');
      const hourAgo = new Date(Date.now() - 3600_000).toISOString();
      writeFileSync(env.STUB_STATE!, JSON.stringify({ addons: [], associations: [],
        ptc_rules: rulesExisted ? [{ prefix: 'k8s', upstream: 'registry.k8s.io', profile: null, createdAt: hourAgo }] : [] }));
      writeFileSync(join(stubDir, 'namespaces.json'), JSON.stringify(nsExisted ? { 'cache-ns': {} } : {}));
      // The profile of the ECR account: moto credentials of a role session in that account.
      writeFileSync(env.AWS_CONFIG_FILE!, '');
      writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE!, '');
      const session = JSON.parse(await aws(['sts', 'assume-role', '--role-arn', `arn:aws:iam::${ECR_ACCOUNT}:role/admin`, '--role-session-name', 'doc-test', '--region', REGION])) as
        { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } };
      writeFileSync(env.AWS_CONFIG_FILE!, `[profile ecr-account]\nregion = ${REGION}\n`);
      writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE!, `[ecr-account]\naws_access_key_id = ${session.Credentials.AccessKeyId}\n`
        + `aws_secret_access_key = ${session.Credentials.SecretAccessKey}\naws_session_token = ${session.Credentials.SessionToken}\n`);
      if (rulesExisted) await aws(['ecr', 'create-repository', '--repository-name', 'quay/team/app']);
      if (bucketExisted) {
        await aws(['s3api', 'create-bucket', '--bucket', BUCKET, '--create-bucket-configuration', `LocationConstraint=${REGION}`]);
        const body = join(home, 'body');
        writeFileSync(body, 'not the cache\'s');
        for (const key of FOREIGN_KEYS) await aws(['s3api', 'put-object', '--bucket', BUCKET, '--key', key, '--body', body]);
      }
    });
    afterAll(async () => {
      await moto?.stop();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    it('sets up, twice (every block re-runnable), with set -euo pipefail', { timeout: 900_000 }, async () => {
      const first = await run(selected(false));
      expect(first.code, first.stderr.split('\n').slice(-15).join('\n')).toBe(0);
      const second = await run(selected(false));
      expect(second.code, second.stderr.split('\n').slice(-15).join('\n')).toBe(0);
      if (bucketExisted) expect(first.stderr).toContain(`reusing bucket ${BUCKET}, which these steps did not create`);
    });

    it('leaves the bucket, the role and the values the variant needs, with the names of step 1', { timeout: 300_000 }, async () => {
      const bucket = `registry-cache-${ACCOUNT}-${REGION}`;
      const location = JSON.parse(await aws(['s3api', 'get-bucket-location', '--bucket', bucket])) as { LocationConstraint: string };
      expect(location.LocationConstraint).toBe(REGION);
      const role = JSON.parse(await aws(['iam', 'get-role', '--role-name', 'cache-role'])) as { Role: { AssumeRolePolicyDocument: unknown } };
      const trust = JSON.stringify(role.Role.AssumeRolePolicyDocument);
      const policies = (JSON.parse(await aws(['iam', 'list-role-policies', '--role-name', 'cache-role'])) as { PolicyNames: string[] }).PolicyNames;
      const work = join(home, 'registry-cache-setup');
      const values = parse(readFileSync(join(work, 'values-s3-ecr-proxy.yaml'), 'utf8')) as { serviceAccount: { name: string; annotations: Record<string, string> }; image: { repository: string; tag: string } };
      expect(values.serviceAccount.name).toBe('cache-sa');
      expect(values.serviceAccount.annotations['eks.amazonaws.com/role-arn']).toBe(`arn:aws:iam::${ACCOUNT}:role/cache-role`);
      expect(values.image).toEqual({ repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/platform/registry-cache`, tag: '3.0.0-7' });
      expect(stubLog()).toMatch(/^helm upgrade --install cache twuni\/docker-registry --version 3\.0\.0 --namespace cache-ns /m);
      // step 6 made the namespace and labelled it as its own, unless it existed (then untouched)
      expect(namespaces()).toEqual({ 'cache-ns': nsExisted ? {} : { 'app.kubernetes.io/created-by': 'registry-cache-aws-setup' } });
      if (tags.includes('pod-identity')) expect(state().addons).toEqual([{ cluster: 'test-cluster', name: 'eks-pod-identity-agent', tags: { 'created-by': 'registry-cache-aws-setup/test-cluster/cache-ns/cache-sa' } }]);
      if (tags.includes('ptc')) expect(state().ptc_rules.map((r) => r.prefix).sort()).toEqual(['k8s', 'quay']);
      // step 5 pushed our image where the values point (docker is stubbed; the repository is moto's)
      expect(stubLog()).toMatch(new RegExp(`^docker buildx build .* -t ${ACCOUNT}\\.dkr\\.ecr\\.${REGION}\\.amazonaws\\.com/platform/registry-cache:3\\.0\\.0-7 --push \\.$`, 'm'));
      const repos = (JSON.parse(await aws(['ecr', 'describe-repositories'])) as { repositories: { repositoryName: string; imageTagMutability: string }[] }).repositories;
      expect(repos).toContainEqual(expect.objectContaining({ repositoryName: 'platform/registry-cache', imageTagMutability: 'IMMUTABLE' }));

      if (tags.includes('irsa')) {
        const oidc = (JSON.parse(await aws(['iam', 'list-open-id-connect-providers'])) as { OpenIDConnectProviderList: { Arn: string }[] }).OpenIDConnectProviderList;
        expect(trust).toContain(oidc[0]!.Arn);
        expect(trust).toContain('"system:serviceaccount:cache-ns:cache-sa"');
      } else {
        expect(trust).toContain('"aws:RequestTag/kubernetes-service-account":"cache-sa"');
        expect(trust).toContain(`"aws:RequestTag/eks-cluster-arn":"arn:aws:eks:${REGION}:${ACCOUNT}:cluster/test-cluster"`);
      }
      const chained = tags.includes('cross-account') || tags.includes('pod-identity-target');
      expect(policies.sort()).toEqual(chained ? ['assume-target-role'] : tags.includes('ptc') ? ['ecr-pull', 'ecr-pull-through-cache', 's3-cache'] : ['ecr-pull', 's3-cache']);
      if (chained) {
        const target = (JSON.parse(await aws(['iam', 'get-role-policy', '--role-name', 'cache-reader', '--policy-name', 'ecr-pull'], 'ecr-account')) as { PolicyDocument: unknown }).PolicyDocument;
        expect(JSON.stringify(target)).toContain(`arn:aws:ecr:${REGION}:${ECR_ACCOUNT}:repository/*`); // the ECR account's repositories
        expect(JSON.stringify(target)).not.toContain(`:${ACCOUNT}:repository`);
        const bucketPolicy = JSON.parse((JSON.parse(await aws(['s3api', 'get-bucket-policy', '--bucket', bucket])) as { Policy: string }).Policy) as unknown;
        expect(JSON.stringify(bucketPolicy)).toContain(`arn:aws:iam::${ECR_ACCOUNT}:role/cache-reader`);
      }
      // every -f file helm got existed (the stub fails otherwise) and is the variant's
      const helmFiles = (/^helm upgrade .*$/m.exec(stubLog())?.[0] ?? '').match(/-f \S+/g)?.map((f) => f.slice(3).split('/').pop()) ?? [];
      expect(helmFiles).toEqual([
        'values-s3-ecr-proxy.yaml',
        ...(tags.includes('pod-identity') ? ['pod-identity.yaml'] : []),
        ...(tags.includes('cross-account') ? ['cross-account.yaml'] : []),
        ...(tags.includes('pod-identity-target') || tags.includes('repository-policy') ? ['ecr-other-account.yaml'] : []),
      ]);
      if (tags.includes('cross-account')) {
        const overlay = parse(readFileSync(join(STUB_DIR_OF(env), 'helm-values-cross-account.yaml'), 'utf8')) as { initContainers: { env: { name: string; value: string }[] }[] };
        expect(overlay.initContainers[0]!.env).toContainEqual({ name: 'TARGET_ROLE_ARN', value: `arn:aws:iam::${ECR_ACCOUNT}:role/cache-reader` });
      }
      // The role every container that checks the principal expects (EXPECTED_ROLE_ARN, from the last -f file that
      // sets the list): the role whose credentials the variant hands the pod.
      type EnvList = { name: string; value?: string }[];
      const lastExpected: Record<string, string | undefined> = {};
      const expectedIn = (list: EnvList | undefined) => list?.find((e) => e.name === 'EXPECTED_ROLE_ARN')?.value;
      for (const file of helmFiles) {
        const v = parse(readFileSync(join(STUB_DIR_OF(env), `helm-values-${file}`), 'utf8')) as { extraEnvVars?: EnvList; initContainers?: { name: string; env?: EnvList }[] };
        if (v.extraEnvVars) lastExpected.registry = expectedIn(v.extraEnvVars);
        for (const c of v.initContainers ?? []) if (c.name !== 'storage-health') lastExpected[c.name] = expectedIn(c.env);
      }
      const credentialsRole = tags.includes('cross-account') || tags.includes('pod-identity-target') ? `arn:aws:iam::${ECR_ACCOUNT}:role/cache-reader` : `arn:aws:iam::${ACCOUNT}:role/cache-role`;
      expect(lastExpected).toEqual({ registry: credentialsRole, 'sts-init': credentialsRole, 'cred-refresher': credentialsRole });
      if (chained) {
        // the target role's trust and the hop's permission: TagSession only where EKS passes session tags
        const targetTrust = JSON.stringify((JSON.parse(await aws(['iam', 'get-role', '--role-name', 'cache-reader'], 'ecr-account')) as { Role: { AssumeRolePolicyDocument: unknown } }).Role.AssumeRolePolicyDocument);
        const hop = JSON.stringify((JSON.parse(await aws(['iam', 'get-role-policy', '--role-name', 'cache-role', '--policy-name', 'assume-target-role'])) as { PolicyDocument: unknown }).PolicyDocument);
        expect(targetTrust).toContain(`"arn:aws:iam::${ACCOUNT}:role/cache-role"`);
        if (tags.includes('pod-identity-target')) {
          expect(targetTrust).toContain('"sts:TagSession"');
          expect(targetTrust).toContain('"aws:RequestTag/kubernetes-namespace":"cache-ns"');
          expect(targetTrust).toContain(`"aws:RequestTag/eks-cluster-arn":"arn:aws:eks:${REGION}:${ACCOUNT}:cluster/test-cluster"`);
          expect(hop).toContain('"sts:TagSession"');
        } else {
          expect(targetTrust).not.toContain('TagSession');
          expect(hop).not.toContain('TagSession');
        }
      }
      if (tags.includes('pod-identity-target')) {
        expect(state().associations).toEqual([expect.objectContaining({ namespace: 'cache-ns', serviceAccount: 'cache-sa', targetRoleArn: `arn:aws:iam::${ECR_ACCOUNT}:role/cache-reader` })]);
      } else if (tags.includes('pod-identity')) {
        expect(state().associations).toEqual([expect.objectContaining({ roleArn: `arn:aws:iam::${ACCOUNT}:role/cache-role` })]);
      }
      if (tags.includes('repository-policy')) {
        const policy = (JSON.parse(await aws(['ecr', 'get-repository-policy', '--repository-name', 'cache-test/busybox'], 'ecr-account')) as { policyText: string }).policyText;
        expect(policy).toContain(`arn:aws:iam::${ACCOUNT}:role/cache-role`);
      }
    });

    it('the removal deletes what the steps created and nothing else', { timeout: 600_000 }, async () => {
      if (tags.includes('ptc')) {
        // what ECR does on the first pull of registry.k8s.io/pause and quay.io/prometheus/node-exporter through the rules
        for (const repo of ['k8s/pause', 'quay/prometheus/node-exporter']) await aws(['ecr', 'create-repository', '--repository-name', repo]);
      }
      const removal = await run(selected(true));
      expect(removal.code, removal.stderr.split('\n').slice(-15).join('\n')).toBe(0);
      const buckets = (JSON.parse(await aws(['s3api', 'list-buckets'])) as { Buckets: { Name: string }[] }).Buckets.map((b) => b.Name);
      expect(buckets).toEqual(bucketExisted ? [BUCKET] : []);
      if (bucketExisted) {
        const keys = (JSON.parse(await aws(['s3api', 'list-objects-v2', '--bucket', BUCKET])) as { Contents: { Key: string }[] }).Contents.map((o) => o.Key);
        expect(keys.sort()).toEqual(FOREIGN_KEYS);
        expect(removal.stderr).toContain(`kept S3 bucket ${BUCKET}`);
      }
      expect((JSON.parse(await aws(['iam', 'list-roles'])) as { Roles: unknown[] }).Roles).toEqual([]);
      const repos = (JSON.parse(await aws(['ecr', 'describe-repositories'])) as { repositories: { repositoryName: string }[] }).repositories;
      // the k8s rule was there before: it and its repositories stay; quay's rule was the steps', quay/team/app older
      expect(repos.map((r) => r.repositoryName).sort()).toEqual(rulesExisted ? ['k8s/pause', 'quay/team/app'] : []);
      expect((JSON.parse(await aws(['iam', 'list-roles'], 'ecr-account')) as { Roles: unknown[] }).Roles).toEqual([]);
      // (moto started with MOTO_ACCOUNT_ID serves the ECR account's assumed-role calls from the cluster account, so
      // the repositories kept there show here too)
      const ecrAccountRepos = (JSON.parse(await aws(['ecr', 'describe-repositories'], 'ecr-account')) as { repositories: { repositoryName: string }[] }).repositories;
      expect(ecrAccountRepos.map((r) => r.repositoryName).filter((n) => !repos.some((r) => r.repositoryName === n))).toEqual([]);
      expect(state().associations).toEqual([]);
      expect(state().addons).toEqual([]);
      expect(state().ptc_rules.map((r) => r.prefix)).toEqual(rulesExisted ? ['k8s'] : []);
      expect(namespaces()).toEqual(nsExisted ? { 'cache-ns': {} } : {});
      const logouts = stubLog().split('\n').filter((l) => l.startsWith('docker logout '));
      expect(logouts).toContain(`docker logout ${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`);
      if (tags.some((t) => ['cross-account', 'pod-identity-target', 'repository-policy'].includes(t))) {
        expect(logouts).toContain(`docker logout ${ECR_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`);
      }
      expect(existsSync(join(home, 'registry-cache-setup'))).toBe(false);
    });

    // An IAM role of the same name that the steps did not create: the setup refuses before changing its trust or
    // policies, the removal keeps it (the cache's role with IRSA; the ECR account's target role cross-account).
    const foreignRole = tags.includes('ptc') ? { name: 'cache-role', profile: undefined, message: 'IAM role cache-role exists and these steps did not create it' }
      : tags.includes('cross-account') ? { name: 'cache-reader', profile: 'ecr-account', message: 'IAM role cache-reader exists in the ECR account and these steps did not create it' }
        : undefined;
    if (foreignRole) it('an IAM role of the same name that the steps did not create: setup refuses, removal keeps it', { timeout: 600_000 }, async () => {
      const { name, profile, message } = foreignRole!;
      const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
      await aws(['iam', 'create-role', '--role-name', name, '--assume-role-policy-document', trust], profile);
      const setup = await run(selected(false));
      expect(setup.code).not.toBe(0);
      expect(setup.stderr).toContain(message);
      const role = JSON.parse(await aws(['iam', 'get-role', '--role-name', name], profile)) as { Role: { AssumeRolePolicyDocument: unknown } };
      expect(role.Role.AssumeRolePolicyDocument).toEqual(JSON.parse(trust));
      expect((JSON.parse(await aws(['iam', 'list-role-policies', '--role-name', name], profile)) as { PolicyNames: string[] }).PolicyNames).toEqual([]);
      const removal = await run(selected(true));
      expect(removal.code, removal.stderr.split('\n').slice(-15).join('\n')).toBe(0);
      expect(removal.stderr).toContain(`kept IAM role ${name}`);
      // kept as it was; cross-account, the cache's own role (the steps') went. (Names, not accounts: moto started
      // with MOTO_ACCOUNT_ID puts the ECR account's assumed-role calls in that same account.)
      const after = JSON.parse(await aws(['iam', 'get-role', '--role-name', name], profile)) as { Role: { AssumeRolePolicyDocument: unknown } };
      expect(after.Role.AssumeRolePolicyDocument).toEqual(JSON.parse(trust));
      const roles = (JSON.parse(await aws(['iam', 'list-roles'])) as { Roles: { RoleName: string }[] }).Roles.map((r) => r.RoleName);
      if (profile) expect(roles).not.toContain('cache-role');
      expect((JSON.parse(await aws(['s3api', 'list-buckets'])) as { Buckets: unknown[] }).Buckets).toEqual([]);   // step 3's went
    });
  });
});

const STUB_DIR_OF = (env: Record<string, string>) => env.STUB_DIR!;
