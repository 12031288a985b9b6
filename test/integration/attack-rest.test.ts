/**
 * Attack review of issue-14-rest and issue-12-rest (review/ATTACK-REST.md): each test reproduces one finding and
 * fails until it is fixed. The helper's run log, the preflight's fix-file naming for the Pod Identity target-role
 * variant. (Finding 1, the docs/aws-setup.md removal, is fixed; its tests are
 * test/integration/aws-setup-removal.test.ts and test/e2e/aws-setup-doc.test.ts.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun, RUN_LOG, RUN_OUTCOMES, RunLogReader } from '../../packages/credential-helper/src/run-log.js';
import { parse } from 'yaml';
import { preflightConfig } from '../../packages/preflight/src/config.js';
import { fixFor, fixForStsError, fixText } from '../../packages/preflight/src/fix.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, exePath, repoRoot, requireBuilt, runExe } from '../support/exe.js';

const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const FAILURE_BYTES = Object.values(RUN_OUTCOMES)
  .filter((o) => o.result === 'failure')
  .map((o) => o.byte);

describe('helper run log', () => {
  let fake: FakeAws;
  let work: string;
  beforeAll(async () => {
    requireBuilt();
    fake = await startFakeAws({ staticKeys: ['AKIASTATICEXAMPLE'] });
    work = await mkdtemp(join(tmpdir(), 'attack-rest-'));
  });
  afterAll(async () => {
    await fake?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  function env(dir: string, extra: Record<string, string> = {}) {
    return cleanEnv({
      ...fake.endpointEnv(),
      AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'static-secret-value-not-for-logs',
      AWS_ECR_CACHE_DIR: join(dir, 'ecr'),
      ...extra,
    });
  }

  // MEDIUM: a registry container whose helper env has a typo fails EVERY get (exit 1, "ECR_LOGIN_TIMEOUT: …"), and
  // none of those runs reaches cred_refresher_helper_runs_total: the panel shows no failures at all during an outage
  // that the metric exists to explain. AWS_ECR_CACHE_DIR itself is readable without the rest of the config.
  it('a get refused for its configuration (a bad ECR_LOGIN_TIMEOUT) is counted as a failed run', async () => {
    const dir = await mkdtemp(join(work, 'config-'));
    expect((await runExe(['get'], { env: env(dir), stdin: HOST })).code).toBe(0); // creates ecr/, counts one run
    const bad = await runExe(['get'], { env: env(dir, { ECR_LOGIN_TIMEOUT: 'fifteen' }), stdin: HOST });
    expect(bad.code).not.toBe(0);
    const runs = await readFile(join(dir, 'ecr', RUN_LOG), 'latin1');
    expect(runs).toHaveLength(2);
    expect(FAILURE_BYTES).toContain(runs[1]);
  });

  // LOW: a helper-runs that cred-refresher (uid 1000, owner of the directory) cannot read -- here one a `get` run as
  // root created, 0600 root -- stops the count for good and says nothing: the uid-1000 helpers cannot append to it,
  // the reader can neither read nor rotate it, no log line, no metric; the panel shows "no runs, no failures". The
  // refresher owns the directory, so it could move the blocker aside (or at least report it).
  it('a helper-runs the refresher cannot read does not stop the count for good', async () => {
    if (process.getuid?.() !== 0 || !process.seteuid) throw new Error('needs root (seteuid) to act as uid 1000');
    const dir = mkdtempSync(join(work, 'foreign-'));
    chmodSync(work, 0o755);
    chownSync(dir, 1000, 1000);
    chmodSync(dir, 0o700);
    expect(recordRun(dir, 'cache')).toBe(true); // as root: helper-runs is root's, 0600
    const reader = new RunLogReader(dir);
    process.setegid!(1000);
    process.seteuid(1000);
    try {
      reader.start();
      for (let i = 0; i < 3; i++) {
        recordRun(dir, 'ecr'); // the registry's helper, uid 1000
        reader.collect();
      }
    } finally {
      process.seteuid(0);
      process.setegid!(0);
    }
    expect(reader.totals.ecr).toBeGreaterThan(0);
  });

  // LOW: a helper that opened helper-runs just before a rotation is counted only if it writes before the NEXT collect,
  // which unlinks helper-runs.1. Collects run every 10 s AND at every scrape, so two can be milliseconds apart (a
  // scrape right after the timer, two Prometheus replicas); a helper descheduled between its open and its write
  // (CPU-throttled pod) then writes into an unlinked file. Measured with 4 writer processes x 3,000 runs and a
  // reader collecting in a tight loop: 11,999 of 12,000 counted at the default 4 KiB rotation, 11,969 at 16 bytes.
  // Here made deterministic: strace stops the built helper right after it opened and fstat'ed helper-runs.
  it('a helper stopped between its open and its write across two collects is still counted', async () => {
    const strace = ['/usr/bin/strace', '/bin/strace'].find((p) => { try { execFileSync(p, ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } });
    if (!strace) throw new Error('needs strace (apt-get install strace) to stop the helper between open and write');
    const dir = await mkdtemp(join(work, 'race-'));
    const runs = join(dir, RUN_LOG);
    writeFileSync(runs, 'c'.repeat(4096), { mode: 0o600 }); // earlier runs: the next collect rotates
    const reader = new RunLogReader(dir);
    reader.start();
    const child = spawn(strace, ['-f', '-qq', '-o', '/dev/null', '-P', runs, '-e', 'trace=statx,fstat,newfstatat', '-e', 'inject=statx,fstat,newfstatat:signal=SIGSTOP', exePath, 'get'], {
      env: cleanEnv({ AWS_ECR_CACHE_DIR: dir }),
      stdio: ['ignore', 'pipe', 'pipe'], // empty stdin: a bad_input run, no AWS needed
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let helper: number | undefined;
    for (let i = 0; i < 500 && helper === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20)); // polling a condition (the helper's stop), with a bound
      try {
        const pid = Number(execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).split('\n')[0]);
        if (/^State:\s+[tT]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) helper = pid;
      } catch {
        /* not started yet */
      }
    }
    expect(helper, 'the helper stopped at its fstat of helper-runs').toBeDefined();
    reader.collect(); // the timer: reads to the end, renames helper-runs to helper-runs.1
    reader.collect(); // a scrape: finishes helper-runs.1 and unlinks it
    process.kill(helper!, 'SIGCONT');
    expect(await exited).toBe(1); // strace exits with the helper's status: 1, no server URL (bad_input)
    reader.collect();
    reader.collect();
    expect(reader.totals.bad_input).toBe(1);
  });
});

