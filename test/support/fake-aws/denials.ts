// Per-action denials a test switches on, as if an IAM document lacked (or explicitly denied) one statement. Shared
// by the fake's STS/ECR and the S3 enforcer in front of moto, so a test breaks "the ECR policy" or "the S3 policy"
// the same way. The refusals carry AWS's own message shapes, including the sentence that says which kind of policy
// refused (IAM user guide, "Troubleshoot access denied error messages"), so code that reads them is tested on them.
export interface DenialSpec {
  /** IAM action, e.g. `s3:PutObject`, `ecr:BatchGetImage`, `sts:AssumeRoleWithWebIdentity`. */
  action: string;
  /** Only resources whose ARN starts with this; every resource when absent. */
  resourcePrefix?: string;
  /** Which policy refuses: `identity` (no identity-based policy allows it; default) or `resource` (an explicit
   * deny in a resource-based policy: the bucket or repository policy, or a role's trust policy). */
  policy?: 'identity' | 'resource';
}

export class Denials {
  private specs: DenialSpec[] = [];

  add(spec: DenialSpec): void {
    if (!/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(spec.action)) throw new Error(`not an IAM action: ${spec.action}`);
    if (spec.policy !== undefined && spec.policy !== 'identity' && spec.policy !== 'resource') throw new Error(`policy must be identity or resource, got ${String(spec.policy)}`);
    this.specs.push({ ...spec });
  }

  clear(): void {
    this.specs = [];
  }

  isEmpty(): boolean {
    return this.specs.length === 0;
  }

  list(): DenialSpec[] {
    return this.specs.map((s) => ({ ...s }));
  }

  match(action: string, resource: string): DenialSpec | undefined {
    return this.specs.find((s) => s.action === action && (s.resourcePrefix === undefined || resource.startsWith(s.resourcePrefix)));
  }
}

/** AWS's AccessDenied message for `principal` refused `action` on `resource`. */
export function accessDeniedMessage(principal: string, action: string, resource: string, policy: DenialSpec['policy']): string {
  return policy === 'resource'
    ? `User: ${principal} is not authorized to perform: ${action} on resource: "${resource}" with an explicit deny in a resource-based policy`
    : `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
}
