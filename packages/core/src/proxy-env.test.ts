import { describe, expect, it } from 'vitest';
import { ConfigError } from './env.js';
import { proxyEnvFrom, proxyFor, type ProxyTarget } from './proxy-env.js';
import { redactUserinfo } from './redact.js';

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
    expect(proxyFor(env, http('LOCALHOST'))).toBeDefined(); // Go: exact "localhost" only
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

  it.each([
    // [value, kind, href the agent uses, address named in errors]
    ['proxy.example:3128', 'http', 'http://proxy.example:3128/', 'proxy.example:3128'],
    ['http://proxy.example', 'http', 'http://proxy.example/', 'proxy.example:80'],
    ['HTTPS://proxy.example', 'https', 'https://proxy.example/', 'proxy.example:443'],
    ['socks5://u:p@proxy.example', 'socks5', 'socks5h://u:p@proxy.example', 'proxy.example:1080'],
    ['socks5h://proxy.example:9050', 'socks5', 'socks5h://proxy.example:9050', 'proxy.example:9050'],
    // Go has no dialer for ftp://: a plain TCP proxy at its port, as for http:// (WHATWG would drop ftp's port 21).
    ['ftp://proxy.example:21', 'http', 'http://proxy.example:21/', 'proxy.example:21'],
    ['http://[fd00::1]:3128', 'http', 'http://[fd00::1]:3128/', '[fd00::1]:3128'],
  ])('HTTPS_PROXY=%s is a %s proxy at %s', (value, kind, href, address) => {
    const p = proxyEnvFrom({ HTTPS_PROXY: value }).httpsProxy!;
    expect({ kind: p.kind, href: p.url.href, address: p.address }).toEqual({ kind, href, address });
  });

  it.each([
    // A value with a scheme that does not parse is refused, never re-read as http://<value> (Go made this one a
    // proxy at host "http").
    ['http://user:SECRET@proxy.example:99999', 'is not a proxy URL'],
    ['http://user:SECRET@[::1', 'is not a proxy URL'],
    ['socks5://user:SECRET@proxy.example:99999', 'is not a proxy URL'],
    ['ftp://user:SECRET@proxy.example', 'has no port'],
    [' http://proxy.example:3128', 'is not a proxy URL'],
    ['http://', 'is not a proxy URL'],
    // A scheme with a typo is not a host called "https" (Go's reading, which in Kubernetes can reach a Service).
    ['https:/proxy.example:3128', 'has a scheme without "//"'],
    ['http:/user:SECRET@proxy.example:3128', 'has a scheme without "//"'],
    // Decoded for every request's Proxy-Authorization: a bad escape failed each request (and crashed the refresher).
    ['http://user:SEK%RIT@proxy.example:3128', 'has user info that is not valid percent-encoding'],
    ['socks5://user%zz:SECRET@proxy.example', 'has user info that is not valid percent-encoding'],
  ])('refuses %j in one line naming the variable, without the password', (value, why) => {
    const err = (() => {
      try {
        proxyEnvFrom({ https_proxy: value });
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(new RegExp(`^https_proxy: ".*" ${why}`));
    expect(err.message).not.toMatch(/SECRET|\n/);
  });

  it.each([
    // Go compares IPs as addresses and never matches an IPv4 host with an IPv6 net or the reverse.
    ['[fd00::0001]:443', https('fd00::1'), true],
    ['fd00::0001', https('[fd00::1]'), true],
    ['::/0', https('10.0.0.1'), false],
    ['::ffff:10.0.0.0/104', https('10.0.0.1'), false],
    ['0.0.0.0/0', https('fd00::1'), false],
  ])('NO_PROXY=%j: %o bypassed: %s (IPs as Go compares them)', (noProxy, target, bypassed) => {
    expect(proxyFor(proxyEnvFrom({ HTTPS_PROXY: 'http://p:1', NO_PROXY: noProxy }), target) === undefined).toBe(bypassed);
  });
});

describe(redactUserinfo.name, () => {
  it.each([
    ['http://user:pw@proxy:3128', 'http://xxxxx@proxy:3128'],
    ['user:pw@proxy:3128', 'xxxxx@proxy:3128'],
    ['https://u:p@ss/w@rd@host/x', 'https://xxxxx@host/x'],
    ['https://host/path', 'https://host/path'],
  ])('%s -> %s', (value, shown) => expect(redactUserinfo(value)).toBe(shown));
});
