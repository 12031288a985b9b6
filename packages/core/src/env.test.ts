import { describe, expect, it } from 'vitest';
import { ConfigError, durationFrom, fractionFrom, listFrom, parseDuration, parseFlags } from './env.js';

describe(parseDuration.name, () => {
  it.each([
    ['500ms', 500], ['15s', 15_000], ['25m', 1_500_000], ['1h', 3_600_000], ['1h30m', 5_400_000], ['90', 90_000], ['1.5s', 1500],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text, 'X')).toBe(ms));

  it.each(['', 'soon', '15 s', '1d', '-5s', '15sx'])('refuses %j with a message naming the variable', (text) => {
    expect(() => parseDuration(text, 'ECR_LOGIN_TIMEOUT')).toThrow(/^ECR_LOGIN_TIMEOUT: .* is not a duration/);
  });
});

describe(durationFrom.name, () => {
  it('uses the fallback when unset or empty, refuses zero', () => {
    expect(durationFrom({}, 'T', 7)).toBe(7);
    expect(durationFrom({ T: '' }, 'T', 7)).toBe(7);
    expect(() => durationFrom({ T: '0s' }, 'T', 7)).toThrow(ConfigError);
  });
});

describe(fractionFrom.name, () => {
  it('accepts (0,1) only', () => {
    expect(fractionFrom('0.4', 'F', 0.5)).toBe(0.4);
    expect(fractionFrom(undefined, 'F', 0.5)).toBe(0.5);
    for (const bad of ['0', '1', 'half', '-0.1']) expect(() => fractionFrom(bad, 'F', 0.5)).toThrow(ConfigError);
  });
});

describe(parseFlags.name, () => {
  it('reads --name value and --name=value', () => {
    expect(Object.fromEntries(parseFlags(['--dir', '/c', '--margin=5m'], ['dir', 'margin']))).toEqual({ dir: '/c', margin: '5m' });
  });
  it('refuses unknown flags, positionals and missing values', () => {
    expect(() => parseFlags(['--dri', '/c'], ['dir'])).toThrow(/unknown flag --dri; known flags: --dir/);
    expect(() => parseFlags(['oops'], ['dir'])).toThrow(/unexpected argument "oops"/);
    expect(() => parseFlags(['--dir'], ['dir'])).toThrow(/--dir needs a value/);
  });
});

describe(listFrom.name, () => {
  it('splits on commas and drops blanks', () => expect(listFrom(' a, ,b,')).toEqual(['a', 'b']));
});

describe('bounds and one-line errors (issues 9 and 10)', () => {
  it('refuses durations a timer cannot hold (2^31 ms overflowed to 1 ms)', async () => {
    const { MAX_TIMER_MS, timerMs } = await import('./env.js');
    expect(() => durationFrom({ T: '2147484s' }, 'T', 7)).toThrow(/T: "2147484s" is out of range; use between 1ms and/);
    expect(durationFrom({ T: '1h' }, 'T', 7, { maxMs: 3_600_000 })).toBe(3_600_000);
    expect(() => durationFrom({ T: '61m' }, 'T', 7, { maxMs: 3_600_000 })).toThrow(/between 1ms and 1h/);
    expect(timerMs(2 ** 31 + 5)).toBe(MAX_TIMER_MS);
    expect(timerMs(-5)).toBe(0);
  });

  it('fractions are bounded to 0.1..0.9 (1e-9 gave ~100 STS calls a second)', () => {
    for (const bad of ['1e-9', '0.05', '0.95', '.', '0x1']) expect(() => fractionFrom(bad, 'F', 0.5)).toThrow(ConfigError);
    expect(fractionFrom('0.1', 'F', 0.5)).toBe(0.1);
  });

  it('a ConfigError is one line whatever the value held', async () => {
    const { oneLine } = await import('./env.js');
    const err = new ConfigError('X: "a\nb\r\u001b[31mc\u2028" is bad');
    expect(err.message).toBe('X: "a\\nb\\r\\u001b[31mc\\u2028" is bad');
    expect(oneLine('tab\there')).toBe('tab\\there');
  });
});
