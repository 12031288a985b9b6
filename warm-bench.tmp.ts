import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAws } from '/work/wt-rest-fixes-code/test/support/fake-aws.js';
import { cleanEnv } from '/work/wt-rest-fixes-code/test/support/exe.js';
import { timeSpawn, summarize } from '/work/wt-rest-fixes-code/bench/lib.js';
const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const fake = await startFakeAws({ staticKeys: ['AKIASTATICEXAMPLE'] });
const exes = { before: '/work/wt-rest-fixes-code-before/dist/bin/docker-credential-ecr-login', after: '/work/wt-rest-fixes-code/dist/bin/docker-credential-ecr-login' };
const reps = Number(process.argv[2] ?? 300);
const times: Record<string, number[]> = { before: [], after: [] };
const envs: Record<string, Record<string, string>> = {};
for (const k of Object.keys(exes)) {
  const d = mkdtempSync(join(tmpdir(), `warm-${k}-`));
  envs[k] = cleanEnv({ ...fake.endpointEnv(), AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE', AWS_SECRET_ACCESS_KEY: 'static-secret-value-not-for-logs', AWS_ECR_CACHE_DIR: join(d, 'ecr') });
  await timeSpawn((exes as any)[k], ['get'], envs[k]!, HOST);
}
for (let i = 0; i < reps + 10; i++) {
  const order = i % 2 ? ['before', 'after'] : ['after', 'before'];
  for (const k of order) {
    const r = await timeSpawn((exes as any)[k], ['get'], envs[k]!, HOST);
    if (r.code !== 0 || !r.stdout.includes('Secret')) throw new Error(`${k} failed`);
    if (i >= 10) times[k]!.push(r.ms);
  }
}
fake.resetCalls();
for (const k of Object.keys(times)) { const s = summarize(times[k]!); console.log(k, JSON.stringify(s)); }
await fake.stop();
