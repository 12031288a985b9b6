/**
 * Attack review of the integrated tree: issue 9's 64 KiB answer cap meets issue 14's preflight. The preflight reads
 * `scheduler-state.json` whole, through the same bounded request handler as STS and ECR, but that file is the proxy's
 * expiry list: one JSON entry (~247 bytes) per blob and manifest the cache holds. Past ~265 entries every pod start
 * fails in sts-init. moto as S3, the local STS over real HTTP, the built sts-init. Fails on main d0c4f42 by design.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuilt } from '../support/exe.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { startMoto, type MotoProcess } from '../support/registry-process.js';
import { requireTools } from '../support/tools.js';
import { stsInit, workDir } from '../integration/sts-init-support.js';

const ROLE = 'arn:aws:iam::123456789012:role/ecr-pull-through-cache';
let fake: FakeAws;
let moto: MotoProcess;

/** What registry 3.0.0's proxy scheduler writes: a JSON map of `<repo>@<digest>` (or `<repo>:<tag>`) entries. */
function schedulerState(entries: number): string {
  const state: Record<string, { Key: string; Expiry: string; EntryType: number }> = {};
  for (let i = 0; i < entries; i++) {
    const key = `team-${i % 20}/service-${i % 7}@sha256:${i.toString(16).padStart(64, '0')}`;
    state[key] = { Key: key, Expiry: '2026-12-07T07:00:00.123456789Z', EntryType: 0 };
  }
  return JSON.stringify(state);
}

beforeAll(async () => {
  requireBuilt();
  requireTools('motoServer');
  fake = await startFakeAws({ stsLifetimeSeconds: 3600 });
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
  await fake?.stop();
});

describe('preflight on a bucket the cache has been using', () => {
  it('a scheduler-state.json of 1000 entries (247 KB) is "readable": sts-init passes the preflight and exits 0', async () => {
    const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'used-cache' }));
    const body = schedulerState(1000);
    expect(body.length).toBeGreaterThan(64 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: 'used-cache', Key: 'scheduler-state.json', Body: body }));
    s3.destroy();

    const root = await workDir('af-state-');
    await mkdir(join(root, 'creds'), { mode: 0o755 });
    const tokenFile = join(root, 'token');
    await fake.writeTokenFile(tokenFile, { sub: 'system:serviceaccount:registry-cache:ecr-pull-through-cache' });
    const out = await stsInit([], cleanEnv({
      ...fake.endpointEnv(), HOME: root, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, CREDENTIALS_DIR: join(root, 'creds', 'aws'),
      REGISTRY_STORAGE_S3_BUCKET: 'used-cache', REGISTRY_STORAGE_S3_REGION: 'us-east-1',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: moto.url, REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
    }));
    // Today: exit 1, "sts-init: preflight: FAIL s3:GetObject on arn:aws:s3:::used-cache/scheduler-state.json as …:
    // ResponseTooLargeError: 127.0.0.1:… answered … bytes, more than 65536; refused before parsing".
    expect(out.stderr).not.toContain('ResponseTooLargeError');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/preflight: ok +s3:GetObject arn:aws:s3:::used-cache\/scheduler-state\.json \(readable\)/);
  });
});
