/**
 * Attack review of issue-14-rest and issue-12-rest (review/ATTACK-REST.md): each test reproduces one finding and
 * fails until it is fixed. Left here: docs/aws-setup.md's removal (finding 1); the run log's and the preflight's
 * findings (2-5) are product tests now (run-log.test.ts, credential-helper integration, preflight fix/checks tests).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exe.js';

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
