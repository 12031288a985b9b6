/**
 * The AWS calls the preflight makes, as a seam: checks.ts decides what each answer means, sdk.ts makes the calls.
 * Errors are thrown as the SDK throws them (`name` is the AWS error code, `$metadata.httpStatusCode` the status).
 */
import type { EcrRegistry } from '@ecr-proxy/credential-helper';

export type PrivateRegistry = Extract<EcrRegistry, { kind: 'private' }>;

export interface PutResult {
  /** `x-amz-server-side-encryption` of the answer: AES256, aws:kms, aws:kms:dsse. */
  serverSideEncryption?: string;
  kmsKeyId?: string;
}

export interface PreflightApi {
  callerIdentity(signal: AbortSignal): Promise<{ arn: string; account: string }>;
  putObject(key: string, body: string, signal: AbortSignal): Promise<PutResult>;
  /**
   * The body as text; with `firstByte`, only its first byte (a Range request: the question is the permission, and
   * every answer is read within core's 64 KiB cap, which scheduler-state.json of a used cache exceeds).
   */
  getObject(key: string, signal: AbortSignal, opts?: { firstByte?: boolean }): Promise<string>;
  /**
   * The first key under `prefix` (S3 lists in UTF-8 binary order), in a list of at most one: the answer's size must
   * not depend on the bucket (1000 keys of up to 1024 bytes would be ~1.3 MB, far over core's 64 KiB answer cap),
   * and one key answers both questions asked (the bucket may be listed; the probe, the first key under its own
   * name, is listed).
   */
  listObjects(prefix: string, signal: AbortSignal): Promise<string[]>;
  deleteObject(key: string, signal: AbortSignal): Promise<void>;
  ecrAuthorizationToken(registry: PrivateRegistry, signal: AbortSignal): Promise<void>;
  ecrBatchGetImage(registry: PrivateRegistry, repository: string, imageTag: string, signal: AbortSignal): Promise<void>;
  ecrGetDownloadUrlForLayer(registry: PrivateRegistry, repository: string, layerDigest: string, signal: AbortSignal): Promise<void>;
}

/** SDK-shaped credentials; undefined: the SDK's default chain (env, profile and credential_process, web identity…). */
export interface ApiCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
