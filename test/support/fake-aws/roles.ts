// Which roles exist and who may assume them. Real IAM has trust policies; the tests only need "this role exists",
// "this subject may assume it" and "this external id is required".
export interface RoleSpec {
  arn: string;
  /** Web identity `sub` claims allowed to assume the role; any when absent. */
  subjects?: string[];
  /** AssumeRole must pass this ExternalId when set. */
  externalId?: string;
}

export interface ParsedRoleArn {
  accountId: string;
  roleName: string;
}

export function parseRoleArn(arn: string): ParsedRoleArn | undefined {
  const match = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/.exec(arn);
  return match ? { accountId: match[1]!, roleName: match[2]! } : undefined;
}

export function normaliseRoles(roles: Array<string | RoleSpec> | undefined): RoleSpec[] | undefined {
  return roles?.map((role) => (typeof role === 'string' ? { arn: role } : role));
}

/** The role's spec when it exists in this fake; a permissive spec for any well-formed ARN when no list is set. */
export function findRole(roles: RoleSpec[] | undefined, arn: string): RoleSpec | undefined {
  if (!parseRoleArn(arn)) return undefined;
  return roles ? roles.find((role) => role.arn === arn) : { arn };
}
