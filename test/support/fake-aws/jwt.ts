// HS256 JWTs standing in for the projected service-account token of IRSA. A shared secret is enough: what the tests
// need is that STS rejects tokens it did not sign, and expired ones, with the errors real STS gives.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  sub: string;
  aud?: string;
  iss?: string;
  /** Seconds from now until the token expires; negative for an already expired token. Default 3600. */
  expSeconds?: number;
}

export interface JwtPayload {
  sub?: string;
  aud?: string | string[];
  iss?: string;
  iat?: number;
  exp?: number;
}

export type VerifyResult =
  | { ok: true; payload: JwtPayload }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired'; payload?: JwtPayload };

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function hmac(secret: Buffer, input: string): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

export function signJwt(secret: Buffer, claims: TokenClaims, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const payload: JwtPayload = {
    iss: claims.iss ?? 'https://oidc.fake-aws.local',
    sub: claims.sub,
    aud: claims.aud ?? 'sts.amazonaws.com',
    iat,
    exp: iat + (claims.expSeconds ?? 3600),
  };
  const input = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  return `${input}.${base64url(hmac(secret, input))}`;
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Signature first, then expiry: a forged token must never learn whether its claims would have been accepted. */
export function verifyJwt(secret: Buffer, token: string, nowMs: number): VerifyResult {
  const [header, body, signature, ...rest] = token.trim().split('.');
  if (!header || !body || signature === undefined || rest.length > 0) return { ok: false, reason: 'malformed' };
  const head = decodeJson(header);
  const payload = decodeJson(body) as JwtPayload | undefined;
  if (!head || !payload) return { ok: false, reason: 'malformed' };
  // alg=none and any algorithm we did not sign with are forgeries, not a different kind of token.
  if (head.alg !== 'HS256') return { ok: false, reason: 'bad-signature' };
  const expected = hmac(secret, `${header}.${body}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (typeof payload.exp !== 'number' || payload.exp * 1000 <= nowMs) return { ok: false, reason: 'expired', payload };
  return { ok: true, payload };
}
