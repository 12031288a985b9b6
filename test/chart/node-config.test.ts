/**
 * node-config/: the DaemonSet is least-privilege, its script writes and removes only its own hosts.toml, and the
 * AL2023, Karpenter and Bottlerocket files say the same as the one template. (The e2e tier runs the same script to
 * configure a real containerd: test/e2e/node-mirror.test.ts.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../support/tools.js';
import { HOSTS_TEMPLATE, NODE_CONFIG_DIR, WRITE_HOSTS, writeHosts } from '../support/node.js';

const nodeConfig = (...parts: string[]) => readFileSync(join(repoRoot, 'node-config', ...parts), 'utf8');
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const MARKER = '# managed-by: ecr-pull-through-cache node-config';

interface Kustomization {
  resources: string[];
  configMapGenerator: Array<{ name: string; files?: string[]; literals?: string[] }>;
}
const kustomization = parse(nodeConfig('daemonset', 'kustomization.yaml')) as Kustomization;
const defaults = Object.fromEntries(
  kustomization.configMapGenerator.find((g) => g.name === 'ecr-mirror-node-env')!.literals!.map((l) => l.split(/=(.*)/s).slice(0, 2)),
) as Record<string, string>;

let certs: string;
beforeEach(() => { certs = mkdtempSync(join(tmpdir(), 'certs-d-')); });
afterEach(() => rmSync(certs, { recursive: true, force: true }));

describe('the DaemonSet', () => {
  const ds = parse(nodeConfig('daemonset', 'daemonset.yaml')) as any;
  const pod = ds.spec.template.spec;

  it('mounts only the certs directory from the host, and nothing privileged', () => {
    const hostPaths = pod.volumes.filter((v: any) => v.hostPath);
    expect(hostPaths).toEqual([{ name: 'certs-d', hostPath: { path: '/etc/containerd/certs.d', type: 'DirectoryOrCreate' } }]);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers).toHaveLength(1);
    const sc = pod.containers[0].securityContext;
    expect(sc).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(sc.capabilities.add ?? []).toEqual([]);
    expect(pod.containers[0].volumeMounts.find((m: any) => m.name === 'config').readOnly).toBe(true);
  });

  it('runs the script and template the kustomization ships, from the same files the tests use', () => {
    expect(kustomization.resources).toEqual(['daemonset.yaml']);
    expect(kustomization.configMapGenerator.find((g) => g.name === 'ecr-mirror-node-config')!.files).toEqual(['hosts.toml.tpl', 'write-hosts.sh']);
    expect(pod.containers[0].command).toEqual(['sh', '/config/write-hosts.sh', 'run']);
    expect(pod.containers[0].env).toContainEqual({ name: 'TEMPLATE', value: '/config/hosts.toml.tpl' });
    expect(join(NODE_CONFIG_DIR, 'hosts.toml.tpl')).toBe(HOSTS_TEMPLATE);
    expect(defaults).toMatchObject({ ECR_HOSTS: HOST, MIRROR: 'http://localhost:30008' });
  });

  it('never runs two pods on a node during a rollout (the old one removes the file as it stops)', () => {
    expect(ds.spec.updateStrategy.rollingUpdate.maxSurge).toBe(0);
  });
});

describe('write-hosts.sh', () => {
  const config = { ecrHosts: [HOST], mirror: 'http://localhost:30008' };

  it('writes <certs>/<host>/hosts.toml from the template, 0644, mirror first and ECR as server', async () => {
    const result = await writeHosts(certs, 'once', config);
    expect(result.code).toBe(0);
    const file = join(certs, HOST, 'hosts.toml');
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe(MARKER);
    expect(text).toContain(`server = "https://${HOST}"`);
    expect(text).toContain('[host."http://localhost:30008"]\n  capabilities = ["pull", "resolve"]\n  dial_timeout = "1s"');
    expect(text).not.toContain('{{');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(certs, HOST))).toEqual(['hosts.toml']); // no temp file left
  });

  it('puts the node IP into the mirror URL for {{HOST_IP}} (IPv6, kube-proxy modes without localhost node ports)', async () => {
    await writeHosts(certs, 'once', { ...config, mirror: 'http://[{{HOST_IP}}]:30008', hostIp: 'fd00:ec2::254' });
    expect(readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8')).toContain('[host."http://[fd00:ec2::254]:30008"]');
  });

  it('leaves a hosts.toml it did not write alone, and says so', async () => {
    mkdirSync(join(certs, HOST));
    writeFileSync(join(certs, HOST, 'hosts.toml'), 'server = "https://elsewhere"\n');
    const written = await writeHosts(certs, 'once', config);
    expect(written.code).toBe(0);
    expect(written.stderr).toContain('left alone');
    const removed = await writeHosts(certs, 'remove', config);
    expect(removed.code).toBe(0);
    expect(readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8')).toBe('server = "https://elsewhere"\n');
  });

  it('removes only its own file, and the host directory only when nothing else is in it', async () => {
    await writeHosts(certs, 'once', { ...config, ecrHosts: [HOST, '210987654321.dkr.ecr.eu-west-1.amazonaws.com'] });
    writeFileSync(join(certs, HOST, 'ca.crt'), 'someone else’s\n');
    mkdirSync(join(certs, 'docker.io'));
    writeFileSync(join(certs, 'docker.io', 'hosts.toml'), 'server = "https://registry-1.docker.io"\n');
    expect((await writeHosts(certs, 'remove', config)).code).toBe(0);
    expect(existsSync(join(certs, HOST, 'hosts.toml'))).toBe(false);
    expect(existsSync(join(certs, HOST, 'ca.crt'))).toBe(true);
    expect(existsSync(join(certs, '210987654321.dkr.ecr.eu-west-1.amazonaws.com'))).toBe(false);
    expect(existsSync(join(certs, 'docker.io', 'hosts.toml'))).toBe(true);
  });

  it('removes the file of a host dropped from ECR_HOSTS', async () => {
    const other = '210987654321.dkr.ecr.eu-west-1.amazonaws.com';
    await writeHosts(certs, 'once', { ...config, ecrHosts: [HOST, other] });
    await writeHosts(certs, 'once', config);
    expect(existsSync(join(certs, other))).toBe(false);
    expect(existsSync(join(certs, HOST, 'hosts.toml'))).toBe(true);
  });

  it('in run mode keeps the file and removes it on SIGTERM (the pod stopping)', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CERTS_DIR: certs, TEMPLATE: HOSTS_TEMPLATE, ECR_HOSTS: HOST, MIRROR: config.mirror, INTERVAL: '1' };
    const child = spawn('sh', [WRITE_HOSTS, 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // The script logs once it has written the file: wait for that line, not for time.
    await new Promise<void>((resolve) => {
      child.stderr.on('data', () => { if (stderr.includes('wrote')) resolve(); });
      void exited.then(() => resolve());
    });
    expect(existsSync(join(certs, HOST, 'hosts.toml'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('removed');
    expect(existsSync(join(certs, HOST))).toBe(false);
  });

  it.each([
    [{ ecrHosts: [] as string[] }, 'ECR_HOSTS is empty'],
    [{ ecrHosts: ['bad|host'] }, "ECR_HOSTS: 'bad|host' is not a registry host name"],
    [{ mirror: 'localhost:30008' }, "MIRROR='localhost:30008' is not http(s)://host[:port]"],
    [{ dialTimeout: 'soon' }, "DIAL_TIMEOUT='soon' is not a duration"],
    [{ mirror: 'http://{{HOST_IP}}:30008' }, "MIRROR uses {{HOST_IP}} but HOST_IP='' is not an IP address"],
    [{ mirror: 'http://{{HOST_IP}}:30008', hostIp: '10.0.0.1|x' }, "HOST_IP='10.0.0.1|x' is not an IP address"],
  ])('refuses bad configuration with exit 2 and one line: %j', async (bad, message) => {
    const result = await writeHosts(certs, 'once', { ...config, ...bad });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
    expect(readdirSync(certs)).toEqual([]);
  });
});

describe('the AL2023, Karpenter and Bottlerocket files say what the template says', () => {
  it('AL2023 user data writes exactly the hosts.toml the DaemonSet writes with its default values', async () => {
    await writeHosts(certs, 'once', { ecrHosts: [defaults.ECR_HOSTS!], mirror: defaults.MIRROR!, dialTimeout: defaults.DIAL_TIMEOUT });
    const expected = readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8');
    const mime = nodeConfig('al2023', 'user-data.mime');
    const embedded = /<<'HOSTS_TOML'\n([\s\S]*?)HOSTS_TOML\n/.exec(mime)?.[1];
    expect(embedded).toBe(expected);
    expect(mime).toContain(`dir=/etc/containerd/certs.d/${HOST}\n`);
  });

  it('the Karpenter EC2NodeClass carries that user data verbatim', () => {
    const nodeClass = parse(nodeConfig('al2023', 'karpenter-ec2nodeclass.yaml')) as any;
    expect(nodeClass.kind).toBe('EC2NodeClass');
    expect(nodeClass.spec.userData).toBe(nodeConfig('al2023', 'user-data.mime'));
  });

  it('Bottlerocket mirrors the same host to the same endpoint', () => {
    const settings = nodeConfig('bottlerocket', 'user-data.toml');
    expect(settings).toContain(`[[settings.container-registry.mirrors]]\nregistry = "${HOST}"\nendpoint = ["${defaults.MIRROR}"]\n`);
  });
});
