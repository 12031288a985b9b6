/**
 * promtool (provisioned from Debian's prometheus package) on the monitoring kit: the rules as Prometheus loads them,
 * their unit tests (test/monitoring/alerts.promtool.yaml: each alert fired and not fired by synthetic series), and
 * every dashboard query parsed by Prometheus's own PromQL parser.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { dashboardQueries, ruleGroups, withoutGrafanaVariables } from '../monitoring/kit.js';
import { repoRoot } from '../support/exe.js';
import { requireTools, toolPaths } from '../support/tools.js';

function promtool(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(toolPaths.promtool, args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

let dir: string;
beforeAll(() => {
  requireTools('promtool');
  dir = mkdtempSync(join(tmpdir(), 'promtool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('promtool on chart-values/monitoring', () => {
  it('check rules: the PrometheusRule\'s groups load as Prometheus rules, annotation templates included', async () => {
    writeFileSync(join(dir, 'full.yaml'), stringify({ groups: ruleGroups() }));
    const result = await promtool(['check', 'rules', 'full.yaml'], dir);
    expect(result.out).toMatch(/SUCCESS: 12 rules found/);
    expect(result.code, result.out).toBe(0);
  });

  it('test rules: each alert fires on the series that should fire it, and not on the others', async () => {
    // Annotations are text (checked above); left out here so the tests state labels and timing only.
    const groups = ruleGroups().map((g) => ({ ...g, rules: g.rules.map(({ annotations: _omit, ...rule }) => rule) }));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    copyFileSync(join(repoRoot, 'test', 'monitoring', 'alerts.promtool.yaml'), join(dir, 'alerts.promtool.yaml'));
    const result = await promtool(['test', 'rules', 'alerts.promtool.yaml'], dir);
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/SUCCESS/);
  });

  it('test rules fails when an alert stops firing (the harness can see a broken rule)', async () => {
    const groups = ruleGroups().map((g) => ({
      ...g,
      rules: g.rules.map(({ annotations: _omit, ...rule }) => (rule.alert === 'EcrProxyClockSkew' ? { ...rule, expr: rule.expr.replace('> 30', '> 300') } : rule)),
    }));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    const result = await promtool(['test', 'rules', 'alerts.promtool.yaml'], dir);
    expect(result.code).not.toBe(0);
    expect(result.out).toMatch(/alertname: EcrProxyClockSkew/);
  });

  it.each([
    ['EcrProxyClockSkew', 'abs(cred_refresher_clock_skew_seconds)', 'cred_refresher_clock_skew_seconds'],
    ['EcrProxyPodNotReady', 'kube_pod_init_container_status_ready', 'kube_pod_container_status_ready'],
    ['EcrProxyPodNotReady', 'pod=~"registry-cache-docker-registry-.+", container="docker-registry"', 'container="docker-registry"'],
    ['EcrProxyMetricsDown', 'or absent(cred_refresher_credentials_expiry_seconds)', ''],
  ])('test rules catches a weakened %s (%s)', async (alert, from, to) => {
    const groups = ruleGroups().map((g) => ({
      ...g,
      rules: g.rules.map(({ annotations: _omit, ...rule }) => (rule.alert === alert ? { ...rule, expr: rule.expr.replace(from, to) } : rule)),
    }));
    expect(JSON.stringify(groups)).not.toContain(JSON.stringify(from).slice(1, -1));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    const result = await promtool(['test', 'rules', 'alerts.promtool.yaml'], dir);
    expect(result.code, result.out).not.toBe(0);
    expect(result.out).toContain(`alertname: ${alert}`);
  });

  it('every dashboard query parses (each checked as a recording rule)', async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: withoutGrafanaVariables(q.expr) }));
    writeFileSync(join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const result = await promtool(['check', 'rules', 'dashboard.yaml'], dir);
    expect(result.code, result.out).toBe(0);
    expect(result.out).toContain(`SUCCESS: ${queries.length} rules found`);
    // And a broken query is caught the same way.
    writeFileSync(join(dir, 'broken.yaml'), stringify({ groups: [{ name: 'dashboard', rules: [{ record: 'x:y', expr: 'sum by (pod (up)' }] }] }));
    expect((await promtool(['check', 'rules', 'broken.yaml'], dir)).code).not.toBe(0);
  });
});
