import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, readBounded, ResponseTooLargeError } from './aws.js';

describe(readBounded.name, () => {
  it('hands back a body within the limit whole', async () => {
    expect((await readBounded(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4, 'x')).toString()).toBe('abcd');
  });

  it('stops reading past the limit, destroys the stream and says who answered', async () => {
    let produced = 0;
    // An endless body: the read must stop on its own, not at the end of the stream.
    const endless = new Readable({ read() { produced += 16_384; this.push(Buffer.alloc(16_384)); } });
    await expect(readBounded(endless, MAX_RESPONSE_BYTES, 'sts.example:443')).rejects.toThrow(new ResponseTooLargeError(`sts.example:443 answered more than ${MAX_RESPONSE_BYTES} bytes; refused before parsing`));
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(MAX_RESPONSE_BYTES * 4);
  });
});
