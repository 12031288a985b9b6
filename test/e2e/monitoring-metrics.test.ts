/**
 * The monitoring kit on the running stack. Every metric name the alert rules and the dashboard read exists in what
 * the stack exports (the refresher's /metrics and the real registry 3.0.0's debug /metrics); names from outside the
 * pod (kube-state-metrics, Prometheus's own `up`) are listed apart. Then a real Prometheus (2.42, Debian's) scrapes
 * the stack with the kit's rules loaded: every rule evaluates without error, every dashboard query returns data, and
 * the alerts that fire are exactly the ones this stack's 20 s credentials should fire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, exposedNames, metricNames, ruleGroups, withoutGrafanaVariables } from '../monitoring/kit.js';
import { requireBuilt } from '../support/exe.js';
import { POD_LABELS, startPrometheus, type PrometheusProcess } from '../support/prometheus.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';
import { requireTools } from '../support/tools.js';

/** Not exported by the pod: kube-state-metrics (EcrProxyPodNotReady, EcrProxyNoPodReady) and the scrape's own health (EcrProxyMetricsDown). */
const FROM_ELSEWHERE = new Set([
  'kube_pod_container_status_ready', 'kube_pod_init_container_status_ready', 'kube_pod_status_ready', 'kube_pod_status_phase',
  'kube_deployment_status_replicas_available', 'up',
]);

let stack: Stack;
let exposed: Set<string>;

beforeAll(async () => {
  requireTools('registry300', 'crane', 'motoServer', 'prometheus');
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

  it("the helper's runs inside the real registry reach the refresher's metrics (the dashboard's helper panel)", async () => {
    // The pull above ran the helper through proxy.exec; each run appended its outcome to the ECR cache directory.
    const text = await (await fetch(`${stack.refresher.url}/metrics`)).text();
    const successes = [...text.matchAll(/^cred_refresher_helper_runs_total\{result="success",outcome="(\w+)"\} (\d+)$/gm)];
    expect(successes.map((m) => m[1]).sort()).toEqual(['cache', 'ecr', 'stale_cache']);
    expect(successes.reduce((n, m) => n + Number(m[2]), 0)).toBeGreaterThan(0);
    expect(exposed.has('cred_refresher_helper_runs_total')).toBe(true);
  });

  it('the outside names are only those of kube-state-metrics and Prometheus', () => {
    const outside = new Set(used().flatMap((u) => u.names).filter((n) => !exposed.has(n)));
    expect([...outside].sort()).toEqual([...FROM_ELSEWHERE].sort());
  });
});

describe('a real Prometheus scraping the stack with the kit\'s rules', () => {
  let prometheus: PrometheusProcess;
  /** The dashboard's variables as Grafana would fill them for this stack. */
  const asGrafana = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', POD_LABELS.namespace).replaceAll('$pod', '.*');

  beforeAll(async () => {
    prometheus = await startPrometheus(stack, ruleGroups());
    await waitFor('both targets up', async () => ((await prometheus.query('sum(up)'))[0]?.value[1] === '2' ? true : undefined), 60_000);
  });
  afterAll(async () => prometheus?.stop());

  it('evaluates every rule without error', async () => {
    const rules = await waitFor('every rule evaluated', async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> } };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length === ruleGroups().flatMap((g) => g.rules).length && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
    }, 60_000);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
  });

  it('every dashboard query returns data from the stack', async () => {
    for (const q of dashboardQueries()) {
      const expr = asGrafana(q.expr);
      const result = await waitFor(`data for ${q.where}`, async () => {
        const r = await prometheus.query(expr);
        return r.length > 0 ? r : undefined;
      }, 60_000);
      expect(result.length, `${q.where}: ${expr}`).toBeGreaterThan(0);
    }
  });

  it('fires the expiry alerts this stack\'s 20 s credentials call for, and no other', async () => {
    const active = await waitFor('the expiry alerts', async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      const names = body.data.alerts.map((a) => `${a.labels.alertname}/${a.labels.severity}`);
      return names.filter((n) => n.startsWith('EcrProxyStsCredentials') || n.startsWith('EcrProxyEcrToken')).length === 4 ? names : undefined;
    }, 60_000);
    expect([...new Set(active)].sort()).toEqual([
      'EcrProxyEcrTokenExpiringSoon/critical', 'EcrProxyEcrTokenExpiringSoon/warning',
      'EcrProxyStsCredentialsExpiringSoon/critical', 'EcrProxyStsCredentialsExpiringSoon/warning',
    ]);
    // The local AWS runs on this machine's clock: the skew the refresher measured is far below the alert's 30 s.
    const [skew] = await prometheus.query('abs(cred_refresher_clock_skew_seconds)');
    expect(Number(skew!.value[1])).toBeLessThan(30);
  });
});
