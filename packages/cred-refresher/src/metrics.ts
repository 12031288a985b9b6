/** The refresher's metrics, in the Prometheus text format (0.0.4), written by hand: seven families. */
import { RUN_OUTCOMES, type RunOutcome } from '@ecr-proxy/credential-helper';

export type Kind = 'sts' | 'ecr';

export interface Snapshot {
  /** Epoch ms of the real credential expiry, if any credentials are held. */
  credentialsExpiresAt: number | undefined;
  /** The ARN the held credentials act as, if known. */
  principal?: string | undefined;
  /** AWS's clock minus ours, ms, from the Date of the last STS answer; undefined before any. */
  clockSkewMs?: number | undefined;
  ecrTokens: Array<{ registry: string; expiresAt: number | undefined }>;
  /** `get` runs of the helper by outcome since this process started (run-log.ts); the family is left out without. */
  helperRuns?: Readonly<Record<RunOutcome, number>>;
}

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
const num = (value: number) => (Number.isFinite(value) ? String(Math.round(value * 1000) / 1000) : 'NaN');

export class Metrics {
  private readonly refreshes = new Map<string, { kind: Kind; result: 'success' | 'failure'; reason: string; count: number }>();
  private readonly lastRefresh = new Map<Kind, number>();

  /** Pre-declares the success series so a scrape shows 0 before the first refresh. */
  constructor(kinds: readonly Kind[] = ['sts', 'ecr']) {
    for (const kind of kinds) this.add(kind, 'success', 'none', 0);
  }

  success(kind: Kind, at: number): void {
    this.add(kind, 'success', 'none', 1);
    this.lastRefresh.set(kind, at);
  }

  failure(kind: Kind, reason: string): void {
    this.add(kind, 'failure', reason, 1);
  }

  count(kind: Kind, result: 'success' | 'failure', reason?: string): number {
    let total = 0;
    for (const s of this.refreshes.values()) if (s.kind === kind && s.result === result && (reason === undefined || s.reason === reason)) total += s.count;
    return total;
  }

  private add(kind: Kind, result: 'success' | 'failure', reason: string, n: number): void {
    const key = `${kind}/${result}/${reason}`;
    const series = this.refreshes.get(key) ?? { kind, result, reason, count: 0 };
    series.count += n;
    this.refreshes.set(key, series);
  }

  render(snapshot: Snapshot, now: number): string {
    const out: string[] = [];
    const family = (name: string, type: 'gauge' | 'counter', help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('cred_refresher_credentials_expiry_seconds', 'gauge', 'Seconds until the AWS credentials in credentials.json really expire (negative: expired).');
    if (snapshot.credentialsExpiresAt !== undefined) out.push(`cred_refresher_credentials_expiry_seconds ${num((snapshot.credentialsExpiresAt - now) / 1000)}`);
    family('cred_refresher_ecr_token_expiry_seconds', 'gauge', 'Seconds until the cached ECR token of a registry expires (negative: expired).');
    for (const t of snapshot.ecrTokens) {
      if (t.expiresAt !== undefined) out.push(`cred_refresher_ecr_token_expiry_seconds${labels({ registry: t.registry })} ${num((t.expiresAt - now) / 1000)}`);
    }
    family('cred_refresher_principal_info', 'gauge', 'The principal (assumed-role ARN) the held AWS credentials act as; always 1.');
    if (snapshot.principal) out.push(`cred_refresher_principal_info${labels({ principal: snapshot.principal })} 1`);
    family('cred_refresher_clock_skew_seconds', 'gauge', "AWS's clock minus this host's, from the Date header of the last STS answer.");
    if (snapshot.clockSkewMs !== undefined) out.push(`cred_refresher_clock_skew_seconds ${num(snapshot.clockSkewMs / 1000)}`);
    family('cred_refresher_refresh_total', 'counter', 'Refresh attempts by kind (sts, ecr), result and failure reason.');
    for (const s of [...this.refreshes.values()].sort((a, b) => `${a.kind}${a.result}${a.reason}`.localeCompare(`${b.kind}${b.result}${b.reason}`))) {
      out.push(`cred_refresher_refresh_total${labels({ kind: s.kind, result: s.result, reason: s.reason })} ${s.count}`);
    }
    family('cred_refresher_last_refresh_timestamp_seconds', 'gauge', 'Unix time of the last successful refresh, by kind.');
    for (const [kind, at] of this.lastRefresh) out.push(`cred_refresher_last_refresh_timestamp_seconds${labels({ kind })} ${num(at / 1000)}`);
    if (snapshot.helperRuns) {
      family('cred_refresher_helper_runs_total', 'counter', "The registry's credential helper `get` runs by result and outcome, as the helper recorded them in the ECR cache directory.");
      for (const [outcome, { result }] of Object.entries(RUN_OUTCOMES)) {
        out.push(`cred_refresher_helper_runs_total${labels({ result, outcome })} ${snapshot.helperRuns[outcome as RunOutcome] ?? 0}`);
      }
    }
    return out.join('\n') + '\n';
  }
}
