/**
 * The real StsApi over @aws-sdk/client-sts. Imported only through lazyStsApi (a dynamic import), so the SDK is
 * evaluated only by a role that calls STS. The endpoint honours AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, as every SDK client.
 * One attempt per call: the caller's loop retries with jitter and classifies errors.
 */
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { clientConfig, requestHandlerOptions } from '@ecr-proxy/core/aws';
import type { AwsCredentials, TemporaryCredentials } from './aws-credentials.js';
import { SourceError } from './errors.js';
import type { StsApi } from './sts-seam.js';

function temporary(creds: Credentials | undefined, roleArn: string): TemporaryCredentials {
  if (!creds?.AccessKeyId || !creds.SecretAccessKey || !creds.SessionToken || !creds.Expiration) {
    throw new SourceError(`STS answered without complete credentials for ${roleArn}`, 'invalid_response', false);
  }
  return {
    accessKeyId: creds.AccessKeyId,
    secretAccessKey: creds.SecretAccessKey,
    sessionToken: creds.SessionToken,
    expiration: creds.Expiration,
    roleArn,
  };
}

export function createStsApi(region: string): StsApi {
  const base = clientConfig({ region, maxAttempts: 1 });
  const anonymous = new STSClient(base);
  return {
    async assumeRoleWithWebIdentity(input, signal) {
      const out = await anonymous.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.sessionName,
          WebIdentityToken: input.webIdentityToken,
          DurationSeconds: input.durationSeconds,
        }),
        { abortSignal: signal },
      );
      return temporary(out.Credentials, input.roleArn);
    },
    async assumeRole(input, source: AwsCredentials, signal) {
      // A client per call: the source credentials change on every refresh. Cheap next to the call itself.
      const client = new STSClient({
        ...base,
        credentials: {
          accessKeyId: source.accessKeyId,
          secretAccessKey: source.secretAccessKey,
          ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
        },
      });
      try {
        const out = await client.send(
          new AssumeRoleCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            DurationSeconds: input.durationSeconds,
            ...(input.externalId ? { ExternalId: input.externalId } : {}),
          }),
          { abortSignal: signal },
        );
        return temporary(out.Credentials, input.roleArn);
      } finally {
        client.destroy();
      }
    },
    async defaultChain() {
      // A fresh chain each time: the chain memoizes, and we want what the source holds now.
      const creds = await fromNodeProviderChain({ clientConfig: { region, requestHandler: requestHandlerOptions() } })();
      return {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
        ...(creds.expiration ? { expiration: creds.expiration } : {}),
      };
    },
  };
}
