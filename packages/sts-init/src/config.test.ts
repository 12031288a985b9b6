import { ConfigError } from '@ecr-proxy/core';
import { describe, expect, it } from 'vitest';
import { refresherConfig, sessionNameFor, stsInitConfig } from './config.js';

const base = { selfExecutable: '/usr/local/bin/docker-credential-ecr-login', hostname: 'registry-0' };
const IRSA = { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token' };

describe(stsInitConfig.name, () => {
  it('applies the documented defaults', () => {
    const c = stsInitConfig({ ...base, argv: ['--dir', '/creds'], env: IRSA });
    expect(c).toMatchObject({
      dir: '/creds', region: 'us-east-1', profile: 'default', marginMs: 25 * 60_000, fileMode: 0o600, timeoutMs: 120_000,
      ecrCacheDir: '/creds/ecr', ecrRegistries: [], cacheIdentity: 'role:arn:aws:iam::123456789012:role/r',
      source: {
        base: { kind: 'web-identity', roleArn: IRSA.AWS_ROLE_ARN, tokenFile: '/var/run/token' }, sessionName: 'ecr-proxy-registry-0', durationSeconds: 3600,
        expectedRoleArn: IRSA.AWS_ROLE_ARN,
      },
      credentialProcessCommand: '/usr/local/bin/docker-credential-ecr-login credential-process --dir /creds --margin 25m',
    });
  });

  it('flags win over env', () => {
    const env = { ...IRSA, CREDENTIALS_DIR: '/env', AWS_REGION: 'eu-west-1', CREDENTIALS_MARGIN: '10m', CREDENTIALS_FILE_MODE: '0600' };
    const c = stsInitConfig({ ...base, argv: ['--dir=/flag', '--region', 'eu-central-1', '--file-mode', '0640'], env });
    expect(c).toMatchObject({ dir: '/flag', region: 'eu-central-1', marginMs: 600_000, fileMode: 0o640 });
  });

  it.each([
    [{ AWS_ROLE_ARN: IRSA.AWS_ROLE_ARN }, ['--dir', '/c'], /AWS_WEB_IDENTITY_TOKEN_FILE is not/],
    [{ AWS_WEB_IDENTITY_TOKEN_FILE: '/t' }, ['--dir', '/c'], /AWS_ROLE_ARN is not/],
    [IRSA, [], /no credentials directory/],
    [IRSA, ['--dir', '/c', '--file-mode', '0644'], /0600 or 0640/],
    [IRSA, ['--dir', '/c', '--margin', '2h'], /must be shorter than --duration/],
    [IRSA, ['--dir', '/c', '--ecr-registries', 'docker.io'], /not an ECR registry host/],
    [IRSA, ['--dir', '/c', '--external-id', 'x'], /needs --target-role-arn/],
    [IRSA, ['--dir', '/c', '--bogus', 'x'], /unknown flag --bogus/],
    [IRSA, ['--dir', '/c', '--credential-process-command', 'x # y'], null],
  ])('refuses %o %o', (env, argv, message) => {
    if (message === null) {
      expect(() => stsInitConfig({ ...base, argv, env })).not.toThrow();
      return;
    }
    expect(() => stsInitConfig({ ...base, argv, env })).toThrow(ConfigError);
    expect(() => stsInitConfig({ ...base, argv, env })).toThrow(message);
  });

  it('needs --credential-process-command when not running as the built executable', () => {
    expect(() => stsInitConfig({ argv: ['--dir', '/c'], env: IRSA, selfExecutable: undefined })).toThrow(/--credential-process-command/);
  });

  it('quotes a directory with spaces for sh -c', () => {
    const c = stsInitConfig({ ...base, argv: ['--dir', "/my creds/it's"], env: IRSA });
    expect(c.credentialProcessCommand).toBe(`/usr/local/bin/docker-credential-ecr-login credential-process --dir '/my creds/it'\\''s' --margin 25m`);
  });

  it('keeps a session name STS accepts', () => {
    expect(sessionNameFor('pod_name:with/odd' + 'x'.repeat(80))).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});

describe(refresherConfig.name, () => {
  it('parses the refresher flags and refuses a non-loopback container endpoint', () => {
    const c = refresherConfig({ ...base, argv: ['--dir', '/c', '--listen', '127.0.0.1:0', '--container-credentials-listen', '127.0.0.1:9911'], env: { ...IRSA, REFRESH_FRACTION: '0.6' } });
    expect(c).toMatchObject({ listen: { host: '127.0.0.1', port: 0 }, refreshFraction: 0.6, ecrRefreshFraction: 0.4, containerCredentials: { listen: { host: '127.0.0.1', port: 9911 }, tokenFile: '/c/container-token' } });
    expect(() => refresherConfig({ ...base, argv: ['--dir', '/c', '--container-credentials-listen', '0.0.0.0:9911'], env: IRSA })).toThrow(/loopback/);
    expect(() => refresherConfig({ ...base, argv: ['--dir', '/c', '--refresh-fraction', '1.5'], env: IRSA })).toThrow(/fraction/);
  });
});

describe('the credential source is explicit (issue 9: no IRSA env ended at the node instance role)', () => {
  it('refuses to start with no source named, unless the instance role is opted in', () => {
    expect(() => stsInitConfig({ ...base, argv: ['--dir', '/c'], env: {} })).toThrow(ConfigError);
    expect(() => stsInitConfig({ ...base, argv: ['--dir', '/c'], env: {} })).toThrow(/no credential source.*--allow-instance-role/);
    expect(() => refresherConfig({ ...base, argv: ['--dir', '/c'], env: {} })).toThrow(/no credential source/);
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c', '--allow-instance-role', 'true'], env: {} }).source.base).toEqual({ kind: 'instance' });
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ALLOW_INSTANCE_ROLE: 'true' } }).source.base).toEqual({ kind: 'instance' });
    expect(() => stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ALLOW_INSTANCE_ROLE: 'yes please' } })).toThrow(/true or false/);
    // One boolean rule everywhere: exactly true or false.
    for (const text of ['1', '0', 'TRUE']) expect(() => stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ALLOW_INSTANCE_ROLE: text } })).toThrow(/must be true or false/);
  });

  it.each([
    [IRSA, 'web-identity'],
    [{ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials' }, 'container'],
    [{ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'x' }, 'static'],
    [{ AWS_PROFILE: 'p' }, 'profile'],
    [{ AWS_CONFIG_FILE: '/c/aws-config' }, 'profile'],
  ] as const)('%o -> %s, never the instance role', (env, kind) => {
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c', '--allow-instance-role', 'true'], env }).source.base.kind).toBe(kind);
  });

  it('expects the target role, else the web identity role, unless EXPECTED_ROLE_ARN says otherwise', () => {
    const target = 'arn:aws:iam::210987654321:role/storage';
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c', '--target-role-arn', target], env: IRSA }).source.expectedRoleArn).toBe(target);
    const pinned = 'arn:aws:iam::123456789012:role/pinned';
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ...IRSA, EXPECTED_ROLE_ARN: pinned } }).source.expectedRoleArn).toBe(pinned);
    expect(() => stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ...IRSA, EXPECTED_ROLE_ARN: 'node-role' } })).toThrow(/EXPECTED_ROLE_ARN.*not an IAM role ARN/);
    // Pod Identity names no role, and the cache key is not one: only EXPECTED_ROLE_ARN can (the chart values set it).
    const podIdentity = { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', ECR_LOGIN_CACHE_IDENTITY: pinned };
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c'], env: podIdentity }).source.expectedRoleArn).toBeUndefined();
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ...podIdentity, EXPECTED_ROLE_ARN: pinned } }).source.expectedRoleArn).toBe(pinned);
  });

  it('Pod Identity: the authorization token file is part of the source (read, trimmed, on every call by sources.ts)', () => {
    const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token' };
    expect(stsInitConfig({ ...base, argv: ['--dir', '/c'], env }).source.base).toEqual({ kind: 'container', tokenFile: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE });
  });
});

