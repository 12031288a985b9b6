import { describe, expect, it } from 'vitest';
import { NOT_FOUND, runProtocol, USAGE, type ProtocolDeps } from './protocol.js';
import type { ListAws } from './list.js';
import { capturingLogger, memoryCache, scriptedFetch, tokenFor } from './test-fakes.js';

/** The default-registry call answers for account 333333333333 in the asked region. */
function listAws(over: Partial<ListAws> = {}): ListAws & { regions: Array<string | undefined> } {
  const regions: Array<string | undefined> = [];
  return {
    regions,
    hasCredentials: async () => true,
    fetchDefaultToken: async (region) => {
      regions.push(region);
      if (!region) throw new Error('Region is missing');
      return { ...tokenFor('default-pw', new Date(Date.now() + 3_600_000)), proxyEndpoint: `https://333333333333.dkr.ecr.${region}.amazonaws.com` };
    },
    ...over,
  };
}

const HOST = '123456789012.dkr.ecr.us-west-2.amazonaws.com';

function deps(over: Partial<ProtocolDeps> = {}): ProtocolDeps {
  return {
    readStdin: async () => HOST,
    cache: memoryCache().cache,
    fetchToken: scriptedFetch(tokenFor('secret-pw', new Date(Date.now() + 3_600_000))).fetchToken,
    identity: 'id',
    allowedRegistries: [],
    ignoreCredsStorage: false,
    timeoutMs: 15_000,
    log: capturingLogger().log,
    list: { aws: listAws(), region: 'us-west-2', cacheEnabled: true },
    ...over,
  };
}

