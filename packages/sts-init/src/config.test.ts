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
      source: { webIdentity: { roleArn: IRSA.AWS_ROLE_ARN, tokenFile: '/var/run/token' }, sessionName: 'ecr-proxy-registry-0', durationSeconds: 3600 },
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
