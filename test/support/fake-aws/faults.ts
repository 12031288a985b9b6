// Fault switches a test flips at runtime. A fault is looked up once per request, service first, then 'all'; a fault
// with a count is used up by that many requests and then disappears, so "fail once, then recover" needs no cleanup.
export type FakeService = 'sts' | 'ecr' | 'ecr-public';
export type FaultTarget = FakeService | 'all';
/**
 * 'throttle', '5xx', 'slow' and 'down' are outages. The hostile modes answer 200 with a body no AWS service should
 * send, to prove the client fails closed: 'expired' (an expiry already past; for ECR 2015, as moto answers),
 * 'year-9999' (an absurd expiry), 'empty' (no body), 'truncated' (half the real body), 'echo' (an error whose
 * message echoes the whole request back, web-identity token included), 'huge' (the real answer padded with 50 MB of
 * whitespace, still well-formed, sent chunked with no Content-Length).
 */
export type FaultMode = 'throttle' | '5xx' | 'slow' | 'down' | HostileMode;
export type HostileMode = 'expired' | 'year-9999' | 'empty' | 'truncated' | 'echo' | 'huge';
export const HOSTILE_MODES: readonly HostileMode[] = ['expired', 'year-9999', 'empty', 'truncated', 'echo', 'huge'];

export interface FaultSpec {
  mode: FaultMode;
  /** Only the next n requests; until cleared when absent. */
  count?: number;
  /** 'slow': how long to hold the answer (default 5000 ms). */
  delayMs?: number;
  /** '5xx': 500 InternalFailure (default) or 503 ServiceUnavailable. */
  status?: 500 | 503;
}

export interface ActiveFault extends FaultSpec {
  target: FaultTarget;
}

const MODES: readonly FaultMode[] = ['throttle', '5xx', 'slow', 'down', ...HOSTILE_MODES];
const TARGETS: readonly FaultTarget[] = ['sts', 'ecr', 'ecr-public', 'all'];

export class Faults {
  private readonly active = new Map<FaultTarget, FaultSpec>();

  set(target: FaultTarget, spec: FaultSpec): void {
    if (!TARGETS.includes(target)) throw new Error(`unknown fault target ${String(target)}: ${TARGETS.join(', ')}`);
    if (!MODES.includes(spec.mode)) throw new Error(`unknown fault mode ${String(spec.mode)}: ${MODES.join(', ')}`);
    if (spec.count !== undefined && !(Number.isInteger(spec.count) && spec.count > 0)) {
      throw new Error(`fault count must be a positive integer, got ${spec.count}`);
    }
    this.active.set(target, { ...spec });
  }

  clear(target?: FaultTarget): void {
    if (target) this.active.delete(target);
    else this.active.clear();
  }

  list(): ActiveFault[] {
    return [...this.active].map(([target, spec]) => ({ target, ...spec }));
  }

  /** The fault that applies to this request, if any, consuming one use of a counted fault. */
  take(service: FakeService): FaultSpec | undefined {
    const target: FaultTarget | undefined = this.active.has(service) ? service : this.active.has('all') ? 'all' : undefined;
    if (!target) return undefined;
    const spec = this.active.get(target)!;
    if (spec.count !== undefined) {
      spec.count -= 1;
      if (spec.count <= 0) this.active.delete(target);
    }
    return spec;
  }
}
