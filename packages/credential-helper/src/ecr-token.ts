/** What ECR answers, and how a token becomes Basic credentials. Free of the SDK so the cache path never loads it. */
import type { EcrRegistry } from './registry-host.js';

export interface EcrToken {
  /** base64("AWS:<password>") */
  authorizationToken: string;
  expiresAt: Date;
  proxyEndpoint: string;
}

/** The one AWS call the helper makes, behind a seam so tests and the refresher can inject their own. */
export type FetchToken = (registry: EcrRegistry, signal: AbortSignal) => Promise<EcrToken>;

export interface BasicCredentials {
  username: string;
  password: string;
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** Splits base64("user:password") on the first colon. Empty parts are refused: the registry would cache them. */
export function decodeToken(token: string): BasicCredentials {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new InvalidTokenError('authorization token is not "user:password"');
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (username === '' || password === '') throw new InvalidTokenError('authorization token has an empty username or password');
  return { username, password };
}
