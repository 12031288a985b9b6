// `helm lint` and `helm template` of the real chart twuni/docker-registry 3.0.0 with our values and each overlay,
// with helm 3 and with helm 4 (docs/aws-setup.md supports both). The chart is not on any package registry this
// project may use (it is served from https://helm.twun.io and GitHub), so this test runs only when it is given:
// DOCKER_REGISTRY_CHART=<chart directory or .tgz of 3.0.0> (e.g. from `helm pull twuni/docker-registry --version
// 3.0.0` on a machine with internet access), and kubernetes-validate (`py-tools`); each helm runs when it is there:
// helm 3 at HELM or .tools/bin/helm (`node scripts/provision.mjs helm`), helm 4 at HELM4 or .tools/bin/helm4
// (`… helm4`). Otherwise that helm's suite is skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPaths } from '../support/tools.js';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { OVERLAYS, ROOT, VALUES_FILE, envOf, isObject, loadYaml, mergeValues, overlayFile, type Container, type Values } from './chart-values.js';

const chart = process.env.DOCKER_REGISTRY_CHART ?? '';
const HELMS: [major: number, path: string][] = [
  [3, process.env.HELM ?? toolPaths.helm],
  [4, process.env.HELM4 ?? toolPaths.helm4],
];

type Manifest = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: Values; data?: Record<string, string> };
type PodSpec = { initContainers: Container[]; containers: Container[]; volumes: Values[]; serviceAccountName: string };

function renderWith(helm: string, overlay?: string): Manifest[] {
  const files = ['-f', VALUES_FILE, ...(overlay ? ['-f', overlayFile(overlay)] : [])];
  const out = execFileSync(
    helm,
    ['template', 'registry-cache', chart, '--namespace', 'registry-cache', ...files, '--set', 'secrets.haSharedSecret=render-test'],
    { encoding: 'utf8' },
  );
  return parseAllDocuments(out).map((d) => d.toJS() as Manifest).filter(Boolean);
}
const byKind = (manifests: Manifest[], kind: string): Manifest => {
  const m = manifests.find((x) => x.kind === kind);
  if (!m) throw new Error(`no ${kind} rendered`);
  return m;
};
const podOf = (manifests: Manifest[]): { spec: PodSpec; annotations: Record<string, string> } => {
  const template = byKind(manifests, 'Deployment').spec.template as { spec: PodSpec; metadata: { annotations: Record<string, string> } };
  return { spec: template.spec, annotations: template.metadata.annotations };
};

