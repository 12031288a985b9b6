// The fake AWS as its own process, for e2e tests, demos and benchmarks in another process:
//   node --import tsx test/support/fake-aws-main.ts [--port 0] [--sts-lifetime 3600] [--ecr-token-lifetime 43200]
//     [--latency-ms 0] [--static-key AKID]… [--role ARN]… [--account-id ID] [--jwt-secret S] [--audience A]
//     [--token-file PATH --token-sub SUB [--token-exp 3600]] [--s3-upstream URL]
// Each flag also reads FAKE_AWS_<FLAG> from env (repeatable ones comma-separated); flags win.
// Prints one JSON line ({url, s3Url?, tokenFile?, env}) once listening; drive it through /_fake/ (see
// fake-aws/control.ts); stops on SIGTERM / SIGINT.
import { parseArgs } from 'node:util';
import { startFakeAws, type FakeAwsOptions } from './fake-aws.js';
import { startS3Enforcer } from './s3-enforcer.js';

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'sts-lifetime': { type: 'string' },
  'ecr-token-lifetime': { type: 'string' },
  'latency-ms': { type: 'string' },
  'static-key': { type: 'string', multiple: true },
  role: { type: 'string', multiple: true },
  'account-id': { type: 'string' },
  'jwt-secret': { type: 'string' },
  audience: { type: 'string' },
  'token-file': { type: 'string' },
  'token-sub': { type: 'string' },
  'token-exp': { type: 'string' },
  's3-upstream': { type: 'string' },
} as const;

type Flag = keyof typeof FLAGS;

/** Flag, else FAKE_AWS_<NAME> from env. */
function read(values: Partial<Record<Flag, string | string[]>>, name: Flag): string | undefined {
  const value = values[name];
  if (Array.isArray(value)) return value.join(',');
  return value ?? process.env[`FAKE_AWS_${name.toUpperCase().replaceAll('-', '_')}`];
}

function number(values: Partial<Record<Flag, string | string[]>>, name: Flag): number | undefined {
  const raw = read(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number of seconds/ms, got ${raw}`);
  return value;
}

function list(values: Partial<Record<Flag, string | string[]>>, name: Flag): string[] | undefined {
  return read(values, name)?.split(',').map((s) => s.trim()).filter(Boolean);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS, strict: true });
  const opts: FakeAwsOptions = {
    host: read(values, 'host'),
    port: number(values, 'port'),
    stsLifetimeSeconds: number(values, 'sts-lifetime'),
    ecrTokenLifetimeSeconds: number(values, 'ecr-token-lifetime'),
    latencyMs: number(values, 'latency-ms'),
    staticKeys: list(values, 'static-key'),
    roles: list(values, 'role'),
    accountId: read(values, 'account-id'),
    jwtSecret: read(values, 'jwt-secret'),
    audience: read(values, 'audience'),
  };
  const fake = await startFakeAws(opts);
  const tokenFile = read(values, 'token-file');
  if (tokenFile) {
    await fake.writeTokenFile(tokenFile, { sub: read(values, 'token-sub') ?? 'system:serviceaccount:default:registry', expSeconds: number(values, 'token-exp') });
  }
  const upstream = read(values, 's3-upstream');
  const enforcer = upstream ? await startS3Enforcer({ upstream, isValidKey: fake.isValidKey, now: fake.now }) : undefined;

  process.stdout.write(JSON.stringify({ url: fake.url, s3Url: enforcer?.url, tokenFile, env: fake.endpointEnv() }) + '\n');

  const stop = () => {
    void Promise.all([fake.stop(), enforcer?.stop()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// No top-level await, so this runs whether tsx loads it as ESM or (without "type": "module") as CommonJS.
main().catch((error: unknown) => {
  process.stderr.write(`fake-aws: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
