/**
 * sts-init: obtain credentials once, write credentials.json and the two profile files, warm the ECR token cache.
 * Fails with one line on anything a retry cannot fix; retries the rest until the deadline.
 */
import type { Stats } from 'node:fs';
import { lstat, open, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, dirModeFor, ensureDir, localEnvironmentProblem, removeLeftoverTemps, type Logger } from '@ecr-proxy/core';
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
  /** AWS's clock minus this host's (ms), when an STS answer's Date header measured it. */
  clockSkewMs?: () => number | undefined;
}

/** Write bits for the group and for others: either lets someone else than the owner replace our files. */
const SHARED_WRITE = 0o022;

/**
 * Creates `dir` and proves it writable before any AWS call, so a bad mount fails fast and clearly. The directory
 * must be one nobody else can write to: a directory (not a symlink where its parent is shared), owned by this user
 * or root, with no group or other write bit; a missing one is created with `dirModeFor(fileMode)` (0700 or 0750)
 * whatever the umask. A root-owned world-writable mount root (kubelet's emptyDir is 0777, a `medium: Memory` one is
 * a 1777 tmpfs; fsGroup adds g+ws) is therefore used through a subdirectory we create and own, e.g. /creds/aws:
 * in a sticky root nobody else can rename or remove it, and nobody else can write inside it. Throws ConfigError
 * (exit 2) for a directory others can write to or own, SourceError when it cannot be created or written.
 * `log` receives a warning for a non-sticky world-writable parent, where another user could rename the directory
 * away (docs/design.md, "The credentials directory").
 */
export async function ensureWritableDir(dir: string, fileMode: number, log?: Logger, what = 'credentials directory'): Promise<void> {
  const parent = dirname(dir);
  const parentInfo = await stat(parent).catch(() => undefined);
  const parentShared = parentInfo !== undefined && parentInfo.isDirectory() && (parentInfo.mode & 0o002) !== 0;
  let info = await lstat(dir).catch(() => undefined);
  if (info?.isSymbolicLink()) {
    if (parentShared) {
      throw new ConfigError(`${what} ${dir} is a symbolic link in ${parent}, which others can write to (they could replace the link); remove it and let the directory be created`);
    }
    info = await stat(dir).catch(() => undefined);
  }
  if (info && !info.isDirectory()) throw new ConfigError(`${what} ${dir} is not a directory`);
  if (!info) {
    try {
      await ensureDir(dir, dirModeFor(fileMode));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (typeof (err as NodeJS.ErrnoException).code === 'string') {
        throw new ConfigError(`local environment: ${what} ${JSON.stringify(dir)} is not writable (${code})`);
      }
      throw new SourceError(`${what} ${JSON.stringify(dir)} is not writable (${code})`, 'write', true);
    }
    // Checked again: in a shared parent someone may have made the name first (mkdir's EEXIST is tolerated).
    info = await lstat(dir);
    if (!info.isDirectory()) throw new ConfigError(`${what} ${dir} is not a directory`);
  }
  refuseShared(dir, info, what, fileMode);
  try {
    const probe = join(dir, `.sts-init-probe.${process.pid}`);
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    // The file system said no (read-only mount, permissions, full disk): only a change of the pod spec fixes it, so
    // it is a local environment error like local-env.ts's, exit 2 (docs/configuration.md, "Exit codes").
    if (typeof (err as NodeJS.ErrnoException).code === 'string') {
      throw new ConfigError(`local environment: ${what} ${JSON.stringify(dir)} is not writable (${code})`);
    }
    throw new SourceError(`${what} ${JSON.stringify(dir)} is not writable (${code})`, 'write', true);
  }
  if (parentShared && !(parentInfo!.mode & 0o1000)) {
    log?.warn('the parent directory is writable by others and not sticky: another user who can reach it could rename this directory away; mount the volume only into containers that run as this user', { dir, parent, parentMode: (parentInfo!.mode & 0o7777).toString(8) });
  }
}

function refuseShared(dir: string, info: Stats, what: string, fileMode: number): void {
  const uid = process.geteuid?.();
  const mode = (info.mode & 0o7777).toString(8);
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) {
    throw new ConfigError(`${what} ${dir} belongs to uid ${info.uid}, not to this user (uid ${uid}) or root; remove it or use another directory`);
  }
  if (!(info.mode & SHARED_WRITE)) return;
  if (uid !== undefined && info.uid !== uid) {
    // A mount root we cannot chmod (the kubelet's emptyDir): a subdirectory of it is ours.
    throw new ConfigError(`${what} ${dir} is writable by others (mode ${mode}) and not ours to chmod; use a subdirectory, e.g. ${join(dir, 'aws')}, which is created with mode ${dirModeFor(fileMode).toString(8).padStart(4, '0')}`);
  }
  throw new ConfigError(`${what} ${dir} is writable by others (mode ${mode}); chmod go-w it or use another directory`);
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
  await ensureWritableDir(config.dir, config.fileMode, log);
  if (config.ecrRegistries.length > 0) await ensureWritableDir(config.ecrCacheDir, config.fileMode, log, 'ECR cache directory');
  await removeTempsOf(config, log);

  const source = sourceFor(config.source, deps.sts, { marginMs: config.marginMs, now, ...(deps.readFile ? { readFile: deps.readFile } : {}), ...(deps.clockSkewMs ? { clockSkewMs: deps.clockSkewMs } : {}) });
  const creds = await retryUntilDeadline(source, { what: 'obtaining AWS credentials', deadlineAt, log, now, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
  await writeCredentials(config.dir, toStored(creds, now()), config.fileMode);
  await writeProfiles(config.dir, { profile: config.profile, command: config.credentialProcessCommand!, region: config.region }, config.fileMode);
  log.info('credentials written', { dir: config.dir, source: config.source.base.kind, principal: creds.principalArn, roleArn: creds.roleArn, expiration: creds.expiration.toISOString(), profile: config.profile });

  if (config.ecrRegistries.length > 0) {
    if (!config.cacheIdentityExplicit) {
      log.warn('ECR_LOGIN_CACHE_IDENTITY is not set: the registry finds these tokens only if its env derives the same identity', { identity: config.cacheIdentity });
    }
    const cache = fileTokenCache(config.ecrCacheDir, { fileMode: config.fileMode });
    const fetchToken = deps.ecrFetcher(async () => creds);
    for (const registry of config.ecrRegistries) {
      try {
        const { entry } = await retryUntilDeadline(
          (signal) => refreshToken(registry, { cache, fetchToken, identity: config.cacheIdentity, log, now, marginMs: config.marginMs, writeRequired: true }, signal),
          { what: `fetching the ECR token of ${registry.host}`, deadlineAt, log, now, ...(deps.sleep ? { sleep: deps.sleep } : {}) },
        );
        log.info('ECR token cached', { registry: registry.host, expiresAt: entry.ExpiresAt });
      } catch (err) {
        // A cache file we cannot write (a FIFO or directory at its path, a read-only or full volume) is ours to
        // report: the pod's cache would stay cold and cred-refresher fail the same way. FileTypeError is exit 2.
        if (classify(err).reason === 'write' || localEnvironmentProblem(err)) throw err;
        // ECR's answer is not fatal: the helper fetches a token itself on a miss, and cred-refresher keeps trying.
        log.warn('could not warm the ECR token cache', { registry: registry.host, reason: classify(err).reason, error: describe(err) });
      }
    }
  }
  return creds;
}
