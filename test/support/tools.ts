// Absolute paths of the real third-party tools installed by `node scripts/provision.mjs` into .tools/.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tools = join(repoRoot, '.tools');

export const toolPaths = {
  registry300: join(tools, 'registry-3.0.0/registry'),
  registry312: join(tools, 'registry-3.1.2/registry'),
  crane: join(tools, 'bin/crane'),
  /** docker-credential-ecr-login v0.12.0, the reference; kept out of bin/ so it never shadows ours. */
  refHelper: join(tools, 'ref/docker-credential-ecr-login'),
  motoServer: join(tools, 'moto-venv/bin/moto_server'),
  /** Python of the moto venv; also has `bcrypt`, used to write htpasswd files. */
  python: join(tools, 'moto-venv/bin/python'),
  /** The py-tools venv: the AWS CLI (v1, from PyPI), the IAM policy linter, the Kubernetes schema validator. */
  aws: join(tools, 'py-tools-venv/bin/aws'),
  parliament: join(tools, 'py-tools-venv/bin/parliament'),
  kubernetesValidate: join(tools, 'py-tools-venv/bin/kubernetes-validate'),
  /** promtool and prometheus from Debian's prometheus package (scripts/provision.mjs). */
  promtool: join(tools, 'promtool/promtool'),
  prometheus: join(tools, 'promtool/prometheus'),
  /** containerd 2.2.9 and crictl 1.34.0: the node side (test/support/node.ts). */
  containerd: join(tools, 'containerd-2.2.9/containerd'),
  crictl: join(tools, 'bin/crictl'),
  actionlint: join(tools, 'bin/actionlint'),
  /** Only with `node scripts/provision.mjs helm` (helm 3, a Go build) and `… helm4` (helm 4, from an npm package). */
  helm: join(tools, 'bin/helm'),
  helm4: join(tools, 'bin/helm4'),
} as const;

export type ToolName = keyof typeof toolPaths;

const provisionName: Record<ToolName, string> = {
  registry300: 'registry-3.0.0',
  registry312: 'registry-3.1.2',
  crane: 'crane',
  refHelper: 'ref-helper',
  motoServer: 'moto',
  python: 'moto',
  aws: 'py-tools',
  parliament: 'py-tools',
  kubernetesValidate: 'py-tools',
  promtool: 'promtool',
  prometheus: 'promtool',
  containerd: 'containerd',
  crictl: 'crictl',
  actionlint: 'actionlint',
  helm: 'helm',
  helm4: 'helm4',
};

/** Throws one line naming the command that installs what is missing (default: every default-set tool). */
export function requireTools(...names: ToolName[]): void {
  const wanted = names.length ? names : (Object.keys(toolPaths) as ToolName[]).filter((n) => n !== 'helm' && n !== 'helm4');
  const missing = wanted.filter((n) => !existsSync(toolPaths[n]));
  if (missing.length === 0) return;
  const args = [...new Set(missing.map((n) => provisionName[n]))].join(' ');
  throw new Error(`missing ${missing.map((n) => toolPaths[n]).join(', ')}: run \`node scripts/provision.mjs ${args}\``);
}
