/**
 * The real PreflightApi over the AWS SDK v3. Loaded through a dynamic import only when a preflight runs. Endpoints
 * honour AWS_ENDPOINT_URL_S3 / _ECR / _STS as every SDK client; an explicit S3 endpoint (the registry's
 * `regionendpoint`) wins. Two attempts per call: the preflight's own deadline bounds the whole run.
 */
import { BatchGetImageCommand, ECRClient, GetAuthorizationTokenCommand, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig } from '@ecr-proxy/core/aws';
import type { ApiCredentials, PreflightApi, PrivateRegistry } from './api.js';
import type { PreflightConfig } from './config.js';

export function createPreflightApi(config: PreflightConfig, credentials?: ApiCredentials): PreflightApi {
  const base = (region: string) => ({ ...clientConfig({ region, maxAttempts: 2 }), ...(credentials ? { credentials } : {}) });
  const sts = new STSClient(base(config.region));
  const s3Target = config.s3;
  const s3 = s3Target
    ? new S3Client({
        ...base(s3Target.region),
        ...(s3Target.endpoint ? { endpoint: s3Target.endpoint } : {}),
        forcePathStyle: s3Target.forcePathStyle,
        // Checksums only when S3 requires them, as the registry's SDK does: the probe must look like its writes.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      })
    : undefined;
  const ecrClients = new Map<string, ECRClient>();
  const ecr = (registry: PrivateRegistry) => {
    let client = ecrClients.get(registry.region);
    if (!client) ecrClients.set(registry.region, (client = new ECRClient(base(registry.region))));
    return client;
  };
  const needS3 = () => {
    if (!s3 || !s3Target) throw new Error('no bucket configured');
    return { s3, bucket: s3Target.bucket };
  };
  const sse = () => {
    const enc = s3Target?.encryption;
    if (!enc) return {};
    return enc.kind === 'AES256' ? { ServerSideEncryption: 'AES256' as const } : { ServerSideEncryption: 'aws:kms' as const, ...(enc.keyId ? { SSEKMSKeyId: enc.keyId } : {}) };
  };

  // Every S3 answer here is bounded by what we ask, not by what the bucket holds (core's 64 KiB cap applies to all):
  // listings of one key, a one-byte Range of scheduler-state.json, the probe we wrote; errors are small XML.
  return {
    async callerIdentity(signal) {
      const out = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
      if (!out.Arn || !out.Account) throw new Error('STS GetCallerIdentity answered without an ARN');
      return { arn: out.Arn, account: out.Account };
    },
    async putObject(key, body, signal) {
      const { s3: client, bucket } = needS3();
      const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain', ...sse() }), { abortSignal: signal });
      return {
        ...(out.ServerSideEncryption ? { serverSideEncryption: out.ServerSideEncryption } : {}),
        ...(out.SSEKMSKeyId ? { kmsKeyId: out.SSEKMSKeyId } : {}),
      };
    },
    async getObject(key, signal, opts) {
      const { s3: client, bucket } = needS3();
      try {
        const range = opts?.firstByte ? { Range: 'bytes=0-0' } : {};
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...range }), { abortSignal: signal });
        return (await out.Body?.transformToString()) ?? '';
      } catch (err) {
        // An empty object has no byte 0: S3 answers 416 InvalidRange, after the permission check.
        if (opts?.firstByte && (err as { name?: string }).name === 'InvalidRange') return '';
        throw err;
      }
    },
    async listObjects(prefix, signal) {
      const { s3: client, bucket } = needS3();
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }), { abortSignal: signal });
      return (out.Contents ?? []).map((c) => c.Key ?? '');
    },
    async deleteObject(key, signal) {
      const { s3: client, bucket } = needS3();
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    },
    async ecrAuthorizationToken(registry, signal) {
      const out = await ecr(registry).send(new GetAuthorizationTokenCommand({ registryIds: [registry.registryId] }), { abortSignal: signal });
      if (!out.authorizationData?.some((d) => d.authorizationToken)) throw new Error(`ECR answered without an authorization token for ${registry.registryId}`);
    },
    async ecrBatchGetImage(registry, repository, imageTag, signal) {
      await ecr(registry).send(
        new BatchGetImageCommand({ registryId: registry.registryId, repositoryName: repository, imageIds: [{ imageTag }] }),
        { abortSignal: signal },
      );
    },
    async ecrGetDownloadUrlForLayer(registry, repository, layerDigest, signal) {
      await ecr(registry).send(
        new GetDownloadUrlForLayerCommand({ registryId: registry.registryId, repositoryName: repository, layerDigest }),
        { abortSignal: signal },
      );
    },
  };
}
