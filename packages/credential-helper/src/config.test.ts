import { ConfigError } from '@ecr-proxy/core';
import { describe, expect, it } from 'vitest';
import { helperConfigFromEnv } from './config.js';

describe(helperConfigFromEnv.name, () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('ECR_LOGIN_LOG_LEVEL=%s is refused (issue 10)', (level) => {
    expect(() => helperConfigFromEnv({ HOME: '/h', ECR_LOGIN_LOG_LEVEL: level })).toThrow(ConfigError);
  });

  it('refuses a timeout a timer cannot hold (issue 9: 2147484s made every get fail, even from the cache)', () => {
    expect(() => helperConfigFromEnv({ HOME: '/h', ECR_LOGIN_TIMEOUT: '2147484s' })).toThrow(/ECR_LOGIN_TIMEOUT.*out of range/);
  });

  it('never falls through to instance metadata when the env names a credential source, unless told', () => {
    // Opt-in only: not even with nothing named (a failing profile in ~/.aws/config names nothing in env).
    expect(helperConfigFromEnv({ HOME: '/h' }).allowInstanceRole).toBe(false);
    for (const text of ['1', 'TRUE', 'yes']) expect(() => helperConfigFromEnv({ HOME: '/h', ECR_LOGIN_ALLOW_INSTANCE_ROLE: text })).toThrow(/must be true or false/);
    expect(helperConfigFromEnv({ HOME: '/h', AWS_CONFIG_FILE: '/creds/aws-config' }).allowInstanceRole).toBe(false);
    expect(helperConfigFromEnv({ HOME: '/h', AWS_ROLE_ARN: 'arn:r', AWS_WEB_IDENTITY_TOKEN_FILE: '/t' }).allowInstanceRole).toBe(false);
    expect(helperConfigFromEnv({ HOME: '/h', AWS_CONFIG_FILE: '/c', ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'true' }).allowInstanceRole).toBe(true);
    expect(helperConfigFromEnv({ HOME: '/h', ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'false' }).allowInstanceRole).toBe(false);
    expect(() => helperConfigFromEnv({ HOME: '/h', ECR_LOGIN_ALLOW_INSTANCE_ROLE: 'maybe' })).toThrow(/true or false/);
  });

  it('counts runs in the cache directory only when AWS_ECR_CACHE_DIR names it (the chart values), unless turned off', () => {
    expect(helperConfigFromEnv({ HOME: '/h', AWS_ECR_CACHE_DIR: '/creds/aws/ecr' }).runLogDir).toBe('/creds/aws/ecr');
    expect(helperConfigFromEnv({ HOME: '/h' }).runLogDir).toBeUndefined(); // a workstation's ~/.ecr: no reader
    expect(helperConfigFromEnv({ HOME: '/h', AWS_ECR_CACHE_DIR: '/c', ECR_LOGIN_COUNT_RUNS: 'false' }).runLogDir).toBeUndefined();
    expect(helperConfigFromEnv({ HOME: '/h', AWS_ECR_CACHE_DIR: '/c', AWS_ECR_DISABLE_CACHE: '1' }).runLogDir).toBeUndefined();
    expect(() => helperConfigFromEnv({ HOME: '/h', ECR_LOGIN_COUNT_RUNS: 'no' })).toThrow(/ECR_LOGIN_COUNT_RUNS.*true or false/);
  });
});
