/** Wiring only: argv + env → config → dependencies → one call. Returns the exit code. */
import { armWatchdog, ConfigError, killChildrenOnExit, createLogger, localEnvironmentProblem, oneLine, standaloneExecutable, stderrSink, type Env } from '@ecr-proxy/core';
import { stsInitConfig } from './config.js';
import { ecrFetcherWith } from './ecr-warm.js';
import { describe, SourceError } from './errors.js';
import { runStsInit } from './run.js';
import { lazyStsApi } from './sts-seam.js';

export async function stsInitMain(argv: readonly string[], env: Env): Promise<number> {
  const log = createLogger({ sink: stderrSink, fields: { role: 'sts-init' } });
  try {
    const config = stsInitConfig({ argv, env, selfExecutable: standaloneExecutable() });
    // The retry loop gives up at the deadline; a write stuck on a hung mount is caught here.
    killChildrenOnExit();
    armWatchdog(config.timeoutMs + 10_000, 'sts-init: still running 10 s past --timeout / STS_TIMEOUT (a stuck file or mount?); exiting');
    await runStsInit(config, { sts: lazyStsApi(config.region), ecrFetcher: ecrFetcherWith, log });
    return 0;
  } catch (err) {
    // A path that names a FIFO, a device or a directory is the user's to fix, like any bad setting: exit 2.
    const fileType = (err as Error | undefined)?.name === 'FileTypeError';
    const line = err instanceof ConfigError || fileType ? oneLine((err as Error).message) : describe(err);
    process.stderr.write(`sts-init: ${line}\n`);
    // A principal other than the expected role is a configuration fault (trust policy, annotation), not an outage;
    // a local environment error too: nothing but a change of the environment fixes either.
    const configuration = err instanceof ConfigError || fileType || (err instanceof SourceError && err.reason === 'wrong_principal') || localEnvironmentProblem(err);
    return configuration ? 2 : 1;
  }
}
