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
