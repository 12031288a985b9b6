/**
 * dist/bin/sts-init against a local STS/ECR over real HTTP: the files it writes, what real consumers (the AWS CLI,
 * botocore, the helper) read from them, and its one-line failures.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireBuilt, runExe, exePath } from '../support/exe.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { FILES, statementFor } from '../../packages/preflight/src/fix.js';
import { ECR_HOST, irsaEnv, readStored, SOURCE_ROLE, stsInit, TARGET_ROLE, workDir } from './sts-init-support.js';

let fake: FakeAws;
beforeAll(async () => {
  requireBuilt();
  fake = await startFakeAws({ roles: [{ arn: SOURCE_ROLE }, { arn: TARGET_ROLE, externalId: 'ext-123' }] });
});
afterAll(async () => fake?.stop());
beforeEach(() => {
  fake.faults.clear();
  fake.resetCalls();
});

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { env, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

/** What the registry container gets: our profile files, and the IRSA env emptied (see docs/sts-init-and-refresher.md). */
function consumerEnv(dir: string, env: Record<string, string>, extra: Record<string, string> = {}) {
  return { ...env, AWS_ROLE_ARN: '', AWS_WEB_IDENTITY_TOKEN_FILE: '', AWS_CONFIG_FILE: join(dir, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'), ...extra };
}

describe('sts-init', () => {
  it('writes credentials.json, aws-config and aws-credentials 0600, with no keys in the profile files', async () => {
    const work = await workDir('sts-init-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    const result = await stsInit(['--dir', dir, '--margin', '2s'], env);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['aws-config', 'aws-credentials', 'credentials.json']);
    for (const file of ['aws-config', 'aws-credentials', 'credentials.json']) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);

    const stored = await readStored(dir);
    const issued = fake.issuedCredentials().find((c) => c.accessKeyId === stored.AccessKeyId)!;
    expect(issued.roleArn).toBe(SOURCE_ROLE);
    expect(Date.parse(stored.Expiration)).toBe(Math.floor(issued.expiresAt / 1000) * 1000);
    // One exchange; the preflight's identity check takes the principal from its answer (no GetCallerIdentity).
    expect(fake.counts()).toEqual({ 'sts:AssumeRoleWithWebIdentity': 1 });

    const command = `${exePath} credential-process --dir ${dir} --margin 2s`;
    expect(await readFile(join(dir, 'aws-config'), 'utf8')).toMatch(new RegExp(`\\[default\\]\\ncredential_process = ${command.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\nregion = us-east-1\\n`));
    for (const file of ['aws-config', 'aws-credentials']) {
      const text = await readFile(join(dir, file), 'utf8');
      expect(text).not.toMatch(/aws_access_key_id|aws_secret_access_key|aws_session_token/);
      for (const secret of [stored.AccessKeyId, stored.SecretAccessKey, stored.SessionToken]) expect(text).not.toContain(secret);
    }
    // Secrets never reach the log.
    for (const secret of [stored.AccessKeyId, stored.SecretAccessKey, stored.SessionToken]) expect(result.stderr).not.toContain(secret);
  });

  it('writes 0640 files in a 0750 directory with --file-mode 0640, and a named profile', async () => {
    const work = await workDir('sts-init-');
    const dir = join(work, 'creds');
    const result = await stsInit(['--dir', dir, '--file-mode', '0640', '--profile', 'registry'], await irsaEnv(fake, work));
    expect(result.code, result.stderr).toBe(0);
    for (const file of ['aws-config', 'aws-credentials', 'credentials.json']) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o640);
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
    expect(await readFile(join(dir, 'aws-config'), 'utf8')).toContain('[profile registry]\n');
    expect(await readFile(join(dir, 'aws-credentials'), 'utf8')).toContain('[registry]\n');
  });

  it('the AWS CLI and botocore get the stored credentials through credential_process', async () => {
    const work = await workDir('sts-init-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    expect((await stsInit(['--dir', dir, '--target-role-arn', TARGET_ROLE, '--external-id', 'ext-123', '--margin', '2s'], env)).code).toBe(0);
    const stored = await readStored(dir);
    fake.resetCalls();

    const cli = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], consumerEnv(dir, env));
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).Arn).toMatch(/^arn:aws:sts::210987654321:assumed-role\/registry-storage\//);
    expect(fake.calls('sts:GetCallerIdentity').map((c) => c.accessKeyId)).toEqual([stored.AccessKeyId]);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity')).toHaveLength(0);

    // botocore (what `aws configure export-credentials` of CLI v2 prints): the keys and the early Expiration.
    const py = await run('python3', ['-c', [
      'import botocore.session, json',
      'c = botocore.session.Session().get_credentials()',
      'f = c.get_frozen_credentials()',
      'print(json.dumps({"method": c.method, "key": f.access_key, "token": f.token, "expiry": c._expiry_time.isoformat()}))',
    ].join('\n')], consumerEnv(dir, env));
    expect(py.code, py.stderr).toBe(0);
    const got = JSON.parse(py.stdout) as { method: string; key: string; token: string; expiry: string };
    expect(got).toMatchObject({ method: 'custom-process', key: stored.AccessKeyId, token: stored.SessionToken });
    expect(Date.parse(got.expiry)).toBe(Date.parse(stored.Expiration) - 2000);
  });

  it('precedence: with AWS_ROLE_ARN and the token file set, the SDK uses web identity, not our profile', async () => {
    const work = await workDir('sts-init-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work);
    expect((await stsInit(['--dir', dir, '--target-role-arn', TARGET_ROLE, '--external-id', 'ext-123'], env)).code).toBe(0);
    fake.resetCalls();
    // The IRSA env the EKS webhook injects, plus our files: the CLI assumes the IRSA role itself.
    const irsa = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], { ...consumerEnv(dir, env), AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: env.AWS_WEB_IDENTITY_TOKEN_FILE! });
    expect(irsa.code, irsa.stderr).toBe(0);
    expect(JSON.parse(irsa.stdout).Arn).toMatch(/assumed-role\/registry-irsa\//);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity')).toHaveLength(1);
    fake.resetCalls();
    // Emptied (or skipped with eks.amazonaws.com/skip-containers): our profile wins.
    const ours = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], consumerEnv(dir, env));
    expect(JSON.parse(ours.stdout).Arn).toMatch(/assumed-role\/registry-storage\//);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity')).toHaveLength(0);
  });

  it('warms the ECR token cache so the helper answers with no AWS call', async () => {
    const work = await workDir('sts-init-');
    const dir = join(work, 'creds');
    const env = await irsaEnv(fake, work, { ECR_LOGIN_CACHE_IDENTITY: 'registry-pod' });
    const result = await stsInit(['--dir', dir, '--ecr-registries', ECR_HOST, '--preflight', 'off'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(fake.calls('ecr:GetAuthorizationToken')).toHaveLength(1);
    expect(fake.calls('sts:GetCallerIdentity')).toHaveLength(0);
    expect((await stat(join(dir, 'ecr', 'cache.json'))).mode & 0o777).toBe(0o600);
    fake.resetCalls();
    // The registry container: our profile, the same cache identity and cache dir.
    const helperEnv = consumerEnv(dir, env, { ECR_LOGIN_CACHE_IDENTITY: 'registry-pod', AWS_ECR_CACHE_DIR: join(dir, 'ecr'), ECR_LOGIN_LOG: 'off' });
    const got = await runExe(['get'], { env: helperEnv, stdin: ECR_HOST });
    expect(got.code, got.stdout).toBe(0);
    expect(JSON.parse(got.stdout).Username).toBe('AWS');
    expect(fake.counts()).toEqual({});
  });

  it('retries throttling and 5xx with backoff, then succeeds', async () => {
    const work = await workDir('sts-init-');
    fake.faults.set('sts', { mode: 'throttle', count: 1 });
    const env = await irsaEnv(fake, work);
    const first = stsInit(['--dir', join(work, 'creds')], env);
    const result = await first;
    expect(result.code, result.stderr).toBe(0);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity').map((c) => c.fault ?? 'ok')).toEqual(['throttle', 'ok']);
    fake.resetCalls();
    fake.faults.set('sts', { mode: '5xx', status: 503, count: 2 });
    expect((await stsInit(['--dir', join(work, 'creds2')], env)).code).toBe(0);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity')).toHaveLength(3);
  });

  it('gives up at --timeout while STS stays down, with one line naming the last error', async () => {
    const work = await workDir('sts-init-');
    fake.faults.set('sts', { mode: '5xx' });
    const result = await stsInit(['--dir', join(work, 'creds'), '--timeout', '1500ms'], await irsaEnv(fake, work));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^sts-init: obtaining AWS credentials: gave up at the deadline .*last error: InternalFailure/);
    expect(fake.calls('sts:AssumeRoleWithWebIdentity').length).toBeGreaterThan(1);
    expect(await readdir(join(work, 'creds'))).toEqual([]);
  });

  describe('preflight (on by default; PREFLIGHT=off skips it)', () => {
    const lastLine = (s: string) => s.trim().split('\n').at(-1)!;
    /** The preflight's lines: the `msg` of sts-init's JSON log lines. */
    const preflightLines = (s: string) => s.split('\n').filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.startsWith('preflight: '));

    it('prints one line per check with the new credentials and passes', async () => {
      const work = await workDir('sts-init-');
      const result = await stsInit(['--dir', join(work, 'creds'), '--ecr-registries', ECR_HOST], await irsaEnv(fake, work, { PREFLIGHT_ECR_REPOSITORY: 'app' }));
      expect(result.code, result.stderr).toBe(0);
      expect(preflightLines(result.stderr)).toEqual([
        expect.stringMatching(/^preflight: ok   identity arn:aws:sts::123456789012:assumed-role\/registry-irsa\/\S+ \(a session of arn:aws:iam::123456789012:role\/registry-irsa\)$/),
        `preflight: ok   ecr:GetAuthorizationToken * (token for ${ECR_HOST})`,
        'preflight: ok   ecr:BatchGetImage arn:aws:ecr:us-east-1:123456789012:repository/app (allowed)',
        'preflight: ok   ecr:GetDownloadUrlForLayer arn:aws:ecr:us-east-1:123456789012:repository/app (allowed: LayersNotFoundException for a probe that does not exist)',
        'preflight: passed (4 checks)',
      ]);
    });

    it.each([
      ['ecr:GetAuthorizationToken', '\\*'],
      ['ecr:BatchGetImage', 'arn:aws:ecr:us-east-1:123456789012:repository/app'],
      ['ecr:GetDownloadUrlForLayer', 'arn:aws:ecr:us-east-1:123456789012:repository/app'],
    ])('a denied %s fails sts-init with the line naming ecr-pull-policy.json', async (action, resource) => {
      const sid = statementFor(FILES.ecrPolicy, action);
      const work = await workDir('sts-init-');
      fake.denials.add({ action });
      try {
        const result = await stsInit(['--dir', join(work, 'creds'), '--ecr-registries', ECR_HOST], await irsaEnv(fake, work, { PREFLIGHT_ECR_REPOSITORY: 'app' }));
        expect(result.code).toBe(1);
        expect(lastLine(result.stderr)).toMatch(new RegExp(
          `^sts-init: preflight: FAIL ${action} on ${resource} as arn:aws:sts::123456789012:assumed-role/registry-irsa/\\S+: AccessDeniedException \\(because no identity-based policy allows the ${action} action\\)` +
          `.*; fix chart-values/aws/ecr-pull-policy\\.json \\(statement ${sid}\\) \\(PREFLIGHT=off skips the preflight\\)$`,
        ));
        // With PREFLIGHT=off the same setup passes (the cache warm-up failure alone is not fatal).
        const off = await stsInit(['--dir', join(work, 'creds2'), '--ecr-registries', ECR_HOST], await irsaEnv(fake, work, { PREFLIGHT_ECR_REPOSITORY: 'app', PREFLIGHT: 'off' }));
        expect(off.code, off.stderr).toBe(0);
        expect(preflightLines(off.stderr)).toEqual([]);
      } finally {
        fake.denials.clear();
      }
    });

    it('a bad preflight setting is a configuration error before any AWS call', async () => {
      const work = await workDir('sts-init-');
      const result = await stsInit(['--dir', join(work, 'creds')], await irsaEnv(fake, work, { REGISTRY_STORAGE_S3_BUCKET: 'No_Such' }));
      expect(result.code).toBe(2);
      // sts-init takes no --bucket: its line names the variable only.
      expect(result.stderr).toBe('sts-init: REGISTRY_STORAGE_S3_BUCKET: "No_Such" is not an S3 bucket name\n');
      expect(fake.counts()).toEqual({});
    });

    it.each([
      [{ PREFLIGHT_TIMEOUT: '-5' }, /^sts-init: PREFLIGHT_TIMEOUT\b/],
      [{ REGISTRY_STORAGE_S3_BUCKET: 'ok-bucket', REGISTRY_STORAGE_S3_ROOTDIRECTORY: 'docker/../../other' }, /^sts-init: REGISTRY_STORAGE_S3_ROOTDIRECTORY: "docker\/..\/..\/other" has an empty, "." or ".." segment/],
    ])('a bad preflight variable (%o) is exit 2, naming the variable and no flag sts-init does not take', async (extra, line) => {
      const work = await workDir('sts-init-');
      const result = await stsInit(['--dir', join(work, 'creds')], await irsaEnv(fake, work, extra));
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(line);
      expect(result.stderr).not.toMatch(/--(timeout|rootdirectory)/);
      expect(fake.counts()).toEqual({});
    });
  });

  it('EKS Pod Identity: a token file ending in a newline (kubelet-projected, hand-written) is sent without it', async () => {
    const sub = 'system:serviceaccount:registry-cache:ecr-pull-through-cache';
    fake.state.podIdentityAssociations[sub] = SOURCE_ROLE;
    try {
      const work = await workDir('sts-init-pi-');
      const tokenFile = join(work, 'eks-pod-identity-token');
      const token = await fake.writeTokenFile(tokenFile, { sub, aud: 'pods.eks.amazonaws.com' });
      await writeFile(tokenFile, `${token}\n`);
      const result = await stsInit(['--dir', join(work, 'creds')], await irsaEnv(fake, work, {
        AWS_ROLE_ARN: undefined, AWS_WEB_IDENTITY_TOKEN_FILE: undefined, EXPECTED_ROLE_ARN: SOURCE_ROLE, PREFLIGHT: 'off',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: fake.podIdentityUrl(), AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      }));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('"principal":"arn:aws:sts::123456789012:assumed-role/registry-irsa/');
      expect(fake.calls('eks-auth:AssumeRoleForPodIdentity')).toHaveLength(1);
    } finally {
      delete fake.state.podIdentityAssociations[sub];
    }
  });

  it('a clock ahead of AWS\'s: the last line says by how much (STS\'s Date header) and to fix the node\'s clock', async () => {
    const work = await workDir('sts-init-skew-');
    const env = await irsaEnv(fake, work, { PREFLIGHT: 'off', STS_TIMEOUT: '3s' });
    // AWS two hours behind this host: every 1 h session it issues looks expired here.
    fake.advanceClock(-7200);
    try {
      const result = await stsInit(['--dir', join(work, 'creds')], env);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n').at(-1)).toMatch(/is already past \(now [^)]+\); this host's clock is 720\d s ahead of AWS's \(Date header of its answer\): fix the node's clock \(NTP, chrony\)$/);
    } finally {
      fake.advanceClock(7200);
    }
  });

  describe('fails at once, with one line and no retry', () => {
    const lastLine = (s: string) => s.trim().split('\n').at(-1)!;

    it('a missing token file', async () => {
      const work = await workDir('sts-init-');
      const result = await stsInit(['--dir', join(work, 'creds')], await irsaEnv(fake, work, { AWS_WEB_IDENTITY_TOKEN_FILE: join(work, 'absent') }));
      expect(result.code).toBe(1);
      expect(lastLine(result.stderr)).toBe(`sts-init: web identity token file ${join(work, 'absent')} (AWS_WEB_IDENTITY_TOKEN_FILE) does not exist`);
      expect(fake.counts()).toEqual({});
    });

    it('AWS_ROLE_ARN without a token file', async () => {
      const work = await workDir('sts-init-');
      const result = await stsInit(['--dir', join(work, 'creds')], await irsaEnv(fake, work, { AWS_WEB_IDENTITY_TOKEN_FILE: undefined }));
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('sts-init: AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not; set both (IRSA) or neither\n');
    });

    it.each([
      ['InvalidIdentityToken(Exception)?', async (work: string) => writeFile(join(work, 'token'), 'not-a-jwt')],
      ['ExpiredToken(Exception)?', async (work: string) => void (await fake.writeTokenFile(join(work, 'token'), { sub: 'x', expSeconds: -60 }))],
    ])('%s from STS', async (code, spoil) => {
      const work = await workDir('sts-init-');
      const env = await irsaEnv(fake, work);
      await spoil(work);
      const result = await stsInit(['--dir', join(work, 'creds')], env);
      expect(result.code).toBe(1);
      expect(lastLine(result.stderr)).toMatch(new RegExp(`^sts-init: ${code}: `));
      expect(fake.calls('sts:AssumeRoleWithWebIdentity')).toHaveLength(1);
    });

    it('AccessDenied on the target role (wrong external id), naming the trust policy to fix', async () => {
      const work = await workDir('sts-init-');
      const result = await stsInit(['--dir', join(work, 'creds'), '--target-role-arn', TARGET_ROLE, '--external-id', 'wrong'], await irsaEnv(fake, work));
      expect(result.code).toBe(1);
      expect(lastLine(result.stderr)).toMatch(/^sts-init: AccessDenied: .*sts:AssumeRole on resource.*; fix chart-values\/aws\/trust-cross-account\.json$/);
      expect(fake.calls('sts:AssumeRole')).toHaveLength(1);
    });

    it('AccessDenied on the web identity exchange names the IRSA trust policy', async () => {
      const work = await workDir('sts-init-');
      fake.denials.add({ action: 'sts:AssumeRoleWithWebIdentity', policy: 'resource' });
      try {
        const result = await stsInit(['--dir', join(work, 'creds')], await irsaEnv(fake, work));
        expect(result.code).toBe(1);
        expect(lastLine(result.stderr)).toMatch(/^sts-init: AccessDenied: .*sts:AssumeRoleWithWebIdentity.*; fix chart-values\/aws\/trust-irsa\.json$/);
        expect(await readdir(join(work, 'creds'))).toEqual([]);
      } finally {
        fake.denials.clear();
      }
    });

    it('an unwritable directory, before any AWS call: a local environment error, exit 2 (as EROFS, EACCES)', async () => {
      const work = await workDir('sts-init-');
      await writeFile(join(work, 'a-file'), '');
      const result = await stsInit(['--dir', join(work, 'a-file', 'creds')], await irsaEnv(fake, work));
      expect(result.code).toBe(2);
      expect(lastLine(result.stderr)).toBe(`sts-init: local environment: credentials directory "${join(work, 'a-file', 'creds')}" is not writable (ENOTDIR)`);
      expect(fake.counts()).toEqual({});
    });
  });
});
