/**
 * The part of Go's net/url that decides which host docker-credential-ecr-login v0.12.0 sees: `url.Parse` of an
 * `https://` URL (which fails, or gives a host), then `URL.Hostname()`. Ported from Go 1.26's src/net/url/url.go
 * (`Parse`, `parse`, `parseAuthority`, `parseHost`, `unescape`, `validOptionalPort`, `validUserinfo`,
 * `splitHostPort`) with the GODEBUG defaults of the reference's go.mod (`go 1.24`, so `urlstrictcolons=0`: an https
 * host with several colons splits its port at the last one).
 *
 * Works on JS strings: every delimiter and every check is ASCII, and a UTF-8 byte >= 0x80 is a code unit >= 0x80 here,
 * so "non-ASCII byte" and "non-ASCII character" decide alike. Not a general URL parser: the path, query, fragment and
 * user info are only checked for what makes Go's Parse fail.
 */

const HEX = /^[0-9a-fA-F]{2}$/;

/** Bytes Go's `shouldEscape(c, encodeHost)` lets stand in a host: unreserved, sub-delims, `:[]<>"`. */
const HOST_ASCII = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]$/;

/** `validUserinfo`: RFC 3986 userinfo characters, plus `@` (Go accepts `user:p@ss@host`). */
const USERINFO = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;

/** `stringContainsCTLByte`. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** `validOptionalPort`: empty, or `:` and ASCII digits (any number of them: Go checks no range). */
function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

/**
 * `unescape` in the modes that matter here. Every mode refuses a `%` without two hex digits. In a host (and zone),
 * `%XX` may only encode a non-ASCII byte (or `%25`), and an ASCII byte outside HOST_ASCII is an error.
 * Returns undefined on error; escaped bytes come back as one code unit each (0x80-0xff or `%`).
 */
function unescape(s: string, mode: 'host' | 'zone' | 'other'): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      const byte = parseInt(hex, 16);
      if (mode === 'host' && byte < 0x80 && hex !== '25') return undefined;
      // A zone may escape only what it could hold unescaped (or a space, or `%`).
      if (mode === 'zone' && hex !== '25' && byte !== 0x20 && !HOST_ASCII.test(String.fromCharCode(byte))) return undefined;
      out += String.fromCharCode(byte);
      i += 3;
      continue;
    }
    if (mode !== 'other' && c.charCodeAt(0) < 0x80 && !HOST_ASCII.test(c)) return undefined;
    out += c;
    i++;
  }
  return out;
}

/**
 * `parseHost` for `https`: the host (brackets and port kept) or undefined where Go fails. An IP literal is checked
 * for its brackets, port and escapes, not for being a valid IPv6 address (`netip.ParseAddr`): no IP literal can
 * match the ECR host pattern, so whether Go accepts it never changes the answer.
 */
function parseHost(host: string): string | undefined {
  const open = host.lastIndexOf('[');
  if (open > 0) return undefined;
  if (open === 0) {
    const close = host.lastIndexOf(']');
    if (close < 0) return undefined;
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) return undefined;
    const inner = host.slice(1, close);
    const zone = inner.indexOf('%25');
    const hostPart = unescape(zone >= 0 ? inner.slice(0, zone) : inner, 'host');
    const zonePart = zone >= 0 ? unescape(inner.slice(zone), 'zone') : '';
    if (hostPart === undefined || zonePart === undefined || !(hostPart + zonePart).includes(':')) return undefined;
    return `[${hostPart}${zonePart}]${colonPort}`;
  }
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && !validOptionalPort(host.slice(colon))) return undefined;
  return unescape(host, 'host');
}

/** `URL.Hostname()`: the host without a valid `:port` and without IP-literal brackets. */
function hostnameOfHost(host: string): string {
  let name = host;
  const colon = name.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(name.slice(colon))) name = name.slice(0, colon);
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return name;
}

/**
 * `url.Parse("https://" + rest)` then `.Hostname()`: undefined where Go's Parse returns an error.
 * `rest` is what follows the scheme; the caller has stripped the reference's one lower-case `https://` already.
 */
export function goHttpsHostname(rest: string): string | undefined {
  const hash = rest.indexOf('#');
  const beforeFragment = hash === -1 ? rest : rest.slice(0, hash);
  const fragment = hash === -1 ? '' : rest.slice(hash + 1);
  // parse(): control bytes anywhere before the fragment are an error; the fragment is only unescaped (setFragment).
  if (hasControl(beforeFragment)) return undefined;
  let afterScheme = `//${beforeFragment}`;
  if (afterScheme.endsWith('?') && afterScheme.indexOf('?') === afterScheme.length - 1) afterScheme = afterScheme.slice(0, -1);
  else if (afterScheme.includes('?')) afterScheme = afterScheme.slice(0, afterScheme.indexOf('?'));
  let authority = afterScheme.slice(2);
  let path = '';
  const slash = authority.indexOf('/');
  if (slash >= 0) [authority, path] = [authority.slice(0, slash), authority.slice(slash)];
  // parseAuthority: the host is what follows the LAST '@'; it is parsed before the user info is checked.
  const at = authority.lastIndexOf('@');
  const host = parseHost(at < 0 ? authority : authority.slice(at + 1));
  if (host === undefined) return undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    if (!USERINFO.test(userinfo) || unescape(userinfo, 'other') === undefined) return undefined;
  }
  if (unescape(path, 'other') === undefined) return undefined; // setPath
  if (fragment !== '' && unescape(fragment, 'other') === undefined) return undefined; // setFragment
  return hostnameOfHost(host);
}
