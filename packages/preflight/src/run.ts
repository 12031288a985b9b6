/** Runs the checks with the real AWS API and prints one line per check. */
import type { ApiCredentials, PreflightApi } from './api.js';
import { formatResult, runChecks, type CheckResult, type PreflightReport, type RunOptions } from './checks.js';
import type { PreflightConfig } from './config.js';

export interface PreflightRun extends RunOptions {
  /** undefined: the SDK default chain. */
  credentials?: ApiCredentials;
  /** Receives each line (no newline), with the check it reports (none for the closing summary). */
  write: (line: string, result?: CheckResult) => void;
  /** Tests inject a fake; default: the SDK, loaded on first use. */
  api?: PreflightApi;
}

export async function runPreflight(config: PreflightConfig, run: PreflightRun): Promise<PreflightReport> {
  const api = run.api ?? (await import('./sdk.js')).createPreflightApi(config, run.credentials);
  const report = await runChecks(config, api, run);
  for (const result of report.results) run.write(formatResult(result, report.principal), result);
  const failed = report.results.filter((r) => r.status === 'fail').length;
  run.write(report.ok ? `preflight: passed (${report.results.length} checks)` : `preflight: ${failed} of ${report.results.length} checks failed`);
  return report;
}
