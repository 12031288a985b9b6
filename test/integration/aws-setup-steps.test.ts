/**
 * Blocks of docs/aws-setup.md run by bash against stub `aws` commands that keep state as files: fill()'s role
 * substitutions, a second setup (another cluster) in the same account, and switching between the Pod Identity
 * variants. From review/ATTACK-LAST.md (each describe names its finding); the e2e test runs the whole doc on moto.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exe.js';

const doc = () => readFileSync(join(repoRoot, 'docs', 'aws-setup.md'), 'utf8');
/** fill() exactly as step 1 of docs/aws-setup.md defines it. */
const fillFn = () => /^fill\(\) \{\n[\s\S]*?^\}$/m.exec(doc())![0];

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function fill(file: string, names: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'attack-last-'));
  const env = {
    PATH: process.env.PATH!, WORK: root, AWS_REGION: 'eu-west-1', CLUSTER: 'c1', NS: 'registry-cache', SA: 'ecr-pull-through-cache',
    ROLE: 'ecr-pull-through-cache', IMAGE_REPO: 'ecr-pull-through-cache', TAG: '3.0.0-1', ECR_ACCOUNT_ID: '222222222222',
    TARGET_ROLE: 'ecr-pull-through-cache-reader', ACCOUNT_ID: '111111111111', BUCKET: 'b', OIDC: 'oidc.example/id/X', ...names,
  };
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${fillFn()}\nfill "$1"`, 'fill', file], { cwd: repoRoot, env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(join(root, file.split('/').pop()!), 'utf8');
}

describe('docs/aws-setup.md fill(): the target role is not rewritten by the ROLE rule (review/ATTACK-LAST.md finding 2)', () => {
  // step 1 lets the user choose ROLE and TARGET_ROLE independently; step 4 creates the role named $TARGET_ROLE
  it('a ROLE of the user\'s own with the default TARGET_ROLE keeps the target role ARN the steps create', () => {
    const names = { ROLE: 'registry-cache', TARGET_ROLE: 'ecr-pull-through-cache-reader' };
    const overlay = fill('chart-values/overlays/cross-account.yaml', names);
    expect(overlay).toContain('arn:aws:iam::222222222222:role/ecr-pull-through-cache-reader');
    expect(overlay).not.toContain('role/registry-cache-reader');
    expect(fill('chart-values/aws/assume-target-role-policy.json', names)).toContain(':role/ecr-pull-through-cache-reader"');
  });

  it('a TARGET_ROLE that starts with the default role name is not rewritten a second time', () => {
    const names = { ROLE: 'cache-irsa', TARGET_ROLE: 'ecr-pull-through-cache-ro' };
    const overlay = fill('chart-values/overlays/cross-account.yaml', names);
    expect(overlay).toContain('arn:aws:iam::222222222222:role/ecr-pull-through-cache-ro\n');
    expect(overlay).not.toContain('role/cache-irsa-ro');
  });
});

describe('docs/aws-setup.md, a second cluster in the same account: nothing of the first one is taken over or removed (review/ATTACK-LAST.md finding 1)', () => {
  const shBlocks = (text: string) => [...text.matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ tags: m[1]!.trim().split(/\s+/), text: m[2]! }));
  const after = (heading: string) => shBlocks(doc().slice(doc().indexOf(heading)))[0]!.text;
  const helpers = () => shBlocks(doc())[1]!.text; // step 1's fill(), made_here, kept, MADE_BY
  // A stub `aws` keeping one role and one bucket as files: role/{tags,trust,policies}, bucket/{tags,objects}.
  const stub = `#!/bin/bash
