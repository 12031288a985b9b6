// Helpers of the chart-values tests: loading values files, Helm's merge of several -f files, the check that every
// key a values file sets is one the chart twuni/docker-registry 3.0.0 reads, and small parsers.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, isMap, isPair, isScalar, isSeq, type Node } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VALUES_FILE = join(ROOT, 'chart-values', 'values-s3-ecr-proxy.yaml');
export const OVERLAYS = ['pod-identity', 'cross-account', 'ecr-other-account', 'instance-role', 'internal-nlb', 'two-replicas'] as const;
export const overlayFile = (name: string): string => join(ROOT, 'chart-values', 'overlays', `${name}.yaml`);
// A verbatim copy of the chart's values.yaml (CI has no ../shared next to the clone).
export const CHART_DEFAULTS_FILE = join(ROOT, 'test', 'chart', 'fixtures', 'twuni-docker-registry-3.0.0-values.yaml');

export type Values = Record<string, unknown>;
export type Container = {
  name: string;
  image?: string;
  command?: string[];
  restartPolicy?: string;
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
};
export type Probe = { httpGet?: { path: string; port: number | string } };

export const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses YAML strictly: duplicate keys and YAML errors throw. */
export function parseYaml(text: string): Values {
  const doc = parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: true });
  if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
  const value = doc.toJS() as unknown;
  if (!isObject(value)) throw new Error('a values file must be a mapping');
  return value;
}

export const loadYaml = (file: string): Values => parseYaml(readFileSync(file, 'utf8'));

/**
 * Helm's merge of `-f base -f overlay`: maps merge key by key, lists and scalars are replaced. A null only deletes a
 * key of the chart's own defaults; a key another -f file set stays, with the value null (rendered as `null`, checked
 * with helm 3.22), so the overlays never use null.
 */
export function mergeValues(base: Values, overlay: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (isObject(value) && isObject(out[key])) out[key] = mergeValues(out[key] as Values, value);
    else out[key] = value;
  }
  return out;
}

/** Dotted paths holding null. */
export function nullPaths(node: unknown, prefix = ''): string[] {
  if (node === null) return [prefix];
  if (Array.isArray(node)) return node.flatMap((item, i) => nullPaths(item, `${prefix}[${i}]`));
  if (isObject(node)) return Object.entries(node).flatMap(([k, v]) => nullPaths(v, prefix ? `${prefix}.${k}` : k));
  return [];
}

// Keys whose content the chart hands to Kubernetes (or to the registry) as is: any key below them is the API's
// business (the API server rejects unknown fields of pod specs), so the walk stops there.
const FREE_FORM = new Set([
  'podAnnotations', 'podLabels', 'serviceAccount.annotations', 'deployment.annotations',
  'service.annotations', 'service.labels', 'service.sessionAffinityConfig',
  'ingress.annotations', 'ingress.labels', 'ingress.hosts', 'ingress.tls',
  'resources', 'containerSecurityContext', 'securityContext', 'updateStrategy', 'podDisruptionBudget',
  'autoscaling.behavior', 'metrics.serviceMonitor.labels', 'metrics.prometheusRule.labels', 'metrics.prometheusRule.rules',
  'nodeSelector', 'affinity', 'tolerations', 'imagePullSecrets',
  'extraVolumeMounts', 'extraVolumes', 'extraEnvVars', 'initContainers',
  'garbageCollect.resources', 'garbageCollect.podAnnotations', 'garbageCollect.podLabels',
  'configData', // the registry's config.yml: checked by registryConfigUnknownKeys
]);

// Keys the chart 3.0.0 templates read (`.Values.…` in templates/*.yaml and _helpers.tpl) that its values.yaml
// omits or only mentions in comments. Anything neither here nor in the defaults is a key the chart ignores.
export const TEMPLATE_KEYS_NOT_IN_DEFAULTS = new Set([
  'nameOverride', 'fullnameOverride', 'namespace', 'imagePullSecrets', 'tlsSecretName',
  'deployment.annotations',
  'service.clusterIP', 'service.nodePort', 'service.loadBalancerIP', 'service.loadBalancerSourceRanges',
  'service.sessionAffinity', 'service.sessionAffinityConfig', 'service.externalPort',
  'persistence.deleteEnabled', 'persistence.existingClaim', 'persistence.storageClass',
  's3', 's3.region', 's3.regionEndpoint', 's3.bucket', 's3.rootdirectory', 's3.encrypt', 's3.secure',
  's3.forcepathstyle', 's3.skipverify',
  'secrets.s3', 'secrets.s3.accessKey', 'secrets.s3.secretKey', 'secrets.s3.secretRef',
  'secrets.azure', 'secrets.azure.accountName', 'secrets.azure.accountKey', 'secrets.azure.container',
  'secrets.swift', 'secrets.swift.username', 'secrets.swift.password',
  'swift', 'swift.authurl', 'swift.container',
]);

/** Dotted paths of `values` that the chart never reads (a typo is otherwise silently ignored by Helm). */
export function unknownChartKeys(values: Values, defaults: Values): string[] {
  const unknown: string[] = [];
  const walk = (node: Values, prefix: string, defs: unknown): void => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const inDefaults = isObject(defs) && key in defs;
      if (!inDefaults && !TEMPLATE_KEYS_NOT_IN_DEFAULTS.has(path)) {
        unknown.push(path);
        continue;
      }
      if (FREE_FORM.has(path) || !isObject(value)) continue;
      walk(value, path, inDefaults ? (defs as Values)[key] : undefined);
    }
  };
  walk(values, '', defaults);
  return unknown;
}

