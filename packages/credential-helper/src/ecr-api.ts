/**
 * The AWS side of the helper: ECR and ECR Public GetAuthorizationToken. Loaded only on a cache miss.
 * Credentials come from the SDK's default chain (env, profile and credential_process, web identity, Pod Identity
 * and container endpoints, instance metadata); endpoints honour AWS_ENDPOINT_URL_ECR / _ECR_PUBLIC.
 */
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicTokenCommand } from '@aws-sdk/client-ecr-public';
import { clientConfig } from '@ecr-proxy/core/aws';
import type { EcrRegistry } from './registry-host.js';
import type { EcrToken, FetchToken } from './ecr-token.js';

const clients = new Map<string, ECRClient | ECRPUBLICClient>();

function clientFor(registry: EcrRegistry): ECRClient | ECRPUBLICClient {
  const key = registry.kind === 'public' ? 'public' : `${registry.region}/${registry.fips}`;
  let client = clients.get(key);
  if (!client) {
    client =
      registry.kind === 'public'
        ? new ECRPUBLICClient(clientConfig({ region: registry.region }))
        : new ECRClient({ ...clientConfig({ region: registry.region }), useFipsEndpoint: registry.fips });
    clients.set(key, client);
  }
  return client;
}

export const fetchEcrToken: FetchToken = async (registry, signal): Promise<EcrToken> => {
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
