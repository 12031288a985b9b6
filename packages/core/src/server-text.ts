/**
 * Text that came from a server (an AWS error message, a response body) before it reaches a log or an error line:
 * a hostile or broken endpoint may echo the request back, web-identity token included, or send megabytes.
 */
import { oneLine } from './env.js';

/** JWTs (three base64url parts, the first starting with `eyJ`) and any long unbroken run of key or token alphabet. */
const TOKENISH = /eyJ[\w-]*\.[\w-]*(?:\.[\w-]*)?|[A-Za-z0-9+/_=-]{32,}/g;

export const SERVER_TEXT_MAX = 300;

/** The SDK appends this to a parse error: it names a field of the error object, useless in a log line. */
const SDK_HINT = /\s*Deserialization error: to see the raw response, inspect the hidden field \{error\}\.\$response on this object\./g;

/** One line, token-like runs of 32+ characters replaced by `[redacted]`, at most `max` characters (then `…`). */
export function serverText(text: unknown, max = SERVER_TEXT_MAX): string {
  const scrubbed = oneLine(String(text ?? '').replace(SDK_HINT, '')).replace(TOKENISH, '[redacted]');
  return scrubbed.length > max ? `${scrubbed.slice(0, max)}…` : scrubbed;
}
