/**
 * Review of issue 14: runs test/monitoring/review-14.promtool.yaml against the kit's rules. On main as merged this fails
 * (the FAILS-ON-MAIN cases in that file): it is a reproduction, not a regression test yet.
 *   npx vitest run -c vitest.e2e.config.ts test/e2e/review-14-monitoring.test.ts
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ruleGroups } from '../monitoring/kit.js';
import { repoRoot } from '../support/exe.js';
import { requireTools, toolPaths } from '../support/tools.js';

let dir: string;
beforeAll(() => {
  requireTools('promtool');
  dir = mkdtempSync(join(tmpdir(), 'review-14-promtool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the review cases hold against the kit\'s rules', async () => {
  const groups = ruleGroups().map((g) => ({ ...g, rules: g.rules.map(({ annotations: _omit, ...rule }) => rule) }));
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
  copyFileSync(join(repoRoot, 'test', 'monitoring', 'review-14.promtool.yaml'), join(dir, 'review.yaml'));
  const result = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(toolPaths.promtool, ['test', 'rules', 'review.yaml'], { cwd: dir, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
  expect(result.code, result.out).toBe(0);
});