describe.each(HELMS)('helm %i: helm template of twuni/docker-registry 3.0.0', (major, helm) => {
  const available = chart !== '' && existsSync(chart) && existsSync(helm) && existsSync(toolPaths.kubernetesValidate);
  if (!available) {
    it.skip(`needs DOCKER_REGISTRY_CHART, helm ${major} at ${helm} and kubernetes-validate`, () => {});
    return;
  }
  const render = (overlay?: string) => renderWith(helm, overlay);

  it(`is helm ${major} and the 3.0.0 chart, and helm lint passes`, () => {
    expect(execFileSync(helm, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${major}\\.`));
    const meta = execFileSync(helm, ['show', 'chart', chart], { encoding: 'utf8' });
    expect(meta).toMatch(/^version: 3\.0\.0$/m);
    execFileSync(helm, ['lint', chart, '-f', VALUES_FILE], { encoding: 'utf8' });
  });

  it.each([undefined, ...OVERLAYS])('overlay %s: the pod has our containers, mounts, env and probes', (overlay) => {
    const manifests = render(overlay);
    const { spec, annotations } = podOf(manifests);
    expect(spec.serviceAccountName).toBe('ecr-pull-through-cache');
    expect(annotations['eks.amazonaws.com/skip-containers']).toBe('docker-registry,storage-health');
    expect(spec.initContainers.map((c) => [c.name, c.restartPolicy])).toEqual([
      ['sts-init', undefined],
      ['cred-refresher', 'Always'],
      ['storage-health', 'Always'],
    ]);
    // the storage-health config file arrives through the downwardAPI volume, from the pod annotation
    expect(annotations['ecr-pull-through-cache/storage-health.yml']).toMatch(/^version: 0\.1$/m);
    expect(spec.initContainers[1]?.startupProbe?.httpGet).toEqual({ path: '/readyz', port: 9101 });
    const [registry, ...others] = spec.containers;
    expect(others).toEqual([]);
    expect(registry?.name).toBe('docker-registry'); // the name the skip-containers annotation gives
    expect(registry?.command).toEqual(['/bin/registry', 'serve', '/etc/distribution/config.yml']);
    expect((registry as { ports?: unknown[] }).ports).toEqual([{ containerPort: 5000 }]); // no 5001 next to it
    expect(registry?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000 });
    for (const c of [...spec.initContainers, registry as Container]) {
      expect(c.volumeMounts, c.name).toContainEqual(c.name === 'storage-health'
        ? { name: 'creds', mountPath: '/creds', readOnly: true } : { name: 'creds', mountPath: '/creds' });
    }
    expect(spec.volumes).toContainEqual({ name: 'creds', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } });

    const env = envOf(registry?.env);
    expect(env).toMatchObject({
      REGISTRY_STORAGE_S3_REGION: 'us-east-1',
      REGISTRY_STORAGE_S3_BUCKET: 'my-registry-cache-bucket',
      AWS_SHARED_CREDENTIALS_FILE: '/creds/aws/aws-credentials',
      AWS_CONFIG_FILE: '/creds/aws/aws-config',
      AWS_SDK_LOAD_CONFIG: '1',
      AWS_ROLE_ARN: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      AWS_ECR_CACHE_DIR: '/creds/aws/ecr',
      OTEL_TRACES_EXPORTER: 'none',
    });
    const names = (registry?.env ?? []).map((e) => e.name);
    expect(names).not.toContain('REGISTRY_STORAGE_S3_ROOTDIRECTORY'); // the layout of the replaced setup
    expect(names).toContain('REGISTRY_HTTP_SECRET');
    expect(names.filter((n) => /ACCESSKEY|SECRETKEY|^REGISTRY_PROXY_/.test(n))).toEqual([]);

    // the ConfigMap's config.yml is configData, as written in the values files
    const config = byKind(manifests, 'ConfigMap').data?.['config.yml'] ?? '';
    const values = overlay ? mergeValues(loadYaml(VALUES_FILE), loadYaml(overlayFile(overlay))) : loadYaml(VALUES_FILE);
    const proxy = (parseAllDocuments(config)[0]?.toJS() as { proxy: Values }).proxy;
    expect(isObject(proxy.exec) && proxy.exec.command).toBe('/usr/local/bin/docker-credential-ecr-login');
    expect(proxy.remoteurl).toBe((values.configData as { proxy: Values }).proxy.remoteurl);
  });

  it('base: NodePort 30008 and the IRSA role on the service account', () => {
    const manifests = render();
    const service = byKind(manifests, 'Service').spec as { type: string; ports: { nodePort?: number; targetPort: number }[] };
    expect(service.type).toBe('NodePort');
    expect(service.ports).toHaveLength(1); // 5000 only: the debug port 5001 is never on the Service
    expect(service.ports[0]).toMatchObject({ nodePort: 30008, targetPort: 5000 });
    expect(byKind(manifests, 'ServiceAccount').metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::/);
  });

  it('internal-nlb: a LoadBalancer service without a node port', () => {
    const service = byKind(render('internal-nlb'), 'Service').spec as { type: string; ports: { nodePort?: number; targetPort: number }[] };
    expect(service.type).toBe('LoadBalancer');
    expect(service.ports.map((p) => p.targetPort)).toEqual([5000]); // nothing but the cache port on the NLB
    expect(service.ports.every((p) => p.nodePort === undefined)).toBe(true);
  });

  it.each([undefined, ...OVERLAYS])('overlay %s: the whole render validates against the Kubernetes 1.29 and 1.35 schemas', (overlay) => {
    const files = ['-f', VALUES_FILE, ...(overlay ? ['-f', overlayFile(overlay)] : [])];
    const out = execFileSync(helm, ['template', 'registry-cache', chart, '--namespace', 'registry-cache', ...files, '--set', 'secrets.haSharedSecret=render-test'], { encoding: 'utf8' });
    const file = join(mkdtempSync(join(tmpdir(), 'render-')), 'render.yaml');
    writeFileSync(file, out);
    for (const version of ['1.29.0', '1.35.0']) {
      execFileSync(toolPaths.kubernetesValidate, ['--strict', '--quiet', '-k', version, file], { encoding: 'utf8' });
    }
  });

  it('two-replicas: two replicas and a PodDisruptionBudget', () => {
    const manifests = render('two-replicas');
    expect(byKind(manifests, 'Deployment').spec.replicas).toBe(2);
    expect(byKind(manifests, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
  });
});

describe('helm 3 and helm 4 render the same objects', () => {
  const [helm3, helm4] = HELMS.map(([, path]) => path);
  const both = chart !== '' && existsSync(chart) && existsSync(helm3!) && existsSync(helm4!);
  it.skipIf(!both).each([undefined, ...OVERLAYS])('overlay %s', (overlay) => {
    const three = renderWith(helm3!, overlay);
    expect(three.map((m) => m.kind)).toContain('Deployment');
    expect(renderWith(helm4!, overlay)).toStrictEqual(three);
  });
});
