import { describe, expect, it } from 'vitest';
import { debuggerRequest, ignoreDebugSignals } from './runtime-guard.js';

describe(debuggerRequest.name, () => {
  it('names the variable that asks for a debugger', () => {
    expect(debuggerRequest({ BUN_INSPECT: 'ws://127.0.0.1:9230/x' })).toBe('BUN_INSPECT');
    expect(debuggerRequest({ BUN_INSPECT_CONNECT_TO: 'unix:///tmp/x' })).toBe('BUN_INSPECT_CONNECT_TO');
    expect(debuggerRequest({ BUN_OPTIONS: '--smol --inspect=0' })).toBe('BUN_OPTIONS');
    expect(debuggerRequest({ BUN_OPTIONS: '--inspect-wait' })).toBe('BUN_OPTIONS');
    expect(debuggerRequest({ BUN_OPTIONS: '--heap-prof' })).toBe('BUN_OPTIONS');
    expect(debuggerRequest({ BUN_OPTIONS: '--preload=/tmp/x.js' })).toBe('BUN_OPTIONS');
  });
  it('lets everything else through, empty values included', () => {
    expect(debuggerRequest({})).toBeUndefined();
    expect(debuggerRequest({ BUN_INSPECT: '', BUN_OPTIONS: '', NODE_OPTIONS: '--inspect' })).toBeUndefined();
  });
});

describe(ignoreDebugSignals.name, () => {
  it('installs a no-op listener for SIGUSR1 and SIGUSR2', () => {
    const seen: string[] = [];
    ignoreDebugSignals((signal) => seen.push(signal));
    expect(seen).toEqual(['SIGUSR1', 'SIGUSR2']);
  });
});
