import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialProcessMain } from './credential-process.js';

const now = Date.parse('2030-01-01T00:00:00Z');

describe(credentialProcessMain.name, () => {
  it('says its prefix once (issue 10) and exits 2 for a configuration error', async () => {
    const out = await credentialProcessMain([], {}, now);
    expect(out).toEqual({ stdout: '', stderr: 'credential-process: no credentials directory; pass --dir or set CREDENTIALS_DIR\n', exitCode: 2 });
  });

  it('names a numeric Expiration as the wrong type, not as missing (issue 10)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cp-'));
    await writeFile(join(dir, 'credentials.json'), JSON.stringify({ Version: 1, AccessKeyId: 'A', SecretAccessKey: 'S', SessionToken: 'T', Expiration: 1893456000, RefreshedAt: '2030-01-01T00:00:00Z' }));
    const out = await credentialProcessMain(['--dir', dir], {}, now);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toBe('credential-process: the credentials field Expiration is a number, not a string (ISO 8601, e.g. 2030-01-01T00:00:00Z)\n');
  });

  it('refuses a margin out of bounds on one line', async () => {
    const out = await credentialProcessMain(['--dir', '/x', '--margin', '100000h'], {}, now);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toMatch(/^credential-process: --margin: "100000h" is out of range[^\n]*\n$/);
  });
});

describe('credential-process expiry sanity', () => {
  const write = async (expiration: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'cp-'));
    await writeFile(join(dir, 'credentials.json'), JSON.stringify({ Version: 1, AccessKeyId: 'A', SecretAccessKey: 'S', SessionToken: 'T', Expiration: expiration, RefreshedAt: '2030-01-01T00:00:00Z' }));
    return dir;
  };

  it.each([['year 9999', '9999-12-31T00:00:00.000Z'], ['+5 days', '2030-01-06T00:00:00.000Z']])('refuses an expiry of %s (further than STS issues) in one line, exit 1', async (_name, expiration) => {
    const dir = await write(expiration);
    const out = await credentialProcessMain(['--dir', dir, '--margin', '1s'], {}, now);
    expect(out.stdout).toBe('');
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toBe(`credential-process: the credentials in ${dir} claim to expire at ${expiration}, further away than STS can issue (12 h); refused: is something other than sts-init / cred-refresher writing credentials.json?\n`);
  });

  it('refuses an expired value, and serves one within 12 h (plus the clock-skew allowance)', async () => {
    expect((await credentialProcessMain(['--dir', await write('2029-12-31T23:59:59.000Z')], {}, now)).exitCode).toBe(1);
    const out = await credentialProcessMain(['--dir', await write('2030-01-01T12:04:00.000Z'), '--margin', '1s'], {}, now);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout).Expiration).toBe('2030-01-01T12:03:59.000Z');
  });
});
