/** Hand-written fakes for the STS seam: each call answers from a queue of results (credentials or errors). */
import type { AwsCredentials, TemporaryCredentials } from './aws-credentials.js';
import type { AssumeRoleInput, StsApi, WebIdentityInput } from './sts-seam.js';

export function awsError(name: string, status?: number): Error {
  return Object.assign(new Error(`${name} from fake`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
}

export function temp(id: string, expiresAt = Date.now() + 3_600_000): TemporaryCredentials {
  return { accessKeyId: id, secretAccessKey: `${id}-secret`, sessionToken: `${id}-token`, expiration: new Date(expiresAt) };
}

export class FakeSts implements StsApi {
  webIdentityCalls: WebIdentityInput[] = [];
  assumeRoleCalls: Array<{ input: AssumeRoleInput; source: AwsCredentials }> = [];
  chainCalls = 0;
  constructor(public answers: Array<TemporaryCredentials | Error> = [], public chain: AwsCredentials | Error = temp('ASIACHAIN')) {}

  private next(): TemporaryCredentials {
    const a = this.answers.shift() ?? temp(`ASIA${this.webIdentityCalls.length + this.assumeRoleCalls.length}`);
    if (a instanceof Error) throw a;
    return a;
  }
  async assumeRoleWithWebIdentity(input: WebIdentityInput) {
    this.webIdentityCalls.push(input);
    return { ...this.next(), roleArn: input.roleArn };
  }
  async assumeRole(input: AssumeRoleInput, source: AwsCredentials) {
    this.assumeRoleCalls.push({ input, source });
    return { ...this.next(), roleArn: input.roleArn };
  }
  async defaultChain() {
    this.chainCalls++;
    if (this.chain instanceof Error) throw this.chain;
    return this.chain;
  }
}

export const fakeStsSatisfies = new FakeSts() satisfies StsApi;
