/**
 * The narrow seam between the credential sources and AWS: three calls. Tests inject fakes; the real implementation
 * (sts-api.ts, which imports the SDK) is loaded with `await import()` on first use, so nothing else pays for it.
 */
import type { AwsCredentials, TemporaryCredentials } from './aws-credentials.js';

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

export interface StsApi {
  assumeRoleWithWebIdentity(input: WebIdentityInput, signal: AbortSignal): Promise<TemporaryCredentials>;
  assumeRole(input: AssumeRoleInput, source: AwsCredentials, signal: AbortSignal): Promise<TemporaryCredentials>;
  /** The SDK default chain: env keys, profile, container endpoint (EKS Pod Identity, ECS), instance metadata. */
  defaultChain(signal: AbortSignal): Promise<AwsCredentials>;
}

/** The real STS, loaded lazily; one client per process (keep-alive), no SDK retries (our loop retries). */
export function lazyStsApi(region: string): StsApi {
  let real: Promise<StsApi> | undefined;
  const load = () => (real ??= import('./sts-api.js').then((m) => m.createStsApi(region)));
  return {
    assumeRoleWithWebIdentity: async (input, signal) => (await load()).assumeRoleWithWebIdentity(input, signal),
    assumeRole: async (input, source, signal) => (await load()).assumeRole(input, source, signal),
    defaultChain: async (signal) => (await load()).defaultChain(signal),
  };
}
