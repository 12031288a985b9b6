/**
 * How docker-credential-helpers v0.9.5 (the reference's protocol library) reads stdin and writes JSON, on bytes:
 * stdin goes through a `bufio.Scanner` with `ScanLines` (lines joined WITHOUT separators, a `\r` before each `\n`
 * dropped, a line over 64 KiB is an error) and `strings.TrimSpace`; output is `encoding/json` with HTML escaping
 * (invalid UTF-8 becomes `\ufffd`, `<>&` and U+2028/U+2029 are escaped).
 */

/** bufio.MaxScanTokenSize: a line (with its `\n`) must fit in this buffer. */
const MAX_TOKEN = 64 * 1024;

export const TOKEN_TOO_LONG = 'bufio.Scanner: token too long';

/** Every line of `input` concatenated, as `for scanner.Scan() { buffer.Write(scanner.Bytes()) }` does. */
export function scanLinesJoined(input: Buffer): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  const parts: Buffer[] = [];
  for (let start = 0; start < input.length; ) {
    const nl = input.indexOf(0x0a, start);
    const end = nl === -1 ? input.length : nl;
    if (end - start >= MAX_TOKEN) return { ok: false, error: TOKEN_TOO_LONG };
    let line = input.subarray(start, end);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    parts.push(line);
    start = nl === -1 ? input.length : nl + 1;
  }
  return { ok: true, bytes: Buffer.concat(parts) };
}

/** utf8.DecodeRune: [rune, size]; an invalid or short sequence is [-1, 1] (Go's RuneError with size 1). */
function decodeRune(b: Buffer, i: number): [number, number] {
  const b0 = b[i]!;
  if (b0 < 0x80) return [b0, 1];
  let size: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) size = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    size = 3;
    if (b0 === 0xe0) lo = 0xa0;
    if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    size = 4;
    if (b0 === 0xf0) lo = 0x90;
    if (b0 === 0xf4) hi = 0x8f;
  } else return [-1, 1];
  if (i + size > b.length) return [-1, 1];
  const b1 = b[i + 1]!;
  if (b1 < lo || b1 > hi) return [-1, 1];
  let rune = b0 & (0xff >> (size + 1));
  rune = (rune << 6) | (b1 & 0x3f);
  for (let k = 2; k < size; k++) {
    const bk = b[i + k]!;
    if (bk < 0x80 || bk > 0xbf) return [-1, 1];
    rune = (rune << 6) | (bk & 0x3f);
  }
  return [rune, size];
}

/** unicode.IsSpace. */
function isSpace(r: number): boolean {
  if (r <= 0xff) return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  return r === 0x1680 || (r >= 0x2000 && r <= 0x200a) || r === 0x2028 || r === 0x2029 || r === 0x202f || r === 0x205f || r === 0x3000;
}

/** strings.TrimSpace on bytes. */
export function goTrimSpace(b: Buffer): Buffer {
  let start = 0;
  while (start < b.length) {
    const [r, size] = decodeRune(b, start);
    if (r < 0 || !isSpace(r)) break;
    start += size;
  }
  let end = b.length;
  while (end > start) {
    // utf8.DecodeLastRune: back up to the last start byte (at most 4), decode from there, and it must end at `end`.
    let s = end - 1;
    while (s > start && s > end - 4 && (b[s]! & 0xc0) === 0x80) s--;
    const [r, size] = decodeRune(b, s);
    if (r < 0 || s + size !== end || !isSpace(r)) break;
    end = s;
  }
  return b.subarray(start, end);
}

/** encoding/json's string encoding, HTML-safe, of raw bytes. */
export function goJsonString(b: Buffer): string {
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const [r, size] = decodeRune(b, i);
    i += size;
    if (r < 0) out += '\\ufffd';
    else if (r === 0x22 || r === 0x5c) out += `\\${String.fromCharCode(r)}`;
    else if (r === 0x08) out += '\\b';
    else if (r === 0x0c) out += '\\f';
    else if (r === 0x0a) out += '\\n';
    else if (r === 0x0d) out += '\\r';
    else if (r === 0x09) out += '\\t';
    else if (r < 0x20 || r === 0x3c || r === 0x3e || r === 0x26 || r === 0x2028 || r === 0x2029) out += `\\u${r.toString(16).padStart(4, '0')}`;
    else out += String.fromCodePoint(r);
  }
  return `${out}"`;
}

/**
 * json.Encoder.Encode of a flat object of strings: keys sorted as Go sorts map keys (bytewise), one line. A value
 * given as bytes is encoded as Go encodes a string holding them (invalid UTF-8 as `\ufffd`).
 */
export function goJsonObject(entries: ReadonlyArray<readonly [string, string | Buffer]>, opts: { sortKeys: boolean }): string {
  const encoded = entries.map(([k, v]) => [Buffer.from(k, 'utf8'), typeof v === 'string' ? Buffer.from(v, 'utf8') : v] as const);
  if (opts.sortKeys) encoded.sort(([a], [b]) => Buffer.compare(a, b));
  return `{${encoded.map(([k, v]) => `${goJsonString(k)}:${goJsonString(v)}`).join(',')}}`;
}
