/**
 * `list` of cache files neither program writes, ours vs the reference v0.12.0: the reference decodes cache.json with
 * encoding/json into a cache whose Version is already "1.0" (ecr-login/cache/file.go), so a file without Version is
 * current; it keeps an entry under any key, `__proto__` too; its encoder writes a user name's invalid UTF-8 as
 * `\ufffd`. The calls that prime the cache fail (no reachable ECR), so the file is listed as it is.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuilt, runExe } from '../support/exe.js';
import { requireTools, toolPaths } from '../support/tools.js';

let home: string;
beforeAll(async () => {
  requireTools('refHelper');
  requireBuilt();
  home = await mkdtemp(join(tmpdir(), 'cache-files-'));
});

const b64 = (s: Buffer | string) => Buffer.from(s).toString('base64');
const entry = (token: string, endpoint: string) => ({ AuthorizationToken: token, RequestedAt: '2026-11-30T04:00:00Z',
  ExpiresAt: '2099-01-01T00:00:00Z', ProxyEndpoint: endpoint, Service: 'ecr' });

describe('list of a cache file, side by side', () => {
  it.each([
    ['an invalid UTF-8 user name', JSON.stringify({ Registries: { k: entry(b64(Buffer.from([0xff, 0xfe, 0x3a, 0x70])), 'd') }, Version: '1.0' })],
    ['a user name with U+FFFD itself', JSON.stringify({ Registries: { k: entry(b64('\ufffd<&>:p'), 'd') }, Version: '1.0' })],
    ['an entry keyed and pointing at __proto__', `{"Registries":{"__proto__":${JSON.stringify(entry(b64('AWS:pw'), '__proto__'))}},"Version":"1.0"}`],
    ['no Version', JSON.stringify({ Registries: { k: entry(b64('AWS:pw'), 'e') } })],
    ['another Version', JSON.stringify({ Registries: { k: entry(b64('AWS:pw'), 'e') }, Version: '2.0' })],
    ['Registries as an array', JSON.stringify({ Registries: [entry(b64('AWS:pw'), 'e')], Version: '1.0' })],
  ])('%s', async (_what, file) => {
    const run = async (bin?: string) => {
      const dir = await mkdtemp(join(home, 'l-'));
      await writeFile(join(dir, 'cache.json'), file);
      const env = cleanEnv({ HOME: home, AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE', AWS_SECRET_ACCESS_KEY: 'static-secret', AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ECR_CACHE_DIR: dir, AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_ECR_PUBLIC: 'http://127.0.0.1:1' });
      return runExe(['list'], { env, ...(bin ? { file: bin } : {}) });
    };
    const [ours, theirs] = await Promise.all([run(), run(toolPaths.refHelper)]);
    expect({ out: ours.stdout, code: ours.code }).toEqual({ out: theirs.stdout, code: theirs.code });
  });
});