S=$STATE; echo "$*" >> "$S/calls"
arg() { local k="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$k" ] && { echo "$2"; return; }; shift; done; }
doc() { cat "\${1#file://}"; }
case "$1 $2" in
  "iam get-role") [ -d "$S/role" ] || exit 254; cat "$S/role/tag" ;;
  "iam create-role") mkdir "$S/role"; echo "$(arg --tags "$@")" | sed 's/.*Value=//' > "$S/role/tag"; doc "$(arg --assume-role-policy-document "$@")" > "$S/role/trust" ;;
  "iam update-assume-role-policy") doc "$(arg --policy-document "$@")" > "$S/role/trust" ;;
  "iam put-role-policy") touch "$S/role/policy-$(arg --policy-name "$@")" ;;
  "iam list-role-policies") (cd "$S/role" && ls policy-* 2>/dev/null | sed 's/^policy-//') | tr '\\n' ' '; echo ;;
  "iam delete-role-policy") rm "$S/role/policy-$(arg --policy-name "$@")" ;;
  "iam delete-role") rm -r "$S/role" ;;
  "s3api head-bucket") [ -d "$S/bucket" ] || exit 254 ;;
  "s3api create-bucket") mkdir -p "$S/bucket/objects" ;;
  "s3api put-bucket-tagging") echo registry-cache-aws-setup > "$S/bucket/tag" ;;
  "s3api get-bucket-tagging") [ -f "$S/bucket/tag" ] || exit 254; cat "$S/bucket/tag" ;;
  "s3api delete-bucket") rm -r "$S/bucket" ;;
  "s3 rm") rm -rf "$S/bucket/objects"/* ;;
  "s3api put-"*) ;;
  "eks list-pod-identity-associations") echo None ;;
  "ecr describe-repositories") exit 254 ;;
  *) echo "stub aws: unexpected $*" >&2; exit 2 ;;
esac
`;
  function run(script: string, vars: Record<string, string>, state: string, bin: string) {
    const env = { PATH: `${bin}:${process.env.PATH}`, STATE: state, ...vars };
    return spawnSync('bash', ['-c', `set -euo pipefail\n${helpers()}\n${script}`], { cwd: repoRoot, env, encoding: 'utf8' });
  }
  function twoClusters() {
    root = mkdtempSync(join(tmpdir(), 'attack-last-'));
    const state = join(root, 'state');
    const bin = join(root, 'bin');
    spawnSync('mkdir', ['-p', state, bin]);
    writeFileSync(join(bin, 'aws'), stub, { mode: 0o755 });
    for (const tool of ['helm', 'kubectl', 'docker']) writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // step 1 as documented: only CLUSTER (and so its OIDC issuer) differs; the other names keep their defaults
    const common = { AWS_REGION: 'eu-west-1', NS: 'registry-cache', SA: 'ecr-pull-through-cache', ROLE: 'ecr-pull-through-cache', RELEASE: 'registry-cache',
      IMAGE_REPO: 'ecr-pull-through-cache', TAG: '3.0.0-1', ACCOUNT_ID: '111111111111', BUCKET: 'registry-cache-111111111111-eu-west-1',
      ECR_ACCOUNT_ID: '210987654321', TARGET_ROLE: 'ecr-pull-through-cache-reader' };
    const a = { ...common, CLUSTER: 'prod', OIDC: 'oidc.eks.eu-west-1.amazonaws.com/id/AAAA', WORK: join(root, 'work-a') };
    const b = { ...common, CLUSTER: 'staging', OIDC: 'oidc.eks.eu-west-1.amazonaws.com/id/BBBB', WORK: join(root, 'work-b') };
    const setup = `mkdir -p "$WORK"\n${after('\n## 3. The S3 bucket')}\n${after('\n## 4. The IAM role')}`;
    const ra = run(setup, a, state, bin);
    expect(ra.status, ra.stderr).toBe(0);
    writeFileSync(join(state, 'bucket', 'objects', 'prod-cache-blob'), 'x'); // cluster prod's cache in use
    const rb = run(setup, b, state, bin);
    return { state, b, bin, setupB: rb };
  }

  it("the second cluster's IRSA step does not replace the first cluster's trust policy", () => {
    const { state, setupB } = twoClusters();
    const trust = readFileSync(join(state, 'role', 'trust'), 'utf8');
    // expected: refused (exit non-zero, one line) or the trust still lets cluster prod in; actual: silently retargeted
    expect(setupB.status !== 0 || trust.includes('/id/AAAA'), `exit ${setupB.status}; trust now: ${trust}`).toBe(true);
  });

  it("removing the second cluster's setup keeps the first cluster's role and bucket", () => {
    const { state, b, bin } = twoClusters();
    const removal = run(after('\n## Remove'), b, state, bin);
    expect(removal.status, removal.stderr).toBe(0);
    const calls = readFileSync(join(state, "calls"), "utf8");
    expect(calls, "cluster prod's cache bucket emptied and deleted").not.toMatch(/^s3api delete-bucket/m);
    expect(calls, "IAM role of cluster prod deleted").not.toMatch(/^iam delete-role /m);
    expect(existsSync(join(state, 'bucket', 'objects', 'prod-cache-blob')), "cluster prod's cache bucket emptied and deleted").toBe(true);
  });
});

describe('docs/aws-setup.md, switching to variant b: the association hands out the target role (review/ATTACK-LAST.md finding 3)', () => {
  it('re-running "b. With EKS Pod Identity" after the same-account association gives the pod the target role; switching back drops it', () => {
    root = mkdtempSync(join(tmpdir(), 'attack-last-'));
    const blocks = [...doc().matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ tags: m[1]!.trim().split(/\s+/), text: m[2]! }));
    const same = blocks.find((b) => b.tags.includes('pod-identity-same-account'))!.text;
    const target = blocks.find((b) => b.tags.includes('pod-identity-target'))!.text;
    const bin = join(root, 'bin');
    spawnSync('mkdir', ['-p', bin, join(root, 'work'), join(root, 's')]);
    // one association as files: s/assoc (role), s/assoc-target, s/assoc-tag; roles: absent in the ECR account
    writeFileSync(join(bin, 'aws'), `#!/bin/bash
S=${join(root, 's')}; echo "$*" >> "$S/calls"
[ "$1" = --profile ] && shift 2
arg() { local k="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$k" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "eks list-pod-identity-associations") if [ -f "$S/assoc" ]; then echo a-1; else echo None; fi ;;
  "eks create-pod-identity-association") arg --role-arn "$@" > "$S/assoc"; t=$(arg --target-role-arn "$@"); echo "\${t:-None}" > "$S/assoc-target"; arg --tags "$@" | sed 's/^created-by=//' > "$S/assoc-tag" ;;
  "eks delete-pod-identity-association") rm "$S/assoc" "$S/assoc-target" "$S/assoc-tag" ;;
  "eks describe-pod-identity-association") case $(arg --query "$@") in *created-by*) cat "$S/assoc-tag" ;; *targetRoleArn) cat "$S/assoc-target" ;; esac ;;
  "iam get-role") exit 254 ;;
  "iam create-role"|"iam put-role-policy"|"iam delete-role-policy"|"iam update-assume-role-policy"|"s3api put-bucket-policy") ;;
  *) echo "stub aws: unexpected $*" >&2; exit 2 ;;
esac
`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}`, WORK: join(root, 'work'), AWS_REGION: 'eu-west-1', CLUSTER: 'c1', NS: 'registry-cache', SA: 'ecr-pull-through-cache',
      ROLE: 'ecr-pull-through-cache', IMAGE_REPO: 'ecr-pull-through-cache', TAG: '3.0.0-1', ECR_ACCOUNT_ID: '222222222222', ECR_PROFILE: 'ecr',
      TARGET_ROLE: 'ecr-pull-through-cache-reader', ACCOUNT_ID: '111111111111', BUCKET: 'b', OIDC: 'oidc.example/id/X' };
    const helpers = blocks[1]!.text;
    const first = spawnSync('bash', ['-c', `set -euo pipefail\n${helpers}\n${same}`], { cwd: repoRoot, env, encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);
    const second = spawnSync('bash', ['-c', `set -euo pipefail\n${helpers}\n${target}`], { cwd: repoRoot, env, encoding: 'utf8' });
    const assocTarget = readFileSync(join(root, 's', 'assoc-target'), 'utf8').trim();
    // the filled overlay expects the target role; the association must hand it out, or the block must say it does not
    expect(second.status, second.stderr).toBe(0);
    expect(assocTarget).toBe('arn:aws:iam::222222222222:role/ecr-pull-through-cache-reader');
    // and back to the same-account variant: the target is dropped again
    const third = spawnSync('bash', ['-c', `set -euo pipefail\n${helpers}\n${same}`], { cwd: repoRoot, env, encoding: 'utf8' });
    expect(third.status, third.stderr).toBe(0);
    expect(readFileSync(join(root, 's', 'assoc-target'), 'utf8').trim()).toBe('None');
  });
});
