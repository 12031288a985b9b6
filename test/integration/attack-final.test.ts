/**
 * Attack review of the integrated tree (issues 9, 12, 14 together): the built executable run with the env the chart
 * values and overlays really give each container, against the local AWS over real HTTP. Each test reproduces one
 * finding of review/ATTACK-FINAL.md and fails on main d0c4f42 by design until the finding is fixed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadYaml, mergeValues, overlayFile, VALUES_FILE, type Container, type Values } from '../chart/chart-values.js';
import { cleanEnv, exePath, requireBuilt, runExe } from '../support/exe.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { stsInit, workDir } from './sts-init-support.js';

const SOURCE_ROLE = 'arn:aws:iam::123456789012:role/ecr-pull-through-cache'; // the values' serviceAccount annotation
let fake: FakeAws;

beforeAll(async () => {
  requireBuilt();
  fake = await startFakeAws({ stsLifetimeSeconds: 3600 });
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => {
  fake.faults.clear();
  fake.resetCalls();
});

/** The merged values of the base file and one overlay, as `helm -f base -f overlay` merges them. */
function values(overlay?: string): Values {
  const base = loadYaml(VALUES_FILE);
  return overlay ? mergeValues(base, loadYaml(overlayFile(overlay))) : base;
}

type Env = { name: string; value?: string }[];

/**
 * A container's env from the values, as the process would see it here: `/creds` moved under `root`, the AWS
 * endpoints pointed at the local AWS, and the keys that need a real S3 left out (this tier has none).
 */
function envOf(list: Env, root: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string | undefined> = {};
  for (const { name, value } of list) {
    if (name.startsWith('REGISTRY_STORAGE_S3_')) continue;
    out[name] = value?.startsWith('/creds') ? join(root, value) : value;
  }
  return cleanEnv({ ...out, ...fake.endpointEnv(), HOME: root, ...extra });
}

function initContainer(v: Values, name: string): Container {
  const found = (v.initContainers as Container[]).find((c) => c.name === name);
  if (!found) throw new Error(`no init container ${name}`);
  return found;
}

describe('cross-account overlay: the runbook\'s preflight in the registry container', () => {
  it('docs/operations.md\'s `kubectl exec … docker-credential-ecr-login preflight` passes with overlays/cross-account.yaml\'s env (credentials of the target role)', async () => {
    const v = values('cross-account');
    const root = await workDir('af-xacct-');
    await mkdir(join(root, 'creds'), { mode: 0o755 });
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    // sts-init as the overlay runs it, with what the EKS webhook injects (IRSA of the source role).
    const init = envOf(initContainer(v, 'sts-init').env as Env, root, {
      AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, PREFLIGHT: 'off',
    });
    const first = await stsInit([], init);
    expect(first.code, first.stderr).toBe(0);
    // The registry container: the overlay's extraEnvVars (the webhook skips it), as `kubectl exec` gives them.
    const registry = envOf(v.extraEnvVars as Env, root);
    const out = await runExe(['preflight', '--ecr-registries', init.ECR_REGISTRIES!], { env: registry, file: exePath });
    // Today: exit 1, "FAIL sts:GetCallerIdentity … not a session of the expected role
    // arn:aws:iam::123456789012:role/ecr-pull-through-cache; fix … serviceAccount.annotations": the subcommand
    // takes ECR_LOGIN_CACHE_IDENTITY (the SOURCE role) as the expected role, while the profile's credentials are
    // the target role's, as they must be.
    expect(out.stdout).not.toContain('FAIL');
    expect(out.code, out.stdout + out.stderr).toBe(0);
  });
});

