/**
 * Every container of the values (the chart copies initContainers verbatim, so a misspelled field would reach the
 * API server, or be dropped by it) validates against the Kubernetes Pod schema of 1.29 (native sidecars) through
 * 1.35, strictly (unknown fields fail), with kubernetes-validate and the schemas it ships: no cluster, no chart.
 * The registry container is assembled from what the values give it (extraEnvVars, extraVolumeMounts, resources),
 * the pod from the extra volumes; the chart's own parts are checked by render.test.ts where the chart is at hand.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OVERLAYS, VALUES_FILE, loadYaml, mergeValues, overlayFile, type Values } from '../chart/chart-values.js';
import { requireTools, toolPaths } from '../support/tools.js';

const VERSIONS = ['1.29.0', '1.30.0', '1.31.0', '1.32.0', '1.33.0', '1.34.0', '1.35.0'];
const dir = mkdtempSync(join(tmpdir(), 'k8s-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Pod holding every container and volume the values define. */
function podOf(name: string, values: Values): Record<string, unknown> {
  const image = values.image as { repository: string; tag: string };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: values.podAnnotations },
    spec: {
      serviceAccountName: (values.serviceAccount as { name: string }).name,
      initContainers: values.initContainers,
      containers: [{
        name: 'docker-registry',
        image: `${image.repository}:${image.tag}`,
        env: values.extraEnvVars,
        volumeMounts: values.extraVolumeMounts,
        resources: values.resources,
      }],
      volumes: values.extraVolumes,
    },
  };
}

function validate(files: string[], version: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(toolPaths.kubernetesValidate, ['--strict', '-k', version, ...files], (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: `${stdout}${stderr}`.trim() });
    });
  });
}

const base = loadYaml(VALUES_FILE);
const cases: [string, Values][] = [['base', base], ...OVERLAYS.map((n): [string, Values] => [n, mergeValues(base, loadYaml(overlayFile(n)))])];

describe('the values\' containers against the Kubernetes Pod schema', () => {
  requireTools('kubernetesValidate');
  const files = cases.map(([name, values]) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(podOf(name, values)));
    return file;
  });

  it.each(VERSIONS)('Kubernetes %s, strict: base and every overlay', async (version) => {
    const result = await validate(files, version);
    expect(result.output.split('\n').filter((l) => !l.startsWith('INFO'))).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('a misspelled container field fails the same check', async () => {
    const values = structuredClone(base);
    const [first] = values.initContainers as Record<string, unknown>[];
    first!.readinesProbe = { httpGet: { path: '/', port: 1 } };
    const file = join(dir, 'misspelled.yaml');
    writeFileSync(file, stringify(podOf('misspelled', values)));
    const result = await validate([file], VERSIONS[0]!);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("'readinesProbe' was unexpected");
  });
});
