/**
 * Attack review of issue-14-rest and issue-12-rest (review/ATTACK-REST.md): each test reproduces one finding and
 * fails until it is fixed. The helper's run log, the preflight's fix-file naming for the Pod Identity target-role
 * variant, and docs/aws-setup.md's removal of pull-through-cache rules.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('docs/aws-setup.md removal', () => {
  /** The `sh ptc` blocks of the doc, in order: [setup, removal]. */
  function ptcBlocks(): string[] {
    const doc = readFileSync(join(repoRoot, 'docs', 'aws-setup.md'), 'utf8');
    return [...doc.matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1]!.split(/\s+/).includes('ptc')).map((m) => m[2]!);
  }

  /**
   * A stub `aws` for the ECR calls of those blocks, keeping rules and repositories as files under `state`
   * (repository names with '/' as '%'); every call is logged to state/calls.
   */
  function stubAws(bin: string, state: string): void {
    writeFileSync(
      join(bin, 'aws'),
      `#!/bin/bash
S=${state}
echo "$*" >> "$S/calls"
arg() { local k="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$k" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "ecr describe-pull-through-cache-rules") [ -e "$S/rules/$(arg --ecr-repository-prefixes "$@")" ] || exit 254 ;;
  "ecr create-pull-through-cache-rule") touch "$S/rules/$(arg --ecr-repository-prefix "$@")" ;;
  "ecr delete-pull-through-cache-rule") rm "$S/rules/$(arg --ecr-repository-prefix "$@")" ;;
  "ecr describe-repositories")
    p=$(arg --query "$@" | sed -n "s/.*starts_with(repositoryName, '\\([^']*\\)').*/\\1/p")
    ls "$S/repos" | tr '%' '/' | grep "^$p" | tr '\\n' '\\t'; echo ;;
  "ecr delete-repository") rm "$S/repos/$(arg --repository-name "$@" | tr '/' '%')" ;;
  "iam put-role-policy") ;;
  *) echo "stub aws: unexpected $*" >&2; exit 2 ;;
esac
`,
      { mode: 0o755 },
    );
  }

  // HIGH: the setup block reuses a rule that already exists (`describe … || create …`) and records nothing, yet the
  // removal deletes every rule it finds for k8s and quay and force-deletes (images and all) every repository whose
  // name starts with the prefix, whoever made it. Here the k8s rule and a team's k8s/team/app repository (pushed,
  // not pulled through the rule) existed before the steps ran; the removal deletes both. The prose asks the reader to
  // "leave out a prefix whose rule you had before", but the block does not (the namespace step got a label for
  // exactly this), and it cannot tell a pulled-through repository from a pushed one under a rule it did create.
  it('the removal deletes no rule and no repository that existed before the steps', () => {
    const [setup, removal] = ptcBlocks();
    expect(setup).toContain('create-pull-through-cache-rule');
    expect(removal).toContain('delete-pull-through-cache-rule');
    const root = mkdtempSync(join(tmpdir(), 'attack-rest-ptc-'));
    try {
      const state = join(root, 'state');
      const bin = join(root, 'bin');
      for (const d of [join(state, 'rules'), join(state, 'repos'), bin]) mkdirSync(d, { recursive: true });
      stubAws(bin, state);
      // Before the steps: someone's k8s rule, an image pulled through it, and a pushed repository under quay/.
      writeFileSync(join(state, 'rules', 'k8s'), '');
      writeFileSync(join(state, 'repos', 'k8s%pause'), '');
      writeFileSync(join(state, 'repos', 'quay%team%app'), '');
      // The steps: setup, then a first pull through the new quay rule, then the removal.
      const script = `set -euo pipefail\nfill() { :; }\nROLE=r WORK=${root}\n${setup}\ntouch ${state}/repos/quay%prometheus%node-exporter\n${removal}`;
      execFileSync('bash', ['-c', script], { env: { PATH: `${bin}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(readdirSync(join(state, 'rules')).sort()).toEqual(['k8s']);
      expect(readdirSync(join(state, 'repos')).sort()).toEqual(['k8s%pause', 'quay%team%app']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // HIGH, same kind: step 3 reuses a bucket that exists (`head-bucket || create-bucket`; the doc invites it: "an
  // existing bucket of that setup keeps serving", "Migrating a bucket …"), then the removal empties and deletes
  // whatever bucket has that name, with everything in it. The same holds for the IAM role (step 4 updates an existing
  // role's trust, the removal deletes the role and all its inline policies), a Pod Identity association that was
  // there, and the image repository.
  it('the removal keeps a bucket that existed before step 3', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'aws-setup.md'), 'utf8');
    const after = (heading: string) => /^```sh[^\n]*\n([\s\S]*?)^```$/m.exec(doc.slice(doc.indexOf(heading)))![1]!;
    const step3 = after('\n## 3. The S3 bucket');
    const removal = after('\n## Remove');
    expect(step3).toContain('create-bucket');
    expect(removal).toContain('delete-bucket');
    const root = mkdtempSync(join(tmpdir(), 'attack-rest-bucket-'));
    try {
      const state = join(root, 'state');
      const bin = join(root, 'bin');
      for (const d of [state, bin]) mkdirSync(d, { recursive: true });
      for (const tool of ['helm', 'kubectl', 'docker']) writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      writeFileSync(
        join(bin, 'aws'),
        `#!/bin/bash
S=${state}
case "$1 $2" in
  "s3api head-bucket") [ -e "$S/bucket" ] || exit 254 ;;
  "s3api create-bucket") mkdir "$S/bucket" ;;
  "s3api delete-bucket") rmdir "$S/bucket" ;;
  "s3 rm") rm -f "$S"/bucket/* ;;
  "iam get-role") exit 254 ;;
  "eks list-pod-identity-associations") echo None ;;
  *) ;;
esac
`,
        { mode: 0o755 },
      );
      // Before the steps: the bucket of the setup this project replaces, with its cached data and another key.
      mkdirSync(join(state, 'bucket'));
      writeFileSync(join(state, 'bucket', 'scheduler-state.json'), '{}');
      writeFileSync(join(state, 'bucket', 'reports%2026.csv'), 'a,b');
      const vars = 'AWS_REGION=eu-west-2 BUCKET=b RELEASE=r NS=n SA=s ROLE=r CLUSTER=c IMAGE_REPO=i ACCOUNT_ID=111122223333';
      const script = `set -euo pipefail\nfill() { :; }\n${vars}\nWORK=${join(root, 'work')}\nmkdir -p "$WORK"\n${step3}\n${removal}`;
      execFileSync('bash', ['-c', script], { cwd: repoRoot, env: { PATH: `${bin}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(readdirSync(join(state, 'bucket')).sort()).toEqual(['reports%2026.csv', 'scheduler-state.json']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
