import { describe, expect, it } from 'vitest';
import { ConfigError } from './env.js';
import { proxyEnvFrom, proxyFor, type ProxyTarget } from './proxy-env.js';

const https = (host: string, port = 443): ProxyTarget => ({ protocol: 'https:', host, port });
const http = (host: string, port = 80): ProxyTarget => ({ protocol: 'http:', host, port });

describe(proxyFor.name, () => {
  it('takes HTTPS_PROXY for https and HTTP_PROXY for http, upper case first, no ALL_PROXY', () => {
    const env = proxyEnvFrom({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', http_proxy: 'proxy.example:3128', ALL_PROXY: 'http://all:3' });
    expect(proxyFor(env, https('sts.us-east-1.amazonaws.com'))?.url.href).toBe('http://upper:1/');
    expect(proxyFor(env, http('169.254.169.254'))?.url.href).toBe('http://proxy.example:3128/');
    expect(proxyFor(proxyEnvFrom({ ALL_PROXY: 'http://all:3' }), https('a.example'))).toBeUndefined();
    expect(proxyFor(proxyEnvFrom({ HTTP_PROXY: 'http://p:1' }), https('a.example'))).toBeUndefined();
  });

  it('never proxies localhost or loopback', () => {
    const env = proxyEnvFrom({ HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1' });
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(proxyFor(env, http(host))).toBeUndefined();
    expect(proxyFor(env, http('localhost.example'))).toBeDefined();
  });

  it.each([
    // [NO_PROXY, target, bypassed]
    ['*', https('sts.amazonaws.com'), true],
    ['amazonaws.com', https('amazonaws.com'), true],
    ['amazonaws.com', https('sts.us-east-1.amazonaws.com'), true],
    ['amazonaws.com', https('notamazonaws.com'), false],
    ['.amazonaws.com', https('amazonaws.com'), false],
    ['.amazonaws.com', https('sts.amazonaws.com'), true],
    ['*.amazonaws.com', https('sts.amazonaws.com'), true],
    [' STS.US-EAST-1.AMAZONAWS.COM ', https('sts.us-east-1.amazonaws.com'), true],
    ['sts.us-east-1.amazonaws.com:443', https('sts.us-east-1.amazonaws.com'), true],
    ['sts.us-east-1.amazonaws.com:8443', https('sts.us-east-1.amazonaws.com'), false],
    ['169.254.169.254', http('169.254.169.254'), true],
    ['169.254.0.0/16', http('169.254.170.23'), true],
    ['10.0.0.0/8', http('169.254.170.23'), false],
    ['169.254.170.23:80', http('169.254.170.23'), true],
    ['169.254.170.23:81', http('169.254.170.23'), false],
    ['fd00::/8', http('[fd00:ec2::254]'), true],
    ['169.254.0.0/16', https('sts.amazonaws.com'), false],
    ['amazonaws.com', http('52.94.0.1'), false],
    [':443,, ', https('sts.amazonaws.com'), false],
  ])('NO_PROXY=%j: %o bypassed: %s', (noProxy, target, bypassed) => {
    const env = proxyEnvFrom({ HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', NO_PROXY: noProxy });
    expect(proxyFor(env, target) === undefined).toBe(bypassed);
  });

  it('reads no_proxy when NO_PROXY is unset', () => {
    expect(proxyFor(proxyEnvFrom({ https_proxy: 'http://p:1', no_proxy: 'example.com' }), https('a.example.com'))).toBeUndefined();
  });

  it('refuses a proxy it cannot use, naming the variable', () => {
    expect(() => proxyEnvFrom({ https_proxy: 'socks5://p:1080' })).toThrow(ConfigError);
    expect(() => proxyEnvFrom({ https_proxy: 'socks5://p:1080' })).toThrow(/^https_proxy: "socks5:\/\/p:1080" is not an http:\/\/ or https:\/\/ proxy URL/);
  });
});
