// What every fake service handler sees: the clock, the settings a test may change at runtime, the key table, and
// what a handler returns. Kept apart so the services never import the server and the server never knows a protocol.
import type { KeyTable } from './keys.js';
import type { EcrTokens } from './ecr-tokens.js';
import type { FakeService } from './faults.js';
import type { RoleSpec } from './roles.js';

/** Mutable at runtime (directly, or through the control API): a test can shorten lifetimes mid-run. */
export interface FakeSettings {
  stsLifetimeSeconds: number;
  ecrTokenLifetimeSeconds: number;
  /** Added before every AWS answer (benchmarks); control API calls are not delayed. */
  latencyMs: number;
  /** Added to the injected clock; lets a standalone fake be moved forward from another process. */
  clockOffsetMs: number;
  /** Role ARNs that may be assumed; undefined means any well-formed role ARN. */
  roles: RoleSpec[] | undefined;
  /** The `aud` claim a web identity token must carry. */
  audience: string;
  /** EKS Pod Identity associations: the token's `sub` (system:serviceaccount:NS:SA) to the role it gets. */
  podIdentityAssociations: Record<string, string>;
}

export interface FakeContext {
  settings: FakeSettings;
  now: () => number;
  keys: KeyTable;
  ecrTokens: EcrTokens;
  jwtSecret: Buffer;
  accountId: string;
}

export interface Reply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
  /** The AWS error code, for the request log. */
  errorCode?: string;
  /** Sent with chunked transfer encoding, no Content-Length: the client learns the size only by reading. */
  chunked?: boolean;
}

/** One recognised AWS call, before it is answered. Faults answer in the protocol's own error shapes. */
export interface AwsCall {
  service: FakeService;
  action: string;
  accessKeyId?: string;
  region?: string;
  /** The ARN an IAM decision is about (`*` for actions without a resource), and who asks; for injected denials. */
  resource?: string;
  principal?: string;
  answer(): Reply;
  /** The protocol's AccessDenied answer with this message. */
  denied(message: string): Reply;
  throttled(): Reply;
  unavailable(status: 500 | 503): Reply;
}
