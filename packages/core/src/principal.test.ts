import { describe, expect, it } from 'vitest';
import { ConfigError } from './env.js';
import { expectedRoleArn } from './principal.js';

const from = (flags: Record<string, string>, env: Record<string, string>) => (flag: string | undefined, name: string) => (flag && flags[flag]) ?? env[name];
const SOURCE = 'arn:aws:iam::123456789012:role/source';
const TARGET = 'arn:aws:iam::210987654321:role/reader';
const EXPECTED = 'arn:aws:iam::123456789012:role/expected';

describe(expectedRoleArn.name, () => {
  it('EXPECTED_ROLE_ARN, else the chained target role, else AWS_ROLE_ARN; nothing else names it', () => {
    expect(expectedRoleArn(from({}, { EXPECTED_ROLE_ARN: EXPECTED, TARGET_ROLE_ARN: TARGET, AWS_ROLE_ARN: SOURCE }))).toBe(EXPECTED);
    expect(expectedRoleArn(from({}, { TARGET_ROLE_ARN: TARGET, AWS_ROLE_ARN: SOURCE }))).toBe(TARGET);
    expect(expectedRoleArn(from({}, { AWS_ROLE_ARN: SOURCE }))).toBe(SOURCE);
    expect(expectedRoleArn(from({}, { AWS_ROLE_ARN: '', ECR_LOGIN_CACHE_IDENTITY: SOURCE }))).toBeUndefined();
    expect(expectedRoleArn(from({ 'expected-role-arn': TARGET }, { EXPECTED_ROLE_ARN: EXPECTED }))).toBe(TARGET);
  });

  it('a chosen value that is not a role ARN is a one-line ConfigError naming the setting', () => {
    expect(() => expectedRoleArn(from({}, { EXPECTED_ROLE_ARN: 'role/x' }))).toThrow(ConfigError);
    expect(() => expectedRoleArn(from({}, { EXPECTED_ROLE_ARN: 'role/x' }))).toThrow(/^--expected-role-arn \/ EXPECTED_ROLE_ARN: "role\/x" is not an IAM role ARN/);
    expect(() => expectedRoleArn(from({}, { AWS_ROLE_ARN: 'arn:aws:sts::123456789012:assumed-role/x/y' }))).toThrow(/^AWS_ROLE_ARN: /);
  });
});
