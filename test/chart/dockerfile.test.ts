// The structure of image/Dockerfile (no Docker engine runs here): base image and its version argument, non-root user,
// the three names, OTEL off, pinned tags, no credentials, and the base image's entrypoint left alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './chart-values.js';

const text = readFileSync(join(ROOT, 'image', 'Dockerfile'), 'utf8');

/** Instructions with continuation lines joined and comments dropped: [KEYWORD, rest of the line]. */
function instructions(dockerfile: string): [string, string][] {
  const joined = dockerfile
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line): [string, string] => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return [keyword.toUpperCase(), rest.join(' ')];
    });
}

const steps = instructions(text);
const stages = (): [string, string][][] => {
  const out: [string, string][][] = [[]];
  for (const step of steps) {
    if (step[0] === 'FROM') out.push([]);
    out[out.length - 1]?.push(step);
  }
  return out; // out[0]: global ARGs before the first FROM
};
const final = stages().at(-1) ?? [];

describe('image/Dockerfile', () => {
  it('declares ARG REGISTRY_VERSION=3.0.0 before the first FROM, and the final stage is FROM registry:${REGISTRY_VERSION}', () => {
    const [globals = []] = stages();
    expect(globals).toContainEqual(['ARG', 'REGISTRY_VERSION=3.0.0']);
    expect(final[0]).toEqual(['FROM', 'registry:${REGISTRY_VERSION}']);
  });

  it('builds natively on the build platform with the same build script as `pnpm build`, cross-compiling per TARGETARCH', () => {
    const [globals = [], build = []] = stages();
    const buildImage = globals.find(([k, v]) => k === 'ARG' && v.startsWith('BUILD_IMAGE='))?.[1] ?? '';
    // A Debian Node 24 tag, fully pinned: every Node 24 release is published as -bookworm-slim and -trixie-slim by the
    // official image (an Alpine tag also pins an Alpine minor, which the official image drops over time).
    expect(buildImage).toMatch(/^BUILD_IMAGE=node:24\.\d+\.\d+-(bookworm|trixie)-slim$/);
    // Never emulated: the stage runs on the builder's own platform whatever --platform the build asks for.
    expect(build[0]?.[1]).toBe('--platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build');
    expect(build).toContainEqual(['ARG', 'TARGETARCH']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } };
    expect(pkg.scripts.build).toMatch(/(^|&& )node scripts\/build\.mjs$/);
    const runs = build.filter(([k]) => k === 'RUN').map(([, v]) => v).join('\n');
    expect(runs).toContain('pnpm install --frozen-lockfile');
    expect(runs).toContain('node scripts/build.mjs --target "$target"');
    expect(runs).toMatch(/amd64\) target=linux-x64-musl/);
    expect(runs).toMatch(/arm64\) target=linux-arm64-musl/);
    // The pnpm the image uses is the one a fresh clone gets when none is on PATH.
    const pnpm = build.find(([k, v]) => k === 'ARG' && v.startsWith('PNPM_VERSION='))?.[1]?.split('=')[1];
    const ensure = readFileSync(join(ROOT, 'scripts', 'ensure.mjs'), 'utf8');
    expect(ensure).toContain(`const PNPM_FALLBACK = '${pnpm}';`);
  });

  it('installs the executable as /usr/local/bin/docker-credential-ecr-login with sts-init and cred-refresher beside it', () => {
    expect(text).toMatch(/cp -P "dist\/\$target\/bin\/docker-credential-ecr-login" "dist\/\$target\/bin\/sts-init" "dist\/\$target\/bin\/cred-refresher" \/out\/usr\/local\/bin\//);
    expect(final).toContainEqual(['COPY', '--from=build /out/ /']);
  });

  it("installs libstdc++ with the base image's own package manager, then proves the executable starts", () => {
    const runs = final.filter(([k]) => k === 'RUN').map(([, v]) => v);
    const apk = runs.indexOf('apk add --no-cache libstdc++');
    const smoke = runs.findIndex((r) => r.endsWith('/usr/local/bin/docker-credential-ecr-login version'));
    expect(apk).toBeGreaterThanOrEqual(0);
    expect(smoke).toBeGreaterThan(apk);
    expect(text).not.toMatch(/cp -L|\.so\.\d/); // no shared library copied in by hand, where scanners cannot see it
  });

  it('runs as uid/gid 1000 with OTEL_TRACES_EXPORTER=none', () => {
    const users = final.filter(([k]) => k === 'USER');
    expect(users).toEqual([['USER', '1000:1000']]);
    expect(final.at(-1)?.[0]).toBe('USER'); // nothing after it runs as root
    expect(final).toContainEqual(['ENV', 'OTEL_TRACES_EXPORTER=none']);
  });

  it('keeps the base image entrypoint, command, port and volume', () => {
    for (const keyword of ['ENTRYPOINT', 'CMD', 'EXPOSE', 'VOLUME', 'WORKDIR', 'HEALTHCHECK']) {
      expect(final.map(([k]) => k), keyword).not.toContain(keyword);
    }
  });

  it('has OCI labels', () => {
    const labels = final.filter(([k]) => k === 'LABEL').map(([, v]) => v).join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'source', 'licenses', 'base.name']) {
      expect(labels, key).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it('pins every image: no latest tag, no untagged FROM', () => {
    expect(text).not.toMatch(/:latest\b/i);
    const [globals = []] = stages();
    // ARG defaults (a later bare `ARG NAME` only re-declares it inside a stage)
    const args = Object.fromEntries(
      steps.filter(([k, v]) => k === 'ARG' && v.includes('=')).map(([, v]) => v.split('=') as [string, string]),
    );
    for (const [, from] of steps.filter(([k]) => k === 'FROM')) {
      const ref = (from.split(/\s+/).find((word) => !word.startsWith('--')) ?? '').replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
      expect(ref, from).toMatch(/^[a-z0-9./-]+:\d[\w.-]*$/); // name:version
    }
    expect(globals.length).toBeGreaterThan(0);
  });

  it('holds no AWS keys or secrets', () => {
    expect(text).not.toMatch(/\b(AKIA|ASIA)[0-9A-Z]{16}\b/);
    expect(text).not.toMatch(/AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)/);
    expect(text).not.toMatch(/(password|secret|token)\s*=/i);
    expect(text).not.toMatch(/--mount=type=secret|\.aws\//);
  });
});

describe('.dockerignore', () => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  it('keeps the context small', () => {
    for (const entry of ['**/node_modules', 'dist/', '.tools/', '.git/', 'bench/', 'test/', 'docs/']) {
      expect(ignore, entry).toContain(entry);
    }
  });
  it('keeps what the build stage copies', () => {
    for (const kept of ['packages', 'scripts', 'package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'tsconfig.json']) {
      expect(ignore.some((l) => l === kept || l === `${kept}/` || l === `/${kept}`), kept).toBe(false);
    }
  });
});
