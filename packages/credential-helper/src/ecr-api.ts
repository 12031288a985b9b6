/**
 * The AWS side of the helper: ECR and ECR Public GetAuthorizationToken. Loaded only on a cache miss.
 * Credentials come from the SDK's default chain (env, profile and credential_process, web identity, Pod Identity
 * and container endpoints, instance metadata); endpoints honour AWS_ENDPOINT_URL_ECR / _ECR_PUBLIC.
 */
import { ECRClient, GetAuthorizationTokenCommand, type ECRClientConfig } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicTokenCommand } from '@aws-sdk/client-ecr-public';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { checkExpiry, isSessionOf, principalFromArn } from '@ecr-proxy/core';
import { clientConfig, requestHandler } from '@ecr-proxy/core/aws';
import type { EcrRegistry } from './registry-host.js';
import type { EcrToken, FetchToken } from './ecr-token.js';
import type { ListAws } from './list.js';

/** Credentials for the ECR clients; undefined: the SDK default chain. */
export type EcrCredentials = NonNullable<ECRClientConfig['credentials']>;

/** Fixed credentials, credentials by region, or undefined: the SDK default chain. */
type CredentialsSetting = EcrCredentials | { perRegion: (region: string) => EcrCredentials } | undefined;

function clientsFor(credentials: CredentialsSetting) {
  const clients = new Map<string, ECRClient | ECRPUBLICClient>();
  return (registry: EcrRegistry): ECRClient | ECRPUBLICClient => {
    const key = registry.kind === 'public' ? 'public' : registry.region;
    let client = clients.get(key);
    if (!client) {
      const creds = credentials && 'perRegion' in credentials ? credentials.perRegion(registry.region) : credentials;
      const base = { ...clientConfig({ region: registry.region }), ...(creds ? { credentials: creds } : {}) };
      // A FIPS host (`dkr.ecr-fips.…`, `dkr-ecr-fips.…`) is fetched from the region's standard endpoint, as v0.12.0
      // does (it passes only the region to the SDK; test/e2e/reference-endpoints.test.ts compares the CONNECT targets):
      // a subnet with only the standard ECR VPC endpoint works for both. AWS_USE_FIPS_ENDPOINT=true still applies.
      client = registry.kind === 'public' ? new ECRPUBLICClient(base) : new ECRClient(base);
      clients.set(key, client);
    }
    return client;
  };
}

/** A FetchToken with its own clients, signing with the given credentials (the refresher's fresh STS credentials). */
export function ecrTokenFetcher(credentials?: EcrCredentials): FetchToken {
  const clientFor = clientsFor(credentials);
  return (registry, signal) => fetchWith(clientFor, registry, signal);
}

/**
 * The default chain, resolved once per process and shared by the cache identity (resolvedAccessKeyId) and the ECR
 * clients, so a profile's credential_process runs once per `get`. AWS_EC2_METADATA_DISABLED, set by main.ts unless
 * the instance role is allowed, keeps the chain from ending at the node's role.
 */
const resolved = new Map<string, ReturnType<ReturnType<typeof fromNodeProviderChain>>>();
/** Per region, as a client's own default chain: its STS calls (web identity) go to that region's endpoint, and
 * through the proxy like every other call. */
function defaultCredentialsIn(region: string): () => ReturnType<ReturnType<typeof fromNodeProviderChain>> {
  return () => {
    let creds = resolved.get(region);
    if (!creds) {
      creds = fromNodeProviderChain({ clientConfig: { region, requestHandler: requestHandler() } })().then((c) => checkedCredentials(c, region));
      resolved.set(region, creds);
    }
    return creds;
  };
}

/** A principal other than the one the env names: the token would be cached under the wrong identity. */
export class WrongPrincipalError extends Error {
  override name = 'WrongPrincipalError';
}

type ChainCredentials = Awaited<ReturnType<ReturnType<typeof fromNodeProviderChain>>>;

