// The image workflow a user's repository runs on push (.github/workflows/image.yml), checked by actionlint: syntax,
// expressions, action inputs, job permissions. A broken copy must fail, or a green run would prove nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireTools, toolPaths } from '../support/tools.js';

const run = promisify(execFile);
const workflow = join(repoRoot, '.github', 'workflows', 'image.yml');

async function actionlint(file: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(toolPaths.actionlint, ['-no-color', file]);
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('.github/workflows/image.yml', () => {
  beforeAll(() => requireTools('actionlint'));

  it('passes actionlint', async () => {
    expect(await actionlint(workflow)).toEqual({ code: 0, out: '' });
  });

  it('builds both platforms with an SBOM, smoke-tests each, and never emulates the build stage', async () => {
    const text = await readFile(workflow, 'utf8');
    expect(text).toContain('platforms: linux/amd64,linux/arm64');
    expect(text).toContain('for platform in linux/amd64 linux/arm64; do');
    expect(text).toMatch(/--entrypoint docker-credential-ecr-login "\$tag" version/);
    expect(text).toContain('sbom: true');
    expect(text).toContain('file: image/Dockerfile');
  });

  it('a broken copy fails actionlint (the check is real)', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'actionlint-')), '.github', 'workflows');
    await mkdir(dir, { recursive: true });
    const broken = join(dir, 'image.yml');
    const text = await readFile(workflow, 'utf8');
    await writeFile(broken, text.replace('${{ matrix.registry-version }}', '${{ matrix.registry_version }}'));
    const result = await actionlint(broken);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/registry_version/);
  });
});
