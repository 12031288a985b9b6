/** sts-init and cred-refresher take a region of every partition the helper's host grammar knows, and STS goes there. */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { PARTITIONS } from '@ecr-proxy/credential-helper';
import { describe, expect, it } from 'vitest';
import { refresherConfig, stsInitConfig } from './config.js';

const REGIONS = ['us-west-2', 'cn-north-1', 'us-gov-west-1', 'us-iso-west-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-east-1', 'eusc-de-east-1'];
// IRSA: without a named credential source the config is refused (issue 9).
const IRSA = { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: '/t' };
const inputs = (region: string) => ({ argv: ['--dir', '/creds'], env: { AWS_REGION: region, ...IRSA }, selfExecutable: '/exe', hostname: 'h' });

describe('regions by partition', () => {
  it('covers one region of each partition', () => {
    expect(new Set(REGIONS.map((r) => PARTITIONS.find((p) => p.regionRegex.test(r))?.id)).size).toBe(PARTITIONS.length);
  });

  it.each(REGIONS)('%s is accepted and STS resolves sts.%s.<partition suffix>', async (region) => {
    expect(stsInitConfig(inputs(region)).region).toBe(region);
    expect(refresherConfig(inputs(region)).region).toBe(region);
    const suffix = PARTITIONS.find((p) => p.regionRegex.test(region))!.dnsSuffix;
    const client = new STSClient({ region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
    let host = '';
    client.middlewareStack.add(
      () => async (args) => {
        host = (args.request as { hostname: string }).hostname;
        throw new Error('captured');
      },
      { step: 'finalizeRequest' },
    );
    await expect(client.send(new GetCallerIdentityCommand({}))).rejects.toThrow('captured');
    expect(host).toBe(`sts.${region}.${suffix}`);
  });

  it.each(['us-east', 'xx-east-1', 'eusc-fr-east-1', 'US-EAST-1', 'mars'])('%j is a configuration error naming the partitions', (region) => {
    expect(() => stsInitConfig(inputs(region))).toThrow(/--region \/ AWS_REGION: .* is not a region of any AWS partition \(aws, aws-cn/);
  });

  it('a region with a newline is refused in one line (no log injection)', () => {
    expect(() => stsInitConfig(inputs('us-east-1\nFAKE LOG LINE'))).toThrow(/^--region \/ AWS_REGION: "us-east-1\\nFAKE LOG LINE" is not a region[^\n]*$/);
  });

  it.each([
    ['HTTPS_PROXY', 'socks5://proxy:99999'],
    ['http_proxy', 'ftp://proxy.example'],
  ])('a proxy URL that cannot work (%s=%s) is a configuration error', (name, value) => {
    expect(() => stsInitConfig({ ...inputs('us-east-1'), env: { [name]: value } })).toThrow(new RegExp(`^${name}: "[^"]*" (is not a proxy URL|has no port)`));
  });
});