/**
 * The rules sts-init applies, for what the default chain resolved: an expiry that is past or further than STS can
 * issue (12 h plus skew) is refused (ExpiryError); credentials obtained with the env's web identity (AWS_ROLE_ARN +
 * AWS_WEB_IDENTITY_TOKEN_FILE; the SDK marks them) must act as a session of AWS_ROLE_ARN, checked with one
 * sts:GetCallerIdentity on this cache miss (the SDK's web-identity provider does not pass the AssumedRoleUser on);
 * anything else throws WrongPrincipalError naming both ARNs.
 */
async function checkedCredentials(creds: ChainCredentials, region: string): Promise<ChainCredentials> {
  if (creds.expiration) checkExpiry('the AWS credentials the SDK chain resolved', creds.expiration, Date.now(), { marginMs: 0 });
  const roleArn = process.env.AWS_ROLE_ARN;
  const viaWebIdentity = (creds as { $source?: Record<string, unknown> }).$source?.CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN !== undefined;
  if (roleArn && process.env.AWS_WEB_IDENTITY_TOKEN_FILE && viaWebIdentity) {
    const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ ...clientConfig({ region, maxAttempts: 3 }), credentials: creds });
    try {
      const out = await sts.send(new GetCallerIdentityCommand({}));
      if (!out.Arn || !isSessionOf(principalFromArn(out.Arn), roleArn)) {
        throw new WrongPrincipalError(`the web identity credentials act as ${out.Arn ?? 'an unnamed principal'}, not as a session of AWS_ROLE_ARN ${roleArn}; refused`);
      }
    } finally {
      sts.destroy();
    }
  }
  return creds;
}

/** The access key id the default chain resolves to in `region`: the cache identity where the env names no stable
 * principal. */
export async function resolvedAccessKeyId(region: string): Promise<string> {
  return (await defaultCredentialsIn(region)()).accessKeyId;
}

const defaultClientFor = clientsFor({ perRegion: defaultCredentialsIn });

export const fetchEcrToken: FetchToken = (registry, signal) => fetchWith(defaultClientFor, registry, signal);

async function fetchWith(
  clientFor: (registry: EcrRegistry) => ECRClient | ECRPUBLICClient,
  registry: EcrRegistry,
  signal: AbortSignal,
): Promise<EcrToken> {
  if (registry.kind === 'public') {
    const client = clientFor(registry) as ECRPUBLICClient;
    const out = await client.send(new GetPublicTokenCommand({}), { abortSignal: signal });
    const data = out.authorizationData;
    if (!data?.authorizationToken || !data.expiresAt) throw new Error('ECR Public answered without an authorization token');
    return { authorizationToken: data.authorizationToken, expiresAt: data.expiresAt, proxyEndpoint: `https://${registry.host}` };
  }
  const client = clientFor(registry) as ECRClient;
  const out = await client.send(new GetAuthorizationTokenCommand({ registryIds: [registry.registryId] }), { abortSignal: signal });
  const data = out.authorizationData?.find((d) => d.authorizationToken && d.expiresAt);
  if (!data?.authorizationToken || !data.expiresAt) {
    throw new Error(`ECR answered without an authorization token for registry ${registry.registryId}`);
  }
  return {
    authorizationToken: data.authorizationToken,
    expiresAt: data.expiresAt,
    proxyEndpoint: data.proxyEndpoint ?? `https://${registry.host}`,
  };
};

/** `list`'s calls with the default credential chain; see list.ts. */
export const listAws: ListAws = {
  async hasCredentials() {
    try {
      await fromNodeProviderChain({ clientConfig: { requestHandler: requestHandler() } })();
      return true;
    } catch {
      return false;
    }
  },
  async fetchDefaultToken(region, signal) {
    // No region: the SDK's own lookup (the profile's region); with none at all the call fails, as the reference's does.
    const client = new ECRClient(clientConfig(region === undefined ? {} : { region }));
    try {
      const out = await client.send(new GetAuthorizationTokenCommand({}), { abortSignal: signal });
      const data = out.authorizationData?.find((d) => d.authorizationToken && d.proxyEndpoint);
      if (!data?.authorizationToken || !data.proxyEndpoint) throw new Error('ECR answered without an authorization token for the default registry');
      return { authorizationToken: data.authorizationToken, expiresAt: data.expiresAt ?? new Date(0), proxyEndpoint: data.proxyEndpoint };
    } finally {
      client.destroy();
    }
  },
};
