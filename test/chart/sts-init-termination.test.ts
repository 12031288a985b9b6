/**
 * The preflight's FAIL line is sts-init's last log line; it reaches `kubectl describe pod` (the
 * container's termination message) only with terminationMessagePolicy FallbackToLogsOnError, as docs/operations.md
 * promises. Checked in the values file and in every overlay that replaces the init containers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OVERLAYS, overlayFile, VALUES_FILE } from './chart-values.js';

const stsInitOf = (file: string) =>
  ((parse(readFileSync(file, 'utf8')) as { initContainers?: Array<{ name: string; terminationMessagePolicy?: string }> }).initContainers ?? [])
    .find((c) => c.name === 'sts-init');

describe('sts-init\'s last line is what kubectl describe pod shows', () => {
  it('in the values file', () => {
    expect(stsInitOf(VALUES_FILE)?.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it.each(OVERLAYS.filter((o) => stsInitOf(overlayFile(o))))('in the %s overlay, which replaces the init containers', (overlay) => {
    expect(stsInitOf(overlayFile(overlay))?.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });
});
