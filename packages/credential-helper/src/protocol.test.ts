import { describe, expect, it } from 'vitest';
import { goJson, NOT_FOUND, runProtocol, USAGE, type ProtocolDeps } from './protocol.js';
import { capturingLogger, memoryCache, scriptedFetch, tokenFor } from './test-fakes.js';

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

  it('list prints cached endpoints, sorted', async () => {
    const { cache } = memoryCache();
    for (const id of ['222222222222', '111111111111']) {
      await cache.set(id, { AuthorizationToken: 'x', RequestedAt: '', ExpiresAt: '', ProxyEndpoint: `https://${id}.dkr.ecr.us-east-1.amazonaws.com`, Service: 'ecr' });
    }
    expect((await runProtocol(['list'], deps({ cache }))).stdout).toBe(
      '{"https://111111111111.dkr.ecr.us-east-1.amazonaws.com":"AWS","https://222222222222.dkr.ecr.us-east-1.amazonaws.com":"AWS"}\n',
    );
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

  it('escapes like Go encoding/json', () => {
    expect(goJson({ a: '<&>' })).toBe('{"a":"\\u003c\\u0026\\u003e"}');
  });
});
