/**
 * Every role as a uid with no passwd entry and no HOME (a systemd unit with DynamicUser, Nomad, a wrapper that clears
 * the env): os.homedir() throws there, and the AWS SDK used to fail on it before any call. Runs a copy of the built
 * executable the uid can reach, against the local AWS over real HTTP.
 */
import { chown, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, copyForAnotherUid, requireBuilt, runExe, startAs, uidWithoutPasswdEntry } from '../support/exe.js';
import { SOURCE_ROLE } from './sts-init-support.js';

const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';

let fake: FakeAws;
let work: string;
let bin: string;
let uid: number;

/** A directory the uid owns. */
async function ownedDir(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { mode: 0o700 });
  await chown(dir, uid, uid);
  return dir;
}

beforeAll(async () => {
  requireBuilt();
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it runs the executable as another uid');
  uid = uidWithoutPasswdEntry();
  fake = await startFakeAws({ staticKeys: ['AKIASTATICEXAMPLE'] });
  ({ work, bin } = await copyForAnotherUid('no-home-'));
});
afterAll(async () => fake?.stop());

/** No HOME, no USER: what such a uid has. */
const baseEnv = (extra: Record<string, string> = {}) =>
  cleanEnv({ ...fake.endpointEnv(), AWS_EC2_METADATA_DISABLED: 'true', ECR_LOGIN_LOG: 'stderr', ...extra });
const staticKeys = { AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE', AWS_SECRET_ACCESS_KEY: 'static-secret' };
const run = (role: string, args: string[], env: Record<string, string>, stdin = '') => runExe(args, { env, stdin, uid, gid: uid, file: join(bin, role) });

async function irsaEnv(extra: Record<string, string> = {}) {
  const tokenFile = join(await ownedDir(`token-${Math.random().toString(36).slice(2)}`), 'token');
  await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry:docker-registry' });
  await chown(tokenFile, uid, uid);
  return baseEnv({ AWS_REGION: 'us-west-2', AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, ...extra });
}

describe('a uid with no passwd entry and no HOME', () => {
  it('has no home directory at all (the precondition)', async () => {
    const out = await runExe(['-e', 'try { require("os").homedir(); console.log("home") } catch (e) { console.log(e.code) }'], {
      env: cleanEnv(), uid, gid: uid, file: process.execPath,
    });
    expect(out.stdout.trim()).toBe('ERR_SYSTEM_ERROR');
  });

  it('helper get: answers with the cache disabled (no home for ~/.ecr), as the reference does', async () => {
    const out = await run('docker-credential-ecr-login', ['get'], baseEnv(staticKeys), HOST);
    expect(out.code, out.stderr).toBe(0);
    expect(fake.validEcrPasswords()).toContain(JSON.parse(out.stdout).Secret);
  });

  it('helper get and list: with AWS_ECR_CACHE_DIR the cache works', async () => {
    const cache = await ownedDir('ecr-cache');
    const env = baseEnv({ ...staticKeys, AWS_ECR_CACHE_DIR: cache, AWS_REGION: 'eu-west-1' });
    const out = await run('docker-credential-ecr-login', ['get'], env, HOST);
    expect(out.code, out.stderr).toBe(0);
    const list = await run('docker-credential-ecr-login', ['list'], env);
    expect(list).toMatchObject({
      code: 0,
      stdout: `{"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com":"AWS","https://${HOST}":"AWS","https://public.ecr.aws":"AWS"}\n`,
    });
    expect(Object.keys(JSON.parse(await readFile(join(cache, 'cache.json'), 'utf8')).Registries)).toHaveLength(3);
  });

  it('sts-init writes the credentials, and credential-process serves them', async () => {
    const dir = await ownedDir('creds-init');
    const out = await run('sts-init', ['--dir', dir, '--ecr-registries', HOST], await irsaEnv());
    expect(out.code, out.stderr).toBe(0);
    const served = await run('docker-credential-ecr-login', ['credential-process', '--dir', dir], baseEnv());
    expect(served.code, served.stderr).toBe(0);
    expect(fake.isValidKey(JSON.parse(served.stdout).AccessKeyId)).toBe('valid');
  });

  it('cred-refresher refreshes the credentials and the ECR token', async () => {
    const dir = await ownedDir('creds-refresher');
    const env = await irsaEnv({ ECR_REGISTRIES: HOST });
    const refresher = await startAs(join(bin, 'cred-refresher'), ['--dir', dir, '--listen', '127.0.0.1:0'], {
      env, uid, ready: (stderr) => stderr.includes('"credentials refreshed"') && stderr.includes('"ECR token refreshed"'),
    });
    expect(await refresher.stop()).toBe(0);
    const stderr = refresher.stderr();
    expect(stderr).not.toMatch(/uv_os_homedir|"reason":"network"/);
  });
});
