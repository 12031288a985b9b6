/** Hand-written fakes for the STS seam: each call answers from a queue of results (credentials or errors). */
import type { AwsCredentials, TemporaryCredentials } from './aws-credentials.js';
import type { AssumeRoleInput, CallerIdentity, SdkSource, StsApi, WebIdentityInput } from './sts-seam.js';

export function awsError(name: string, status?: number): Error {
  return Object.assign(new Error(`${name} from fake`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
}

export function temp(id: string, expiresAt = Date.now() + 3_600_000): TemporaryCredentials {
  return { accessKeyId: id, secretAccessKey: `${id}-secret`, sessionToken: `${id}-token`, expiration: new Date(expiresAt) };
}

/** The assumed-role ARN STS names for a session of `roleArn`. */
export function sessionArn(roleArn: string, session = 's'): string {
  const [, partition, account, name] = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn) ?? [];
  return `arn:${partition}:sts::${account}:assumed-role/${name}/${session}`;
}

export class FakeSts implements StsApi {
  webIdentityCalls: WebIdentityInput[] = [];
  assumeRoleCalls: Array<{ input: AssumeRoleInput; source: AwsCredentials }> = [];
  callerIdentityCalls: AwsCredentials[] = [];
  sourceCalls: SdkSource[] = [];
  /** What GetCallerIdentity answers for credentials without a principal of their own. */
  callerArn = 'arn:aws:sts::123456789012:assumed-role/node-instance-role/i-0123456789abcdef0';
  constructor(public answers: Array<TemporaryCredentials | Error> = [], public chain: AwsCredentials | Error = temp('ASIACHAIN')) {}

  private next(): TemporaryCredentials {
    const a = this.answers.shift() ?? temp(`ASIA${this.webIdentityCalls.length + this.assumeRoleCalls.length}`);
    if (a instanceof Error) throw a;
    return a;
  }
  async assumeRoleWithWebIdentity(input: WebIdentityInput) {
    this.webIdentityCalls.push(input);
    return { principalArn: sessionArn(input.roleArn, input.sessionName), ...this.next(), roleArn: input.roleArn };
  }
  async assumeRole(input: AssumeRoleInput, source: AwsCredentials) {
    this.assumeRoleCalls.push({ input, source });
    return { principalArn: sessionArn(input.roleArn, input.sessionName), ...this.next(), roleArn: input.roleArn };
  }
  async getCallerIdentity(creds: AwsCredentials): Promise<CallerIdentity> {
    this.callerIdentityCalls.push(creds);
    return { arn: this.callerArn, account: this.callerArn.split(':')[4]! };
  }
  async fromSource(source: SdkSource) {
    this.sourceCalls.push(source);
    if (this.chain instanceof Error) throw this.chain;
    return this.chain;
  }
}

export const fakeStsSatisfies = new FakeSts() satisfies StsApi;
