/** Wiring only: argv + env → config → dependencies → one call. Returns the exit code. */
import { armWatchdog, ConfigError, createLogger, killChildrenOnExit, localEnvironmentProblem, oneLine, standaloneExecutable, stderrSink, type Env } from '@ecr-proxy/core';
import { fixForStsError, fixText, formatResult, interruptSignal, preflightConfig, runPreflight } from '@ecr-proxy/preflight';
import { stsInitConfig } from './config.js';
import { ecrFetcherWith } from './ecr-warm.js';
import { describe, SourceError } from './errors.js';
import { runStsInit } from './run.js';
import { lazyStsApi } from './sts-seam.js';

/** What the preflight adds to sts-init's run at most: its own deadline and the probe's bounded removal. */
const PREFLIGHT_CLEANUP_MS = 5000;

export async function stsInitMain(argv: readonly string[], env: Env): Promise<number> {
  const log = createLogger({ sink: stderrSink, fields: { role: 'sts-init' } });
  try {
    const config = stsInitConfig({ argv, env, selfExecutable: standaloneExecutable() });
    // Parsed before any AWS call, so a bad preflight setting fails at once; sts-init's own flags win over env.
    const preflight = config.preflight
      ? preflightConfig(
          [],
          {
            ...env,
            AWS_REGION: config.region,
            ECR_REGISTRIES: config.ecrRegistries.map((r) => r.host).join(','),
            TARGET_ROLE_ARN: config.source.target?.roleArn,
          },
          { flags: false },
        )
      : undefined;
    // The retry loop gives up at the deadline; a write stuck on a hung mount is caught here.
    const preflightMs = preflight ? preflight.timeoutMs + PREFLIGHT_CLEANUP_MS : 0;
    killChildrenOnExit();
    armWatchdog(config.timeoutMs + preflightMs + 10_000, 'sts-init: still running 10 s past --timeout / STS_TIMEOUT (a stuck file or mount?); exiting');
    // The Date header of each STS answer: an expiry that looks past because this host's clock is ahead says so.
    let clockSkewMs: number | undefined;
    const sts = lazyStsApi(config.region, { onServerDate: (date) => (clockSkewMs = date - Date.now()) });
    const creds = await runStsInit(config, { sts, ecrFetcher: ecrFetcherWith, log, clockSkewMs: () => clockSkewMs });
    if (preflight) {
      // The role sts-init assumed, and the principal AWS named in that answer: sts-init has checked both already
      // (EXPECTED_ROLE_ARN), so the preflight compares them without a call. One JSON log line per check, like the rest
      // of sts-init's log.
      // The kubelet's SIGTERM (a rollout, the pod deleted) while the checks run aborts them and still removes the probe.
      const interrupt = interruptSignal();
      let report;
      try {
        report = await runPreflight(
          { ...preflight, expectedRole: creds.roleArn },
          {
            credentials: creds,
            signal: interrupt.signal,
            ...(creds.principalArn ? { principal: creds.principalArn } : {}),
            write: (line, r) => (r?.status === 'fail' ? log.error(line, { fix: r.fix }) : log.info(line)),
          },
        );
      } finally {
        interrupt.dispose();
      }
      const interrupted = interrupt.exitCode();
      if (interrupted !== undefined) {
        process.stderr.write(`sts-init: ${(interrupt.signal.reason as Error).message} during the preflight (the probe's removal ran first: see the lines above)\n`);
        return interrupted;
      }
      const failed = report.results.find((r) => r.status === 'fail');
      if (failed) {
        process.stderr.write(`sts-init: ${formatResult(failed, report.principal)} (PREFLIGHT=off skips the preflight)\n`);
        return 1;
      }
    }
    return 0;
  } catch (err) {
    const fix = fixForStsError(err);
    // A path that names a FIFO, a device or a directory is the user's to fix, like any bad setting: exit 2.
    const fileType = (err as Error | undefined)?.name === 'FileTypeError';
    const line = err instanceof ConfigError || fileType ? oneLine((err as Error).message) : `${describe(err)}${fix?.why ? ` (${fix.why})` : ''}${fix ? `; fix ${fixText(fix)}` : ''}`;
    process.stderr.write(`sts-init: ${line}\n`);
    // A principal other than the expected role is a configuration fault (trust policy, annotation), not an outage;
    // a local environment error too: nothing but a change of the environment fixes either.
    const configuration = err instanceof ConfigError || fileType || (err instanceof SourceError && err.reason === 'wrong_principal') || localEnvironmentProblem(err);
    return configuration ? 2 : 1;
  }
}
