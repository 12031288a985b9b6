/**
 * review/ATTACK-LAST.md: failing tests for what a short attack of the last merges found (each test names its finding).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exe.js';

const doc = () => readFileSync(join(repoRoot, 'docs', 'aws-setup.md'), 'utf8');
/** fill() exactly as step 1 of docs/aws-setup.md defines it. */
const fillFn = () => /^fill\(\) \{\n[\s\S]*?^\}$/m.exec(doc())![0];

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function fill(file: string, names: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'attack-last-'));
  const env = {
    PATH: process.env.PATH!, WORK: root, AWS_REGION: 'eu-west-1', CLUSTER: 'c1', NS: 'registry-cache', SA: 'ecr-pull-through-cache',
    ROLE: 'ecr-pull-through-cache', IMAGE_REPO: 'ecr-pull-through-cache', TAG: '3.0.0-1', ECR_ACCOUNT_ID: '222222222222',
    TARGET_ROLE: 'ecr-pull-through-cache-reader', ACCOUNT_ID: '111111111111', BUCKET: 'b', OIDC: 'oidc.example/id/X', ...names,
  };
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${fillFn()}\nfill "$1"`, 'fill', file], { cwd: repoRoot, env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(join(root, file.split('/').pop()!), 'utf8');
}

describe('attack-last finding 1: docs/aws-setup.md fill() rewrites the target role with ROLE', () => {
  // step 1 lets the user choose ROLE and TARGET_ROLE independently; step 4 creates the role named $TARGET_ROLE
  it('a ROLE of the user\'s own with the default TARGET_ROLE keeps the target role ARN the steps create', () => {
    const names = { ROLE: 'registry-cache', TARGET_ROLE: 'ecr-pull-through-cache-reader' };
    const overlay = fill('chart-values/overlays/cross-account.yaml', names);
    expect(overlay).toContain('arn:aws:iam::222222222222:role/ecr-pull-through-cache-reader');
    expect(overlay).not.toContain('role/registry-cache-reader');
    expect(fill('chart-values/aws/assume-target-role-policy.json', names)).toContain(':role/ecr-pull-through-cache-reader"');
  });

  it('a TARGET_ROLE that starts with the default role name is not rewritten a second time', () => {
    const names = { ROLE: 'cache-irsa', TARGET_ROLE: 'ecr-pull-through-cache-ro' };
    const overlay = fill('chart-values/overlays/cross-account.yaml', names);
    expect(overlay).toContain('arn:aws:iam::222222222222:role/ecr-pull-through-cache-ro\n');
    expect(overlay).not.toContain('role/cache-irsa-ro');
  });
});
