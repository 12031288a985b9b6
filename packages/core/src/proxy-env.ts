/**
 * Which proxy a request takes, with the semantics of Go's `net/http.ProxyFromEnvironment`
 * (golang.org/x/net/http/httpproxy, as vendored in Go 1.26), which is what the reference helper, registry 3.0.0 and
 * the AWS SDK for Go use, so one set of variables means the same to every process of the pod:
 *
 * - `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http URLs; the upper-case name wins, then the lower-case one; no
 *   `ALL_PROXY`. A value without a scheme is taken as `http://…`. Only http:// and https:// proxies are supported.
 * - Never proxied: `localhost` and loopback addresses.
 * - `NO_PROXY` (then `no_proxy`), comma-separated: `*` (everything), an IP, a CIDR (`10.0.0.0/8`, `fd00::/8`), an
 *   IP or a host with `:port`, `example.com` (itself and every subdomain), `.example.com` / `*.example.com`
 *   (subdomains only). Case-insensitive.
 *
 * Pure and SDK-free; node:net is only for IP parsing. The agents that act on this are in proxy-agent.ts.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError, firstSet, type Env } from './env.js';

export interface ProxyTarget {
  protocol: 'http:' | 'https:';
  /** Host name or IP (IPv6 with or without brackets). */
  host: string;
  port: number;
}

export interface ProxyEnv {
  httpProxy: URL | undefined;
  httpsProxy: URL | undefined;
  /** true when NO_PROXY bypasses `host` on `port` (a host name lower-cased, or an IP). */
  bypass(host: string, port: string): boolean;
}

interface DomainRule {
  suffix: string;
  matchHost: boolean;
  port: string;
}

/** Go's parseProxy: a value without scheme or host is retried as `http://<value>`; then only http(s) is supported. */
function parseProxy(name: string, value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  const parse = (text: string) => {
    try {
      return new URL(text);
    } catch {
      return undefined;
    }
  };
  let url = parse(value);
  if (!url || url.host === '') url = parse(`http://${value}`);
  if (!url || url.host === '' || !/^https?:$/.test(url.protocol)) {
    throw new ConfigError(`${name}: "${value}" is not an http:// or https:// proxy URL (e.g. http://proxy.example:3128)`);
  }
  return url;
}

/** net.SplitHostPort for a NO_PROXY entry: [host, port] or undefined when it is not host:port. */
function splitHostPort(entry: string): [string, string] | undefined {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(entry);
  if (bracketed) return [bracketed[1]!, bracketed[2]!];
  const colon = entry.indexOf(':');
  if (colon === -1 || colon !== entry.lastIndexOf(':') || entry.includes('[') || entry.includes(']')) return undefined;
  return [entry.slice(0, colon), entry.slice(colon + 1)];
}

const family = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

function noProxyMatcher(value: string | undefined): ProxyEnv['bypass'] {
  const ips = new BlockList();
  const ipWithPort: Array<{ ip: string; port: string }> = [];
  const domains: DomainRule[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return () => true;
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr && isIP(cidr[1]!) && Number(cidr[2]) <= (isIP(cidr[1]!) === 6 ? 128 : 32)) {
      ips.addSubnet(cidr[1]!, Number(cidr[2]), family(cidr[1]!));
      continue;
    }
    const split = splitHostPort(entry);
    if (split && split[0] === '') continue; // ":80": no host, ignored as Go does
    const [host, port] = split ?? [entry, ''];
    if (isIP(host)) {
      if (port === '') ips.addAddress(host, family(host));
      else ipWithPort.push({ ip: host, port });
      continue;
    }
    let suffix = host.startsWith('*.') ? host.slice(1) : host;
    const matchHost = !suffix.startsWith('.');
    if (matchHost) suffix = `.${suffix}`;
    domains.push({ suffix, matchHost, port });
  }
  return (host, port) => {
    if (isIP(host)) {
      return ips.check(host, family(host)) || ipWithPort.some((r) => r.ip === host && r.port === port);
    }
    return domains.some((d) => (host.endsWith(d.suffix) || (d.matchHost && host === d.suffix.slice(1))) && (d.port === '' || d.port === port));
  };
}

/** Reads the proxy variables once. Throws ConfigError (one line, naming the variable) on a proxy URL that cannot work. */
export function proxyEnvFrom(env: Env): ProxyEnv {
  const pick = (upper: string) => {
    const name = env[upper] ? upper : upper.toLowerCase();
    return [name, firstSet(env, upper, upper.toLowerCase())] as const;
  };
  const [httpName, http] = pick('HTTP_PROXY');
  const [httpsName, https] = pick('HTTPS_PROXY');
  return {
    httpProxy: parseProxy(httpName, http),
    httpsProxy: parseProxy(httpsName, https),
    bypass: noProxyMatcher(firstSet(env, 'NO_PROXY', 'no_proxy')),
  };
}

function isLoopback(ip: string): boolean {
  return isIP(ip) === 4 ? ip.startsWith('127.') : ip === '::1' || /^::ffff:127\./i.test(ip);
}

/** The proxy for one request, or undefined to go direct. */
export function proxyFor(proxy: ProxyEnv, target: ProxyTarget): URL | undefined {
  const url = target.protocol === 'https:' ? proxy.httpsProxy : proxy.httpProxy;
  if (!url) return undefined;
  const host = target.host.replace(/^\[(.*)\]$/, '$1').trim().toLowerCase();
  if (host === 'localhost' || (isIP(host) && isLoopback(host))) return undefined;
  return proxy.bypass(host, String(target.port)) ? undefined : url;
}

/** Whether any proxy variable is set at all (then every AWS call goes through proxy-agent.ts). */
export function hasProxyEnv(env: Env): boolean {
  return firstSet(env, 'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy') !== undefined;
}
