import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256, sha256Base64 } from './sha256.js';

const reference = (data: Uint8Array) => createHash('sha256').update(data).digest();

describe(sha256.name, () => {
  it('matches node:crypto on the padding boundaries and beyond', () => {
    for (const size of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 70_000]) {
      const data = randomBytes(size);
      expect(Buffer.from(sha256(data)).toString('hex'), `size ${size}`).toBe(reference(data).toString('hex'));
    }
  });

  it('gives the known digest of "abc"', () => {
    expect(Buffer.from(sha256(Buffer.from('abc'))).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes UTF-8 text to base64 as createHash does', () => {
    for (const text of ['arn:aws:iam::123456789012:role/ecr-pull-through-cache', 'key:AKIAEXAMPLE', 'profile:é✓@/x', '']) {
      expect(sha256Base64(text)).toBe(createHash('sha256').update(text).digest('base64'));
    }
  });
});
