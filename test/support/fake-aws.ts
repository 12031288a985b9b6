// A local AWS for tests: STS, ECR and ECR Public on one 127.0.0.1 port, speaking the wire protocols of the AWS SDK
// for JavaScript v3, so the real SDK reaches it through AWS_ENDPOINT_URL_STS / _ECR / _ECR_PUBLIC.
// The pieces live in ./fake-aws/; this module wires them and is the only one tests import.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallLog, type CallRecord } from './fake-aws/calls.js';
import type { FakeContext, FakeSettings } from './fake-aws/context.js';
import { createControl } from './fake-aws/control.js';
import { EcrTokens, type EcrToken, type EcrTokenListener } from './fake-aws/ecr-tokens.js';
import { Denials } from './fake-aws/denials.js';
import { Faults } from './fake-aws/faults.js';
import { signJwt, type TokenClaims } from './fake-aws/jwt.js';
import { KeyTable, type IssuedCredentials, type KeyStatus, type StaticKey } from './fake-aws/keys.js';
import { POD_IDENTITY_PATH } from './fake-aws/pod-identity.js';
import { normaliseRoles, parseRoleArn, type RoleSpec } from './fake-aws/roles.js';
import { createHandler } from './fake-aws/server.js';

export type { CallRecord } from './fake-aws/calls.js';
export type { FakeSettings } from './fake-aws/context.js';
export type { EcrToken } from './fake-aws/ecr-tokens.js';
export type { FakeService, FaultMode, FaultSpec, FaultTarget, Faults } from './fake-aws/faults.js';
export type { DenialSpec, Denials } from './fake-aws/denials.js';
export type { TokenClaims } from './fake-aws/jwt.js';
export type { IssuedCredentials, KeyStatus, StaticKey } from './fake-aws/keys.js';
export type { RoleSpec } from './fake-aws/roles.js';

export interface FakeAwsOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Lifetime of STS sessions; DurationSeconds may shorten it, never lengthen it. Default 3600. */
  stsLifetimeSeconds?: number;
  /** Lifetime of ECR authorization tokens. Default 43200 (12 h, as ECR). */
  ecrTokenLifetimeSeconds?: number;
  /** Added before every AWS answer. Default 0. */
  latencyMs?: number;
  /** Epoch milliseconds; inject to test expiry without waiting. Default Date.now. */
  now?: () => number;
  /** Keys accepted by ECR and STS without having been issued (never expire). */
  staticKeys?: Array<string | StaticKey>;
  /** Roles that may be assumed; default any well-formed role ARN. */
  roles?: Array<string | RoleSpec>;
  /** Account of static keys and of ECR calls without registryIds. Default 123456789012. */
  accountId?: string;
  /** HS256 secret of web identity tokens; random by default. Share it to sign tokens in another process. */
  jwtSecret?: string | Buffer;
  /** `aud` claim AssumeRoleWithWebIdentity requires. Default sts.amazonaws.com, as IRSA. */
  audience?: string;
  /**
   * EKS Pod Identity associations (service account `sub` → role ARN) the agent endpoint `podIdentityUrl()` serves
   * credentials for; a trust policy refusing pods.eks.amazonaws.com is a `denials` entry for sts:AssumeRole.
   */
  podIdentityAssociations?: Record<string, string>;
}

export interface FakeAws {
  /** `http://127.0.0.1:<port>`, for all three services and the /_fake/ control API. */
  url: string;
  /** Settings a test may change at runtime (lifetimes, latency, roles, audience). */
  state: FakeSettings;
  faults: Faults;
  /** Per-action AccessDenied answers (ECR, ECR Public, STS AssumeRole*), as if an IAM document lacked a statement. */
  denials: Denials;
  /** The assumed-role ARN of an issued key (what GetCallerIdentity answers for it); undefined for other keys. */
  principalOf(accessKeyId: string): string | undefined;
  /** The fake's clock (the injected one plus any advanceClock). */
  now(): number;
  advanceClock(seconds: number): void;
  /** A web identity token STS will accept (until it expires). */
  signToken(claims: TokenClaims): string;
  /** Writes a signed token to a file, as the EKS token projection does; returns the token. */
  writeTokenFile(path: string, claims: TokenClaims): Promise<string>;
  /** Credentials as if issued by STS, without a call. */
  issueCredentials(input: { roleArn: string; sessionName?: string; lifetimeSeconds?: number }): IssuedCredentials;
  isValidKey(accessKeyId: string): KeyStatus;
  issuedCredentials(): IssuedCredentials[];
  /** Request log; `key` is `service:Action` (`ecr:GetAuthorizationToken`) or a service (`sts`). */
  calls(key?: string): CallRecord[];
  counts(): Record<string, number>;
  resetCalls(): void;
  /** Passwords (the part after `AWS:`) of ECR tokens not yet expired. */
  validEcrPasswords(): string[];
  validEcrTokens(): EcrToken[];
  /** Called synchronously whenever an ECR token is issued; returns the unsubscribe function. */
  onEcrToken(listener: EcrTokenListener): () => void;
  /** AWS_ENDPOINT_URL_* for a child process. */
  endpointEnv(): Record<string, string>;
  /** The EKS Pod Identity agent's URL (AWS_CONTAINER_CREDENTIALS_FULL_URI), served by this fake. */
  podIdentityUrl(): string;
  stop(): Promise<void>;
}

