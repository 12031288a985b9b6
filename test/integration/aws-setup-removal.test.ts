/**
 * docs/aws-setup.md's removal deletes only what the steps created: fast runs of the doc's own blocks in bash with a
 * stub `aws` that keeps state in files (the full setup and removal run against moto in test/e2e/aws-setup-doc.test.ts,
 * which also covers a pre-existing rule, bucket and role there). From review/ATTACK-REST.md finding 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exe.js';

const doc = () => readFileSync(join(repoRoot, 'docs', 'aws-setup.md'), 'utf8');
const shBlocks = (text: string) => [...text.matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ tags: m[1]!.trim().split(/\s+/), text: m[2]! }));
/** The first `sh` block after a heading. */
const after = (heading: string) => shBlocks(doc().slice(doc().indexOf(heading)))[0]!.text;
/** Step 1's second block: fill() and the helpers the removal uses (made_here, kept, MADE_BY); fill() is then a no-op. */
const helpers = () => `${shBlocks(doc())[1]!.text}\nfill() { :; }\n`;

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function setUp(stub: string): { state: string; bin: string } {
  root = mkdtempSync(join(tmpdir(), 'aws-setup-removal-'));
  const state = join(root, 'state');
  const bin = join(root, 'bin');
  for (const d of [state, bin]) mkdirSync(d, { recursive: true });
  writeFileSync(join(bin, 'aws'), `#!/bin/bash\nS=${state}\necho "$*" >> "$S/calls"\n` + 'arg() { local k="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$k" ] && { echo "$2"; return; }; shift; done; }\n' + stub, { mode: 0o755 });
  for (const tool of ['helm', 'kubectl', 'docker']) writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return { state, bin };
}

