/** Wiring only: argv + env → config → dependencies → one call. Returns the exit code. */
import { ConfigError, createLogger, localEnvironmentProblem, standaloneExecutable, stderrSink, type Env } from '@ecr-proxy/core';
import { fixForStsError, fixText, formatResult, preflightConfig, runPreflight } from '@ecr-proxy/preflight';
import { stsInitConfig } from './config.js';
import { ecrFetcherWith } from './ecr-warm.js';
import { describe } from './errors.js';
import { runStsInit } from './run.js';
import { lazyStsApi } from './sts-seam.js';

export async function stsInitMain(argv: readonly string[], env: Env): Promise<number> {
  const log = createLogger({ sink: stderrSink, fields: { role: 'sts-init' } });
  try {
    const config = stsInitConfig({ argv, env, selfExecutable: standaloneExecutable() });
    // Parsed before any AWS call, so a bad preflight setting fails at once; sts-init's own flags win over env.
    const preflight = config.preflight
      ? preflightConfig([], {
          ...env,
          AWS_REGION: config.region,
          ECR_REGISTRIES: config.ecrRegistries.map((r) => r.host).join(','),
          TARGET_ROLE_ARN: config.source.target?.roleArn,
        })
      : undefined;
    const creds = await runStsInit(config, { sts: lazyStsApi(config.region), ecrFetcher: ecrFetcherWith, log });
    if (preflight) {
      const report = await runPreflight(
        { ...preflight, expectedRole: creds.roleArn ?? preflight.expectedRole },
        { credentials: creds, write: (line) => process.stderr.write(`${line}\n`) },
      );
      const failed = report.results.find((r) => r.status === 'fail');
      if (failed) {
        process.stderr.write(`sts-init: ${formatResult(failed, report.principal)} (PREFLIGHT=off skips the preflight)\n`);
        return 1;
      }
    }
    return 0;
  } catch (err) {
    const fix = fixForStsError(err);
    const line = err instanceof ConfigError ? err.message : `${describe(err)}${fix ? `; fix ${fixText(fix)}` : ''}`;
    process.stderr.write(`sts-init: ${line}\n`);
    // A local environment error is a configuration error too: nothing but a change of the environment fixes it.
    return err instanceof ConfigError || localEnvironmentProblem(err) ? 2 : 1;
  }
}
