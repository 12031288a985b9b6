import { describe, expect, it } from 'vitest';
import { isAllowed, parseEcrRegistry } from './registry-host.js';

describe(parseEcrRegistry.name, () => {
  it.each([
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com', 'us-west-2'],
    ['https://123456789012.dkr.ecr.us-west-2.amazonaws.com', 'us-west-2'],
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com:443', 'us-west-2'],
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com/v2/repo/manifests/latest', 'us-west-2'],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    ['123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu', 'eusc-de-east-1'],
    ['123456789012.dkr-ecr.us-east-1.on.aws', 'us-east-1'],
    ['123456789012.dkr-ecr-fips.us-east-1.on.aws', 'us-east-1'],
    ['123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn', 'cn-north-1'],
    ['123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov', 'us-isob-east-1'],
    ['123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov', 'us-iso-east-1'],
    ['123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk', 'eu-isoe-west-1'],
    ['123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov', 'us-isof-south-1'],
    // Accepted by Go's net/url, refused by WHATWG's:
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com:99999', 'us-west-2'],
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com:', 'us-west-2'],
    ['u:p@x@123456789012.dkr.ecr.us-west-2.amazonaws.com', 'us-west-2'],
    ['123456789012.dkr.ecr.us-west-2.amazonaws.com/a b#\u0001', 'us-west-2'],
    ['123456789012.dkr.ecr.Us_West-2.amazonaws.com', 'Us_West-2'],
  ])('%s is private ECR in %s', (url, region) => {
    expect(parseEcrRegistry(url)).toMatchObject({ kind: 'private', registryId: '123456789012', region });
  });

  it.each(['public.ecr.aws', 'https://public.ecr.aws', 'ecr-public.aws.com', 'public.ecr.aws/v2/'])('%s is ECR Public', (url) => {
    expect(parseEcrRegistry(url)).toMatchObject({ kind: 'public', region: 'us-east-1' });
  });

  it.each([
    '',
    'example.com',
    'docker.io',
    '123456789012.dkr.ecr.us-west-2.amazonaws.com.evil.example',
    'evil.example/123456789012.dkr.ecr.us-west-2.amazonaws.com',
    'x123456789012.dkr.ecr.us-west-2.amazonaws.com',
    '12345678901.dkr.ecr.us-west-2.amazonaws.com',
    '123456789012.dkr.ecr.us-west-2.amazonaws.org',
    '123456789012.dkr.ecr..amazonaws.com',
    'HTTPS://123456789012.dkr.ecr.us-west-2.amazonaws.com',
    'public.ecr.aws.evil.example',
    // Go's net/url and the case-sensitive pattern, where WHATWG's URL parser would say yes:
    '123456789012.DKR.ECR.us-east-1.amazonaws.com',
    'PUBLIC.ECR.AWS',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com.',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com\\@evil.example',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com\\x',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com/%zz',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com#%zz',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com:abc',
    '12345678901%32.dkr.ecr.us-east-1.amazonaws.com',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com\t',
    '123456789012.dkr\u3002ecr.us-east-1.amazonaws.com',
    '１23456789012.dkr.ecr.us-east-1.amazonaws.com',
    'user name@123456789012.dkr.ecr.us-east-1.amazonaws.com',
    '[::1]:443',
  ])('%s is not ECR', (url) => {
    expect(parseEcrRegistry(url)).toBeUndefined();
  });
});

describe(isAllowed.name, () => {
  const priv = parseEcrRegistry('123456789012.dkr.ecr.us-west-2.amazonaws.com')!;
  const pub = parseEcrRegistry('public.ecr.aws')!;
  it('allows everything when the list is empty', () => {
    expect(isAllowed(priv, [])).toBe(true);
    expect(isAllowed(pub, [])).toBe(true);
  });
  it('allows only listed registry ids and "public"', () => {
    expect(isAllowed(priv, ['123456789012'])).toBe(true);
    expect(isAllowed(priv, ['210987654321', 'public'])).toBe(false);
    expect(isAllowed(pub, ['public'])).toBe(true);
    expect(isAllowed(pub, ['123456789012'])).toBe(false);
  });
});
