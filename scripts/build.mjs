#!/usr/bin/env node
// Builds the one executable: dist/bin/docker-credential-ecr-login, with sts-init and cred-refresher linked to it.
//
// Two bundles, so a warm `get` never parses the AWS SDK:
//   dist/main.cjs  the entry: dispatch, the helper protocol, the cache, credential-process (no SDK);
//   dist/lazy.cjs  every module reached through a dynamic import() (the AWS SDK and the long-running roles).
// Both go into a Node single executable application: main.cjs as the main script (with V8's code cache),
// lazy.cjs as an asset compiled on first use, with a V8 code cache of its own (lazy.cache, a second asset): compiling
// the 600 KB SDK bundle from source was about half of a cold `get` (~170 of ~350 ms; ~95 ms with the cache).
//
// Usage: node scripts/build.mjs [--node /path/to/node24]   (default: the node-linux-<arch> package)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const bin = join(dist, 'bin');
const EXE = 'docker-credential-ecr-login';
const LINKS = ['sts-init', 'cred-refresher'];
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function baseNode() {
  const i = process.argv.indexOf('--node');
  if (i !== -1) {
    const path = process.argv[i + 1];
    if (!path || !existsSync(path)) fail(`--node: "${path ?? ''}" does not exist; give the path of a Node 24 binary`);
    return path;
  }
  const pkg = `node-linux-${process.arch}`;
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', 'node');
  } catch {
    fail(`the npm package ${pkg} is not installed; run pnpm install, or pass --node /path/to/node24`);
  }
}

/** Every dynamic import() in the main bundle becomes a stub that asks the lazy bundle for the module by id. */
function lazyImports(ids) {
  return {
    name: 'lazy-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData?.lazy) return undefined;
        const resolved = await b.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir, pluginData: { lazy: true } });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        const id = relative(root, resolved.path);
        ids.set(id, resolved.path);
        return { path: id, namespace: 'lazy' };
      });
      b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
        contents: `module.exports = __lazyModule(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}

// Loads dist/lazy.cjs once: from the executable's assets when it is one, else from beside main.cjs. Compiled as
// Module._compile would, but through vm.Script so V8 can take the code cache (made at build time by the same Node
// binary; V8 checks source and version and silently compiles from source if the cache does not match).
const lazyLoader = `
var __lazyExports;
function __lazyModule(id) {
  if (!__lazyExports) {
    var path = require('node:path'), Module = require('node:module'), vm = require('node:vm'), sea = process.getBuiltinModule && process.getBuiltinModule('node:sea');
    var inSea = !!(sea && sea.isSea()), filename = inSea ? path.join(path.dirname(process.execPath), 'lazy.cjs') : path.join(__dirname, 'lazy.cjs');
    var code = inSea ? sea.getAsset('lazy.cjs', 'utf8') : require('node:fs').readFileSync(filename, 'utf8');
    var cachedData;
    try { cachedData = inSea ? Buffer.from(sea.getAsset('lazy.cache')) : undefined; } catch (e) { cachedData = undefined; }
    var m = new Module(filename);
    m.filename = filename;
    m.paths = [];
    var wrapper = new vm.Script(Module.wrap(code), { filename: filename, cachedData: cachedData }).runInThisContext();
    wrapper.call(m.exports, m.exports, function require(id) { return m.require(id); }, m, filename, path.dirname(filename));
    __lazyExports = m.exports;
  }
  return __lazyExports[id]();
}`;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // The SDK's optional CRT and the like are not used; leaving them unresolved would fail the bundle.
  external: ['aws-crt', '@aws-sdk/signature-v4-crt'],
};

async function bundles() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  const ids = new Map();
  await build({
    ...common,
    entryPoints: [join(root, 'packages/bin/src/entry.ts')],
    outfile: join(dist, 'main.cjs'),
    banner: { js: lazyLoader },
    plugins: [lazyImports(ids)],
  });
  const table = [...ids].map(([id, path]) => `  ${JSON.stringify(id)}: () => require(${JSON.stringify(path)}),`).join('\n');
  await build({
    ...common,
    stdin: { contents: `module.exports = {\n${table}\n};\n`, resolveDir: root, loader: 'js', sourcefile: 'lazy-entry.js' },
    outfile: join(dist, 'lazy.cjs'),
  });
  return [...ids.keys()];
}

/**
 * V8 code cache of lazy.cjs, made by `node` (the executable's own binary: a cache only fits the V8 that made it).
 * Every lazy module is loaded first, so the functions their start-up compiles are in the cache too.
 */
function lazyCodeCache(node) {
  const script = `
    const vm = require('node:vm'), fs = require('node:fs'), Module = require('node:module'), path = require('node:path');
    const [filename, out] = process.argv.slice(1);
    const s = new vm.Script(Module.wrap(fs.readFileSync(filename, 'utf8')), { filename });
    const m = new Module(filename);
    m.filename = filename;
    m.paths = [];
    s.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, filename, path.dirname(filename));
    for (const load of Object.values(m.exports)) load();
    fs.writeFileSync(out, s.createCachedData());`;
  const out = join(dist, 'lazy.cache');
  execFileSync(node, ['-e', script, join(dist, 'lazy.cjs'), out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

function singleExecutable(node) {
  const blob = join(dist, 'sea-prep.blob');
  const config = join(dist, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      main: join(dist, 'main.cjs'),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      // No debugger on demand (issue 9): SIGUSR1 must not open the inspector, and NODE_OPTIONS (--inspect,
      // --inspect-brk, --require…) must not reach a process that holds credentials.
      execArgv: ['--disable-sigusr1'],
      execArgvExtension: 'none',
      assets: { 'lazy.cjs': join(dist, 'lazy.cjs'), 'lazy.cache': lazyCodeCache(node) },
    }),
  );
  execFileSync(node, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exe = join(bin, EXE);
  copyFileSync(node, exe);
  chmodSync(exe, 0o755);
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  // postject's stderr is ELF section noise ("Can't find string offset"); its failures still throw.
  execFileSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'ignore' });
  for (const link of LINKS) symlinkSync(EXE, join(bin, link));
  return exe;
}

const started = Date.now();
const node = baseNode();
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
if (!/^v2[4-9]\./.test(version)) fail(`${node} is Node ${version}; the executable is built on Node 24 or later`);
const lazy = await bundles();
const exe = singleExecutable(node);
console.log(`build: ${relative(root, exe)} (Node ${version}, lazy modules: ${lazy.join(', ') || 'none'}) in ${Date.now() - started} ms`);
