import { describe, expect, it } from 'vitest';
import { goJsonObject, goJsonString, goTrimSpace, scanLinesJoined, TOKEN_TOO_LONG } from './go-text.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');

describe(scanLinesJoined.name, () => {
  it.each([
    ['a\nb', 'ab'],
    ['a\r\nb\r\n', 'ab'],
    ['a\rb', 'a\rb'],
    ['a\r\r\n', 'a\r'],
    ['\n\n', ''],
    ['', ''],
  ])('%j -> %j', (input, joined) => {
    expect(scanLinesJoined(bytes(input))).toEqual({ ok: true, bytes: bytes(joined) });
  });

  it('a line of 64 KiB or more is an error, as bufio.Scanner with its default buffer', () => {
    expect(scanLinesJoined(bytes(`${'a'.repeat(65_535)}\n`)).ok).toBe(true);
    expect(scanLinesJoined(bytes('a'.repeat(65_535))).ok).toBe(true);
    expect(scanLinesJoined(bytes('a'.repeat(65_536)))).toEqual({ ok: false, error: TOKEN_TOO_LONG });
  });
});

describe(goTrimSpace.name, () => {
  it.each([
    [' \t\v\f\r\nx\n', 'x'],
    ['\u0085x\u00a0', 'x'],
    ['\u3000x\u2029', 'x'],
    ['\ufeffx', '\ufeffx'],
    ['x\u200b', 'x\u200b'],
  ])('%j -> %j (unicode.IsSpace, not JavaScript trim)', (input, trimmed) => {
    expect(goTrimSpace(Buffer.from(input, 'utf8')).toString('utf8')).toBe(trimmed);
  });

  it('stops at invalid UTF-8', () => {
    expect(goTrimSpace(bytes(' \xc2 x \xe2\x80')).equals(bytes('\xc2 x \xe2\x80'))).toBe(true);
  });
});

describe(goJsonString.name, () => {
  it.each([
    ['plain', '"plain"'],
    ['<a&b>', '"\\u003ca\\u0026b\\u003e"'],
    ['q"\\', '"q\\"\\\\"'],
    ['\b\f\n\r\t\u0001\u007f', '"\\b\\f\\n\\r\\t\\u0001\u007f"'],
    ['\u2028\u2029é€😀', '"\\u2028\\u2029é€😀"'],
  ])('%j -> %s', (input, json) => {
    expect(goJsonString(Buffer.from(input, 'utf8'))).toBe(json);
  });

  it('writes each invalid UTF-8 byte as \\ufffd, as Go does (one per byte, not per sequence)', () => {
    expect(goJsonString(bytes('a\xffb\xe2\x82c\xed\xa0\x80'))).toBe('"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffd"');
  });
});

describe(goJsonObject.name, () => {
  it('sorts keys bytewise, as encoding/json sorts map keys', () => {
    expect(goJsonObject([['b', '1'], ['B', '2'], ['a', '3']], { sortKeys: true })).toBe('{"B":"2","a":"3","b":"1"}');
  });
});
