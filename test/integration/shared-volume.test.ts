/**
 * The chart's credentials volume, as the kubelet makes it: an emptyDir is a root-owned 0777 directory, a
 * `medium: Memory` one a tmpfs whose root is 1777, and sts-init, cred-refresher and the registry run as uid 1000,
 * which cannot chmod either. The roles work in a subdirectory they create and own (CREDENTIALS_DIR=/creds/aws),
 * and still refuse a directory someone else can write to or owns. Runs a copy of the built executable as uid 1000
 * against the local AWS over real HTTP; the tmpfs case mounts a real tmpfs in a private mount namespace.
 */
import { chmod, chown, mkdir, mkdtemp, readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { cleanEnv, copyForAnotherUid, requireBuilt, runExe, startAs } from '../support/exe.js';
import { ECR_HOST, SOURCE_ROLE } from './sts-init-support.js';

const UID = 1000;
const OTHER_UID = 1001;

let fake: FakeAws;
let work: string;
let bin: string;
let tokenFile: string;

beforeAll(async () => {
  requireBuilt();
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it runs the executable as uid 1000');
  fake = await startFakeAws();
  ({ work, bin } = await copyForAnotherUid('shared-volume-'));
  tokenFile = join(work, 'token');
  await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry:docker-registry' });
  await chmod(tokenFile, 0o644);
});
afterAll(async () => fake?.stop());

const env = (extra: Record<string, string> = {}) => cleanEnv({
  ...fake.endpointEnv(), AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
  AWS_ROLE_ARN: SOURCE_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, ECR_LOGIN_LOG: 'stderr', ...extra,
});
const asUser = (role: string, args: string[], e: Record<string, string>, uid = UID) => runExe(args, { env: e, uid, gid: uid, file: join(bin, role) });

/** A root-owned directory of `mode`, like the kubelet's emptyDir mount point. */
async function volume(mode: number): Promise<string> {
  const dir = await mkdtemp(join(work, 'vol-'));
  await chmod(dir, mode);
  return dir;
}

describe('the chart\'s emptyDir volume, as uid 1000', () => {
  it.each([['1777 (medium: Memory, tmpfs)', 0o1777], ['0777 (emptyDir)', 0o777], ['3777 (tmpfs with fsGroup)', 0o3777], ['2777 (emptyDir with fsGroup)', 0o2777]])(
    'a root-owned %s root: sts-init, credential-process, the helper and cred-refresher work in a subdirectory they own',
    async (_name, mode) => {
      const root = await volume(mode);
      const dir = join(root, 'aws');
      const init = await asUser('sts-init', ['--dir', dir, '--ecr-registries', ECR_HOST], env());
      expect(init.code, init.stderr).toBe(0);
      for (const [path, want] of [[dir, 0o700], [join(dir, 'ecr'), 0o700], [join(dir, 'credentials.json'), 0o600], [join(dir, 'aws-config'), 0o600]] as const) {
        const info = await stat(path);
        expect({ path, uid: info.uid, mode: info.mode & 0o7777 }).toEqual({ path, uid: UID, mode: want });
      }
      // Every consumer path follows the subdirectory: the profile's credential_process, the ECR cache.
      expect(await readFile(join(dir, 'aws-config'), 'utf8')).toContain(`credential-process --dir ${dir} `);
      const served = await asUser('docker-credential-ecr-login', ['credential-process', '--dir', dir], cleanEnv());
      expect(served.code, served.stderr).toBe(0);
      expect(fake.isValidKey(JSON.parse(served.stdout).AccessKeyId)).toBe('valid');
      const calls = fake.calls('ecr:GetAuthorizationToken').length;
      const get = await runExe(['get'], {
        env: cleanEnv({ AWS_CONFIG_FILE: join(dir, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'), AWS_ECR_CACHE_DIR: join(dir, 'ecr'), ECR_LOGIN_CACHE_IDENTITY: 'role:' + SOURCE_ROLE, ECR_LOGIN_LOG: 'stderr', AWS_EC2_METADATA_DISABLED: 'true' }),
        stdin: ECR_HOST, uid: UID, gid: UID, file: join(bin, 'docker-credential-ecr-login'),
      });
      expect(get.code, get.stderr).toBe(0);
      expect(fake.calls('ecr:GetAuthorizationToken').length).toBe(calls);

      // The refresher alone in another subdirectory of the same root: creates it and refreshes without complaint.
      const refresherDir = join(root, 'refresher');
      const refresher = await startAs(join(bin, 'cred-refresher'), ['--dir', refresherDir, '--listen', '127.0.0.1:0'], {
        env: env({ ECR_REGISTRIES: ECR_HOST, REFRESH_FLOOR: '200ms' }), uid: UID, ready: (stderr) => stderr.includes('"credentials refreshed"'),
      });
      expect(await refresher.stop()).toBe(0);
      expect({ uid: (await stat(refresherDir)).uid, mode: (await stat(refresherDir)).mode & 0o7777 }).toEqual({ uid: UID, mode: 0o700 });
    },
  );

  it('a real tmpfs root (1777, root-owned) in a private mount namespace: sts-init and credential-process work in /creds/aws', async () => {
    const root = await volume(0o755);
    const dir = join(root, 'aws');
    const script = `mount -t tmpfs -o size=1m tmpfs ${root} && stat -c 'root %a %U' ${root} && ` +
      `setpriv --reuid=${UID} --regid=${UID} --clear-groups ${join(bin, 'sts-init')} --dir ${dir} >&2 && stat -c 'dir %a %u' ${dir} && ` +
      `setpriv --reuid=${UID} --regid=${UID} --clear-groups ${join(bin, 'docker-credential-ecr-login')} credential-process --dir ${dir}`;
    const out = await runExe(['-m', '/bin/sh', '-c', script], { env: env(), file: '/usr/bin/unshare' });
    expect(out.code, out.stderr).toBe(0);
    const [rootLine, dirLine, json] = out.stdout.trim().split('\n');
    expect(rootLine).toBe('root 1777 root');
    expect(dirLine).toBe(`dir 700 ${UID}`);
    expect(fake.isValidKey(JSON.parse(json!).AccessKeyId)).toBe('valid');
  });

  it.each([['1777', 0o1777], ['0777', 0o777]])('the %s mount root itself is refused, exit 2, in one line naming the subdirectory to use', async (shown, mode) => {
    const root = await volume(mode);
    const out = await asUser('sts-init', ['--dir', root], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(`sts-init: credentials directory ${root} is writable by others (mode ${shown.replace(/^0/, '')}) and not ours to chmod; use a subdirectory, e.g. ${join(root, 'aws')}, which is created with mode 0700\n`);
  });

  it('a subdirectory someone else made first in the shared root is refused, exit 2: its owner could replace our files', async () => {
    const root = await volume(0o1777);
    const dir = join(root, 'aws');
    await mkdir(dir, { mode: 0o755 });
    await chown(dir, OTHER_UID, OTHER_UID);
    const out = await asUser('sts-init', ['--dir', dir], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(`sts-init: credentials directory ${dir} belongs to uid ${OTHER_UID}, not to this user (uid ${UID}) or root; remove it or use another directory\n`);
  });

  it('a symlink someone planted in the shared root is refused, exit 2, even when it points at a directory of ours', async () => {
    const root = await volume(0o1777);
    const ours = join(root, 'ours');
    await mkdir(ours, { mode: 0o700 });
    await chown(ours, UID, UID);
    const dir = join(root, 'aws');
    await symlink(ours, dir);
    const out = await asUser('sts-init', ['--dir', dir], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`credentials directory ${dir} is a symbolic link in ${root}, which others can write to`);
  });

  it('a group-writable credentials directory is refused (the fsGroup lets every container of the pod write there)', async () => {
    const root = await volume(0o755);
    const dir = join(root, 'aws');
    await mkdir(dir);
    await chmod(dir, 0o770);
    await chown(dir, UID, UID);
    const out = await asUser('sts-init', ['--dir', dir], env());
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(`sts-init: credentials directory ${dir} is writable by others (mode 770); chmod go-w it or use another directory\n`);
  });
});
