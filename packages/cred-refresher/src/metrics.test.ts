import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe(Metrics.name, () => {
  it('renders the four families with HELP and TYPE lines', () => {
    const m = new Metrics();
    m.success('sts', 1_700_000_000_000);
    m.failure('sts', 'throttling');
    m.failure('sts', 'throttling');
    const text = m.render({ credentialsExpiresAt: 1_700_000_100_000, ecrTokens: [{ registry: 'r"1', expiresAt: 1_700_000_050_000 }] }, 1_700_000_000_000);
    for (const name of ['credentials_expiry_seconds', 'ecr_token_expiry_seconds', 'refresh_total', 'last_refresh_timestamp_seconds']) {
      expect(text).toContain(`# HELP cred_refresher_${name} `);
      expect(text).toMatch(new RegExp(`# TYPE cred_refresher_${name} (gauge|counter)`));
    }
    expect(text).toContain('cred_refresher_credentials_expiry_seconds 100\n');
    expect(text).toContain('cred_refresher_ecr_token_expiry_seconds{registry="r\\"1"} 50\n');
    expect(text).toContain('cred_refresher_refresh_total{kind="sts",result="failure",reason="throttling"} 2\n');
    expect(text).toContain('cred_refresher_refresh_total{kind="sts",result="success",reason="none"} 1\n');
    expect(text).toContain('cred_refresher_refresh_total{kind="ecr",result="success",reason="none"} 0\n');
    expect(text).toContain('cred_refresher_last_refresh_timestamp_seconds{kind="sts"} 1700000000\n');
  });

  it('labels the principal and shows the clock skew (issue 9)', () => {
    const m = new Metrics();
    const text = m.render({ credentialsExpiresAt: undefined, ecrTokens: [], principal: 'arn:aws:sts::123456789012:assumed-role/r/s', clockSkewMs: -1500 }, 0);
    expect(text).toContain('cred_refresher_principal_info{principal="arn:aws:sts::123456789012:assumed-role/r/s"} 1\n');
    expect(text).toContain('cred_refresher_clock_skew_seconds -1.5\n');
    expect(new Metrics().render({ credentialsExpiresAt: undefined, ecrTokens: [] }, 0)).not.toMatch(/^cred_refresher_(principal_info|clock_skew_seconds)[ {]/m);
  });

  it('exports the helper runs by result and outcome, every outcome declared, when the refresher reads them', () => {
    const runs = { cache: 7, ecr: 2, stale_cache: 0, bad_input: 0, not_ecr_host: 0, not_allowed: 1, identity: 0, ecr_error: 3, deadline: 0, error: 0 };
    const text = new Metrics().render({ credentialsExpiresAt: undefined, ecrTokens: [], helperRuns: runs }, 0);
    expect(text).toContain('# TYPE cred_refresher_helper_runs_total counter\n');
    expect(text).toContain('cred_refresher_helper_runs_total{result="success",outcome="cache"} 7\n');
    expect(text).toContain('cred_refresher_helper_runs_total{result="failure",outcome="ecr_error"} 3\n');
    expect(text.match(/^cred_refresher_helper_runs_total\{/gm)).toHaveLength(10);
    expect(new Metrics().render({ credentialsExpiresAt: undefined, ecrTokens: [] }, 0)).not.toContain('helper_runs');
  });
});
