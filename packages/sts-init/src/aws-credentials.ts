/** The credentials every source produces, and what makes them fit to be written. Free of the SDK. */
import type { StoredCredentials } from './credentials-file.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Absent for long-term keys (env, profile), which can only be a source for a chained role. */
  sessionToken?: string;
  /** Absent for long-term keys. */
  expiration?: Date;
  /** The role these are for, when known; not a secret. */
  roleArn?: string;
  /** The ARN STS says these credentials act as (AssumedRoleUser.Arn or GetCallerIdentity's Arn), once known. */
  principalArn?: string;
}

/** A credential source: called on every refresh; reads its inputs (the token file) inside, so rotations are seen. */
export type CredentialProvider = (signal: AbortSignal) => Promise<AwsCredentials>;

/** Temporary credentials, the only kind written: they carry a session token and a real expiry. */
export type TemporaryCredentials = AwsCredentials & { sessionToken: string; expiration: Date };

export function toStored(creds: TemporaryCredentials, refreshedAt: number): StoredCredentials {
  return {
    Version: 1,
    AccessKeyId: creds.accessKeyId,
    SecretAccessKey: creds.secretAccessKey,
    SessionToken: creds.sessionToken,
    Expiration: creds.expiration.toISOString(),
    ...(creds.roleArn ? { RoleArn: creds.roleArn } : {}),
    ...(creds.principalArn ? { Principal: creds.principalArn } : {}),
    RefreshedAt: new Date(refreshedAt).toISOString(),
  };
}

export function fromStored(stored: StoredCredentials): TemporaryCredentials {
  return {
    accessKeyId: stored.AccessKeyId,
    secretAccessKey: stored.SecretAccessKey,
    sessionToken: stored.SessionToken,
    expiration: new Date(stored.Expiration),
    ...(stored.RoleArn ? { roleArn: stored.RoleArn } : {}),
    ...(stored.Principal ? { principalArn: stored.Principal } : {}),
  };
}
