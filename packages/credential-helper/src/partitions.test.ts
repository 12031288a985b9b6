import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { parseEcrRegistry } from './registry-host.js';
import { partitionOf, PARTITIONS } from './partitions.js';

/** One region of each partition, and the ECR registry host suffix of the helper's grammar there. */
const REGION_OF_EACH_PARTITION = {
  aws: 'eu-west-1',
  'aws-cn': 'cn-northwest-1',
  'aws-us-gov': 'us-gov-east-1',
  'aws-iso': 'us-iso-east-1',
  'aws-iso-b': 'us-isob-east-1',
  'aws-iso-e': 'eu-isoe-west-1',
  'aws-iso-f': 'us-isof-south-1',
  'aws-eusc': 'eusc-de-east-1',
} as const;

/** The host an SDK client sends its request to, captured before anything leaves the process. */
async function requestHost(send: (stop: (host: string) => never) => Promise<unknown>): Promise<string> {
  let host = '';
  await send((h) => {
    host = h;
    throw new Error('captured');
  }).catch((err: Error) => {
    if (err.message !== 'captured') throw err;
  });
  return host;
}

describe(partitionOf.name, () => {
  it('covers every partition', () => {
    expect(PARTITIONS.map((p) => p.id).sort()).toEqual(Object.keys(REGION_OF_EACH_PARTITION).sort());
  });

  it.each(Object.entries(REGION_OF_EACH_PARTITION))('%s: %s, and ECR resolves its endpoint and its registry host there', async (id, region) => {
    const partition = partitionOf(region)!;
    expect(partition.id).toBe(id);
    expect(parseEcrRegistry(`123456789012.dkr.ecr.${region}.${partition.dnsSuffix}`)).toMatchObject({ kind: 'private', region });
    const client = new ECRClient({ region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
    const host = await requestHost((stop) => {
      client.middlewareStack.add((next) => async (args) => stop((args.request as { hostname: string }).hostname), { step: 'finalizeRequest' });
      return client.send(new GetAuthorizationTokenCommand({}));
    });
    expect(host).toBe(`api.ecr.${region}.${partition.dnsSuffix}`);
  });

  it.each(['us-east', 'xx-east-1', 'eusc-fr-east-1', 'US-EAST-1', 'us-east-1a', 'cn-north', 'local', ''])('%j is no region', (region) => {
    expect(partitionOf(region)).toBeUndefined();
  });
});
