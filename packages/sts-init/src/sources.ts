/**
 * Credential sources, each a `fromX(init) => provider` factory, composed by `sourceFor`: web identity (IRSA) when
 * configured, else the SDK default chain; then, optionally, a chained target role. Only temporary credentials leave.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import type { AwsCredentials, CredentialProvider, TemporaryCredentials } from './aws-credentials.js';
import { SourceError } from './errors.js';
import type { StsApi } from './sts-seam.js';

export interface WebIdentityInit {
  roleArn: string;
  tokenFile: string;
  sessionName: string;
  durationSeconds: number;
  sts: StsApi;
  readFile?: (path: string) => Promise<string>;
}

/** IRSA: the projected token is read on every call, since the kubelet rotates it. */
export function fromWebIdentity(init: WebIdentityInit): CredentialProvider {
  const read = init.readFile ?? ((path: string) => fsReadFile(path, 'utf8'));
  return async (signal) => {
    let token: string;
    try {
      token = (await read(init.tokenFile)).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
      throw new SourceError(`web identity token file ${init.tokenFile} (AWS_WEB_IDENTITY_TOKEN_FILE) ${what}`, 'token_file', true);
    }
    if (token === '') throw new SourceError(`web identity token file ${init.tokenFile} is empty`, 'token_file', true);
    return init.sts.assumeRoleWithWebIdentity(
      { roleArn: init.roleArn, sessionName: init.sessionName, webIdentityToken: token, durationSeconds: init.durationSeconds },
      signal,
    );
  };
}

/** Whatever the SDK default chain finds: EKS Pod Identity, instance metadata, env keys, a profile. */
export function fromDefaultChain(init: { sts: StsApi }): CredentialProvider {
  return (signal) => init.sts.defaultChain(signal);
}

export interface AssumedRoleInit {
  roleArn: string;
  externalId?: string;
  sessionName: string;
  durationSeconds: number;
  sts: StsApi;
}

/** Chains into a second role (cross-account) with the source's credentials of this very call. */
export function fromAssumedRole(source: CredentialProvider, init: AssumedRoleInit): CredentialProvider {
  return async (signal) => {
    const creds = await source(signal);
    return init.sts.assumeRole(
      {
        roleArn: init.roleArn,
        sessionName: init.sessionName,
        durationSeconds: init.durationSeconds,
        ...(init.externalId ? { externalId: init.externalId } : {}),
      },
      creds,
      signal,
    );
  };
}

export function isTemporary(creds: AwsCredentials): creds is TemporaryCredentials {
  return !!creds.sessionToken && creds.expiration instanceof Date && !Number.isNaN(creds.expiration.getTime());
}

/** Long-term keys never leave: a consumer could not refresh them and they would outlive any revocation. */
export function temporaryOnly(provider: CredentialProvider): (signal: AbortSignal) => Promise<TemporaryCredentials> {
  return async (signal) => {
    const creds = await provider(signal);
    if (!isTemporary(creds)) {
      throw new SourceError(
        'the source credentials are long-term keys (no session token or expiry); set --target-role-arn to assume a role with them',
        'no_credentials',
        true,
      );
    }
    return creds;
  };
}

export interface SourceConfig {
  webIdentity?: { roleArn: string; tokenFile: string };
  target?: { roleArn: string; externalId?: string };
  sessionName: string;
  durationSeconds: number;
}

export function sourceFor(config: SourceConfig, sts: StsApi, readFile?: (path: string) => Promise<string>) {
  const base = config.webIdentity
    ? fromWebIdentity({ ...config.webIdentity, sessionName: config.sessionName, durationSeconds: config.durationSeconds, sts, ...(readFile ? { readFile } : {}) })
    : fromDefaultChain({ sts });
  const chained = config.target
    ? fromAssumedRole(base, { ...config.target, sessionName: config.sessionName, durationSeconds: config.durationSeconds, sts })
    : base;
  return temporaryOnly(chained);
}
