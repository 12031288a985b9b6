import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function capture(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  return { lines, log: createLogger({ sink: (l) => lines.push(l), level, now: () => new Date(0) }) };
}

describe(createLogger.name, () => {
  it('writes one JSON object a line', () => {
    const { lines, log } = capture();
    log.with({ role: 'x' }).info('hello', { n: 1 });
    expect(lines).toEqual(['{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"hello","role":"x","n":1}\n']);
  });

  it('never writes a field that looks like a secret, at any depth', () => {
    const { lines, log } = capture();
    log.info('creds', {
      SecretAccessKey: 'S3CR3T', SessionToken: 'T0K3N', authorizationToken: 'QVdTOnB3', password: 'pw',
      nested: { Credentials: { AccessKeyId: 'AKID' }, headers: { Authorization: 'AWS4 sig' } },
    });
    for (const secret of ['S3CR3T', 'T0K3N', 'QVdTOnB3', '"pw"', 'AKID', 'AWS4 sig']) expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('[redacted]');
  });

  it('reduces errors to name, code and message', () => {
    const { lines, log } = capture();
    const err = Object.assign(new Error('boom'), { code: 'EROFS', $response: { body: 'secret body' } });
    log.error('failed', { err });
    expect(JSON.parse(lines[0]!).err).toEqual({ name: 'Error', code: 'EROFS', message: 'boom' });
  });

  it('drops lines below the level', () => {
    const { lines, log } = capture('info');
    log.debug('quiet');
    expect(lines).toEqual([]);
  });
});

describe('validation tables have no prototype keys (issue 10)', () => {
  it('isLevel refuses constructor, __proto__ and toString', async () => {
    const { isLevel } = await import('./log.js');
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(isLevel(key)).toBe(false);
    expect(isLevel('warn')).toBe(true);
  });

  it('error messages (server text) are one line, scrubbed and bounded in logs', () => {
    const { lines, log } = capture();
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl';
    log.error('failed', { err: new Error(`echo: WebIdentityToken=${jwt}\nsecond line ${'y'.repeat(2000)}`) });
    const message = JSON.parse(lines[0]!).err.message as string;
    expect(message).not.toContain(jwt.slice(0, 12));
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThanOrEqual(501);
  });
});
