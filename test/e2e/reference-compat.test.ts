/**
 * Side by side with the reference docker-credential-ecr-login v0.12.0 (built from its Go module): the same inputs
 * give the same stdout and exit code, both accept the same hosts, and they share one cache file without harm.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, requireBuilt, runExe } from '../support/exe.js';
import { requireTools, toolPaths } from '../support/tools.js';

let fake: FakeAws;
let home: string;

beforeAll(async () => {
  requireTools('refHelper');
  requireBuilt();
  fake = await startFakeAws({ staticKeys: ['AKIASTATICEXAMPLE'] });
  home = await mkdtemp(join(tmpdir(), 'compat-'));
});
afterAll(async () => fake?.stop());

function env(extra: Record<string, string> = {}) {
  return cleanEnv({
    ...fake.endpointEnv(),
    HOME: home,
    AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'static-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });
}

const both = async (args: string[], stdin: string, e: Record<string, string>) => ({
  ours: await runExe(args, { env: e, stdin }),
  theirs: await runExe(args, { env: e, stdin, file: toolPaths.refHelper }),
});

describe('the same texts and exit codes as v0.12.0', () => {
  it.each([
    [[], ''],
    [['foo'], ''],
    [['get', 'extra'], ''],
    [['get'], ''],
    [['get'], '  \n'],
    [['get'], 'registry-1.docker.io'],
    [['get'], '123456789012.dkr.ecr.us-west-2.amazonaws.com.evil.example'],
    [['store'], ''],
    [['store'], 'garbage'],
    [['store'], '{}'],
    [['store'], '{"ServerURL":"x"}'],
    [['store'], '{"ServerURL":"x","Username":"u","Secret":"s"}'],
    [['erase'], ''],
    [['erase'], 'x'],
  ])('%j with stdin %j', async (args, stdin) => {
    for (const e of [env(), env({ AWS_ECR_IGNORE_CREDS_STORAGE: 'true' })]) {
      const { ours, theirs } = await both(args, stdin, e);
      expect({ stdout: ours.stdout, code: ours.code }).toEqual({ stdout: theirs.stdout, code: theirs.code });
    }
  });
});

describe('the same hosts are ECR', () => {
  it.each([
    '123456789012.dkr.ecr.us-west-2.amazonaws.com',
    'https://123456789012.dkr.ecr.eu-central-1.amazonaws.com',
    '123456789012.dkr.ecr.us-west-2.amazonaws.com:443',
    '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
    '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
    '123456789012.dkr-ecr.us-east-1.on.aws',
    'public.ecr.aws',
    'ecr-public.aws.com',
    'example.com',
    'x123456789012.dkr.ecr.us-west-2.amazonaws.com',
  ])('%s', async (host) => {
    const dir = await mkdtemp(join(home, 'case-'));
    const { ours, theirs } = await both(['get'], host, env({ AWS_ECR_CACHE_DIR: dir }));
    expect(ours.code).toBe(theirs.code);
    if (theirs.code === 0) {
      const [o, t] = [JSON.parse(ours.stdout), JSON.parse(theirs.stdout)];
      expect({ ServerURL: o.ServerURL, Username: o.Username }).toEqual({ ServerURL: t.ServerURL, Username: t.Username });
      expect(fake.validEcrPasswords()).toEqual(expect.arrayContaining([o.Secret, t.Secret]));
    } else {
      expect(ours.stdout).toBe(theirs.stdout);
    }
  });
});

describe('one cache directory for both', () => {
  it('each keeps the other’s entries and still hits its own', async () => {
    const dir = await mkdtemp(join(home, 'shared-'));
    const e = env({ AWS_ECR_CACHE_DIR: dir });
    const host = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
    expect((await runExe(['get'], { env: e, stdin: host, file: toolPaths.refHelper })).code).toBe(0);
    expect((await runExe(['get'], { env: e, stdin: host })).code).toBe(0);
    const file = JSON.parse(await readFile(join(dir, 'cache.json'), 'utf8'));
    expect(file.Version).toBe('1.0');
    expect(Object.keys(file.Registries)).toHaveLength(2);
    fake.resetCalls();
    expect((await runExe(['get'], { env: e, stdin: host, file: toolPaths.refHelper })).code).toBe(0);
    expect((await runExe(['get'], { env: e, stdin: host })).code).toBe(0);
    expect(fake.counts()).toEqual({});
  });
});
