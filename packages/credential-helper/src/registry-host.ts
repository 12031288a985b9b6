/**
 * Which hosts are ECR, with the grammar of docker-credential-ecr-login v0.12.0: every partition, FIPS and dual-stack
 * endpoints, and ECR Public. Anchored at both ends, so `…amazonaws.com.evil.example` is not ECR.
 */
export type EcrRegistry =
  | { kind: 'private'; registryId: string; region: string; fips: boolean; host: string }
  | { kind: 'public'; region: 'us-east-1'; host: string };

const SUFFIXES = [
  'amazonaws.com',
  'amazonaws.com.cn',
  'amazonaws.eu',
  'on.aws',
  'on.amazonwebservices.com.cn',
  'sc2s.sgov.gov',
  'c2s.ic.gov',
  'cloud.adc-e.uk',
  'csp.hci.ic.gov',
];
const escaped = SUFFIXES.map((s) => s.replaceAll('.', '\\.')).join('|');
const PRIVATE = new RegExp(`^(\\d{12})\\.dkr[.-]ecr(-fips)?\\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\\.(?:${escaped})$`);
const PUBLIC_HOSTS = new Set(['public.ecr.aws', 'ecr-public.aws.com']);

/** The hostname of a server URL as the reference reads it: one leading lower-case `https://` stripped, then parsed. */
export function hostnameOf(serverUrl: string): string | undefined {
  const rest = serverUrl.startsWith('https://') ? serverUrl.slice('https://'.length) : serverUrl;
  try {
    return new URL(`https://${rest}`).hostname;
  } catch {
    return undefined;
  }
}

export function parseEcrRegistry(serverUrl: string): EcrRegistry | undefined {
  const host = hostnameOf(serverUrl);
  if (host === undefined) return undefined;
  if (PUBLIC_HOSTS.has(host)) return { kind: 'public', region: 'us-east-1', host };
  const m = PRIVATE.exec(host);
  if (!m) return undefined;
  return { kind: 'private', registryId: m[1]!, fips: m[2] !== undefined, region: m[3]!, host };
}

/** `ECR_LOGIN_ALLOWED_REGISTRIES`: an empty list allows every ECR registry. */
export function isAllowed(registry: EcrRegistry, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.includes(registry.kind === 'public' ? 'public' : registry.registryId);
}
