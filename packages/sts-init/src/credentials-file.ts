/**
 * `credentials.json` in the credentials directory: the temporary AWS credentials sts-init and cred-refresher obtain,
 * read by `credential-process`. Validated on both sides, so a torn, empty or half-filled file can never be served
 * or written over good credentials.
 */
import { join } from 'node:path';
import { readRegularFile, writeFileAtomic } from '@ecr-proxy/core';

export const CREDENTIALS_FILE = 'credentials.json';

export interface StoredCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  /** ISO 8601, the real expiry STS gave. */
  Expiration: string;
  /** The role these credentials are for, when known; for logs and metrics, not a secret. */
  RoleArn?: string;
  /** The ARN STS says they act as (assumed-role session), for logs and metrics. */
  Principal?: string;
  /** ISO 8601, when they were obtained. */
  RefreshedAt: string;
}

export class InvalidCredentialsError extends Error {
  override name = 'InvalidCredentialsError';
}

/** Throws unless every field a consumer needs is present and the expiry is a real date. */
export function validateCredentials(value: unknown): StoredCredentials {
  const c = value as Partial<StoredCredentials> | null;
  if (typeof c !== 'object' || c === null) throw new InvalidCredentialsError('credentials are not a JSON object');
  for (const field of ['AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration', 'RefreshedAt'] as const) {
    const value: unknown = c[field];
    if (value === undefined || value === null || value === '') throw new InvalidCredentialsError(`credentials have no ${field}`);
    if (typeof value !== 'string') {
      throw new InvalidCredentialsError(`the credentials field ${field} is a ${typeof value}, not a string${field === 'Expiration' ? ' (ISO 8601, e.g. 2030-01-01T00:00:00Z)' : ''}`);
    }
  }
  if (Number.isNaN(Date.parse(c.Expiration!))) throw new InvalidCredentialsError('credentials have an invalid Expiration');
  return { ...(c as StoredCredentials), Version: 1 };
}

export function credentialsPath(dir: string): string {
  return join(dir, CREDENTIALS_FILE);
}

export async function readCredentials(dir: string): Promise<StoredCredentials> {
  let text: string;
  try {
    text = await readRegularFile(credentialsPath(dir), CREDENTIALS_FILE, 64 * 1024);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidCredentialsError(
      code === 'ENOENT'
        ? `no ${CREDENTIALS_FILE} in ${dir}; run sts-init first (or check --dir / CREDENTIALS_DIR)`
        : code === 'EFTYPE' ? (err as Error).message
        : `cannot read ${credentialsPath(dir)}: ${code ?? (err as Error).message}`,
    );
  }
  try {
    return validateCredentials(JSON.parse(text));
  } catch (err) {
    if (err instanceof InvalidCredentialsError) throw err;
    throw new InvalidCredentialsError(`${credentialsPath(dir)} is not valid JSON`);
  }
}

/** Validates before writing: bad or empty credentials never replace good ones. */
export async function writeCredentials(dir: string, creds: StoredCredentials, mode = 0o600): Promise<void> {
  const valid = validateCredentials(creds);
  await writeFileAtomic(credentialsPath(dir), JSON.stringify(valid, null, 2) + '\n', { mode });
}
