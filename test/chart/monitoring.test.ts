/**
 * The monitoring kit's objects against the prometheus-operator CRD schemas (the @kubernetes-models/prometheus-operator
 * validators, generated from the operator's CRDs and published on npm), and its internal consistency: the
 * kustomization's files exist, every alert has a runbook section and a promtool test. promtool itself runs in the
 * e2e tier (test/e2e/monitoring-rules.test.ts), where the tool is provisioned.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../support/exe.js';
import { dashboardQueries, loadYamlFile, metricNames, MONITORING_DIR, ruleGroups, withoutGrafanaVariables } from '../monitoring/kit.js';
import { loadYaml, VALUES_FILE, type Container } from './chart-values.js';

const podMonitor = () => loadYamlFile<Record<string, any>>('podmonitor.yaml');
const prometheusRule = () => loadYamlFile<Record<string, any>>('prometheusrule.yaml');
const alerts = () => ruleGroups().flatMap((g) => g.rules).filter((r) => r.alert);

describe('chart-values/monitoring against the prometheus-operator CRD schemas', () => {
  it('the PodMonitor is valid', () => {
    expect(() => new PodMonitor(podMonitor() as never).validate()).not.toThrow();
  });

  it('the PrometheusRule is valid', () => {
    expect(() => new PrometheusRule(prometheusRule() as never).validate()).not.toThrow();
  });

  it('the validators do reject what the CRDs forbid', () => {
    const badPort = podMonitor();
    badPort.spec.podMetricsEndpoints[0].portNumber = 'refresher';
    expect(() => new PodMonitor(badPort as never).validate()).toThrow(/portNumber/);
    const badFor = prometheusRule();
    badFor.spec.groups[0].rules[0].for = '5 minutes';
    expect(() => new PrometheusRule(badFor as never).validate()).toThrow(/for/);
  });

  it('the PodMonitor scrapes the refresher by its declared port, and the registry at the pod on 5001', () => {
    const values = parse(readFileSync(join(repoRoot, 'chart-values', 'values-s3-ecr-proxy.yaml'), 'utf8')) as Record<string, any>;
    const refresher = values.initContainers.find((c: { name: string }) => c.name === 'cred-refresher');
    const [refresherEndpoint, registryEndpoint] = podMonitor().spec.podMetricsEndpoints;
    expect(refresher.ports.map((p: { name: string }) => p.name)).toContain(refresherEndpoint.port);
    expect(values.configData.http.debug.addr).toBe(':5001');
    expect(values.configData.http.debug.prometheus).toEqual({ enabled: true, path: registryEndpoint.path });
    expect(registryEndpoint.relabelings).toContainEqual({ sourceLabels: ['__meta_kubernetes_pod_ip'], regex: '(.+)', targetLabel: '__address__', replacement: '${1}:5001' });
  });
});

describe('chart-values/monitoring consistency', () => {
  it('the kustomization lists files that exist', () => {
    const k = loadYamlFile<{ resources: string[]; configMapGenerator: Array<{ files: string[] }> }>('kustomization.yaml');
    const files = [...k.resources, ...k.configMapGenerator.flatMap((g) => g.files.map((f) => f.split('=').pop()!))];
    for (const f of files) expect(existsSync(join(MONITORING_DIR, f)), f).toBe(true);
  });

  it('every alert has a runbook section in docs/operations.md and a promtool test', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
    const tests = readFileSync(join(repoRoot, 'test', 'monitoring', 'alerts.promtool.yaml'), 'utf8');
    for (const rule of alerts()) {
      const anchor = rule.annotations?.runbook_url?.split('#')[1];
      expect(anchor, rule.alert).toBe(rule.alert!.toLowerCase());
      expect(anchors.has(anchor!), `docs/operations.md has no section "${rule.alert}"`).toBe(true);
      expect(tests, rule.alert).toContain(`alertname: ${rule.alert}`);
    }
  });

  it('the EcrProxyPodNotReady runbook names every container whose readiness can take the pod out (storage-health included: the registry\'s own storage check is off)', () => {
    const values = loadYaml(VALUES_FILE);
    const section = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8').split('### EcrProxyPodNotReady')[1]!.split('\n### ')[0]!;
    const withReadiness = (values.initContainers as (Container & { readinessProbe?: unknown })[]).filter((c) => c.readinessProbe).map((c) => c.name);
    expect(withReadiness.sort()).toEqual(['cred-refresher', 'storage-health']);
    for (const name of [...withReadiness, 'docker-registry']) expect(section, name).toContain(`\`${name}\``);
    expect(section).not.toMatch(/the registry when its storage health check fails/);
  });

  it('the alerts the issue asks for are all there', () => {
    expect([...new Set(alerts().map((r) => r.alert))].sort()).toEqual([
      'EcrProxyClockSkew', 'EcrProxyEcrTokenExpiringSoon', 'EcrProxyManifestsNotFound', 'EcrProxyMetricsDown', 'EcrProxyNoPodReady', 'EcrProxyNoRecentRefresh',
      'EcrProxyPodNotReady', 'EcrProxyRefreshFailing', 'EcrProxyStsCredentialsExpiringSoon', 'EcrProxyUpstreamErrors',
    ]);
  });

  it('every dashboard query reads only metrics of this project (or of Prometheus itself)', () => {
    const names = dashboardQueries().flatMap((q) => metricNames(withoutGrafanaVariables(q.expr)));
    for (const name of names) expect(name).toMatch(/^(cred_refresher_|registry_)/);
  });
});

describe(metricNames.name, () => {
  it.each([
    ['min by (namespace, pod) (cred_refresher_credentials_expiry_seconds) < 28 * 60', ['cred_refresher_credentials_expiry_seconds']],
    ['abs(a_seconds - timestamp(a_seconds)) > 30', ['a_seconds']],
    ['sum by (pod) (rate(x_total{handler=~"manifest|blob", code=~"5.."}[5m])) / sum(rate(y_total{a="by (z)"}[5m])) > 0.05', ['x_total', 'y_total']],
    ['time() - max by (kind) (last{kind="sts"}) > 45 * 60 or up{job=~".*/x"} == 0', ['last', 'up']],
    ['m1 / on (pod) group_left (node) m2 offset 5m', ['m1', 'm2']],
    ['kube_pod_container_status_ready{container=~"a|b"} == bool 0', ['kube_pod_container_status_ready']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});
