/** Wiring only: argv + env → config → dependencies → run until SIGTERM / SIGINT. Returns the exit code. */
import { ConfigError, createLogger, oneLine, standaloneExecutable, stderrSink, type Env } from '@ecr-proxy/core';
import { fileTokenCache, RunLogReader } from '@ecr-proxy/credential-helper';
import { readCredentials, writeCredentials } from '@ecr-proxy/sts-init';
import { describe, ecrFetcherWith, ensureWritableDir, lazyStsApi, refresherConfig, removeTempsOf, sourceFor } from '@ecr-proxy/sts-init/lib';
import { systemClock } from './clock.js';
import { containerCredentialsHandler, newToken, writeTokenFile } from './container-endpoint.js';
import { listen, ListenError, type Listening } from './http.js';
import { Refresher } from './refresher.js';
import { statusHandler } from './status-server.js';

/** SIGTERM must end the process within 2 s; stopping gets this long before the servers close regardless. */
const STOP_BUDGET_MS = 1500;
/** 4 KiB rotation / 10 s: the file stays under the helper's 64 KiB cap up to ~6,000 runs a second. */
const HELPER_RUNS_COLLECT_MS = 10_000;

export async function refresherMain(argv: readonly string[], env: Env): Promise<number> {
  const log = createLogger({ sink: stderrSink, fields: { role: 'cred-refresher' } });
  let config;
  try {
    config = refresherConfig({ argv, env, selfExecutable: standaloneExecutable() });
    await ensureWritableDir(config.dir, config.fileMode, log);
    if (config.ecrRegistries.length > 0) await ensureWritableDir(config.ecrCacheDir, config.fileMode, log, 'ECR cache directory');
    // sts-init has exited by now, so the refresher is the only writer of credentials.json and the profiles.
    await removeTempsOf({ ...config, ...(config.containerCredentials ? { containerTokenFile: config.containerCredentials.tokenFile } : {}) }, log);
  } catch (err) {
    const configuration = err instanceof ConfigError || (err as Error | undefined)?.name === 'FileTypeError';
    process.stderr.write(`cred-refresher: ${configuration ? oneLine((err as Error).message) : describe(err)}\n`);
    return configuration ? 2 : 1;
  }
  if (config.ecrRegistries.length > 0 && !config.cacheIdentityExplicit) {
    log.warn('ECR_LOGIN_CACHE_IDENTITY is not set: the registry finds the warmed tokens only if its env derives the same identity', { identity: config.cacheIdentity });
  }
  // Caught from here on: a signal during start-up still ends in an orderly exit 0. SIGHUP (a closed terminal, some
  // supervisors) stops the same way: its default would kill the process between writes.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(name, () => resolve(name));
  });
  const dir = config.dir;
  const mode = config.fileMode;
  let refresher: Refresher | undefined;
  const sts = lazyStsApi(config.region, {
    onServerDate: (date) => {
      if (refresher) refresher.clockSkewMs = date - systemClock.now();
    },
  });
  // The helper's run outcomes, in the shared ECR cache directory: read at each scrape and every 10 s besides, so the
  // file is rotated long before the helper's cap even in a failure storm with no scrape.
  const helperRuns = new RunLogReader(config.ecrCacheDir);
  helperRuns.start();
  const collectRuns = setInterval(() => helperRuns.collect(), HELPER_RUNS_COLLECT_MS).unref();
  refresher = new Refresher(config, {
    helperRuns,
    clock: systemClock,
    log,
    obtain: sourceFor(config.source, sts, { marginMs: config.marginMs, now: () => systemClock.now(), clockSkewMs: () => refresher?.clockSkewMs }),
    readCredentials: () => readCredentials(dir),
    writeCredentials: (creds) => writeCredentials(dir, creds, mode),
    tokenCache: fileTokenCache(config.ecrCacheDir, { fileMode: mode }),
    ecrFetcher: ecrFetcherWith,
  });

  const servers: Listening[] = [];
  try {
    const status = await listen(config.listen, statusHandler(refresher), '--listen / REFRESHER_LISTEN');
    servers.push(status);
    log.info('listening', { endpoint: 'status', url: status.url });
    if (config.containerCredentials) {
      const token = newToken();
      await writeTokenFile(config.containerCredentials.tokenFile, token, mode);
      const endpoint = await listen(
        config.containerCredentials.listen,
        containerCredentialsHandler({ token, current: () => refresher.sts.current, marginMs: config.marginMs, now: () => systemClock.now() }),
        '--container-credentials-listen / CONTAINER_CREDENTIALS_LISTEN',
      );
      servers.push(endpoint);
      log.info('listening', { endpoint: 'container-credentials', url: `${endpoint.url}/credentials`, tokenFile: config.containerCredentials.tokenFile });
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    if (!(err instanceof ListenError)) {
      // Writing the container token file: a FIFO or directory there is the user's to fix, as at start-up.
      const fileType = (err as Error | undefined)?.name === 'FileTypeError';
      process.stderr.write(`cred-refresher: ${fileType ? oneLine((err as Error).message) : describe(err)}\n`);
      return fileType ? 2 : 1;
    }
    process.stderr.write(`cred-refresher: ${err.message}\n`);
    // An address this host does not have, cannot resolve or may not bind is a configuration error; a port in use is not.
    return ['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EINVAL', 'EACCES'].includes(err.code ?? '') ? 2 : 1;
  }

  await refresher.start();
  const signal = await stopSignal;
  log.info('stopping', { signal });
  clearInterval(collectRuns);
  const budget = new Promise<void>((resolve) => setTimeout(resolve, STOP_BUDGET_MS).unref());
  await Promise.race([refresher.stop(), budget]);
  await Promise.race([Promise.all(servers.map((s) => s.close())), budget]);
  log.info('stopped');
  return 0;
}
