/** Wiring only: argv + env → config → dependencies → one call. Returns the exit code. */
import { ConfigError, createLogger, localEnvironmentProblem, standaloneExecutable, stderrSink, type Env } from '@ecr-proxy/core';
import { stsInitConfig } from './config.js';
import { ecrFetcherWith } from './ecr-warm.js';
import { describe } from './errors.js';
import { runStsInit } from './run.js';
import { lazyStsApi } from './sts-seam.js';

export async function stsInitMain(argv: readonly string[], env: Env): Promise<number> {
  const log = createLogger({ sink: stderrSink, fields: { role: 'sts-init' } });
  try {
    const config = stsInitConfig({ argv, env, selfExecutable: standaloneExecutable() });
    await runStsInit(config, { sts: lazyStsApi(config.region), ecrFetcher: ecrFetcherWith, log });
    return 0;
  } catch (err) {
    const line = err instanceof ConfigError ? err.message : describe(err);
    process.stderr.write(`sts-init: ${line}\n`);
    // A local environment error is a configuration error too: nothing but a change of the environment fixes it.
    return err instanceof ConfigError || localEnvironmentProblem(err) ? 2 : 1;
  }
}
