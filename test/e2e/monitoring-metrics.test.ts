/**
 * Every metric name the alert rules and the dashboard read exists in what the running stack exports: the
 * refresher's /metrics and the real registry 3.0.0's debug /metrics, scraped as the PodMonitor scrapes them.
 * Names from outside the pod (kube-state-metrics' kube_*, Prometheus's own `up`) are listed and checked apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, exposedNames, metricNames, ruleGroups, withoutGrafanaVariables } from '../monitoring/kit.js';
import { requireBuilt } from '../support/exe.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';
import { requireTools } from '../support/tools.js';

/** Not exported by the pod: kube-state-metrics (EcrProxyPodNotReady) and the scrape's own health (EcrProxyMetricsDown). */
const FROM_ELSEWHERE = new Set(['kube_pod_container_status_ready', 'up']);

let stack: Stack;
let exposed: Set<string>;

beforeAll(async () => {
  requireTools('registry300', 'crane', 'motoServer');
  requireBuilt();
  // Short lifetimes, so the refresher refreshes both kinds within seconds and every series it can export is there.
  stack = await startStack({ stsLifetimeSeconds: 20, ecrTokenLifetimeSeconds: 20, margin: '4s' });
  await stack.seedImage('team/app:v1');
  await stack.pull('team/app:v1');
  const refresher = await waitFor('a refresh of both kinds', async () => {
    const text = await (await fetch(`${stack.refresher.url}/metrics`)).text();
    return /cred_refresher_last_refresh_timestamp_seconds\{kind="sts"\}/.test(text) && /kind="ecr"\}/.test(text) ? text : undefined;
  }, 60_000);
  const registry = await (await fetch(`${stack.proxy.debugUrl}/metrics`)).text();
  exposed = new Set([...exposedNames(refresher), ...exposedNames(registry)]);
});
afterAll(async () => stack?.stop());

describe('metric names used by the monitoring kit exist in the running stack', () => {
  const used = () => {
    const fromRules = ruleGroups().flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, names: metricNames(r.expr) })));
    const fromDashboard = dashboardQueries().map((q) => ({ where: q.where, names: metricNames(withoutGrafanaVariables(q.expr)) }));
    return [...fromRules, ...fromDashboard];
  };

  it('every name in the rules and the dashboard is exported (or is one of the outside names)', () => {
    const missing = used().flatMap(({ where, names }) => names.filter((n) => !exposed.has(n) && !FROM_ELSEWHERE.has(n)).map((n) => `${where}: ${n}`));
    expect(missing).toEqual([]);
  });

  it('the check is not vacuous: it covers both exporters and every rule', () => {
    const names = new Set(used().flatMap((u) => u.names));
    expect([...names].filter((n) => n.startsWith('cred_refresher_')).length).toBeGreaterThanOrEqual(5);
    expect([...names].filter((n) => n.startsWith('registry_')).length).toBeGreaterThanOrEqual(5);
    expect(used().every((u) => u.names.length > 0)).toBe(true);
    expect(exposed.has('cred_refresher_no_such_metric')).toBe(false);
  });

  it('the outside names are only those two', () => {
    const outside = new Set(used().flatMap((u) => u.names).filter((n) => !exposed.has(n)));
    expect([...outside].sort()).toEqual([...FROM_ELSEWHERE].sort());
  });
});
