// The Helm values for the unmodified chart twuni/docker-registry 3.0.0 (chart-values/): they parse, every key they set
// is one the chart reads (the chart has no schema, so a typo would be silently ignored), configData is a registry
// config, and the pod they describe has the containers, mounts, env and probes of docs/design.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectedRoleArn } from '../../packages/core/src/principal.js';
import {
  CHART_DEFAULTS_FILE, OVERLAYS, ROOT, VALUES_FILE, envOf, isObject, loadYaml, mergeValues, overlayFile,
  nullPaths, parseGoDuration, parseYaml, registryConfigUnknownKeys, secretLookingValues, uncommentedChanges, unknownChartKeys,
  type Container, type Values,
} from './chart-values.js';

const defaults = loadYaml(CHART_DEFAULTS_FILE);
const baseText = readFileSync(VALUES_FILE, 'utf8');
const base = parseYaml(baseText);
const overlays = Object.fromEntries(OVERLAYS.map((name) => [name, loadYaml(overlayFile(name))])) as Record<
  (typeof OVERLAYS)[number], Values
>;
const merged = (name: (typeof OVERLAYS)[number]): Values => mergeValues(base, overlays[name]);
const all: [string, Values][] = [['base', base], ...OVERLAYS.map((n): [string, Values] => [`base + ${n}`, merged(n)])];

const obj = (v: unknown): Values => (isObject(v) ? v : {});
const inits = (v: Values): Container[] => (v.initContainers ?? []) as Container[];
const registryEnv = (v: Values) => envOf(v.extraEnvVars as Container['env']);
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/;
// The chart names the registry container after the chart (templates/deployment.yaml: `name: {{ .Chart.Name }}`).
const CHART_CONTAINER_NAME = 'docker-registry';
// The pod annotation holding the storage-health sidecar's config.yml (mounted through a downwardAPI volume).
const HEALTH_CONFIG_ANNOTATION = 'ecr-pull-through-cache/storage-health.yml';

describe('values files parse', () => {
  it.each([VALUES_FILE, CHART_DEFAULTS_FILE, ...OVERLAYS.map(overlayFile)])('%s', (file) => {
    expect(() => loadYaml(file)).not.toThrow();
  });
});

describe('every key is one the chart reads', () => {
  it('the chart defaults fixture is the chart 3.0.0 values.yaml', () => {
    expect(obj(defaults.image).tag).toBe('3.0.0');
    expect(obj(defaults.configData).version).toBe(0.1);
  });

  it.each(all)('%s', (_name, values) => {
    expect(unknownChartKeys(values, defaults)).toEqual([]);
    expect(registryConfigUnknownKeys(obj(values.configData))).toEqual([]);
  });

  it.each(OVERLAYS)('overlay %s on its own', (name) => {
    expect(unknownChartKeys(overlays[name], defaults)).toEqual([]);
  });

  it('a misspelled key fails the check', () => {
    const cases: [string, (v: Values) => void][] = [
      ['serviceAcount', (v) => { v.serviceAcount = v.serviceAccount; delete v.serviceAccount; }],
      ['extraEnvVar', (v) => { v.extraEnvVar = v.extraEnvVars; delete v.extraEnvVars; }],
      ['initContainer', (v) => { v.initContainer = v.initContainers; delete v.initContainers; }],
      ['s3.rootDirectory', (v) => { obj(v.s3).rootDirectory = '/docker'; }],
      ['service.nodeport', (v) => { obj(v.service).nodeport = 30008; }],
      ['metrics.enable', (v) => { obj(v.metrics).enable = true; }],
    ];
    for (const [path, misspell] of cases) {
      const copy = structuredClone(base);
      misspell(copy);
      expect(unknownChartKeys(copy, defaults), path).toContain(path);
    }
  });

  it('a misspelled key in the file text fails the check', () => {
    const text = baseText.replace('  nodePort: 30008', '  nodeport: 30008').replace('podAnnotations:', 'podAnnotation:');
    expect(unknownChartKeys(parseYaml(text), defaults)).toEqual(['podAnnotation', 'service.nodeport']);
  });

  it('a misspelled registry config key fails the check', () => {
    const config = structuredClone(obj(base.configData));
    obj(obj(config.proxy).exec).lifetme = '1h';
    obj(config.http).debg = {};
    expect(registryConfigUnknownKeys(config)).toEqual(['http.debg', 'proxy.exec.lifetme']);
  });
});

