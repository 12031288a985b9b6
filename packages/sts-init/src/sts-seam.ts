/**
 * The narrow seam between the credential sources and AWS. Tests inject fakes; the real implementation (sts-api.ts,
 * which imports the SDK) is loaded with `await import()` on first use, so nothing else pays for it.
 */
import type { AwsCredentials, TemporaryCredentials } from './aws-credentials.js';
import type { BaseSource } from './sources.js';

export interface WebIdentityInput {
  roleArn: string;
  sessionName: string;
  webIdentityToken: string;
  durationSeconds: number;
}

export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  externalId?: string;
  durationSeconds: number;
}

export interface CallerIdentity {
  arn: string;
  account: string;
}

/** Sources other than web identity, which goes through STS itself. */
export type SdkSource = Exclude<BaseSource, { kind: 'web-identity' }>;

export interface StsApi {
  /** Temporary credentials with `principalArn` set from AssumedRoleUser.Arn when STS gave one. */
  assumeRoleWithWebIdentity(input: WebIdentityInput, signal: AbortSignal): Promise<TemporaryCredentials>;
  assumeRole(input: AssumeRoleInput, source: AwsCredentials, signal: AbortSignal): Promise<TemporaryCredentials>;
  /** sts:GetCallerIdentity signed with `creds`: who they are. */
  getCallerIdentity(creds: AwsCredentials, signal: AbortSignal): Promise<CallerIdentity>;
  /** Exactly the named SDK source (container endpoint, env keys, a profile, instance metadata), nothing else. */
  fromSource(source: SdkSource, signal: AbortSignal): Promise<AwsCredentials>;
}

/** The real STS, loaded lazily; one client per process (keep-alive), no SDK retries (our loop retries). */
export function lazyStsApi(region: string, opts: { onServerDate?: (date: number) => void } = {}): StsApi {
  let real: Promise<StsApi> | undefined;
  const load = () => (real ??= import('./sts-api.js').then((m) => m.createStsApi(region, opts)));
  return {
    assumeRoleWithWebIdentity: async (input, signal) => (await load()).assumeRoleWithWebIdentity(input, signal),
    assumeRole: async (input, source, signal) => (await load()).assumeRole(input, source, signal),
    getCallerIdentity: async (creds, signal) => (await load()).getCallerIdentity(creds, signal),
    fromSource: async (source, signal) => (await load()).fromSource(source, signal),
  };
}