describe('Pod Identity overlay: the principal', () => {
  let server: Server;
  let endpoint: string;
  const WRONG_ROLE = 'arn:aws:iam::123456789012:role/node-admin';

  beforeAll(async () => {
    // An EKS Pod Identity agent whose association names the wrong role (a broader one), over real HTTP.
    server = createServer((req, res) => {
      if (req.headers.authorization !== 'pod-identity-token') {
        res.statusCode = 401;
        return res.end();
      }
      const c = fake.issueCredentials({ roleArn: WRONG_ROLE, sessionName: 'eks-registry-c-pod' });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: new Date(c.expiresAt).toISOString() }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/credentials`;
  });
  afterAll(() => server?.close());

  it('sts-init with overlays/pod-identity.yaml refuses credentials of another role than the values name (exit 2), as docs/aws-setup.md troubleshooting promises', async () => {
    const v = values('pod-identity');
    const root = await workDir('af-podid-');
    await mkdir(join(root, 'creds'), { mode: 0o755 });
    const tokenFile = join(root, 'eks-pod-identity-token');
    await writeFile(tokenFile, 'pod-identity-token');
    const env = envOf(initContainer(v, 'sts-init').env as Env, root, {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile, PREFLIGHT: 'off',
    });
    const out = await stsInit([], env);
    // Today: exit 0, "credentials written … principal arn:aws:sts::123456789012:assumed-role/node-admin/…" and the
    // ECR token of node-admin cached under the identity arn:aws:iam::123456789012:role/ecr-pull-through-cache:
    // nothing in the overlay names the role the association must give (no EXPECTED_ROLE_ARN), so any role passes.
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr.trim().split('\n').pop()).toContain('node-admin');
  });
});

describe('sts-init: a blocked ECR cache file', () => {
  it('a FIFO as ecr/cache.json: sts-init does not report "ECR token cached" nor exit 0; exit 2 naming the file', async () => {
    const root = await workDir('af-fifo-');
    const dir = join(root, 'aws');
    await mkdir(join(dir, 'ecr'), { recursive: true, mode: 0o700 });
    execFileSync('mkfifo', ['-m', '0600', join(dir, 'ecr', 'cache.json')]);
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    const env = cleanEnv({
      ...fake.endpointEnv(), HOME: root, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, CREDENTIALS_DIR: dir, PREFLIGHT: 'off',
      ECR_REGISTRIES: '123456789012.dkr.ecr.us-east-1.amazonaws.com', ECR_LOGIN_CACHE_IDENTITY: SOURCE_ROLE,
    });
    const out = await stsInit([], env);
    // Today: exit 0, a warn line "could not write the token cache; going on without it" followed by an info line
    // "ECR token cached" for a token that is in no file.
    const msgs = out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).not.toContain('ECR token cached');
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n').pop()).toContain(join(dir, 'ecr', 'cache.json'));
  });
});

describe('the preflight subcommand and instance metadata', () => {
  let imds: Server;
  let imdsUrl: string;
  const hits: string[] = [];

  beforeAll(async () => {
    // EC2 instance metadata (IMDSv2) handing out the node role's keys; records every hit.
    imds = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('imds-session-token');
      if (req.url === '/latest/meta-data/iam/security-credentials/') return res.end('node-role');
      if (req.url?.startsWith('/latest/meta-data/iam/security-credentials/node-role')) {
        const c = fake.issueCredentials({ roleArn: 'arn:aws:iam::123456789012:role/node-role', sessionName: 'i-0123456789abcdef0' });
        return res.end(JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: new Date(c.expiresAt).toISOString() }));
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve));
    imdsUrl = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
  });
  afterAll(() => imds?.close());

  it('with a profile whose credential_process fails, `preflight` never reaches instance metadata and does not pass (the helper\'s rule: no instance role without ECR_LOGIN_ALLOW_INSTANCE_ROLE=true)', async () => {
    const root = await workDir('af-imds-');
    const config = join(root, 'config');
    await writeFile(config, '[default]\ncredential_process = /bin/false\nregion = us-east-1\n');
    const env = cleanEnv({ ...fake.endpointEnv(), HOME: root, AWS_CONFIG_FILE: config, AWS_SDK_LOAD_CONFIG: '1', AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl });
    hits.length = 0;
    // The helper itself, same env: refuses, no hit (held).
    const get = await runExe(['get'], { env: { ...env, AWS_ECR_DISABLE_CACHE: '1', ECR_LOGIN_LOG: 'off' }, stdin: '123456789012.dkr.ecr.us-east-1.amazonaws.com', file: exePath });
    expect(get.code).toBe(1);
    expect(hits).toEqual([]);
    const out = await runExe(['preflight'], { env, file: exePath });
    // Today: exit 0, "preflight: ok   sts:GetCallerIdentity arn:aws:sts::123456789012:assumed-role/node-role/…
    // (no expected role configured: not compared)", "preflight: passed (1 checks)", after 3 IMDS requests.
    expect(hits).toEqual([]);
    expect(out.code, out.stdout).not.toBe(0);
  });
});

describe('one line naming what to do (LOW)', () => {
  it('an unassignable REFRESHER_LISTEN address: exit 2 and the line names the address', async () => {
    const root = await workDir('af-listen-');
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    const env = cleanEnv({
      ...fake.endpointEnv(), HOME: root, AWS_REGION: 'us-east-1', AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      CREDENTIALS_DIR: join(root, 'aws'), REFRESHER_LISTEN: '192.0.2.1:9101',
    });
    const out = await runExe([], { env, file: join(exePath, '..', 'cred-refresher') });
    expect(out.code).toBe(2);
    // Today: "cred-refresher: cannot listen: Error: EADDRNOTAVAIL: address not available, listen" (no address, no fix).
    expect(out.stderr.trim().split('\n').pop()).toContain('192.0.2.1:9101');
  });

  it('a Pod Identity token file ending in a newline: one line naming the token file, not an SDK header error', async () => {
    const root = await workDir('af-pitoken-');
    const tokenFile = join(root, 'eks-pod-identity-token');
    await writeFile(tokenFile, 'pod-identity-token\n');
    const env = cleanEnv({
      ...fake.endpointEnv(), HOME: root, AWS_REGION: 'us-east-1', CREDENTIALS_DIR: join(root, 'aws'), PREFLIGHT: 'off', STS_TIMEOUT: '10s',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    const out = await stsInit([], env);
    expect(out.code).not.toBe(0);
    // Today: "sts-init: CredentialsProviderError: TypeError [ERR_INVALID_CHAR]: Invalid character in header content
    // ["Authorization"]": the file is never named.
    expect(out.stderr.trim().split('\n').pop()).toContain(tokenFile);
  });
});

describe('a node clock ahead of AWS (LOW)', () => {
  it('sts-init\'s last line points at the clock (what to do), not only that the expiry is past', async () => {
    const root = await workDir('af-skew-');
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    // AWS two hours behind this host: every 1 h session looks expired here. (The local AWS's Date header keeps the
    // real time, so this asks for the hint only, not for a measured skew.)
    fake.advanceClock(-7200);
    try {
      const out = await stsInit([], cleanEnv({
        ...fake.endpointEnv(), HOME: root, AWS_REGION: 'us-east-1', AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        CREDENTIALS_DIR: join(root, 'aws'), PREFLIGHT: 'off', STS_TIMEOUT: '3s',
      }));
      expect(out.code).not.toBe(0);
      // Today: "… last error: the new AWS credentials: expiry … is already past (now …)": nothing points at the clock.
      expect(out.stderr.trim().split('\n').pop()).toMatch(/clock/i);
    } finally {
      fake.advanceClock(7200);
    }
  });
});

describe('PREFLIGHT_TIMEOUT bounds (issue 9\'s timer-overflow kind, in issue 14\'s new duration)', () => {
  it.each(['2147484s', '99999999'])('PREFLIGHT_TIMEOUT=%s is a configuration error (exit 2, one line with the range), not a deadline that passes at once', async (value) => {
    const env = cleanEnv({ ...fake.endpointEnv(), HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'AKIDX', AWS_SECRET_ACCESS_KEY: 'x', PREFLIGHT_TIMEOUT: value });
    const out = await runExe(['preflight'], { env, file: exePath });
    // Today: exit 1, "preflight: FAIL sts:GetCallerIdentity on * as unknown: no answer: the preflight's deadline
    // (2147484000 ms) passed" within milliseconds: 2^31 ms and more overflow the timer to 1 ms.
    expect(out.code, out.stdout + out.stderr).toBe(2);
    const lines = (out.stdout + out.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PREFLIGHT_TIMEOUT.*(range|between)/);
  });
});
