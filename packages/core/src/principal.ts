/**
 * The principal a set of AWS credentials acts as, and the check that it is the one expected. An STS answer names it
 * (`AssumedRoleUser.Arn` of AssumeRole / AssumeRoleWithWebIdentity, `Arn` of GetCallerIdentity), e.g.
 * `arn:aws:sts::123456789012:assumed-role/registry/ecr-proxy-pod`; a role is configured as
 * `arn:aws:iam::123456789012:role/path/registry`. Assumed-role ARNs drop the role's path (IAM identifiers reference),
 * so a role matches by partition, account and name.
 */

import { ConfigError } from './env.js';

export interface Principal {
  /** As STS reported it. */
  arn: string;
  account?: string;
  /** The role name, when the principal is an assumed role. */
  roleName?: string;
  partition?: string;
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[\w+=,.@-]+$/;
const ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const ANY = /^arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):/;

/** Parses what STS said; unknown shapes keep only the ARN. Never throws. */
export function principalFromArn(arn: string): Principal {
  const assumed = ASSUMED_ROLE.exec(arn);
  if (assumed) return { arn, partition: assumed[1]!, account: assumed[2]!, roleName: assumed[3]! };
  const any = ANY.exec(arn);
  return any ? { arn, partition: any[1]!, account: any[2]! } : { arn };
}

/** The role of a role ARN (`arn:aws:iam::…:role/…`), or undefined when it is not one. */
export function roleOf(roleArn: string): { partition: string; account: string; name: string } | undefined {
  const m = ROLE.exec(roleArn);
  return m ? { partition: m[1]!, account: m[2]!, name: m[3]! } : undefined;
}

/** True when `principal` is a session of the role `roleArn`. */
export function isSessionOf(principal: Principal, roleArn: string): boolean {
  const role = roleOf(roleArn);
  return !!role && principal.partition === role.partition && principal.account === role.account && principal.roleName === role.name;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** True when `value` has the shape of an IAM role ARN, as every role setting is checked when read. */
export const isRoleArn = (value: string): boolean => ROLE_ARN.test(value);

/**
 * Where the expected principal comes from, in order (docs/configuration.md, "The expected role"): the explicit
 * setting, else the role sts-init chains to (the credentials in use are that role's), else the IRSA role. Nothing
 * else names it: ECR_LOGIN_CACHE_IDENTITY is a cache key, and Pod Identity and the instance role name no role in
 * the env, so there the explicit setting is the only source.
 */
export const EXPECTED_ROLE_SOURCES = [
  { flag: 'expected-role-arn', env: 'EXPECTED_ROLE_ARN' },
  { flag: 'target-role-arn', env: 'TARGET_ROLE_ARN' },
  { flag: undefined, env: 'AWS_ROLE_ARN' },
] as const;

/**
 * The role the credentials must act as, by the one rule shared by sts-init, cred-refresher and the `preflight`
 * subcommand (EXPECTED_ROLE_SOURCES). `get(flag, env)` returns the flag's value if the caller takes that flag, else
 * the variable's (empty counts as unset). Returns undefined when no source names a role: the principal is then not
 * compared. Throws ConfigError (one line naming the setting) when the chosen value is not an IAM role ARN.
 */
export function expectedRoleArn(get: (flag: string | undefined, env: string) => string | undefined): string | undefined {
  for (const source of EXPECTED_ROLE_SOURCES) {
    const value = get(source.flag, source.env);
    if (value === undefined || value === '') continue;
    if (!isRoleArn(value)) {
      throw new ConfigError(`${source.flag ? `--${source.flag} / ` : ''}${source.env}: "${value}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
    }
    return value;
  }
  return undefined;
}
