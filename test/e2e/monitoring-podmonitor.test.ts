/**
 * The PodMonitor's relabelings run by a real Prometheus (2.42) on the targets Kubernetes pod discovery yields for one
 * pod of the chart with `metrics.enabled: false` (the chart's default: no container port 5001 declared, nothing on
 * the Service): one target per declared container port, the native sidecar among them as an init container. The
 * targets are given as static ones carrying the `__meta_kubernetes_pod_*` labels pod discovery sets; the operator's
 * own rule for an endpoint's `port` (keep the container port of that name) is added as the operator generates it.
 * What Prometheus reports as active and dropped targets must be: the refresher at <pod IP>:9101 and the registry's
 * debug server at <pod IP>:5001, each once, with its `component`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadYamlFile } from '../monitoring/kit.js';
import { freePort, startChild } from '../support/registry-process.js';
import { waitFor } from '../support/stack.js';
import { requireTools, toolPaths } from '../support/tools.js';

const POD_IP = '10.1.2.3';
const pod = { __meta_kubernetes_namespace: 'registry-cache', __meta_kubernetes_pod_name: 'registry-cache-docker-registry-7d9f-x', __meta_kubernetes_pod_ip: POD_IP };
/** Pod discovery's targets for the chart's pod with metrics.enabled false: the ports the containers declare. */
const DISCOVERED = [
  { container: 'docker-registry', port: 5000, portName: '', init: 'false' },
  { container: 'cred-refresher', port: 9101, portName: 'refresher', init: 'true' },
  { container: 'sts-init', port: undefined, portName: '', init: 'true' },
].map((c) => ({
  targets: [c.port === undefined ? POD_IP : `${POD_IP}:${c.port}`],
  labels: {
    ...pod,
    __meta_kubernetes_pod_container_name: c.container,
    __meta_kubernetes_pod_container_init: c.init,
    ...(c.port === undefined ? {} : { __meta_kubernetes_pod_container_port_number: String(c.port), __meta_kubernetes_pod_container_port_name: c.portName }),
  },
}));

interface Endpoint { port?: string; path: string; relabelings?: Array<Record<string, unknown>> }
let stop: (() => Promise<void>) | undefined;
let url: string;
let dir: string;

beforeAll(async () => {
  requireTools('prometheus');
  const endpoints = loadYamlFile<{ spec: { podMetricsEndpoints: Endpoint[] } }>('podmonitor.yaml').spec.podMetricsEndpoints;
  const snake = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`), v]));
  dir = mkdtempSync(join(tmpdir(), 'podmonitor-'));
  writeFileSync(join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: '1h' },
    scrape_configs: endpoints.map((e, i) => ({
      job_name: `podMonitor/registry-cache/ecr-pull-through-cache/${i}`,
      metrics_path: e.path,
      static_configs: DISCOVERED,
      relabel_configs: [
        ...(e.port ? [{ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: e.port, action: 'keep' }] : []),
        ...(e.relabelings ?? []).map(snake),
      ],
    })),
  }));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const child = await startChild(toolPaths.prometheus, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ], {}, `${url}/-/ready`, () => rmSync(dir, { recursive: true, force: true }));
  stop = child.stop;
});
afterAll(async () => stop?.());

it('with metrics.enabled false the PodMonitor still finds the refresher on 9101 and the registry on 5001, once each', async () => {
  type Targets = { data: { activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string }>; droppedTargets: unknown[] } };
  // Discovery reaches the scrape manager a moment after start: wait until Prometheus has seen all 3 targets of each job.
  const body = await waitFor('every discovered target kept or dropped', async () => {
    const t = (await (await fetch(`${url}/api/v1/targets`)).json()) as Targets;
    return t.data.activeTargets.length + t.data.droppedTargets.length === DISCOVERED.length * 2 ? t : undefined;
  });
  const active = body.data.activeTargets.map((t) => `${t.labels.component} ${t.scrapeUrl}`).sort();
  expect(active).toEqual([
    `cred-refresher http://${POD_IP}:9101/metrics`,
    `registry http://${POD_IP}:5001/metrics`,
  ]);
});
