/**
 * A real Prometheus (Debian's 2.42, provisioned beside promtool) scraping the local stack every second, with the
 * monitoring kit's rules loaded and the labels the PodMonitor gives these targets in a cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RuleGroup } from '../monitoring/kit.js';
import { freePort, startChild } from './registry-process.js';
import type { Stack } from './stack.js';
import { toolPaths } from './tools.js';

export const POD_LABELS = { namespace: 'registry-cache', pod: 'registry-cache-docker-registry-0' };

export interface Sample { metric: Record<string, string>; value: [number, string] }
export interface Series { metric: Record<string, string>; values: Array<[number, string]> }

export interface PrometheusProcess {
  url: string;
  query(q: string): Promise<Sample[]>;
  /** Seconds since the epoch; `step` in seconds. */
  queryRange(q: string, start: number, end: number, step: number): Promise<Series[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(stack: Stack, groups: RuleGroup[]): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const hostPort = (url: string) => new URL(url).host;
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
  writeFileSync(join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ['rules.yaml'],
    scrape_configs: [{
      // As the PodMonitor's targets: job <namespace>/<PodMonitor name>, and the pod's labels.
      job_name: 'registry-cache/ecr-pull-through-cache',
      static_configs: [
        { targets: [hostPort(stack.refresher.url)], labels: { ...POD_LABELS, component: 'cred-refresher' } },
        { targets: [hostPort(stack.proxy.debugUrl)], labels: { ...POD_LABELS, component: 'registry' } },
      ],
    }],
  }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startChild(toolPaths.prometheus, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ], {}, `${url}/-/ready`, () => rmSync(dir, { recursive: true, force: true }));
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}/api/v1/${path}`)).json()) as { status: string; error?: string; data: T };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (q) => (await api<{ result: Sample[] }>(`query?query=${encodeURIComponent(q)}`)).result,
    queryRange: async (q, start, end, step) =>
      (await api<{ result: Series[] }>(`query_range?query=${encodeURIComponent(q)}&start=${start}&end=${end}&step=${step}`)).result,
    stop: child.stop,
  };
}