describe('bounds (issue 9: 2^31 ms overflowed timers, REFRESH_FRACTION=1e-9 gave 100 STS calls a second)', () => {
  it.each([
    [{ STS_TIMEOUT: '3000000' }, /STS_TIMEOUT.*out of range/],
    [{ STS_TIMEOUT: '2147484s' }, /STS_TIMEOUT.*out of range/],
    [{ CREDENTIALS_MARGIN: '10ms' }, /CREDENTIALS_MARGIN.*out of range; use between 100ms and 12h/],
    [{ ROLE_DURATION: '899' }, /ROLE_DURATION.*out of range; use between 15m and 12h/],
    [{ ROLE_DURATION: '43201' }, /ROLE_DURATION.*out of range/],
    [{ REFRESH_FRACTION: '1e-9' }, /REFRESH_FRACTION.*between 0.1 and 0.9/],
    [{ REFRESH_FRACTION: '0.95' }, /REFRESH_FRACTION/],
    [{ ECR_REFRESH_FRACTION: '0.01' }, /ECR_REFRESH_FRACTION/],
    [{ REFRESH_FLOOR: '1ms' }, /REFRESH_FLOOR.*out of range/],
    [{ REFRESHER_LISTEN: '[zz]:1' }, /REFRESHER_LISTEN.*not host:port/],
    [{ REFRESHER_LISTEN: '999.1.1.1:80' }, /not host:port/],
    [{ REFRESHER_LISTEN: 'bad_host!:80' }, /not host:port/],
  ])('%o is a one-line ConfigError', (env, message) => {
    const run = () => refresherConfig({ ...base, argv: ['--dir', '/c'], env: { ...IRSA, ...env } });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });

  it('accepts the edges', () => {
    const c = refresherConfig({ ...base, argv: ['--dir', '/c'], env: { ...IRSA, ROLE_DURATION: '43200', REFRESH_FRACTION: '0.1', REFRESH_FLOOR: '100ms', REFRESHER_LISTEN: '[::1]:9101' } });
    expect(c).toMatchObject({ source: { durationSeconds: 43200 }, refreshFraction: 0.1, refreshFloorMs: 100, listen: { host: '::1', port: 9101 } });
    expect(refresherConfig({ ...base, argv: ['--dir', '/c'], env: IRSA }).refreshFloorMs).toBe(60_000);
  });

  it('a value with a newline gives a one-line error', () => {
    const run = () => stsInitConfig({ ...base, argv: ['--dir', '/c'], env: { ...IRSA, AWS_REGION: 'eu-west-1\nlevel=error msg=forged' } });
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).toContain('\\n');
    }
  });
});
