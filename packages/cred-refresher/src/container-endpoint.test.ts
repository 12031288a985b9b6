import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { describe, expect, it, afterAll } from 'vitest';
import type { StoredCredentials } from '@ecr-proxy/sts-init';
import { containerCredentialsHandler } from './container-endpoint.js';

const now = Date.parse('2030-01-01T00:00:00Z');
const creds: StoredCredentials = {
  Version: 1, AccessKeyId: 'ASIAX', SecretAccessKey: 'sec', SessionToken: 'tok',
  Expiration: new Date(now + 3_600_000).toISOString(), RefreshedAt: new Date(now).toISOString(),
};
const server = createServer(containerCredentialsHandler({ token: 'right-token', current: () => creds, marginMs: 25 * 60_000, now: () => now }));
const ready = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe(containerCredentialsHandler.name, () => {
  it('401 without Authorization, 403 with a wrong token', async () => {
    const url = await ready;
    expect((await fetch(`${url}/credentials`)).status).toBe(401);
    expect((await fetch(`${url}/credentials`, { headers: { authorization: 'wrong' } })).status).toBe(403);
    expect((await fetch(`${url}/other`, { headers: { authorization: 'right-token' } })).status).toBe(404);
  });
  it('answers the container-credentials format with Expiration = real - margin', async () => {
    const res = await fetch(`${await ready}/credentials`, { headers: { authorization: 'right-token' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ AccessKeyId: 'ASIAX', SecretAccessKey: 'sec', Token: 'tok', Expiration: new Date(now + 35 * 60_000).toISOString() });
  });
});
