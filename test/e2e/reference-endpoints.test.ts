/**
 * Which AWS endpoint each input reaches, ours vs the reference v0.12.0, side by side. reference-compat.test.ts fixes
 * AWS_ENDPOINT_URL_ECR to reach the local AWS, so it cannot see the endpoint choice; here no endpoint is set and both
 * binaries go through a loopback proxy that logs each CONNECT target and answers 407, so no call leaves the machine.
 * Each run gets its own proxy user name, so runs can overlap and still be told apart.
 * The differences that remain are listed in DIFFERENT with their reason (docs/design.md, "Endpoints"); each is
 * asserted to still differ, so the list stays true.
 */
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, requireBuilt, runExe } from '../support/exe.js';
import { requireTools, toolPaths } from '../support/tools.js';

const ID = '123456789012';
/** `get` inputs: every partition, FIPS and dual-stack forms, region spellings the host grammar lets through, ECR Public. */
const GET_INPUTS = [
  `${ID}.dkr.ecr.us-east-1.amazonaws.com`,
  `${ID}.dkr.ecr.eu-west-1.amazonaws.com`,
  `${ID}.dkr.ecr.cn-north-1.amazonaws.com.cn`,
  `${ID}.dkr.ecr.us-gov-west-1.amazonaws.com`,
  `${ID}.dkr.ecr.us-iso-east-1.c2s.ic.gov`,
  `${ID}.dkr.ecr.us-isob-east-1.sc2s.sgov.gov`,
  `${ID}.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk`,
  `${ID}.dkr.ecr.us-isof-south-1.csp.hci.ic.gov`,
  `${ID}.dkr.ecr.eusc-de-east-1.amazonaws.eu`,
  `${ID}.dkr.ecr-fips.us-east-1.amazonaws.com`,
  `${ID}.dkr.ecr-fips.us-gov-east-1.amazonaws.com`,
  `${ID}.dkr-ecr-fips.us-east-1.on.aws`,
  `${ID}.dkr-ecr.us-east-1.on.aws`,
  `${ID}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn`,
  `${ID}.dkr.ecr.US-EAST-1.amazonaws.com`,
  `${ID}.dkr.ecr.Eu-West-1.amazonaws.com`,
  `${ID}.dkr.ecr.fips-us-east-1.amazonaws.com`,
  `${ID}.dkr.ecr.us-east-1-fips.amazonaws.com`,
  `${ID}.dkr.ecr.mars-north-1.amazonaws.com`,
  `${ID}.dkr.ecr.us-east-.amazonaws.com`,
  `${ID}.dkr.ecr.us_east_1.amazonaws.com`,
  `https://${ID}.dkr.ecr.ap-southeast-2.amazonaws.com:443/v2/x`,
  'public.ecr.aws',
  'ecr-public.aws.com',
];
/** `list` with an empty cache primes the caller's default registry (AWS_REGION) and ECR Public. */
const LIST_REGIONS = ['us-west-2', 'cn-north-1', 'eusc-de-east-1', 'us-gov-east-1', 'US-WEST-2', undefined];

/**
 * Inputs on which the two differ, and why (docs/design.md, "Endpoints").
 * - An upper-case region: the same DNS name; the reference writes it as given in CONNECT, Node's URL parser lower-cases
 *   host names (DNS is case-insensitive, RFC 4343), so the same endpoint is reached. Compared lower-cased below.
 * - A region ending in `-`: the reference CONNECTs to a name that cannot resolve (`api.ecr.us-east-.amazonaws.com`);
 *   the JS SDK refuses the region (no valid host label) before any call. Same stdout and exit code.
 */
const DIFFERENT: Record<string, string> = {
  [`${ID}.dkr.ecr.us-east-.amazonaws.com`]: 'not a valid host label: no call',
};
/** Inputs on which neither makes a call (the Go SDK refuses `_` in a region too). */
const NO_CALL = new Set([`${ID}.dkr.ecr.us_east_1.amazonaws.com`]);

let proxy: net.Server;
let port = 0;
const targets = new Map<string, string[]>();
let runs = 0;

beforeAll(async () => {
  requireTools('refHelper');
  requireBuilt();
  proxy = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d) => {
      const head = d.toString('latin1');
      const auth = /^Proxy-Authorization: Basic (\S+)/im.exec(head)?.[1];
      const run = auth ? Buffer.from(auth, 'base64').toString().split(':')[0]! : '?';
      targets.set(run, [...(targets.get(run) ?? []), head.split(' ')[1]!]);
      s.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  port = (proxy.address() as net.AddressInfo).port;
});
afterAll(() => proxy?.close());

async function run(args: string[], stdin: string, extra: Record<string, string | undefined>, file?: string) {
  const id = `run${++runs}`;
  const env = cleanEnv({
    HOME: await mkdtemp(join(tmpdir(), 'endpoints-')), AWS_ACCESS_KEY_ID: 'AKIASTATICEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x',
    AWS_EC2_METADATA_DISABLED: 'true', AWS_ECR_DISABLE_CACHE: '1', ECR_LOGIN_TIMEOUT: '3s', HTTPS_PROXY: `http://${id}:pw@127.0.0.1:${port}`, ...extra,
  });
  const r = await runExe(args, { env, stdin, ...(file ? { file } : {}) });
  return { stdout: r.stdout, code: r.code, connects: [...new Set(targets.get(id) ?? [])].sort() };
}

/** Both binaries on one input, concurrently. */
async function sideBySide(args: string[], stdin: string, extra: Record<string, string | undefined> = {}) {
  const [ours, theirs] = await Promise.all([run(args, stdin, extra), run(args, stdin, extra, toolPaths.refHelper)]);
  return { ours, theirs };
}

const lower = (r: { stdout: string; code: number | null; connects: string[] }) => ({ ...r, connects: r.connects.map((c) => c.toLowerCase()) });

describe('get: the same endpoint as v0.12.0', () => {
  it.each(GET_INPUTS)('%s', async (input) => {
    const { ours, theirs } = await sideBySide(['get'], input);
    expect(theirs.connects.length > 0, 'the reference reached the proxy').toBe(!NO_CALL.has(input));
    if (DIFFERENT[input]) {
      expect({ stdout: ours.stdout, code: ours.code }).toEqual({ stdout: theirs.stdout, code: theirs.code });
      expect(ours.connects).toEqual([]);
      return;
    }
    expect(lower(ours)).toEqual(lower(theirs));
  });
});

describe('list with an empty cache: the same endpoints as v0.12.0', () => {
  it.each(LIST_REGIONS)('AWS_REGION=%s', async (region) => {
    const { ours, theirs } = await sideBySide(['list'], '', { AWS_REGION: region, AWS_ECR_DISABLE_CACHE: undefined });
    expect(lower(ours)).toEqual(lower(theirs));
  });
});