describe('every changed line carries a comment', () => {
  it.each([['values-s3-ecr-proxy.yaml', VALUES_FILE], ...OVERLAYS.map((n) => [`${n}.yaml`, overlayFile(n)])])(
    '%s', (_name, file) => {
      expect(uncommentedChanges(readFileSync(file, 'utf8'), defaults)).toEqual([]);
    },
  );

  it('the check finds a changed line without a comment', () => {
    const text = baseText.replace(/type: NodePort\s+#.*$/m, 'type: NodePort');
    expect(uncommentedChanges(text, defaults)).toEqual(['service.type']);
  });
});

describe('configData is a registry 3.0.0 config', () => {
  it.each(all)('%s', (_name, values) => {
    const config = obj(values.configData);
    expect(String(config.version)).toBe('0.1');
    expect(obj(config.log).formatter).toBe('json');
    // storage: the chart renders the driver (s3) as env vars; the file keeps only the driver-independent keys
    const storage = obj(config.storage);
    expect(Object.keys(storage).sort()).toEqual(['cache', 'delete', 'redirect']);
    expect(obj(storage.redirect).disable).toBe(false); // a YAML bool, presigned redirects on
    expect(obj(storage.delete).enabled).toBe(true); // the proxy's TTL expiry deletes through the blob store
    // http: the chart's metrics port is the part of debug.addr after ':'
    const http = obj(config.http);
    expect(http.addr).toBe(':5000');
    expect(obj(http.debug).addr).toBe(':5001');
    expect(obj(obj(http.debug).prometheus)).toEqual({ enabled: true, path: '/metrics' });
    // proxy
    const proxy = obj(config.proxy);
    const remote = new URL(String(proxy.remoteurl));
    expect(remote.protocol).toBe('https:');
    expect(remote.host).toMatch(ECR_HOST);
    expect(remote.pathname).toBe('/');
    const exec = obj(proxy.exec);
    expect(exec.command).toBe('/usr/local/bin/docker-credential-ecr-login');
    expect(String(exec.command)).toMatch(/^\/[^\s]+$/); // one absolute path, no arguments
    const lifetime = parseGoDuration(String(exec.lifetime));
    expect(lifetime).toBeGreaterThan(0); // 0 would run the helper on every upstream request
    expect(lifetime).toBeLessThan(12 * 3600e3); // ECR tokens live 12 h
    expect(parseGoDuration(String(proxy.ttl))).toBeGreaterThan(0);
    expect(proxy).not.toHaveProperty('username');
    expect(proxy).not.toHaveProperty('password');
  });

  it('parseGoDuration reads Go durations and rejects the rest', () => {
    expect(parseGoDuration('1h')).toBe(3600e3);
    expect(parseGoDuration('1h30m')).toBe(5400e3);
    expect(parseGoDuration('500ms')).toBe(500);
    for (const bad of ['', '1', '1d', 'h', '1h ', '-1h']) expect(() => parseGoDuration(bad), bad).toThrow();
  });
});

describe('the pod', () => {
  it.each(all)('%s: chart-level settings', (_name, values) => {
    expect(values.storage).toBe('s3');
    expect(obj(values.s3).region).toMatch(/^[a-z]{2}(-[a-z]+)+-\d$/);
    expect(obj(values.s3).bucket).toBeTruthy();
    expect(obj(values.secrets).s3).toEqual({}); // present (chart issue #71), and keyless
    expect(obj(values.proxy).enabled).toBe(false); // the proxy is configured in configData.proxy
    expect(obj(values.metrics).enabled).toBe(false); // the chart would put the debug port 5001 on the Service
    expect(obj(values.s3)).not.toHaveProperty('rootdirectory'); // the replaced setup's layout: docker/registry/v2/…
    expect(obj(values.serviceAccount).create).toBe(true);
    expect(obj(values.podAnnotations)['eks.amazonaws.com/skip-containers']).toBe(`${CHART_CONTAINER_NAME},storage-health`);
    // the chart's restricted registry container is kept
    expect(values).not.toHaveProperty('containerSecurityContext');
    expect(values).not.toHaveProperty('securityContext');
    expect(obj(obj(values.resources).limits).memory).toBeTruthy();
  });

  it('base: IRSA role on the service account, node port 30008', () => {
    expect(obj(obj(base.serviceAccount).annotations)['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/.+/);
    expect(base.service).toEqual({ type: 'NodePort', nodePort: 30008 });
  });

  it.each(all)('%s: sts-init first, then cred-refresher and storage-health as native sidecars', (_name, values) => {
    const [stsInit, refresher, health, ...rest] = inits(values);
    expect(rest).toEqual([]);
    expect(stsInit?.name).toBe('sts-init');
    expect(stsInit?.restartPolicy).toBeUndefined(); // runs once, to completion
    expect(stsInit?.command).toEqual(['/usr/local/bin/sts-init']);
    expect(refresher?.name).toBe('cred-refresher');
    expect(refresher?.restartPolicy).toBe('Always');
    expect(refresher?.command).toEqual(['/usr/local/bin/cred-refresher']);
    expect(refresher?.startupProbe?.httpGet).toEqual({ path: '/readyz', port: 9101 });
    expect(refresher?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 9101 });
    expect(refresher?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 9101 });
    expect(refresher?.ports).toEqual([{ name: 'refresher', containerPort: 9101, protocol: 'TCP' }]);
    expect(health?.name).toBe('storage-health');
    expect(health?.restartPolicy).toBe('Always');
    expect(health?.command).toEqual(['/bin/registry', 'serve', '/etc/storage-health/config.yml']);
  });

  it.each(all)('%s: S3 trouble makes the pod NotReady through storage-health, never restarts the registry', (_name, values) => {
    // the serving registry: no storage check, so "/" (the chart's fixed liveness AND readiness probe) stays 200
    expect(obj(obj(obj(values.configData).health).storagedriver).enabled).toBe(false);
    const health = inits(values).find((c) => c.name === 'storage-health')!;
    const config = parseYaml(String(obj(values.podAnnotations)[HEALTH_CONFIG_ANNOTATION]));
    expect(registryConfigUnknownKeys(config)).toEqual([]);
    const check = obj(obj(config.health).storagedriver);
    expect(check.enabled).toBe(true);
    expect(parseGoDuration(String(check.interval))).toBeGreaterThan(0);
    expect(Number(check.threshold)).toBeGreaterThan(1); // one slow answer is no outage
    expect(obj(obj(config.storage).maintenance)).toEqual({ uploadpurging: { enabled: false }, readonly: { enabled: true } });
    expect(config.proxy).toBeUndefined(); // a plain read-only registry: no scheduler, nothing read at start-up
    const port = Number(String(obj(config.http).addr).split(':').pop());
    expect(health.readinessProbe?.httpGet).toEqual({ path: '/', port });
    expect(health.ports).toContainEqual({ name: 'storage-health', containerPort: port, protocol: 'TCP' });
    expect(health).not.toHaveProperty('livenessProbe'); // nothing restarts while S3 fails
    expect(health).not.toHaveProperty('startupProbe'); // the check reports healthy until its first failures
    // the same bucket and region as the registry, the same credentials (the /creds/aws profile, no web identity)
    const env = envOf(health.env);
    expect(env.REGISTRY_STORAGE_S3_REGION).toBe(obj(values.s3).region);
    expect(env.REGISTRY_STORAGE_S3_BUCKET).toBe(obj(values.s3).bucket);
    for (const name of ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_SDK_LOAD_CONFIG', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
      expect(env[name], name).toBe(registryEnv(values)[name]);
    }
    // the file arrives through the downwardAPI volume
    const volume = (values.extraVolumes as Values[]).find((v) => v.name === 'storage-health-config');
    expect(volume).toEqual({ name: 'storage-health-config', downwardAPI: { items: [{ path: 'config.yml', fieldRef: { fieldPath: `metadata.annotations['${HEALTH_CONFIG_ANNOTATION}']` } }] } });
    expect(health.volumeMounts).toContainEqual({ name: 'storage-health-config', mountPath: '/etc/storage-health', readOnly: true });
  });

  it.each(all)('%s: the registry debug port is declared for pod-level scraping only', (_name, values) => {
    const debugPort = Number(String(obj(obj(obj(values.configData).http).debug).addr).split(':').pop());
    const declared = inits(values).flatMap((c) => c.ports ?? []);
    expect(declared).toContainEqual({ name: 'registry-metrics', containerPort: debugPort, protocol: 'TCP' });
    expect(obj(values.metrics).enabled).toBe(false);
  });

  it.each(all)('%s: instance metadata is off in every container unless the instance-role overlay opts in', (name, values) => {
    const expected = name.endsWith('instance-role') ? 'false' : 'true';
    expect(registryEnv(values).AWS_EC2_METADATA_DISABLED).toBe(expected);
    for (const c of inits(values)) expect(envOf(c.env).AWS_EC2_METADATA_DISABLED, c.name).toBe(expected);
  });

  it.each(all)('%s: init containers run our image, restricted, with resources', (_name, values) => {
    const image = obj(values.image);
    for (const c of inits(values)) {
      expect(c.image, c.name).toBe(`${String(image.repository)}:${String(image.tag)}`);
      expect(c.securityContext, c.name).toEqual({
        runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.resources?.requests?.cpu, c.name).toBeTruthy();
      expect(c.resources?.requests?.memory, c.name).toBeTruthy();
      expect(c.resources?.limits?.memory, c.name).toBeTruthy();
    }
    expect(String(image.tag)).not.toMatch(/latest/);
  });

  it.each(all)('%s: every container mounts the in-memory /creds volume (storage-health read-only)', (_name, values) => {
    const volumes = values.extraVolumes as { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[];
    expect(volumes.map((v) => v.name)).toEqual(['creds', 'storage-health-config']);
    expect(volumes[0]).toEqual({ name: 'creds', emptyDir: { medium: 'Memory', sizeLimit: expect.stringMatching(/^\d+Mi$/) } });
    const creds = { name: 'creds', mountPath: '/creds' };
    expect(values.extraVolumeMounts).toEqual([creds]); // the registry container
    for (const c of inits(values).filter((c) => c.name !== 'storage-health')) expect(c.volumeMounts, c.name).toEqual([creds]);
    expect(inits(values).find((c) => c.name === 'storage-health')?.volumeMounts).toContainEqual({ ...creds, readOnly: true });
  });

  it.each(all)('%s: one ECR registry, named consistently everywhere', (_name, values) => {
    const host = new URL(String(obj(obj(values.configData).proxy).remoteurl)).host;
    const [, account, region] = ECR_HOST.exec(host) ?? [];
    expect(registryEnv(values).ECR_LOGIN_ALLOWED_REGISTRIES).toBe(account);
    for (const c of inits(values).filter((c) => c.name !== 'storage-health')) {
      const env = envOf(c.env);
      // A subdirectory of the volume: its root is root-owned 1777 (a tmpfs), which the roles refuse to write into.
      expect(env.CREDENTIALS_DIR, c.name).toBe('/creds/aws');
      // Every consumer path follows the credentials directory.
      expect(registryEnv(values), c.name).toMatchObject({
        AWS_CONFIG_FILE: `${env.CREDENTIALS_DIR}/aws-config`,
        AWS_SHARED_CREDENTIALS_FILE: `${env.CREDENTIALS_DIR}/aws-credentials`,
        AWS_ECR_CACHE_DIR: `${env.CREDENTIALS_DIR}/ecr`,
      });
      expect(env.ECR_REGISTRIES, c.name).toBe(host);
      expect(env.AWS_REGION, c.name).toBe(region);
      expect(env.ECR_LOGIN_CACHE_IDENTITY, c.name).toBe(registryEnv(values).ECR_LOGIN_CACHE_IDENTITY);
    }
  });

  it.each(all)('%s: the registry container env is the contract of docs/configuration.md', (_name, values) => {
    const env = registryEnv(values);
    for (const [name, value] of Object.entries(registryContainerContract())) expect(env[name], name).toBe(value);
    expect(env.ECR_LOGIN_CACHE_IDENTITY).toBeTruthy();
    // explicitly empty, not absent: the EKS webhook injects only variables a container does not define
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']));
    const names = (values.extraEnvVars as { name: string }[]).map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each([['values-s3-ecr-proxy.yaml', base], ...OVERLAYS.map((n): [string, Values] => [n, overlays[n]])])(
    '%s: no secret-looking values', (_name, values) => {
      expect(secretLookingValues(values)).toEqual([]);
    },
  );

  it('the secret scan finds planted credentials', () => {
    const planted = structuredClone(base);
    obj(planted.secrets).s3 = { accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
    (planted.extraEnvVars as unknown[]).push({ name: 'AWS_SESSION_TOKEN', value: 'x' });
    const found = secretLookingValues(planted);
    expect(found).toHaveLength(5);
    expect(found).toEqual(expect.arrayContaining([
      'secrets.s3.accessKey: looks like a credential',
      'secrets.s3.accessKey: non-empty value',
      'secrets.s3.secretKey: looks like a credential',
      'secrets.s3.secretKey: non-empty value',
      expect.stringMatching(/^extraEnvVars\[\d+\] \(AWS_SESSION_TOKEN\): non-empty value$/),
    ]));
  });
});

/** The containers that compare the principal: sts-init, cred-refresher, and the registry container's `preflight`. */
const ROLE_CONTAINERS = ['sts-init', 'cred-refresher', CHART_CONTAINER_NAME] as const;

/**
 * The expected role each of ROLE_CONTAINERS would use, by the executable's own rule (core's expectedRoleArn), with
 * the env the EKS webhook adds: AWS_ROLE_ARN from the service account's IRSA annotation where the container does not
 * define it (the registry container defines it empty); Pod Identity and the instance role add no role.
 */
function expectedRoles(values: Values): Record<string, string | undefined> {
  const irsa = String(obj(obj(values.serviceAccount).annotations)['eks.amazonaws.com/role-arn'] ?? '');
  const roleOf = (env: Record<string, string | undefined>) =>
    expectedRoleArn((_flag, name) => (name in env ? env[name] : name === 'AWS_ROLE_ARN' ? irsa : undefined) || undefined);
  const out: Record<string, string | undefined> = {};
  for (const c of inits(values).filter((c) => (ROLE_CONTAINERS as readonly string[]).includes(c.name))) out[c.name] = roleOf(envOf(c.env));
  out[CHART_CONTAINER_NAME] = roleOf(registryEnv(values));
  return out;
}

describe('the expected role (one rule: EXPECTED_ROLE_ARN, else the target role, else AWS_ROLE_ARN)', () => {
  it.each(all)('%s: every container that compares the principal expects one role, the same in all three', (_name, values) => {
    const roles = expectedRoles(values);
    expect(Object.keys(roles).sort()).toEqual([...ROLE_CONTAINERS].sort());
    // Where the source names no role (the registry's profile, Pod Identity, the instance role) the values must:
    // otherwise the principal goes unchecked, or the runbook's `kubectl exec … preflight` compares another role.
    for (const [container, role] of Object.entries(roles)) expect(role, container).toMatch(/^arn:aws:iam::\d{12}:role\/.+/);
    expect(new Set(Object.values(roles)).size).toBe(1);
  });

  it('base and pod-identity: the role the IRSA annotation and the Pod Identity association name', () => {
    const annotation = String(obj(obj(base.serviceAccount).annotations)['eks.amazonaws.com/role-arn']);
    for (const v of [base, merged('pod-identity')]) expect(new Set(Object.values(expectedRoles(v)))).toEqual(new Set([annotation]));
  });

  it('the cache key is never the rule: ECR_LOGIN_CACHE_IDENTITY alone gives no expected role', () => {
    expect(expectedRoleArn((_flag, name) => ({ ECR_LOGIN_CACHE_IDENTITY: 'arn:aws:iam::123456789012:role/x' } as Record<string, string>)[name])).toBeUndefined();
  });
});

describe('overlays', () => {
  // Lists are replaced whole by Helm, so overlays repeat them; apart from the env named here they must equal the base.
  const withoutEnv = (containers: unknown, names: string[]): unknown =>
    (containers as Container[]).map((c) => ({ ...c, env: (c.env ?? []).filter((e) => !names.includes(e.name)) }));
  const withoutEntries = (env: unknown, names: string[]): unknown =>
    (env as { name: string }[]).filter((e) => !names.includes(e.name));

  it.each(OVERLAYS)('%s: no null (Helm renders a null it cannot delete as the string null)', (name) => {
    expect(nullPaths(overlays[name])).toEqual([]);
  });

  it('pod-identity: an empty IRSA annotation (the webhook ignores it), nothing else changed', () => {
    const v = merged('pod-identity');
    expect(obj(obj(v.serviceAccount).annotations)['eks.amazonaws.com/role-arn']).toBe('');
    expect({ ...v, serviceAccount: base.serviceAccount }).toEqual(base);
  });

  it.each(['cross-account', 'ecr-other-account'] as const)('%s: the other account, no other drift', (name) => {
    const v = merged(name);
    const host = new URL(String(obj(obj(v.configData).proxy).remoteurl)).host;
    const account = ECR_HOST.exec(host)?.[1];
    const baseAccount = ECR_HOST.exec(new URL(String(obj(obj(base.configData).proxy).remoteurl)).host)?.[1];
    expect(account).not.toBe(baseAccount);
    for (const c of inits(v).filter((c) => c.name !== 'storage-health')) {
      const target = envOf(c.env).TARGET_ROLE_ARN;
      // chained by sts-init (IRSA) in cross-account; by EKS (Pod Identity targetRoleArn) or not at all otherwise
      if (name === 'cross-account') expect(target, c.name).toMatch(new RegExp(`^arn:aws:iam::${account}:role/.+`));
      else expect(target, c.name).toBeUndefined();
    }
    expect(withoutEnv(v.initContainers, ['TARGET_ROLE_ARN', 'ECR_REGISTRIES', 'EXPECTED_ROLE_ARN'])).toEqual(
      withoutEnv(base.initContainers, ['ECR_REGISTRIES', 'EXPECTED_ROLE_ARN']),
    );
    expect(withoutEntries(v.extraEnvVars, ['ECR_LOGIN_ALLOWED_REGISTRIES', 'EXPECTED_ROLE_ARN'])).toEqual(
      withoutEntries(base.extraEnvVars, ['ECR_LOGIN_ALLOWED_REGISTRIES', 'EXPECTED_ROLE_ARN']),
    );
    // The credentials are the target role's in both (chained by sts-init, or handed out by EKS): every container
    // expects it (docs/aws-setup.md's repository-policy variant writes the cluster account's role instead).
    expect(expectedRoles(v)).toEqual(Object.fromEntries(ROLE_CONTAINERS.map((n) => [n, `arn:aws:iam::${account}:role/ecr-pull-through-cache-reader`])));
    expect({ ...v, initContainers: 0, extraEnvVars: 0, configData: 0 }).toEqual({
      ...base, initContainers: 0, extraEnvVars: 0, configData: 0,
    });
  });

  it('instance-role: only AWS_EC2_METADATA_DISABLED and the expected role (the node\'s) change, in every container', () => {
    const v = merged('instance-role');
    expect(withoutEnv(v.initContainers, ['AWS_EC2_METADATA_DISABLED', 'ALLOW_INSTANCE_ROLE', 'EXPECTED_ROLE_ARN'])).toEqual(withoutEnv(base.initContainers, ['AWS_EC2_METADATA_DISABLED', 'EXPECTED_ROLE_ARN']));
    expect(new Set(Object.values(expectedRoles(v)))).toEqual(new Set(['arn:aws:iam::123456789012:role/REPLACE-node-role']));
    // the executable's own opt-in (issue 9), in the two containers that look for credentials
    expect(inits(v).map((c) => [c.name, envOf(c.env).ALLOW_INSTANCE_ROLE])).toEqual([['sts-init', 'true'], ['cred-refresher', 'true'], ['storage-health', undefined]]);
    for (const c of inits(base)) expect(envOf(c.env).ALLOW_INSTANCE_ROLE, c.name).toBeUndefined();
    expect(withoutEntries(v.extraEnvVars, ['AWS_EC2_METADATA_DISABLED', 'EXPECTED_ROLE_ARN'])).toEqual(withoutEntries(base.extraEnvVars, ['AWS_EC2_METADATA_DISABLED', 'EXPECTED_ROLE_ARN']));
    expect({ ...v, initContainers: 0, extraEnvVars: 0 }).toEqual({ ...base, initContainers: 0, extraEnvVars: 0 });
  });

  it('internal-nlb: an internal NLB of the AWS Load Balancer Controller', () => {
    const service = obj(merged('internal-nlb').service);
    expect(service.type).toBe('LoadBalancer'); // the chart renders service.nodePort only for type NodePort
    expect(obj(service.annotations)).toMatchObject({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal',
      'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
    });
  });

  it('base: no in-memory blob descriptor cache (a shared layer one repository expired would be redirected to a deleted object)', () => {
    expect(obj(obj(obj(base.configData).storage).cache)).toEqual({ blobdescriptor: '' });
    expect(baseText).toContain('test/e2e/shared-layer-expiry.test.ts');
  });

  it('two-replicas: two pods, a disruption budget, and the caveats written down', () => {
    const v = merged('two-replicas');
    expect(v.replicaCount).toBe(2);
    expect(v.podDisruptionBudget).toEqual({ maxUnavailable: 1 });
    const text = readFileSync(overlayFile('two-replicas'), 'utf8');
    expect(text).toContain('#4594');
    expect(text).toContain('haSharedSecret');
    // the blob descriptor cache off (test/e2e/two-replicas.test.ts measured why), and no lifecycle backstop
    expect(obj(obj(obj(v.configData).storage).cache).blobdescriptor).toBe('');
    expect(text).toContain('test/e2e/two-replicas.test.ts');
    expect({ ...v, configData: 0, replicaCount: 0, updateStrategy: 0, podDisruptionBudget: 0, affinity: 0 })
      .toEqual({ ...base, configData: 0, replicaCount: 0, updateStrategy: 0, podDisruptionBudget: 0, affinity: 0 });
  });
});

/** The table "The registry container" of docs/configuration.md, as variable → value (rows with literal values). */
function registryContainerContract(): Record<string, string> {
  const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('The registry container')) ?? '';
  const contract: Record<string, string> = {};
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [names = '', values = ''] = row.split('|').slice(1, 3);
    const ticks = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => (m[1] === '""' ? '' : m[1] ?? ''));
    const n = ticks(names);
    const v = ticks(values);
    n.forEach((name, i) => {
      const value = v.length === n.length ? v[i] : v.length === 1 ? v[0] : undefined;
      if (value !== undefined) contract[name] = value;
    });
  }
  if (Object.keys(contract).length < 5) throw new Error('docs/configuration.md: table "The registry container" not found');
  return contract;
}

/**
 * The ECR repositories docs/aws-setup.md creates, by literal name: `create-repository --repository-name NAME`, with
 * `"$repo"` resolved from the enclosing `for repo in …; do` list. Variables (e.g. "$IMAGE_REPO", the image's own
 * repository in the cluster account) are left out: they are not repositories of the upstream registry.
 */
function repositoriesTheDocCreates(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs', 'aws-setup.md'), 'utf8');
  const created = new Set<string>();
  let loop: string[] = [];
  for (const line of doc.split('\n')) {
    const forRepo = /^\s*for repo in (.*?); do/.exec(line);
    if (forRepo) loop = (forRepo[1] ?? '').split(/\s+/);
    const m = /create-repository --repository-name (\S+)/.exec(line);
    if (!m) continue;
    const names = m[1] === '"$repo"' ? loop : [m[1] ?? ''];
    for (const n of names) if (/^[a-z0-9][a-z0-9._/-]*$/.test(n)) created.add(n);
  }
  return created;
}

describe('PREFLIGHT_ECR_REPOSITORY (the preflight probes pull rights on it; a missing repository stops the pod)', () => {
  const created = repositoriesTheDocCreates();
  const preflightRepo = (v: Values): string | undefined =>
    envOf((inits(v).find((c) => c.name === 'sts-init')?.env ?? []) as Container['env']).PREFLIGHT_ECR_REPOSITORY;

  it('docs/aws-setup.md creates cache-test/busybox', () => {
    expect([...created]).toContain('cache-test/busybox');
  });

  it.each(all)('%s: unset, or a repository a step of docs/aws-setup.md creates', (_name, values) => {
    const repo = preflightRepo(values);
    if (repo !== undefined) expect([...created]).toContain(repo);
    expect(repo).toBeUndefined(); // optional: unset by default, the user opts in once the repository exists
  });

  it.each([VALUES_FILE, ...OVERLAYS.map(overlayFile)])('%s: the commented example names a created repository', (file) => {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('name: sts-init')) return;
    const example = /#\s*- name: PREFLIGHT_ECR_REPOSITORY\n\s*#\s*value: (\S+)/.exec(text);
    expect(example, `${file}: commented PREFLIGHT_ECR_REPOSITORY example`).not.toBeNull();
    expect([...created]).toContain(example?.[1]);
  });

  it('the check catches an overlay naming a repository no step creates', () => {
    const v = structuredClone(base);
    const sts = inits(v).find((c) => c.name === 'sts-init') as Container;
    sts.env = [...(sts.env ?? []), { name: 'PREFLIGHT_ECR_REPOSITORY', value: 'ecr-pull-through-cache' }];
    expect(preflightRepo(v)).toBe('ecr-pull-through-cache');
    expect([...created]).not.toContain('ecr-pull-through-cache');
  });
});

describe('docs/aws-setup.md: step 7 pushes to the registry the cache serves', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'aws-setup.md'), 'utf8');
  const blocks = [...doc.matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```/gm)].map((m) => ({ tags: (m[1] ?? '').trim().split(/\s+/).filter(Boolean), text: m[2] ?? '' }));
  const step7 = doc.split(/^## /m).find((s) => s.startsWith('7. Validate')) ?? '';

  it('every cross-account variant points step 7 at the ECR account, with its profile', () => {
    for (const variant of ['cross-account', 'pod-identity-target', 'repository-policy']) {
      const text = blocks.filter((b) => b.tags.includes(variant)).map((b) => b.text).join('\n');
      expect(text, variant).toContain('UPSTREAM_ACCOUNT_ID=$ECR_ACCOUNT_ID UPSTREAM_AWS=(aws --profile "$ECR_PROFILE")');
    }
    expect(blocks[0]?.text).toContain('UPSTREAM_ACCOUNT_ID=$ACCOUNT_ID UPSTREAM_AWS=(aws)');
  });

  it('the push block uses them for every ECR call and the registry host', () => {
    const push = /```sh\n([\s\S]*?)```/.exec(step7)?.[1] ?? '';
    expect(push).toMatch(/^export ECR=\$UPSTREAM_ACCOUNT_ID\.dkr\.ecr\./m);
    const ecrCalls = push.split('\n').filter((l) => /\becr (describe|create|get-login)/.test(l));
    expect(ecrCalls.length).toBe(3);
    for (const l of ecrCalls) expect(l).toMatch(/^\s*(\|\| )?"\$\{UPSTREAM_AWS\[@\]\}" ecr /);
  });
});

describe('docs/security.md says what the values do not close', () => {
  const security = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');

  it('internal-nlb: the random node ports outside the source ranges (allocateLoadBalancerNodePorts)', () => {
    // the chart 3.0.0 has no value for it, so the rendered Service keeps the Kubernetes default (true)
    expect(obj(defaults.service)).not.toHaveProperty('allocateLoadBalancerNodePorts');
    expect(obj(merged('internal-nlb').service)).not.toHaveProperty('allocateLoadBalancerNodePorts');
    expect(security).toContain('allocateLoadBalancerNodePorts');
    expect(readFileSync(overlayFile('internal-nlb'), 'utf8')).toContain('allocateLoadBalancerNodePorts');
  });

  it('NetworkPolicy: no ipBlock of the whole VPC CIDR (every pod under the VPC CNI), and the caveat written', () => {
    expect(security).toContain('VPC CNI, pods get VPC addresses');
    const policy = /```yaml\n([\s\S]*?)```/.exec(security)?.[1] ?? '';
    const np = parseYaml(policy.replace(/^  /gm, '')) as Values;
    const from = (obj(np.spec).ingress as { ports: unknown; from: Values[] }[])[0]?.from ?? [];
    expect(from.some((f) => isObject(f.namespaceSelector))).toBe(true);
    for (const f of from) if (isObject(f.ipBlock)) expect(Number(String(f.ipBlock.cidr).split('/')[1])).toBeGreaterThan(16);
  });
});
