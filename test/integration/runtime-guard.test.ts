// The executable's runtime attack surface: no debugger on demand. A long-running role survives SIGUSR1/SIGUSR2
// and listens on nothing afterwards; asked for an inspector through the env, every role refuses before doing anything.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { binDir, cleanEnv, runExe } from '../support/exe.js';

/** TCP sockets in LISTEN state owned by `pid` (ss from iproute2). */
function listeners(pid: number): string[] {
  return execFileSync('ss', ['-H', '-l', '-t', '-n', '-p'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`));
}

describe('no debugger on demand (built executable)', () => {
  it('sts-init, busy retrying, survives SIGUSR1 and SIGUSR2, keeps working and opens no listener', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'guard-'));
    await writeFile(join(dir, 'token'), 'header.payload.signature');
    // STS on a port that refuses: sts-init logs one line per retry until its timeout, a steady heartbeat to wait on.
    const child = spawn(join(binDir, 'sts-init'), ['--dir', join(dir, 'creds'), '--timeout', '120s'], {
      env: cleanEnv({
        AWS_REGION: 'us-east-1',
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/cache',
        AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
        AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9',
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const lines = createInterface({ input: child.stderr })[Symbol.asyncIterator]();
    const nextLine = async () => (await lines.next()).value as string;
    try {
      expect(await nextLine()).toMatch(/retrying/);
      child.kill('SIGUSR1');
      child.kill('SIGUSR2');
      // Two more retries after both signals: the process is alive and still doing its job.
      await nextLine();
      await nextLine();
      expect(child.exitCode).toBeNull();
      expect(listeners(child.pid!)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.each([
    ['BUN_INSPECT', 'ws://127.0.0.1:0/debug'],
    ['BUN_INSPECT_CONNECT_TO', 'unix:///tmp/inspect.sock'],
    ['BUN_OPTIONS', '--inspect=127.0.0.1:0'],
    ['BUN_OPTIONS', '--heap-prof'],
  ])('%s set: every role refuses with one line and exit 2', async (name, value) => {
    for (const role of ['get', 'sts-init', 'cred-refresher', 'credential-process']) {
      const args = role === 'get' ? ['get'] : [role];
      const out = await runExe(args, { env: cleanEnv({ [name]: value }), stdin: '123456789012.dkr.ecr.us-east-1.amazonaws.com' });
      expect(out.code, role).toBe(2);
      expect(out.stdout, role).toBe('');
      expect(out.stderr, role).toMatch(new RegExp(`^[\\w-]+: ${name} is set and would change how the runtime runs this process[^\\n]*\\n$`));
    }
  });
});
