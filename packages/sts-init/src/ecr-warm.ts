/**
 * ECR tokens fetched with our own fresh credentials (not the default chain: in a chained setup those are the source
 * role's), stored in the helper's cache under the identity the registry's helper looks up.
 */
import type { FetchToken } from '@ecr-proxy/credential-helper';
import type { TemporaryCredentials } from './aws-credentials.js';

/** A FetchToken signing with whatever `credentials()` returns at call time; the ECR client is loaded lazily. */
export function ecrFetcherWith(credentials: () => Promise<TemporaryCredentials>): FetchToken {
  let fetcher: Promise<FetchToken> | undefined;
  const load = () =>
    (fetcher ??= import('@ecr-proxy/credential-helper/ecr-api').then((m) =>
      m.ecrTokenFetcher(async () => {
        const c = await credentials();
        return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration };
      }),
    ));
  return async (registry, signal) => (await load())(registry, signal);
}