describe(runProtocol.name, () => {
  it('get prints one JSON line with the server URL as given', async () => {
    const out = await runProtocol(['get'], deps({ readStdin: async () => `  ${HOST}\n` }));
    expect(out).toEqual({ exitCode: 0, stdout: `{"ServerURL":"${HOST}","Username":"AWS","Secret":"secret-pw"}\n` });
  });

  it('get with empty input says so', async () => {
    expect(await runProtocol(['get'], deps({ readStdin: async () => ' \n' }))).toEqual({ exitCode: 1, stdout: 'no credentials server URL\n' });
  });

  it('any get failure prints exactly the not-found text, the reason goes to the log', async () => {
    const { log, lines } = capturingLogger();
    const out = await runProtocol(['get'], deps({ readStdin: async () => 'example.com', log }));
    expect(out).toEqual({ exitCode: 1, stdout: `${NOT_FOUND}\n` });
    expect(lines.join('')).toContain('not an ECR registry host');
  });

  it('a get that would hang ends at the deadline with not-found', async () => {
    const out = await runProtocol(['get'], deps({ fetchToken: scriptedFetch('hang').fetchToken, timeoutMs: 50 }));
    expect(out).toEqual({ exitCode: 1, stdout: `${NOT_FOUND}\n` });
  });

  it('store and erase are not implemented unless AWS_ECR_IGNORE_CREDS_STORAGE is true', async () => {
    const creds = async () => '{"ServerURL":"x","Username":"u","Secret":"s"}';
    for (const verb of ['store', 'erase']) {
      expect(await runProtocol([verb], deps({ readStdin: creds }))).toEqual({ exitCode: 1, stdout: 'not implemented\n' });
      expect(await runProtocol([verb], deps({ readStdin: creds, ignoreCredsStorage: true }))).toEqual({ exitCode: 0, stdout: '' });
    }
  });

  it.each([
    ['store', '', 'EOF'],
    ['store', 'garbage', "invalid character 'g' looking for beginning of value"],
    ['store', '{}', 'no credentials server URL'],
    ['store', '{"ServerURL":"x"}', 'no credentials username'],
    ['erase', ' ', 'no credentials server URL'],
  ])('%s with %j fails as the reference does: %s', async (verb, input, message) => {
    expect(await runProtocol([verb], deps({ readStdin: async () => input, ignoreCredsStorage: true }))).toEqual({ exitCode: 1, stdout: `${message}\n` });
  });

  describe('list, as the reference', () => {
    const cachedEntry = (id: string) => ({
      AuthorizationToken: Buffer.from('AWS:pw').toString('base64'), RequestedAt: new Date().toISOString(),
      ExpiresAt: new Date(Date.now() + 3_600_000).toISOString(), ProxyEndpoint: `https://${id}.dkr.ecr.us-east-1.amazonaws.com`, Service: 'ecr' as const,
    });

    it('primes the default registry and ECR Public, then lists every cached entry, sorted', async () => {
      const { cache } = memoryCache({ a: cachedEntry('222222222222'), b: cachedEntry('111111111111') });
      const fetch = scriptedFetch({ ...tokenFor('public-pw', new Date(Date.now() + 3_600_000)), proxyEndpoint: 'https://public.ecr.aws' });
      const aws = listAws();
      const out = await runProtocol(['list'], deps({ cache, fetchToken: fetch.fetchToken, list: { aws, region: 'eu-west-1', cacheEnabled: true } }));
      expect(out).toEqual({
        exitCode: 0,
        stdout: '{"https://111111111111.dkr.ecr.us-east-1.amazonaws.com":"AWS","https://222222222222.dkr.ecr.us-east-1.amazonaws.com":"AWS",' +
          '"https://333333333333.dkr.ecr.eu-west-1.amazonaws.com":"AWS","https://public.ecr.aws":"AWS"}\n',
      });
      expect(aws.regions).toEqual(['eu-west-1']);
      expect(fetch.calls).toEqual(['public.ecr.aws']);
    });

    it('with no region lists ECR Public and the cache', async () => {
      const { cache } = memoryCache({ a: cachedEntry('111111111111') });
      const fetch = scriptedFetch({ ...tokenFor('public-pw', new Date(Date.now() + 3_600_000)), proxyEndpoint: 'https://public.ecr.aws' });
      const out = await runProtocol(['list'], deps({ cache, fetchToken: fetch.fetchToken, list: { aws: listAws(), region: undefined, cacheEnabled: true } }));
      expect(out.stdout).toBe('{"https://111111111111.dkr.ecr.us-east-1.amazonaws.com":"AWS","https://public.ecr.aws":"AWS"}\n');
    });

    it('with the cache disabled or no credentials prints {} and calls nothing', async () => {
      const { cache } = memoryCache({ a: cachedEntry('111111111111') });
      for (const [aws, cacheEnabled] of [[listAws(), false], [listAws({ hasCredentials: async () => false }), true]] as const) {
        const fetch = scriptedFetch(new Error('must not be called'));
        expect(await runProtocol(['list'], deps({ cache, fetchToken: fetch.fetchToken, list: { aws, region: 'us-west-2', cacheEnabled } }))).toEqual({ exitCode: 0, stdout: '{}\n' });
        expect(aws.regions).toEqual([]);
        expect(fetch.calls).toEqual([]);
      }
    });

    it('calls that hang end at the deadline and the cache is listed', async () => {
      const { cache } = memoryCache({ a: cachedEntry('111111111111') });
      const hang = (_: unknown, signal: AbortSignal) => new Promise<never>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      const aws = listAws({ fetchDefaultToken: hang });
      const out = await runProtocol(['list'], deps({ cache, fetchToken: scriptedFetch('hang').fetchToken, timeoutMs: 50, list: { aws, region: 'us-west-2', cacheEnabled: true } }));
      expect(out).toEqual({ exitCode: 0, stdout: '{"https://111111111111.dkr.ecr.us-east-1.amazonaws.com":"AWS"}\n' });
    });
  });

  it('get reads stdin as the reference: lines joined, Go whitespace trimmed, bytes echoed as Go encodes them', async () => {
    const split = Buffer.from(`1234\r\n56789012.dkr.ecr.us-west-2.amazonaws.com/x\xff<\u0085`, 'latin1');
    const out = await runProtocol(['get'], deps({ readStdin: async () => Buffer.concat([split.subarray(0, -1), Buffer.from('\u0085')]) }));
    expect(out.stdout).toBe('{"ServerURL":"123456789012.dkr.ecr.us-west-2.amazonaws.com/x\\ufffd\\u003c","Username":"AWS","Secret":"secret-pw"}\n');
    const long = await runProtocol(['get'], deps({ readStdin: async () => 'a'.repeat(70_000) }));
    expect(long).toEqual({ exitCode: 1, stdout: 'bufio.Scanner: token too long\n' });
  });

  it('version, -v, usage and unknown verbs', async () => {
    const version = 'docker-credential-ecr-login (github.com/awslabs/amazon-ecr-credential-helper/ecr-login) 0.12.0\n';
    expect(await runProtocol(['version'], deps())).toEqual({ exitCode: 0, stdout: version });
    expect(await runProtocol(['-v'], deps())).toEqual({ exitCode: 0, stdout: 'amazon-ecr-credential-helper\nVersion:    0.12.0\nGit commit: \n' });
    expect(await runProtocol(['--version'], deps())).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('flag provided but not defined: -version') });
    expect(await runProtocol(['-h'], deps())).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await runProtocol([], deps())).toEqual({ exitCode: 1, stdout: `${USAGE}\n` });
    expect(await runProtocol(['get', 'x'], deps())).toEqual({ exitCode: 1, stdout: `${USAGE}\n` });
    expect(await runProtocol(['foo'], deps())).toEqual({ exitCode: 1, stdout: 'docker-credential-ecr-login: unknown action: foo\n' });
  });


  it('tells recordRun each get outcome once; other verbs record nothing', async () => {
    const outcomes: string[] = [];
    const recordRun = (o: string) => void outcomes.push(o);
    const shared = memoryCache();
    const run = (over: Partial<ProtocolDeps>) => runProtocol(['get'], deps({ recordRun, cache: shared.cache, ...over }));
    await run({}); // fetched from ECR, cached
    await run({}); // from the cache
    await run({ readStdin: async () => '' });
    await run({ readStdin: async () => 'example.com' });
    await run({ allowedRegistries: ['210987654321'] });
    await run({ identity: async () => { throw new Error('no credentials'); } });
    await runProtocol(['get'], deps({ recordRun, fetchToken: scriptedFetch(new Error('AccessDenied')).fetchToken }));
    await runProtocol(['get'], deps({ recordRun, fetchToken: scriptedFetch('hang').fetchToken, timeoutMs: 50 }));
    await runProtocol(['version'], deps({ recordRun }));
    await runProtocol(['list'], deps({ recordRun }));
    expect(outcomes).toEqual(['ecr', 'cache', 'bad_input', 'not_ecr_host', 'not_allowed', 'identity', 'ecr_error', 'ecr_error']);
  });
});
