// The image workflow a user's repository runs on push (.github/workflows/image.yml), checked by actionlint: syntax,
// expressions, action inputs, job permissions. A broken copy must fail, or a green run would prove nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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

  it('builds both platforms with an SBOM, emulates only the final stage, and smoke-tests each platform', async () => {
    interface Step { uses?: string; run?: string; with?: Record<string, unknown> }
    const doc = parse(await readFile(workflow, 'utf8')) as { on: Record<string, unknown>; jobs: { image: { steps: Step[] } } };
    expect(Object.keys(doc.on)).toContain('push');
    const steps = doc.jobs.image.steps;
    const uses = (name: string) => steps.filter((s) => s.uses?.split('@')[0] === name);
    // QEMU runs the arm64 final stage's RUN steps (apk add, the smoke test); the build stage never needs it.
    expect(uses('docker/setup-qemu-action')).toEqual([expect.objectContaining({ with: { platforms: 'arm64' } })]);
    expect(uses('docker/setup-buildx-action')).toHaveLength(1);
    const smoke = steps.find((s) => s.run?.includes('for platform in linux/amd64 linux/arm64; do'))?.run ?? '';
    expect(smoke).toMatch(/--entrypoint docker-credential-ecr-login "\$tag" version/);
    expect(smoke).toContain('-f image/Dockerfile');
    const [push] = uses('docker/build-push-action');
    expect(push?.with).toMatchObject({ file: 'image/Dockerfile', platforms: 'linux/amd64,linux/arm64', sbom: true });
    // The smoke test runs before anything is pushed.
    expect(steps.indexOf(push!)).toBeGreaterThan(steps.findIndex((s) => s.run === smoke));
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
