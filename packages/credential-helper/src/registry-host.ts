import { goHttpsHostname } from './go-url.js';

/**
 * Which hosts are ECR, with the grammar of docker-credential-ecr-login v0.12.0: every partition, FIPS and dual-stack
 * endpoints, and ECR Public. Anchored at both ends, so `…amazonaws.com.evil.example` is not ECR.
 * The host is read with Go's URL grammar, not WHATWG's, so the same inputs are refused (go-url.ts).
 */
export type EcrRegistry =
  | { kind: 'private'; registryId: string; region: string; host: string }
  | { kind: 'public'; region: 'us-east-1'; host: string };

/** The reference's `ecrPattern` (ecr-login/api/client.go), verbatim: case-sensitive, ASCII only (`\d` is [0-9]). */
const PRIVATE =
  /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;
const PUBLIC_HOSTS = new Set(['public.ecr.aws', 'ecr-public.aws.com']);

/**
 * The hostname of a server URL as the reference reads it (`api.ExtractRegistry`): one leading lower-case `https://`
 * stripped, then Go's `url.Parse("https://" + rest).Hostname()`. undefined where Go's parser fails.
 */
export function hostnameOf(serverUrl: string): string | undefined {
  return goHttpsHostname(serverUrl.startsWith('https://') ? serverUrl.slice('https://'.length) : serverUrl);
}

export function parseEcrRegistry(serverUrl: string): EcrRegistry | undefined {
  const host = hostnameOf(serverUrl);
  if (host === undefined) return undefined;
  if (PUBLIC_HOSTS.has(host)) return { kind: 'public', region: 'us-east-1', host };
  const m = PRIVATE.exec(host);
  if (!m) return undefined;
  // `-fips` selects no other endpoint: v0.12.0 passes only the region to the SDK (ecr-api.ts).
  return { kind: 'private', registryId: m[1]!, region: m[3]!, host };
}

/** `ECR_LOGIN_ALLOWED_REGISTRIES`: an empty list allows every ECR registry. */
export function isAllowed(registry: EcrRegistry, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.includes(registry.kind === 'public' ? 'public' : registry.registryId);
}
