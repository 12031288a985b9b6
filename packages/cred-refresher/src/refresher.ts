/**
 * The refresher: one Keeper for the STS credentials (credentials.json) and one per ECR registry (the helper's token
 * cache), their readiness, liveness and metrics. No timers here: the keepers own all scheduling.
 */
import { expiryProblem, type Logger } from '@ecr-proxy/core';
import { cacheKey, isSane, refreshToken, type AuthEntry, type EcrRegistry, type FetchToken, type RunOutcome, type TokenCache } from '@ecr-proxy/credential-helper';
import type { StoredCredentials } from '@ecr-proxy/sts-init';
import { describe, fromStored, SourceError, toStored, type TemporaryCredentials, type RefresherConfig } from '@ecr-proxy/sts-init/lib';
import type { Clock } from './clock.js';
import { Keeper, refreshDue } from './keeper.js';
import { Metrics } from './metrics.js';

export interface RefresherDeps {
  clock: Clock;
  log: Logger;
  /** One attempt at new credentials (the composed source). */
  obtain: (signal: AbortSignal) => Promise<TemporaryCredentials>;
  readCredentials: () => Promise<StoredCredentials>;
  writeCredentials: (creds: StoredCredentials) => Promise<void>;
  tokenCache: TokenCache;
  /** The ECR call, signing with the credentials it is given. */
  ecrFetcher: (credentials: () => Promise<TemporaryCredentials>) => FetchToken;
  random?: () => number;
  /** The helper's run outcomes (credential-helper's run-log.ts), collected at each scrape; absent: not exported. */
  helperRuns?: { collect(): void; readonly totals: Readonly<Record<RunOutcome, number>> };
}

export type RefresherSettings = Pick<
  RefresherConfig,
  'marginMs' | 'refreshFraction' | 'ecrRefreshFraction' | 'ecrRegistries' | 'cacheIdentity' | 'timeoutMs'
> & Partial<Pick<RefresherConfig, 'refreshFloorMs'>>;

export interface Readiness {
  ready: boolean;
  problems: string[];
}

export class Refresher {
  readonly metrics = new Metrics();
  readonly sts: Keeper<StoredCredentials>;
  readonly ecr: Array<{ registry: EcrRegistry; keeper: Keeper<AuthEntry> }>;
  private ecrStarted = false;
  /** AWS's clock minus ours (ms), from the Date of the last STS answer. */
  clockSkewMs: number | undefined;

  constructor(
    private readonly settings: RefresherSettings,
    private readonly deps: RefresherDeps,
  ) {
    const { clock, log } = deps;
    const attemptTimeoutMs = Math.min(settings.timeoutMs, 60_000);
    const floorMs = settings.refreshFloorMs ?? 60_000;
    this.sts = new Keeper<StoredCredentials>({
      name: 'sts',
      clock,
      attemptTimeoutMs,
      floorMs,
      ...(deps.random ? { random: deps.random } : {}),
      refresh: async (signal) => {
        const creds = await deps.obtain(signal);
        const stored = toStored(creds, clock.now());
        try {
          await deps.writeCredentials(stored);
        } catch (err) {
          throw new SourceError(`writing credentials.json failed: ${describe(err)}`, 'write', false);
        }
        return stored;
      },
      dueAt: (c) => refreshDue(Date.parse(c.RefreshedAt), Date.parse(c.Expiration), settings.refreshFraction, settings.marginMs),
      validUntil: (c) => Date.parse(c.Expiration),
      latestAt: (c) => Date.parse(c.Expiration) - settings.marginMs,
      onSuccess: (c) => {
        this.metrics.success('sts', clock.now());
        log.info('credentials refreshed', { principal: c.Principal, roleArn: c.RoleArn, expiration: c.Expiration });
        this.startEcr();
      },
      onFailure: (reason, err, retryInMs) => {
        this.metrics.failure('sts', reason);
        log.warn('refreshing credentials failed; keeping the current ones', { reason, error: describe(err), retryInMs, expiration: this.sts.current?.Expiration });
      },
    });
    const fetchToken = deps.ecrFetcher(async () => {
      const current = this.sts.current;
      if (!current) throw new SourceError('no AWS credentials yet', 'no_credentials', false);
      return fromStored(current);
    });
    this.ecr = settings.ecrRegistries.map((registry) => ({
      registry,
      keeper: new Keeper<AuthEntry>({
        name: `ecr ${registry.host}`,
        clock,
        attemptTimeoutMs,
        floorMs,
        ...(deps.random ? { random: deps.random } : {}),
        refresh: async (signal) => {
          const { entry } = await refreshToken(
            registry,
            { cache: deps.tokenCache, fetchToken, identity: settings.cacheIdentity, log, now: () => clock.now(), marginMs: settings.marginMs },
            signal,
          );
          // refreshToken only warns when the cache write fails; for us an unwritten token is a failed refresh.
          const stored = await deps.tokenCache.get(cacheKey(settings.cacheIdentity, registry)).catch(() => undefined);
          if (stored?.AuthorizationToken !== entry.AuthorizationToken) {
            throw new SourceError(`the ECR token of ${registry.host} was not written to the cache`, 'write', false);
          }
          return entry;
        },
        dueAt: (e) => refreshDue(Date.parse(e.RequestedAt), Date.parse(e.ExpiresAt), settings.ecrRefreshFraction),
        validUntil: (e) => Date.parse(e.ExpiresAt),
        latestAt: (e) => Date.parse(e.ExpiresAt) - settings.marginMs,
        onSuccess: (e) => {
          this.metrics.success('ecr', clock.now());
          log.info('ECR token refreshed', { registry: registry.host, expiresAt: e.ExpiresAt });
        },
        onFailure: (reason, err, retryInMs) => {
          this.metrics.failure('ecr', reason);
          log.warn('refreshing the ECR token failed; keeping the cached one', { registry: registry.host, reason, error: describe(err), retryInMs });
        },
      }),
    }));
  }

