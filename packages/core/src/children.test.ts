import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { descendantsOf } from './children.js';

describe(descendantsOf.name, () => {
  it('finds children and grandchildren (a shell running a command), parents first', async () => {
    const shell = spawn('/bin/sh', ['-c', 'sleep 1000 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const grandchild = Number((await new Promise<string>((resolve) => shell.stdout.once('data', (d) => resolve(String(d))))).trim());
      const found = descendantsOf(process.pid);
      expect(found).toContain(shell.pid);
      expect(found).toContain(grandchild);
      expect(found.indexOf(shell.pid!)).toBeLessThan(found.indexOf(grandchild));
      process.kill(grandchild, 'SIGKILL');
    } finally {
      shell.kill('SIGKILL');
    }
  });
});
