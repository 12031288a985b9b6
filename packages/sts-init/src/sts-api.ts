/**
 * The real StsApi over @aws-sdk/client-sts. Imported only through lazyStsApi (a dynamic import), so the SDK is
 * evaluated only by a role that calls STS. The endpoint honours AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, as every SDK client.
 * One attempt per call: the caller's loop retries with jitter and classifies errors.
 */
import {
  AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient, type AssumedRoleUser, type Credentials,
} from '@aws-sdk/client-sts';
import { fromEnv, fromHttp, fromIni, fromInstanceMetadata } from '@aws-sdk/credential-providers';
import { clientConfig, requestHandler } from '@ecr-proxy/core/aws';
import type { AwsCredentials, TemporaryCredentials } from './aws-credentials.js';
import { SourceError } from './errors.js';
import type { SdkSource, StsApi } from './sts-seam.js';

function temporary(creds: Credentials | undefined, user: AssumedRoleUser | undefined, roleArn: string): TemporaryCredentials {
  if (!creds?.AccessKeyId || !creds.SecretAccessKey || !creds.SessionToken || !creds.Expiration) {
    throw new SourceError(`STS answered without complete credentials for ${roleArn}`, 'invalid_response', false);
  }
  if (!(creds.Expiration instanceof Date) || Number.isNaN(creds.Expiration.getTime())) {
    throw new SourceError(`STS answered an Expiration that is not a date for ${roleArn}`, 'invalid_expiry', false);
  }
  return {
    accessKeyId: creds.AccessKeyId,
    secretAccessKey: creds.SecretAccessKey,
    sessionToken: creds.SessionToken,
    expiration: creds.Expiration,
    roleArn,
    ...(user?.Arn ? { principalArn: user.Arn } : {}),
  };
}

type Headers = Record<string, string | undefined>;

/** Reports the `Date` header of every STS answer (errors too), to measure this host's clock against AWS's. */
function watchServerDate(client: STSClient, onServerDate: ((date: number) => void) | undefined): void {
  if (!onServerDate) return;
  const report = (headers: Headers | undefined) => {
    const date = Date.parse(headers?.date ?? '');
    if (Number.isFinite(date)) onServerDate(date);
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const out = await next(args);
        report((out.response as { headers?: Headers }).headers);
        return out;
      } catch (err) {
        report((err as { $response?: { headers?: Headers } }).$response?.headers);
        throw err;
      }
    },
    { step: 'deserialize', name: 'ecrProxyServerDate' },
  );
}

export function createStsApi(region: string, opts: { onServerDate?: (date: number) => void } = {}): StsApi {
  const base = clientConfig({ region, maxAttempts: 1 });
  const anonymous = new STSClient(base);
  watchServerDate(anonymous, opts.onServerDate);
  const signedWith = (source: AwsCredentials) => {
    // A client per call: the source credentials change on every refresh. Cheap next to the call itself.
    const client = new STSClient({
      ...base,
      // Its own handler: destroying this client must not destroy the anonymous client's.
      requestHandler: requestHandler(),
      credentials: {
        accessKeyId: source.accessKeyId,
        secretAccessKey: source.secretAccessKey,
        ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}),
      },
    });
    watchServerDate(client, opts.onServerDate);
    return client;
  };
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
      return temporary(out.Credentials, out.AssumedRoleUser, input.roleArn);
    },
    async assumeRole(input, source, signal) {
      const client = signedWith(source);
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
        return temporary(out.Credentials, out.AssumedRoleUser, input.roleArn);
      } finally {
        client.destroy();
      }
    },
    async getCallerIdentity(creds, signal) {
      const client = signedWith(creds);
      try {
        const out = await client.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
        if (!out.Arn || !out.Account) throw new SourceError('STS GetCallerIdentity answered without an Arn', 'invalid_response', false);
        return { arn: out.Arn, account: out.Account };
      } finally {
        client.destroy();
      }
    },
    async fromSource(source: SdkSource) {
      // Exactly the source the config named: the SDK's default chain would fall through to instance metadata.
      const provider =
        // The token as sources.ts read it; '' for the file keeps the SDK from reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
        source.kind === 'container' ? fromHttp(source.authorizationToken ? { awsContainerAuthorizationToken: source.authorizationToken, awsContainerAuthorizationTokenFile: '' } : {})
        : source.kind === 'static' ? fromEnv()
        : source.kind === 'profile' ? fromIni({ profile: source.profile, clientConfig: { region, requestHandler: requestHandler() } })
        : fromInstanceMetadata({ timeout: 1000, maxRetries: 1 });
      const creds = await provider();
      return {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
        ...(creds.expiration ? { expiration: creds.expiration } : {}),
      };
    },
  };
}