  /** Loads what sts-init wrote (and the cached ECR tokens) and starts the keepers. */
  async start(): Promise<void> {
    const now = this.deps.clock.now();
    const stored = await this.deps.readCredentials().catch((err: unknown) => {
      this.deps.log.info('no usable credentials.json yet; obtaining credentials', { error: describe(err) });
      return undefined;
    });
    // Sane, not merely unexpired: a year-9999 file would otherwise be held and never refreshed.
    const problem = stored && expiryProblem(Date.parse(stored.Expiration), now, { marginMs: 0 });
    if (stored && problem) this.deps.log.warn('credentials.json has an expiry that is not sane; obtaining new credentials', { problem, expiration: stored.Expiration });
    const usable = stored && !problem ? stored : undefined;
    this.sts.start(usable);
    if (usable) this.startEcr();
  }

  private startEcr(): void {
    if (this.ecrStarted) return;
    this.ecrStarted = true;
    for (const { registry, keeper } of this.ecr) {
      void this.deps.tokenCache
        .get(cacheKey(this.settings.cacheIdentity, registry))
        .catch(() => undefined)
        .then((entry) => keeper.start(entry && isSane(entry, this.deps.clock.now()) ? entry : undefined));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.sts.stop(), ...this.ecr.map((e) => e.keeper.stop())]);
  }

  readiness(): Readiness {
    const now = this.deps.clock.now();
    const problems: string[] = [];
    const creds = this.sts.current;
    if (!creds) problems.push('no AWS credentials');
    else if (Date.parse(creds.Expiration) - this.settings.marginMs <= now) problems.push('AWS credentials are within the margin of expiry');
    for (const { registry, keeper } of this.ecr) {
      const entry = keeper.current;
      if (!entry) problems.push(`no ECR token for ${registry.host}`);
      else if (Date.parse(entry.ExpiresAt) <= now) problems.push(`the ECR token for ${registry.host} expired`);
    }
    return { ready: problems.length === 0, problems };
  }

  isAlive(): boolean {
    const now = this.deps.clock.now();
    // ECR keepers not started yet wait for the first credentials; the STS keeper speaks for them.
    return this.sts.isAlive(now) && this.ecr.every(({ keeper }) => keeper.isAlive(now));
  }

  metricsText(): string {
    this.deps.helperRuns?.collect();
    return this.metrics.render(
      {
        credentialsExpiresAt: this.sts.current ? Date.parse(this.sts.current.Expiration) : undefined,
        principal: this.sts.current?.Principal,
        clockSkewMs: this.clockSkewMs,
        ecrTokens: this.ecr.map(({ registry, keeper }) => ({
          registry: registry.host,
          expiresAt: keeper.current ? Date.parse(keeper.current.ExpiresAt) : undefined,
        })),
        ...(this.deps.helperRuns ? { helperRuns: this.deps.helperRuns.totals } : {}),
      },
      this.deps.clock.now(),
    );
  }
}
