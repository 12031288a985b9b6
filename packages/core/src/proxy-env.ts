/**
 * Which proxy a request takes, with the semantics of Go's `net/http.ProxyFromEnvironment`
 * (golang.org/x/net/http/httpproxy, as vendored in Go 1.26), which is what the reference helper, registry 3.0.0 and
 * the AWS SDK for Go use, so one set of variables means the same to every process of the pod:
 *
 * - `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http URLs; the upper-case name wins, then the lower-case one; no
 *   `ALL_PROXY`. A value without a scheme (`proxy:3128`) is taken as `http://…`; a value with a scheme (`x://…`) that
 *   does not parse, or has no host, is refused (Go's transport fails every request on it too), never re-read.
 * - Schemes as Go's transport (net/http transport.go `dialConn`): `socks5://` and `socks5h://` speak SOCKS5 with the
 *   target's host name (Go never resolves locally for either); `https://` is TLS to the proxy; any other scheme
 *   (`http://`, also `ftp://`…) is a plain TCP proxy (CONNECT for https targets). Default ports as Go's `portMap`:
 *   http 80, https 443, socks5/socks5h 1080; another scheme needs an explicit port.
 * - Never proxied: `localhost` and loopback addresses.
 * - `NO_PROXY` (then `no_proxy`), comma-separated: `*` (everything), an IP, a CIDR (`10.0.0.0/8`, `fd00::/8`), an
 *   IP or a host with `:port`, `example.com` (itself and every subdomain), `.example.com` / `*.example.com`
 *   (subdomains only). Case-insensitive.
 *
 * Pure and SDK-free; node:net is only for IP parsing. The agents that act on this are in proxy-agent.ts.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError, firstSet, type Env } from './env.js';
import { redactUserinfo } from './redact.js';

export interface ProxyTarget {
  protocol: 'http:' | 'https:';
  /** Host name or IP (IPv6 with or without brackets). */
  host: string;
  port: number;
}

/** A proxy to use: `url` has scheme http:, https: or socks5h: and an explicit or default port. */
export interface ProxyUrl {
  url: URL;
  /** `host:port` of the proxy, for error lines (never the user info). */
  address: string;
  kind: 'http' | 'https' | 'socks5';
}

export interface ProxyEnv {
  httpProxy: ProxyUrl | undefined;
  httpsProxy: ProxyUrl | undefined;
  /** true when NO_PROXY bypasses `host` on `port` (a host name lower-cased, or an IP). */
  bypass(host: string, port: string): boolean;
}

interface DomainRule {
  suffix: string;
  matchHost: boolean;
  port: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443', socks5: '1080', socks5h: '1080' };

/**
 * Go's parseProxy (httpproxy) and dialConn, with one difference named in the module comment: a value with a scheme
 * that fails to parse is an error, where Go re-reads it as `http://<value>` (which made `http://u:p@proxy:99999` a
 * proxy at host `http`).
 */
function parseProxy(name: string, value: string | undefined): ProxyUrl | undefined {
  if (value === undefined) return undefined;
  const shown = JSON.stringify(redactUserinfo(value));
  const fail = (why: string): never => {
    throw new ConfigError(`${name}: ${shown} ${why} (e.g. http://proxy.example:3128 or socks5://proxy.example:1080)`);
  };
  const given = SCHEME.exec(value)?.[1]?.toLowerCase();
  // `https:/proxy:3128` is a scheme with a typo, not a host called `https` (Go reads it as the latter).
  if (given === undefined && /^[A-Za-z][A-Za-z0-9+.-]*:\//.test(value)) fail('has a scheme without "//"');
  const scheme = given ?? 'http';
  // WHATWG drops a special scheme's default port (ftp's 21): parse every plain-TCP proxy as http:// with its own port.
  const kind = scheme === 'https' ? 'https' : scheme === 'socks5' || scheme === 'socks5h' ? 'socks5' : 'http';
  const text = given === undefined ? `http://${value}` : `${kind === 'socks5' ? 'socks5h' : kind}://${value.slice(given.length + 3)}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a proxy URL');
  }
  if (url.hostname === '') fail('has no host');
  try {
    // Decoded for Proxy-Authorization on every request: a bad escape must fail here, once, not in each request.
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    fail('has user info that is not valid percent-encoding (write % as %25)');
  }
  if (url.pathname !== '/' && url.pathname !== '' && kind !== 'http') fail('has a path');
  const explicitPort = /^[^/?#]*:(\d+)(?:[/?#]|$)/.exec(text.slice(text.indexOf('//') + 2).replace(/^[\s\S]*@/, ''))?.[1];
  const port = explicitPort ?? DEFAULT_PORT[scheme];
  if (port === undefined) fail(`has no port (a ${scheme}:// proxy has no default port)`);
  if (url.port === '' && port !== DEFAULT_PORT[kind === 'socks5' ? 'socks5' : kind]) url.port = port!;
  const host = url.hostname;
  return { url, address: `${host}:${Number(port)}`, kind };
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

function sameAddress(a: string, b: string): boolean {
  if (family(a) !== family(b)) return false;
  const one = new BlockList();
  one.addAddress(a, family(a));
  return one.check(b, family(b));
}

/**
 * Go compares NO_PROXY IPs as addresses (`fd00::0001` is `fd00::1`) and an IPv4 net never contains an IPv6 address
 * nor the reverse (`::/0` does not match 10.0.0.1): one BlockList per family, checked only for its own family.
 */
function noProxyMatcher(value: string | undefined): ProxyEnv['bypass'] {
  const ips = { ipv4: new BlockList(), ipv6: new BlockList() };
  const ipWithPort: Array<{ ip: string; port: string }> = [];
  const domains: DomainRule[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return () => true;
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr && isIP(cidr[1]!) && Number(cidr[2]) <= (isIP(cidr[1]!) === 6 ? 128 : 32)) {
      ips[family(cidr[1]!)].addSubnet(cidr[1]!, Number(cidr[2]), family(cidr[1]!));
      continue;
    }
    const split = splitHostPort(entry);
    if (split && split[0] === '') continue; // ":80": no host, ignored as Go does
    const [host, port] = split ?? [entry, ''];
    if (isIP(host)) {
      if (port === '') ips[family(host)].addAddress(host, family(host));
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
      return ips[family(host)].check(host, family(host)) || ipWithPort.some((r) => r.port === port && sameAddress(r.ip, host));
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
export function proxyFor(proxy: ProxyEnv, target: ProxyTarget): ProxyUrl | undefined {
  const url = target.protocol === 'https:' ? proxy.httpsProxy : proxy.httpProxy;
  if (!url) return undefined;
  const raw = target.host.replace(/^\[(.*)\]$/, '$1');
  // Go compares the request's host to "localhost" before lower-casing it (LOCALHOST is proxied), then lower-cases.
  if (raw === 'localhost') return undefined;
  const host = raw.trim().toLowerCase();
  if (isIP(host) && isLoopback(host)) return undefined;
  return proxy.bypass(host, String(target.port)) ? undefined : url;
}

/** Whether any proxy variable is set at all (then every AWS call goes through proxy-agent.ts). */
export function hasProxyEnv(env: Env): boolean {
  return firstSet(env, 'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy') !== undefined;
}
