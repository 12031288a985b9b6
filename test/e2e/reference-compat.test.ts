/**
 * Side by side with the reference docker-credential-ecr-login v0.12.0 (built from its Go module): the same inputs
 * give the same stdout and exit code, both accept the same hosts (a table of host inputs by class), `list` answers
 * alike, and they share one cache file without harm.
 */
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, exePath, requireBuilt, runExe, uidWithoutPasswdEntry } from '../support/exe.js';
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

function env(extra: Record<string, string | undefined> = {}) {
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

const ID = '123456789012';
const H = `${ID}.dkr.ecr.us-east-1.amazonaws.com`;
const latin1 = (s: string) => Buffer.from(s, 'latin1');

/**
 * Host inputs by class, each sent as `get`'s stdin to both helpers. A Buffer is sent as raw bytes (invalid UTF-8).
 * The reference's rules: one lower-case `https://` stripped, Go's net/url, a case-sensitive pattern on the hostname.
 */
const HOST_TABLE: Record<string, Array<string | Buffer>> = {
  case: [H, `${ID}.DKR.ECR.us-east-1.amazonaws.com`, `${ID}.dkr.ecr.US-EAST-1.amazonaws.com`, `${ID}.dkr.ecr.us-east-1.AMAZONAWS.COM`,
    `HTTPS://${H}`, `Https://${H}`, `https://https://${H}`, `http://${H}`, 'PUBLIC.ECR.AWS', 'Public.ecr.aws', 'ECR-PUBLIC.AWS.COM'],
  'percent escapes': [`%31${H.slice(1)}`, `${ID}.dkr.ecr.us-east-1.amazonaws%2Ecom`, `${H}/%zz`, `${H}/v2/%41`, `${H}?%zz`, `${H}#%zz`,
    `${H}#%41`, `%C3%A9${H}`, `${H}%`, `${H}%25`, `${H}/%2e%2e/`, `public.ecr.aw%73`],
  'control characters': [`${ID}.dkr\t.ecr.us-east-1.amazonaws.com`, `\x01${H}`, `${H}\x7f`, `${H}/\x00`, `${H}#\x01`, `${H}\r`,
    `1234\n56789012.dkr.ecr.us-east-1.amazonaws.com`, `${H}\n\n`, `\x0b${H}`, `\r\n${H}\r\n`, `${H.slice(0, 20)}\r${H.slice(20)}`],
  'unicode spaces, digits and dots': [`\u0085${H}`, `\ufeff${H}`, `${H}\u00a0`, `\u3000${H}`, `${ID}.dkr\u200b.ecr.us-east-1.amazonaws.com`,
    `\uff11${H.slice(1)}`, `\u0661${H.slice(1)}`, `${ID}\u3002dkr.ecr.us-east-1.amazonaws.com`, `${ID}\uff0edkr.ecr.us-east-1.amazonaws.com`,
    `${ID}\uff61dkr.ecr.us-east-1.amazonaws.com`, `${ID}.\uff44kr.ecr.us-east-1.amazonaws.com`, `${ID}.dkr.\u0435cr.us-east-1.amazonaws.com`,
    latin1(`${H}/\xff`), latin1(`${ID}.dkr.ecr.us-east-1.amazonaws.com\xff`), latin1(`${H}/\xe2\x82`)],
  backslashes: [`${H}\\@evil.example`, `evil.example\\@${H}`, `${H}\\`, `${H}\\v2\\`, `\\\\${H}`, `${H}/v2\\x`],
  userinfo: [`user@${H}`, `user:pass@${H}`, `u:p@ss@${H}`, `us er@${H}`, `user%zz@${H}`, `user%41@${H}`, `${H}@evil.example`,
    `user@evil.example@${H}`, `\u00fc@${H}`, `:@${H}`, `@${H}`, `user@public.ecr.aws`],
  ports: [`${H}:443`, `${H}:0`, `${H}:99999`, `${H}:65536`, `${H}:`, `${H}:abc`, `${H}:-1`, `${H}:443:443`, `${H}:+1`, `${H}:\uff11`,
    `${H}: 443`, `${H}:0443`, `${H}:99999999999999999999`, 'public.ecr.aws:443', 'public.ecr.aws:99999'],
  'IPv6 literals': ['[::1]', '[::1]:443', `[${H}]`, '[fe80::1%25en0]', `[${H}`, `${H}]`, '[::ffff:1.2.3.4]', '[1.2.3.4]', 'x[::1]', `[::1]@${H}`],
  'trailing dots': [`${H}.`, `${H}..`, `${H}.:443`, `.${H}`, 'public.ecr.aws.', 'ecr-public.aws.com.'],
  partitions: [`${ID}.dkr.ecr.us-west-2.amazonaws.com`, `${ID}.dkr.ecr.cn-north-1.amazonaws.com.cn`,
    `${ID}.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn`, `${ID}.dkr.ecr.us-gov-west-1.amazonaws.com`,
    `${ID}.dkr.ecr.us-iso-east-1.c2s.ic.gov`, `${ID}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov`, `${ID}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk`,
    `${ID}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov`, `${ID}.dkr.ecr.eusc-de-east-1.amazonaws.eu`, `${ID}.dkr.ecr.us-east-1.amazonaws.com.eu`,
    `${ID}.dkr.ecr.us-east-1.on.aws.cn`, `${ID}.dkr.ecr.cn-north-1.amazonaws.cn`, `${ID}.dkr.ecr.us-east-1.amazonaws.com.evil.example`],
  FIPS: [`${ID}.dkr.ecr-fips.us-east-1.amazonaws.com`, `${ID}.dkr-ecr-fips.us-east-1.on.aws`, `${ID}.dkr.ecr-FIPS.us-east-1.amazonaws.com`,
    `${ID}.dkr.fips-ecr.us-east-1.amazonaws.com`, `${ID}.dkr.ecr-fips.us-gov-east-1.amazonaws.com`, `${ID}.dkr.ecr.fips.us-east-1.amazonaws.com`],
  'dual-stack': [`${ID}.dkr-ecr.us-east-1.on.aws`, `${ID}.dkr-ecr.eu-west-1.on.aws`, `${ID}.dkr_ecr.us-east-1.on.aws`,
    `${ID}.dkr-ecr.us-east-1.amazonaws.com`, `${ID}.dkr.ecr.us-east-1.on.aws`],
  'ECR Public': ['public.ecr.aws', 'ecr-public.aws.com', 'https://public.ecr.aws/v2/', 'public.ecr.aws.evil.example',
    'evil.example/public.ecr.aws', 'public-ecr.aws', 'public.ecr.aws/%zz'],
  'registry id and region': [`12345678901.dkr.ecr.us-east-1.amazonaws.com`, `1234567890123.dkr.ecr.us-east-1.amazonaws.com`, `x${H}`,
    `${ID}.dkr.ecr.us_east_1.amazonaws.com`, `${ID}.dkr.ecr.-us-east-1.amazonaws.com`, `${ID}.dkr.ecr.us.east.1.amazonaws.com`,
    `${ID}.dkr.ecr..amazonaws.com`, `${H}/v2/repo/manifests/latest`, `${H}?x=1`, `${H}?`, `${H}/?#`, `${ID}.dkr.ecr.us east.amazonaws.com`],
};

const HOST_CASES = Object.entries(HOST_TABLE).flatMap(([kind, inputs]) => inputs.map((input) => [kind, input] as const));

/** The secret differs per call; everything else must be byte-identical. */
const withoutSecret = (stdout: string) => stdout.replace(/"Secret":"[^"]*"/, '"Secret":"…"');

describe(`the same answer for ${HOST_CASES.length} host inputs`, () => {
  it('has at least 100 inputs', () => expect(HOST_CASES.length).toBeGreaterThanOrEqual(100));

  it.each(HOST_CASES)('%s: %j', async (_kind, input) => {
    const e = env({ AWS_ECR_CACHE_DIR: await mkdtemp(join(home, 'case-')) });
    const theirs = await runExe(['get'], { env: e, stdin: input, file: toolPaths.refHelper });
    fake.resetCalls();
    const ours = await runExe(['get'], { env: { ...e, AWS_ECR_CACHE_DIR: await mkdtemp(join(home, 'case-')) }, stdin: input });
    expect({ stdout: withoutSecret(ours.stdout), code: ours.code }).toEqual({ stdout: withoutSecret(theirs.stdout), code: theirs.code });
    if (theirs.code === 0) {
      const [o, t] = [JSON.parse(ours.stdout), JSON.parse(theirs.stdout)];
      expect(fake.validEcrPasswords()).toEqual(expect.arrayContaining([o.Secret, t.Secret]));
    } else {
      expect(fake.counts()).toEqual({});
    }
  });
});

describe('list, side by side', () => {
  const listBoth = async (e: Record<string, string>) => ({
    theirs: await runExe(['list'], { env: e, file: toolPaths.refHelper }),
    ours: await runExe(['list'], { env: e }),
  });

  it.each([
    ['a default region', { AWS_REGION: 'us-west-2' }, '{"https://123456789012.dkr.ecr.us-west-2.amazonaws.com":"AWS","https://public.ecr.aws":"AWS"}\n'],
    ['AWS_DEFAULT_REGION only', { AWS_DEFAULT_REGION: 'eu-central-1' }, '{"https://123456789012.dkr.ecr.eu-central-1.amazonaws.com":"AWS","https://public.ecr.aws":"AWS"}\n'],
    ['no region', {}, '{"https://public.ecr.aws":"AWS"}\n'],
    ['the cache disabled', { AWS_REGION: 'us-west-2', AWS_ECR_DISABLE_CACHE: '1' }, '{}\n'],
    ['no AWS credentials', { AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }, '{}\n'],
  ])('with %s, each in its own cache', async (_what, extra, expected) => {
    const dirs = [await mkdtemp(join(home, 'list-')), await mkdtemp(join(home, 'list-'))];
    const e = (dir: string) => env({ AWS_ECR_CACHE_DIR: dir, ...(extra as Record<string, string>) });
    const theirs = await runExe(['list'], { env: e(dirs[0]!), file: toolPaths.refHelper });
    const ours = await runExe(['list'], { env: e(dirs[1]!) });
    expect({ stdout: ours.stdout, code: ours.code }).toEqual({ stdout: theirs.stdout, code: theirs.code });
    expect(ours.stdout).toBe(expected);
  });

  it('lists every registry in a cache both wrote to', async () => {
    const e = env({ AWS_ECR_CACHE_DIR: await mkdtemp(join(home, 'list-shared-')), AWS_REGION: 'us-west-2' });
    expect((await runExe(['get'], { env: e, stdin: `210987654321.dkr.ecr.eu-west-1.amazonaws.com`, file: toolPaths.refHelper })).code).toBe(0);
    expect((await runExe(['get'], { env: e, stdin: `111111111111.dkr.ecr.ap-south-1.amazonaws.com` })).code).toBe(0);
    const { ours, theirs } = await listBoth(e);
    expect({ stdout: ours.stdout, code: ours.code }).toEqual({ stdout: theirs.stdout, code: theirs.code });
    expect(Object.keys(JSON.parse(ours.stdout))).toEqual([
      'https://111111111111.dkr.ecr.ap-south-1.amazonaws.com', 'https://123456789012.dkr.ecr.us-west-2.amazonaws.com',
      'https://210987654321.dkr.ecr.eu-west-1.amazonaws.com', 'https://public.ecr.aws',
    ]);
  });
});

describe('as a uid with no passwd entry and no HOME', () => {
  it.each([
    ['get', H],
    ['get', 'public.ecr.aws'],
    ['get', 'example.com'],
    ['list', ''],
  ])('%s %j: the same answer, with the cache off, and with AWS_ECR_CACHE_DIR', async (verb, stdin) => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root: it runs both helpers as another uid');
    const uid = uidWithoutPasswdEntry();
    // Copies in a directory the uid can enter (the checkout and .tools may not be).
    const dir = await mkdtemp(join(tmpdir(), 'compat-uid-'));
    await chmod(dir, 0o755);
    const [ours, theirs] = [join(dir, 'ours'), join(dir, 'theirs')];
    await copyFile(exePath, ours);
    await copyFile(toolPaths.refHelper, theirs);
    await Promise.all([chmod(ours, 0o755), chmod(theirs, 0o755)]);
    const cacheOf = async (name: string) => {
      const cache = join(dir, name);
      await mkdir(cache);
      await chown(cache, uid, uid);
      return cache;
    };
    const e = { ...env({ AWS_REGION: 'us-west-2' }) } as Record<string, string>;
    delete e.HOME;
    for (const caches of [undefined, [await cacheOf('cache-ours'), await cacheOf('cache-theirs')]] as const) {
      const run = (file: string, cache: string | undefined) => runExe([verb], { env: cache ? { ...e, AWS_ECR_CACHE_DIR: cache } : e, stdin, uid, file });
      const [o, t] = [await run(ours, caches?.[0]), await run(theirs, caches?.[1])];
      expect({ stdout: withoutSecret(o.stdout), code: o.code }).toEqual({ stdout: withoutSecret(t.stdout), code: t.code });
      // Not an agreement on failing: both answer.
      if (verb === 'get' && stdin !== 'example.com') expect(o.code, o.stderr).toBe(0);
      if (verb === 'list') expect(o.stdout).toBe(caches ? '{"https://123456789012.dkr.ecr.us-west-2.amazonaws.com":"AWS","https://public.ecr.aws":"AWS"}\n' : '{}\n');
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
