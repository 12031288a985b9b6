/**
 * node-config/: the DaemonSet is least-privilege, its script writes and removes only its own hosts.toml, and the
 * AL2023, Karpenter and Bottlerocket files say the same as the one template. (The e2e tier runs the same script to
 * configure a real containerd: test/e2e/node-mirror.test.ts.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../support/tools.js';
import { HOSTS_TEMPLATE, NODE_CONFIG_DIR, WRITE_HOSTS, writeHosts } from '../support/node.js';

const nodeConfig = (...parts: string[]) => readFileSync(join(repoRoot, 'node-config', ...parts), 'utf8');
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const MARKER = '# managed-by: ecr-pull-through-cache node-config install=default';

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

  it('stays off Fargate nodes (its tolerate-everything toleration would leave Pending pods there) and EKS Auto Mode nodes (read-only, SELinux)', () => {
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    const exprs = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.flatMap((t: any) => t.matchExpressions);
    expect(exprs).toContainEqual({ key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate', 'auto'] });
  });

  it('names its install after its namespace unless INSTALL is set, so two installs own only their own files', () => {
    expect(pod.containers[0].env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(defaults.INSTALL).toBeUndefined();
  });
});

describe('the reserved node port policy', () => {
  const docs = nodeConfig('reserve-nodeport', 'policy.yaml').split(/^---$/m).map((d) => parse(d) as any);
  const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy');
  const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding');

  it('denies, through a binding, Services and Pods that would answer on the nodes\' mirror port outside the cache\'s namespace', () => {
    expect(parse(nodeConfig('reserve-nodeport', 'kustomization.yaml')).resources).toEqual(['policy.yaml']);
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['services', 'pods'] },
    ]);
    const vars = Object.fromEntries(policy.spec.variables.map((v: any) => [v.name, v.expression]));
    // The same port and namespace as the nodes' MIRROR and the kustomization's namespace.
    expect(defaults.MIRROR).toBe(`http://localhost:${vars.port}`);
    expect(vars.cacheNamespace).toBe(`'${(parse(nodeConfig('daemonset', 'kustomization.yaml')) as any).namespace}'`);
    expect(policy.spec.validations.map((v: any) => v.expression).join('\n')).toMatch(/p\.nodePort != variables\.port[\s\S]*p\.hostPort != variables\.port/);
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
  });
});

describe('write-hosts.sh', () => {
  const config = { ecrHosts: [HOST], mirror: 'http://localhost:30008' };

  it('writes <certs>/<host>/hosts.toml from the template, 0644, mirror first and ECR as server', async () => {
    const result = await writeHosts(certs, 'once', config);
    expect(result.code).toBe(0);
    const file = join(certs, HOST, 'hosts.toml');
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe(`${MARKER} dir=created`); // it made the host directory, so it may remove it
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

  it('two installs keep each other\'s files: each replaces and removes only what carries its own name', async () => {
    const a = { ecrHosts: ['111111111111.dkr.ecr.us-east-1.amazonaws.com'], mirror: 'http://localhost:30008', install: 'cache-a' };
    const b = { ecrHosts: ['222222222222.dkr.ecr.eu-west-1.amazonaws.com'], mirror: 'http://localhost:30009', install: 'cache-b' };
    const fileA = join(certs, a.ecrHosts[0]!, 'hosts.toml');
    const fileB = join(certs, b.ecrHosts[0]!, 'hosts.toml');
    expect((await writeHosts(certs, 'once', a)).code).toBe(0);
    const second = await writeHosts(certs, 'once', b); // b's sync: a's host is not in its ECR_HOSTS
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('removed');
    expect(readFileSync(fileA, 'utf8').split('\n')[0]).toBe('# managed-by: ecr-pull-through-cache node-config install=cache-a dir=created');
    expect(readFileSync(fileB, 'utf8')).toContain('[host."http://localhost:30009"]');
    // The same host in both: the second install leaves the first one's file alone, and says so.
    const clash = await writeHosts(certs, 'once', { ...b, ecrHosts: [...b.ecrHosts, a.ecrHosts[0]!] });
    expect(clash.stderr).toContain(`left alone: ${fileA} was not written by install 'cache-b'`);
    expect(readFileSync(fileA, 'utf8')).toContain('[host."http://localhost:30008"]');
    // Uninstalling b removes b's file only.
    expect((await writeHosts(certs, 'remove', b)).code).toBe(0);
    expect(existsSync(fileB)).toBe(false);
    expect(existsSync(fileA)).toBe(true);
    expect((await writeHosts(certs, 'remove', a)).code).toBe(0);
    expect(readdirSync(certs)).toEqual([]);
  });

  it('never replaces or removes the file the AL2023 user data wrote (another install)', async () => {
    const mime = nodeConfig('al2023', 'user-data.mime');
    const userData = /<<'HOSTS_TOML'\n([\s\S]*?)HOSTS_TOML\n/.exec(mime)![1]!;
    mkdirSync(join(certs, HOST));
    writeFileSync(join(certs, HOST, 'hosts.toml'), userData);
    const written = await writeHosts(certs, 'once', { ...config, mirror: 'http://localhost:30009' });
    expect(written.stderr).toContain('left alone');
    await writeHosts(certs, 'once', { ...config, ecrHosts: ['other.example'] }); // HOST "dropped" from this install
    await writeHosts(certs, 'remove', config);
    expect(readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8')).toBe(userData);
  });

  it('never removes a host directory it did not create, even when it is empty after removing its file', async () => {
    mkdirSync(join(certs, HOST)); // made by someone else (the user data, an admin), empty
    expect((await writeHosts(certs, 'once', config)).code).toBe(0);
    expect(readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8').split('\n')[0]).toBe(MARKER);
    expect((await writeHosts(certs, 'remove', config)).code).toBe(0);
    expect(existsSync(join(certs, HOST, 'hosts.toml'))).toBe(false);
    expect(readdirSync(join(certs, HOST))).toEqual([]);
  });

  it('writes both address forms: an IPv4 node IP bare, an IPv6 one in brackets', async () => {
    await writeHosts(certs, 'once', { ...config, mirror: 'http://{{HOST_IP}}:30008', hostIp: '10.0.0.5' });
    expect(readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8')).toContain('[host."http://10.0.0.5:30008"]');
    await writeHosts(certs, 'once', { ...config, mirror: 'https://[fd00::1]:65535' });
    expect(readFileSync(join(certs, HOST, 'hosts.toml'), 'utf8')).toContain('[host."https://[fd00::1]:65535"]');
  });

  it.each([
    [{ dialTimeout: '1s\nskip_verify = true' }, "DIAL_TIMEOUT='1s?skip_verify = true' is not a positive duration"],
    [{ mirror: 'http://x"]\nhttp://localhost:30008' }, 'MIRROR=\'http://x"]?http://localhost:30008\' is not http(s)://host[:port]'],
    [{ ecrHosts: ['a.example\rb'] }, "ECR_HOSTS: 'a.example?b' is not a registry host name"],
    [{ install: 'a\nb' }, "INSTALL='a?b' is not a name"],
    [{ mirror: 'http://{{HOST_IP}}:30008', hostIp: '10.0.0.5\n' }, "HOST_IP='10.0.0.5?' is not an IPv4 address"],
    [{ mirror: 'http://[{{HOST_IP}}]:30008', hostIp: '10.0.0.5' }, "MIRROR uses [{{HOST_IP}}] (IPv6) but HOST_IP='10.0.0.5' is not an IPv6 address"],
    [{ mirror: 'http://{{HOST_IP}}:30008', hostIp: 'fd00::1' }, "MIRROR uses {{HOST_IP}} (IPv4) but HOST_IP='fd00::1' is not an IPv4 address"],
    [{ mirror: 'http://[10.0.0.5]:30008' }, "MIRROR='http://[10.0.0.5]:30008' is not"],
    [{ mirror: 'http://fd00::1:30008' }, "MIRROR='http://fd00::1:30008' is not"],
    [{ mirror: 'http://localhost:99999' }, "MIRROR='http://localhost:99999' is not"],
    [{ mirror: 'http://localhost:0' }, "MIRROR='http://localhost:0' is not"],
    [{ mirror: 'http://localhost:30008/v2' }, "MIRROR='http://localhost:30008/v2' is not"],
    [{ mirror: 'http://[fd00::1]x]:30008' }, "MIRROR='http://[fd00::1]x]:30008' is not"],
    [{ dialTimeout: '0s' }, "DIAL_TIMEOUT='0s' is not a positive duration"],
    [{ ecrHosts: ['a.example:65536'] }, "ECR_HOSTS: 'a.example:65536' is not a registry host name"],
    [{ ecrHosts: ['*'] }, "ECR_HOSTS: '*' is not a registry host name"],
    [{ install: 'x'.repeat(64) }, 'is longer than 63 characters'],
  ])('refuses values that would slip past a line-by-line check, with exit 2 and one line: %j', async (bad, message) => {
    const result = await writeHosts(certs, 'once', { ...config, ...bad });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
    expect(readdirSync(certs)).toEqual([]);
  });

  it('refuses a CERTS_DIR it cannot write with exit 2 and one line (a read-only hostPath)', () => {
    // A read-only bind mount, in a mount namespace of its own: root ignores mode bits, not a read-only mount.
    const script = `mount --bind -o ro "$CERTS_DIR" "$CERTS_DIR" && exec sh "${WRITE_HOSTS}" once`;
    let code = 0;
    let stderr = '';
    try {
      execFileSync('unshare', ['-m', 'sh', '-c', script], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CERTS_DIR: certs, TEMPLATE: HOSTS_TEMPLATE, ECR_HOSTS: HOST, MIRROR: config.mirror },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (err) {
      code = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([`write-hosts: CERTS_DIR '${certs}' is not writable: mount the hostPath read-write, as root (the directory is root's 0755)`]);
  });

  describe('stopped in the middle of a write', () => {
    // A sed in front of the real one that says it started and waits for the test: the signal then arrives while
    // the temp file exists (and, on a first write, the host directory the script just made), deterministically.
    let gate: string;
    let shimPath: string;
    beforeEach(() => {
      const bin = join(certs, '..', `${certs.split('/').pop()}-bin`);
      mkdirSync(bin);
      gate = join(bin, 'gate');
      execFileSync('mkfifo', [gate]);
      const realSed = execFileSync('sh', ['-c', 'command -v sed']).toString().trim();
      writeFileSync(join(bin, 'sed'), `#!/bin/sh\nprintf 'sed-started\\n' >&2\nread go < "${gate}"\nexec ${realSed} "$@"\n`);
      chmodSync(join(bin, 'sed'), 0o755);
      shimPath = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
    });
    afterEach(() => rmSync(join(certs, '..', `${certs.split('/').pop()}-bin`), { recursive: true, force: true }));

    async function stopDuringWrite(mode: 'once' | 'run', signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
      const env = { PATH: shimPath, CERTS_DIR: certs, TEMPLATE: HOSTS_TEMPLATE, ECR_HOSTS: HOST, MIRROR: config.mirror, INTERVAL: '1' };
      const child = spawn('sh', [WRITE_HOSTS, mode], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); if (stderr.includes('sed-started')) resolve(); });
        void exited.then(() => resolve());
      });
      const inFlight = readdirSync(join(certs, HOST));
      expect(inFlight).toEqual([expect.stringMatching(/^\.hosts\.toml\.default\.\d+$/)]); // the temp file, mid-write
      child.kill(signal); // sh holds the trap until the foreground sed ends
      writeFileSync(gate, 'go\n');
      return { code: await exited, stderr };
    }

    it.each([['once', 'SIGTERM', 143], ['once', 'SIGINT', 130], ['once', 'SIGHUP', 129], ['run', 'SIGTERM', 0]] as const)(
      '%s, %s on the first write: no temp file and no host directory left behind (exit %d)', async (mode, signal, exitCode) => {
        const { code } = await stopDuringWrite(mode, signal);
        expect(code).toBe(exitCode);
        expect(readdirSync(certs)).toEqual([]);
      });

    it('a host directory someone else made, with their CA in it, keeps both', async () => {
      mkdirSync(join(certs, HOST));
      writeFileSync(join(certs, HOST, 'ca.crt'), 'theirs\n');
      const env = { PATH: shimPath, CERTS_DIR: certs, TEMPLATE: HOSTS_TEMPLATE, ECR_HOSTS: HOST, MIRROR: config.mirror };
      const child = spawn('sh', [WRITE_HOSTS, 'once'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await new Promise<void>((resolve) => child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); if (stderr.includes('sed-started')) resolve(); }));
      child.kill('SIGTERM');
      writeFileSync(gate, 'go\n');
      expect(await exited).toBe(143);
      expect(readdirSync(join(certs, HOST))).toEqual(['ca.crt']);
    });
  });

  it('cleans up temp files its install left behind (a SIGKILL runs no trap) when it starts, and no one else\'s', async () => {
    mkdirSync(join(certs, HOST));
    writeFileSync(join(certs, HOST, '.hosts.toml.default.12345'), 'stale\n');
    writeFileSync(join(certs, HOST, '.hosts.toml.cache-b.12345'), 'another install\'s\n');
    expect((await writeHosts(certs, 'remove', config)).code).toBe(0);
    expect(readdirSync(join(certs, HOST))).toEqual(['.hosts.toml.cache-b.12345']);
  });

  it.each([
    [{ ecrHosts: [] as string[] }, 'ECR_HOSTS is empty'],
    [{ ecrHosts: ['bad|host'] }, "ECR_HOSTS: 'bad|host' is not a registry host name"],
    [{ mirror: 'localhost:30008' }, "MIRROR='localhost:30008' is not http(s)://host[:port]"],
    [{ dialTimeout: 'soon' }, "DIAL_TIMEOUT='soon' is not a positive duration"],
    [{ mirror: 'http://{{HOST_IP}}:30008' }, "MIRROR uses {{HOST_IP}} (IPv4) but HOST_IP='' is not an IPv4 address"],
    [{ mirror: 'http://{{HOST_IP}}:30008', hostIp: '10.0.0.1|x' }, "HOST_IP='10.0.0.1|x' is not an IPv4 address"],
  ])('refuses bad configuration with exit 2 and one line: %j', async (bad, message) => {
    const result = await writeHosts(certs, 'once', { ...config, ...bad });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
    expect(readdirSync(certs)).toEqual([]);
  });
});

describe('the AL2023, Karpenter and Bottlerocket files say what the template says', () => {
  it('AL2023 user data writes exactly the hosts.toml the script writes with its default values, as its own install', async () => {
    mkdirSync(join(certs, HOST)); // the user data makes the directory itself (install -d)
    const config = { ecrHosts: [defaults.ECR_HOSTS!], mirror: defaults.MIRROR!, dialTimeout: defaults.DIAL_TIMEOUT, install: 'al2023-user-data' };
    await writeHosts(certs, 'once', config);
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