describe('preflight fix naming', () => {
  // MEDIUM: with the Pod Identity targetRoleArn variant (docs/aws-setup.md "b", trust-cross-account-pod-identity.json
  // and assume-target-role-policy-pod-identity.json, new in issue-12-rest), EKS Auth assumes the cluster role and then
  // the target role; a refusal of either hop reaches sts-init as the agent's 400. sts-init then names only
  // trust-pod-identity.json, which may be perfectly fine, and never the two documents of the variant (fix.ts's FILES
  // does not know them).
  it("the agent's 400 names the Pod Identity target-role documents too", () => {
    const err = Object.assign(new Error('Server responded with status: 400'), { name: 'CredentialsProviderError' });
    const fix = fixForStsError(err);
    const said = `${fix ? fixText(fix) : ''} ${fix?.why ?? ''}`;
    expect(said).toContain('trust-pod-identity.json');
    expect(said).toContain('trust-cross-account-pod-identity.json');
    expect(said).toContain('assume-target-role-policy-pod-identity.json');
  });

  // MEDIUM: in the Pod Identity targetRoleArn variant (docs/aws-setup.md "b": overlays/pod-identity.yaml +
  // ecr-other-account.yaml) the pod IS the target role of the ECR account, reaching the cluster account's bucket
  // through bucket-policy-cross-account.json, which that block puts. The preflight decides its mode from
  // TARGET_ROLE_ARN alone (unset there: EKS does the hop), so it runs as 'same-account' and an S3 denial without a
  // policy kind (S3 gives none to another account's principal) names s3-cache-policy.json, never the bucket policy
  // the variant deployed.
  it('with the Pod Identity target-role overlay, an S3 denial names bucket-policy-cross-account.json', () => {
    const overlay = parse(readFileSync(join(repoRoot, 'chart-values', 'overlays', 'ecr-other-account.yaml'), 'utf8'));
    const stsInit = (overlay.initContainers as Array<{ name: string; env: Array<{ name: string; value: string }> }>).find((c) => c.name === 'sts-init')!;
    const env = Object.fromEntries(stsInit.env.map((e) => [e.name, e.value]));
    const config = preflightConfig([], env, { flags: false });
    const message = 'Access Denied';
    expect(fixText(fixFor('s3:PutObject', message, config.mode))).toContain('bucket-policy-cross-account.json');
  });

  // MEDIUM: AWS names the kind of policy that refused ("Troubleshoot access denied error messages" in the IAM User
  // Guide): besides identity- and resource-based policies, a VPC endpoint policy (an S3 gateway endpoint with a
  // policy, common on locked-down EKS VPCs), a service control policy or a resource control policy. None of them is a
  // file of this repository, yet blamedPolicy() knows none of them, so the preflight sends the operator to
  // s3-cache-policy.json statement S3Cache..., a document that already allows the action.
  it.each([
    ['with an explicit deny in a VPC endpoint policy'],
    ['because no VPC endpoint policy allows the s3:PutObject action'],
    ['with an explicit deny in a service control policy'],
    ['because no resource control policy allows the s3:PutObject action'],
  ])('a denial "%s" does not name s3-cache-policy.json', (because) => {
    const message = `User: arn:aws:sts::111122223333:assumed-role/cache-role/s is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::bucket/docker/x" ${because}`;
    const fix = fixFor('s3:PutObject', message, 'same-account');
    expect(fixText(fix)).not.toContain('s3-cache-policy.json');
  });
});
