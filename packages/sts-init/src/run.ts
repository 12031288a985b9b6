/**
 * sts-init: obtain credentials once, write credentials.json and the two profile files, warm the ECR token cache.
 * Fails with one line on anything a retry cannot fix; retries the rest until the deadline.
 */
import { open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, dirModeFor, ensureDir, removeLeftoverTemps, type Logger } from '@ecr-proxy/core';
import { fileTokenCache, refreshToken, type FetchToken } from '@ecr-proxy/credential-helper';
import { toStored, type TemporaryCredentials } from './aws-credentials.js';
import type { CommonConfig } from './config.js';
import { writeCredentials } from './credentials-file.js';
import { classify, describe, SourceError } from './errors.js';
import { writeProfiles } from './profile-files.js';
import { retryUntilDeadline } from './retry.js';
import { sourceFor } from './sources.js';
import type { StsApi } from './sts-seam.js';

export interface StsInitDeps {
  sts: StsApi;
  /** Builds the ECR call for the registries, signing with the given credentials. */
  ecrFetcher: (credentials: () => Promise<TemporaryCredentials>) => FetchToken;
  log: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  readFile?: (path: string) => Promise<string>;
}

/**
 * Creates the directory and proves it writable before any AWS call, so a bad mount fails fast and clearly. A
 * directory others may write to (mode o+w) is refused with a ConfigError: anyone could swap credentials.json.
 */
export async function ensureWritableDir(dir: string, fileMode: number): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new ConfigError(`credentials directory ${dir} is not a directory`);
  if (info && info.mode & 0o002) {
    throw new ConfigError(`credentials directory ${dir} is writable by others (mode ${(info.mode & 0o7777).toString(8)}); chmod o-w it or use another directory`);
  }
  try {
    await ensureDir(dir, dirModeFor(fileMode));
    const probe = join(dir, `.sts-init-probe.${process.pid}`);
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    // The file system said no (read-only mount, permissions, full disk): only a change of the pod spec fixes it, so
    // it is a local environment error like local-env.ts's, exit 2 (docs/configuration.md, "Exit codes").
    if (typeof (err as NodeJS.ErrnoException).code === 'string') {
      throw new ConfigError(`local environment: credentials directory ${JSON.stringify(dir)} is not writable (${code})`);
    }
    throw new SourceError(`credentials directory ${JSON.stringify(dir)} is not writable (${code})`, 'write', true);
  }
}

/**
 * Removes every kind of temp file this tool writes in the credentials directory and the ECR cache, left by a
 * kill -9: single-writer files at once, the shared ECR cache only when old enough not to be another writer's.
 */
export async function removeTempsOf(config: Pick<CommonConfig, 'dir' | 'ecrCacheDir'> & { containerTokenFile?: string }, log: Logger): Promise<void> {
  const removed: string[] = [];
  for (const name of ['credentials.json', 'aws-config', 'aws-credentials', 'container-token']) {
    removed.push(...(await removeLeftoverTemps(join(config.dir, name)).catch(() => [])));
  }
  if (config.containerTokenFile) removed.push(...(await removeLeftoverTemps(config.containerTokenFile).catch(() => [])));
  removed.push(...(await removeLeftoverTemps(join(config.ecrCacheDir, 'cache.json'), { olderThanMs: 60_000 }).catch(() => [])));
  if (removed.length > 0) log.info('removed temp files left by an interrupted write', { files: removed });
}

export async function runStsInit(config: CommonConfig, deps: StsInitDeps): Promise<TemporaryCredentials> {
  const now = deps.now ?? Date.now;
  const deadlineAt = now() + config.timeoutMs;
  const log = deps.log;
  await ensureWritableDir(config.dir, config.fileMode);
  await removeTempsOf(config, log);

  const source = sourceFor(config.source, deps.sts, { marginMs: config.marginMs, now, ...(deps.readFile ? { readFile: deps.readFile } : {}) });
  const creds = await retryUntilDeadline(source, { what: 'obtaining AWS credentials', deadlineAt, log, now, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
  await writeCredentials(config.dir, toStored(creds, now()), config.fileMode);
  await writeProfiles(config.dir, { profile: config.profile, command: config.credentialProcessCommand!, region: config.region }, config.fileMode);
  log.info('credentials written', { dir: config.dir, source: config.source.base.kind, principal: creds.principalArn, roleArn: creds.roleArn, expiration: creds.expiration.toISOString(), profile: config.profile });

  if (config.ecrRegistries.length > 0) {
    if (!config.cacheIdentityExplicit) {
      log.warn('ECR_LOGIN_CACHE_IDENTITY is not set: the registry finds these tokens only if its env derives the same identity', { identity: config.cacheIdentity });
    }
    await ensureDir(config.ecrCacheDir, dirModeFor(config.fileMode));
    const cache = fileTokenCache(config.ecrCacheDir, { fileMode: config.fileMode });
    const fetchToken = deps.ecrFetcher(async () => creds);
    for (const registry of config.ecrRegistries) {
      try {
        const { entry } = await retryUntilDeadline(
          (signal) => refreshToken(registry, { cache, fetchToken, identity: config.cacheIdentity, log, now, marginMs: config.marginMs }, signal),
          { what: `fetching the ECR token of ${registry.host}`, deadlineAt, log, now, ...(deps.sleep ? { sleep: deps.sleep } : {}) },
        );
        log.info('ECR token cached', { registry: registry.host, expiresAt: entry.ExpiresAt });
      } catch (err) {
        // Not fatal: the helper fetches a token itself on a miss, and cred-refresher keeps trying.
        log.warn('could not warm the ECR token cache', { registry: registry.host, reason: classify(err).reason, error: describe(err) });
      }
    }
  }
  return creds;
}
