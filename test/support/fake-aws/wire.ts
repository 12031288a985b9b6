// Wire-level helpers shared by the fake services: reading bodies, parsing SigV4 credential scopes, writing the two
// response styles AWS uses (awsQuery XML for STS, awsJson for ECR). Nothing here knows about a particular service.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The parts of a SigV4 credential scope we act on; the signature itself is not verified (the brief allows it). */
export interface SigV4Scope {
  accessKeyId: string;
  date: string;
  region: string | undefined; // undefined for SigV4a, whose scope has no region
  service: string;
}

/**
 * Parses `Credential=AKID/20250101/us-east-1/ecr/aws4_request` from a SigV4 Authorization header, or the same value
 * from a presigned URL's `X-Amz-Credential` (already URL-decoded). SigV4a scopes drop the region.
 */
export function parseCredentialScope(credential: string): SigV4Scope | undefined {
  const parts = credential.split('/');
  if (parts.at(-1) !== 'aws4_request') return undefined;
  const [accessKeyId, date] = parts;
  if (!accessKeyId || !date) return undefined;
  if (parts.length === 5) return { accessKeyId, date, region: parts[2], service: parts[3] ?? '' };
  if (parts.length === 4) return { accessKeyId, date, region: undefined, service: parts[2] ?? '' };
  return undefined;
}

export function scopeFromAuthorization(header: string | undefined): SigV4Scope | undefined {
  const match = header?.match(/Credential=([^,\s]+)/);
  return match?.[1] ? parseCredentialScope(match[1]) : undefined;
}

export function requestId(): string {
  return randomUUID();
}

export function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}

/** `{A: 'x', B: {C: 'y'}}` → `<A>x</A><B><C>y</C></B>`; undefined members are left out, as AWS leaves them out. */
export function toXml(fields: XmlFields): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<${name}>${typeof value === 'object' ? toXml(value) : xmlEscape(String(value))}</${name}>`)
    .join('');
}
export type XmlFields = { [name: string]: string | number | XmlFields | undefined };

/** AWS timestamps in STS XML are ISO 8601 in UTC without milliseconds: `2025-01-01T12:00:00Z`. */
export function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