// The sections of distribution v3.0.0's configuration (configuration/configuration.go) this project may set, and
// the keys inside the ones it uses. `true`: anything below is accepted.
type Schema = { [key: string]: Schema | true };
const REGISTRY_SCHEMA: Schema = {
  version: true,
  log: { level: true, formatter: true, fields: true, accesslog: { disabled: true }, hooks: true, reportcaller: true },
  storage: {
    // the driver itself (s3, filesystem, inmemory…) is rendered by the chart as env vars, or set by the e2e tests
    s3: true, filesystem: true, inmemory: true,
    cache: { blobdescriptor: true, blobdescriptorsize: true },
    delete: { enabled: true },
    redirect: { disable: true },
    maintenance: { uploadpurging: { enabled: true, age: true, interval: true, dryrun: true }, readonly: { enabled: true } },
    tag: { concurrencylimit: true },
  },
  http: {
    addr: true, net: true, host: true, prefix: true, secret: true, relativeurls: true, draintimeout: true,
    tls: true, headers: true, http2: true, h2c: true,
    debug: { addr: true, prometheus: { enabled: true, path: true }, tls: true },
  },
  health: {
    storagedriver: { enabled: true, interval: true, threshold: true },
    file: true, http: true, tcp: true,
  },
  proxy: { remoteurl: true, username: true, password: true, exec: { command: true, lifetime: true }, ttl: true },
  auth: true, middleware: true, notifications: true, redis: true, reporting: true, validation: true, catalog: true,
};

/** Dotted paths (under configData) the registry 3.0.0 config does not have. */
export function registryConfigUnknownKeys(config: Values): string[] {
  const unknown: string[] = [];
  const walk = (node: Values, schema: Schema, prefix: string): void => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const sub = schema[key];
      if (sub === undefined) unknown.push(path);
      else if (sub !== true && isObject(value)) walk(value, sub, path);
    }
  };
  walk(config, REGISTRY_SCHEMA, '');
  return unknown;
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** Milliseconds of a Go `time.ParseDuration` string ("1h", "1h30m", "500ms"); throws on anything else. */
export function parseGoDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (GO_UNITS[m[2] ?? ''] ?? Number.NaN);
    consumed = re.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length || Number.isNaN(total)) throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
  return total;
}

// Names of keys or env vars whose non-empty value would be a credential.
const SECRET_NAME = /(secret|password|passwd|token|access_?key|private_?key|credential)/i;
const SECRET_TEXT = [
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, // AWS access key ids
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /aws_secret_access_key\s*=/i,
  /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/, // the shape of an AWS secret access key
];

/** Values in a parsed values file that look like credentials, as "path: reason". File paths are not secrets. */
export function secretLookingValues(values: unknown, prefix = ''): string[] {
  const found: string[] = [];
  const suspicious = (name: string, value: unknown): boolean =>
    SECRET_NAME.test(name) && typeof value === 'string' && value !== '' && !value.startsWith('/');
  const walk = (node: unknown, path: string): void => {
    if (typeof node === 'string') {
      if (SECRET_TEXT.some((re) => re.test(node))) found.push(`${path}: looks like a credential`);
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => {
        if (isObject(item) && typeof item.name === 'string' && suspicious(item.name, item.value)) {
          found.push(`${path}[${i}] (${item.name}): non-empty value`);
        }
        walk(item, `${path}[${i}]`);
      });
    } else if (isObject(node)) {
      for (const [key, value] of Object.entries(node)) {
        const p = path ? `${path}.${key}` : key;
        if (suspicious(key, value)) found.push(`${p}: non-empty value`);
        walk(value, p);
      }
    }
  };
  walk(values, prefix);
  return found;
}

/**
 * Paths of scalar values that differ from the chart's defaults and carry no comment: neither on their own line, nor
 * on the line of one of their parent keys, nor in a comment block just above them or above a parent key.
 */
export function uncommentedChanges(text: string, defaults: Values): string[] {
  const doc = parseDocument(text, { keepSourceTokens: true });
  const lines = text.split('\n');
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length - 1;
  const commented = (line: number): boolean =>
    (lines[line] ?? '').includes('#') || /^\s*#/.test(lines[line - 1] ?? '');
  const missing: string[] = [];
  const walk = (node: Node | null, path: string[], ancestorsCommented: boolean): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const keyLine = lineOf(pair.key.range?.[0] ?? 0);
        walk(pair.value as Node | null, [...path, key], ancestorsCommented || commented(keyLine));
      }
    } else if (isSeq(node)) {
      node.items.forEach((item) => {
        const line = lineOf((item as Node).range?.[0] ?? 0);
        walk(item as Node, path, ancestorsCommented || commented(line));
      });
    } else if (isScalar(node)) {
      let def: unknown = defaults;
      for (const key of path) def = isObject(def) ? def[key] : undefined;
      const same = JSON.stringify(def) === JSON.stringify(node.value);
      if (!same && !ancestorsCommented && !commented(lineOf(node.range?.[0] ?? 0))) missing.push(path.join('.'));
    }
  };
  walk(doc.contents as Node | null, [], false);
  return missing;
}

/** The env of a container as a name → value map. */
export const envOf = (env: { name: string; value?: string }[] | undefined): Record<string, string | undefined> =>
  Object.fromEntries((env ?? []).map((e) => [e.name, e.value]));