function bash(script: string, bin: string): { status: number; stderr: string } {
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: repoRoot, env: { PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
  return { status: r.status ?? -1, stderr: r.stderr };
}

describe('docs/aws-setup.md removal', () => {
  it('deletes only the pull-through-cache rules the steps created and the repositories created through them', () => {
    const ptc = shBlocks(doc()).filter((b) => b.tags.includes('ptc')).map((b) => b.text);
    expect(ptc).toHaveLength(2);
    const [setup, removal] = ptc as [string, string];
    // rules and repositories as files (repository names with '/' as '%') holding their createdAt, epoch seconds as
    // AWS CLI v1 prints it; the rules' as ISO 8601, as v2 does
    const { state, bin } = setUp(`mkdir -p "$S/rules" "$S/repos"
case "$1 $2" in
  "ecr describe-pull-through-cache-rules")
    f="$S/rules/$(arg --ecr-repository-prefixes "$@")"; [ -e "$f" ] || exit 254
    if [ "$(arg --query "$@")" = 'pullThroughCacheRules[0].createdAt' ]; then date -u -d "@$(cat "$f")" +%Y-%m-%dT%H:%M:%S.%N+00:00; fi ;;
  "ecr create-pull-through-cache-rule") date +%s.%N > "$S/rules/$(arg --ecr-repository-prefix "$@")" ;;
  "ecr delete-pull-through-cache-rule") rm "$S/rules/$(arg --ecr-repository-prefix "$@")" ;;
  "ecr describe-repositories")
    p=$(arg --query "$@" | sed -n "s/.*starts_with(repositoryName, '\\([^']*\\)').*/\\1/p")
    for f in "$S"/repos/*; do n=$(basename "$f" | tr '%' '/'); [[ $n == "$p"* ]] && printf '%s\\t%s\\n' "$n" "$(cat "$f")"; done; true ;;
  "ecr delete-repository") rm "$S/repos/$(arg --repository-name "$@" | tr '/' '%')" ;;
  "iam put-role-policy") ;;
  *) echo "stub aws: unexpected $*" >&2; exit 2 ;;
esac
`);
    mkdirSync(join(state, 'rules'));
    mkdirSync(join(state, 'repos'));
    // Before the steps: someone's k8s rule with an image pulled through it, and a team's repository pushed under quay/.
    const before = (Date.now() / 1000 - 3600).toFixed(3);
    writeFileSync(join(state, 'rules', 'k8s'), before);
    writeFileSync(join(state, 'repos', 'k8s%pause'), before);
    writeFileSync(join(state, 'repos', 'quay%team%app'), before);
    // The steps: setup (twice: re-runnable), a first pull through the new quay rule, then the removal in a new shell.
    const firstPull = `echo "$(date +%s.%N)" > ${state}/repos/quay%prometheus%node-exporter`;
    const vars = `CLUSTER=c NS=n SA=s ROLE=r WORK=${join(root, 'work')}; mkdir -p "$WORK"\n`;
    expect(bash(`${vars}${helpers()}${setup}\n${setup}\n${firstPull}`, bin)).toMatchObject({ status: 0 });
    expect(readFileSync(join(root, 'work', 'ptc-rules-created'), 'utf8')).toBe('quay\n');
    const r = bash(`${vars}${helpers()}${removal}`, bin);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(state, 'rules')).sort()).toEqual(['k8s']);
    expect(readdirSync(join(state, 'repos')).sort()).toEqual(['k8s%pause', 'quay%team%app']);
    expect(r.stderr).toContain('kept ECR repository quay/team/app: it existed before the quay rule of these steps');
  });

  // The bucket stub: head/create/delete, tagging, `s3 rm`; no role, no repositories, no associations.
  const bucketStub = `case "$1 $2" in
  "s3api head-bucket") [ -e "$S/bucket" ] || exit 254; echo '{"BucketRegion": "eu-west-2"}' ;;   # as the CLI prints it
  "s3api create-bucket") mkdir "$S/bucket" ;;
  "s3api put-bucket-tagging") arg --tagging "$@" > "$S/bucket-tags" ;;
  "s3api get-bucket-tagging") [ -e "$S/bucket-tags" ] || exit 254; sed -n 's/.*Key=created-by,Value=\\([^}]*\\)}.*/\\1/p' "$S/bucket-tags" ;;
  "s3api delete-bucket") rmdir "$S/bucket"; rm -f "$S/bucket-tags" ;;
  "s3 rm") rm -f "$S"/bucket/* ;;
  "iam get-role"|"ecr describe-repositories") exit 254 ;;
  "eks list-pod-identity-associations") echo None ;;
  "s3api put-"*) ;;
  *) echo "stub aws: unexpected $*" >&2; exit 2 ;;
esac
`;
  const bucketRun = (bin: string) => {
    const vars = `AWS_REGION=eu-west-2 BUCKET=b RELEASE=r NS=n SA=s ROLE=r CLUSTER=c IMAGE_REPO=i ACCOUNT_ID=111122223333 WORK=${join(root, 'work')}; mkdir -p "$WORK"\n`;
    const step3 = after('\n## 3. The S3 bucket');
    expect(step3).toContain('create-bucket');
    const setup = bash(`${vars}${helpers()}${step3}`, bin);
    expect(setup.status, setup.stderr).toBe(0);
    const removal = bash(`${vars}${helpers()}${after('\n## Remove')}`, bin);
    expect(removal.status, removal.stderr).toBe(0);
    return { setup, removal };
  };

  it('keeps a bucket that existed before step 3, with everything in it, and says so', () => {
    const { state, bin } = setUp(bucketStub);
    // Before the steps: the bucket of the setup this project replaces, with its cached data and another key.
    mkdirSync(join(state, 'bucket'));
    writeFileSync(join(state, 'bucket', 'scheduler-state.json'), '{}');
    writeFileSync(join(state, 'bucket', 'reports%2026.csv'), 'a,b');
    const { setup, removal } = bucketRun(bin);
    expect(setup.stderr).toContain('reusing bucket b, which these steps did not create');
    expect(readdirSync(join(state, 'bucket')).sort()).toEqual(['reports%2026.csv', 'scheduler-state.json']);
    expect(removal.stderr).toContain('kept S3 bucket b');
    expect(readFileSync(join(state, 'calls'), 'utf8')).not.toMatch(/put-bucket-tagging|delete-bucket|^s3 rm/m);
  });

  it('deletes the bucket step 3 created (tagged), with its objects', () => {
    const { state, bin } = setUp(bucketStub);
    const { removal } = bucketRun(bin);
    expect(readFileSync(join(state, 'calls'), 'utf8')).toMatch(/^s3api put-bucket-tagging --bucket b --tagging TagSet=\[\{Key=created-by,Value=registry-cache-aws-setup\/c\/n\/s\}\]$/m);
    expect(readdirSync(state)).not.toContain('bucket');
    expect(removal.stderr).not.toContain('kept');
  });
});
