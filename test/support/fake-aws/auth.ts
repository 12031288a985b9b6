// Who is calling: the access key of a SigV4-signed request, looked up in the key table. The signature is not
// checked (the SDK signs correctly; what tests exercise is expiry and unknown keys), but the session token must be
// the one issued with the key, so mixing keys of two sessions fails as it does on AWS.
import type { IncomingHttpHeaders } from 'node:http';
import type { FakeContext } from './context.js';
import type { IssuedCredentials } from './keys.js';
import { scopeFromAuthorization } from './wire.js';

export type AuthResult =
  | { ok: true; accessKeyId: string; accountId: string; region: string | undefined; issued?: IssuedCredentials }
  | { ok: false; reason: 'missing' | 'unknown' | 'expired'; accessKeyId?: string; region?: string };

export function authenticate(headers: IncomingHttpHeaders, ctx: FakeContext): AuthResult {
  const scope = scopeFromAuthorization(headerValue(headers, 'authorization'));
  if (!scope) return { ok: false, reason: 'missing' };
  const { accessKeyId, region } = scope;
  const found = ctx.keys.lookup(accessKeyId);
  if (found.status === 'unknown') return { ok: false, reason: 'unknown', accessKeyId, region };
  const token = headerValue(headers, 'x-amz-security-token');
  if (found.issued && token !== found.issued.sessionToken) return { ok: false, reason: 'unknown', accessKeyId, region };
  if (found.status === 'expired') return { ok: false, reason: 'expired', accessKeyId, region };
  return { ok: true, accessKeyId, accountId: found.accountId ?? ctx.accountId, region, issued: found.issued };
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