export async function startFakeAws(opts: FakeAwsOptions = {}): Promise<FakeAws> {
  const settings: FakeSettings = {
    stsLifetimeSeconds: opts.stsLifetimeSeconds ?? 3600,
    ecrTokenLifetimeSeconds: opts.ecrTokenLifetimeSeconds ?? 43200,
    latencyMs: opts.latencyMs ?? 0,
    clockOffsetMs: 0,
    roles: normaliseRoles(opts.roles),
    audience: opts.audience ?? 'sts.amazonaws.com',
    podIdentityAssociations: { ...opts.podIdentityAssociations },
  };
  const baseNow = opts.now ?? Date.now;
  const now = () => baseNow() + settings.clockOffsetMs;
  const accountId = opts.accountId ?? '123456789012';
  const ctx: FakeContext = {
    settings,
    now,
    keys: new KeyTable(now, opts.staticKeys ?? [], accountId),
    ecrTokens: new EcrTokens(now),
    jwtSecret: secretOf(opts.jwtSecret),
    accountId,
  };
  const faults = new Faults();
  const denials = new Denials();
  const log = new CallLog();
  const fake: FakeAws = {
    url: '',
    state: settings,
    faults,
    denials,
    principalOf: (accessKeyId) => {
      const issued = ctx.keys.lookup(accessKeyId).issued;
      if (!issued) return undefined;
      const role = parseRoleArn(issued.roleArn)!;
      return `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${issued.sessionName}`;
    },
    now,
    advanceClock: (seconds) => {
      settings.clockOffsetMs += seconds * 1000;
    },
    signToken: (claims) => signJwt(ctx.jwtSecret, claims, now()),
    writeTokenFile: async (path, claims) => {
      const token = signJwt(ctx.jwtSecret, claims, now());
      await writeFile(path, token, { mode: 0o600 });
      return token;
    },
    issueCredentials: ({ roleArn, sessionName = 'fake-session', lifetimeSeconds = settings.stsLifetimeSeconds }) => {
      const role = parseRoleArn(roleArn);
      if (!role) throw new Error(`not a role ARN: ${roleArn}`);
      return ctx.keys.issue({ roleArn, sessionName, accountId: role.accountId, lifetimeSeconds });
    },
    isValidKey: (accessKeyId) => ctx.keys.status(accessKeyId),
    issuedCredentials: () => ctx.keys.list(),
    calls: (key) => log.calls(key),
    counts: () => log.counts(),
    resetCalls: () => log.reset(),
    validEcrPasswords: () => ctx.ecrTokens.valid().map((token) => token.password),
    validEcrTokens: () => ctx.ecrTokens.valid(),
    onEcrToken: (listener) => ctx.ecrTokens.onIssue(listener),
    endpointEnv: () => ({
      AWS_ENDPOINT_URL_STS: fake.url,
      AWS_ENDPOINT_URL_ECR: fake.url,
      AWS_ENDPOINT_URL_ECR_PUBLIC: fake.url,
    }),
    podIdentityUrl: () => `${fake.url}${POD_IDENTITY_PATH}`,
    stop: async () => {},
  };

  const server = createServer(createHandler({ ctx, faults, denials, log, control: createControl(fake) }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  fake.url = `http://${address}:${port}`;
  fake.stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive sockets of SDK clients and 'slow' answers would otherwise hold close() open.
      server.closeAllConnections();
    });
  return fake;
}

function secretOf(secret: string | Buffer | undefined): Buffer {
  if (secret === undefined) return randomBytes(32);
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}
