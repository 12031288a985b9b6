/** Attack review of the integrated tree: runbook text against the values (LOW; fails on main d0c4f42 by design). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './chart-values.js';

describe('docs/operations.md, EcrProxyPodNotReady', () => {
  it('names the storage-health sidecar as what takes the pod out on S3 failures (the registry\'s own storage check is off in the values)', () => {
    const text = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const section = text.split('### EcrProxyPodNotReady')[1]!.split('\n### ')[0]!;
    // Today: "the registry when its storage health check fails (S3)"; configData.health.storagedriver.enabled is false.
    expect(section).toContain('storage-health');
  });
});
