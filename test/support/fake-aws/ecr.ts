// ECR and ECR Public over awsJson1_1, as @aws-sdk/client-ecr{,-public} send it: POST `/` with
// `content-type: application/x-amz-json-1.1` and `x-amz-target: <ServiceTarget>.<Operation>`, JSON both ways,
// timestamps as epoch seconds, errors as `{"__type": code, "message": …}` plus the `x-amzn-ErrorType` header.
import type { IncomingHttpHeaders } from 'node:http';
import { authenticate, headerValue, type AuthResult } from './auth.js';
import type { AwsCall, FakeContext, Reply } from './context.js';
import type { FakeService } from './faults.js';
import { callerArn } from './sts.js';
import { partitionOf } from '../../../packages/credential-helper/src/partitions.js';

const TARGETS: Record<string, FakeService> = {
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
  SpencerFrontendService: 'ecr-public',
};
const JSON_1_1 = 'application/x-amz-json-1.1';
const DEFAULT_REGION = 'us-east-1';

export function ecrTarget(headers: IncomingHttpHeaders): { service: FakeService; action: string } | undefined {
  const [prefix = '', action = ''] = (headerValue(headers, 'x-amz-target') ?? '').split('.');
  const service = TARGETS[prefix];
  return service ? { service, action } : undefined;
}

export function ecrCall(target: { service: FakeService; action: string }, body: string, headers: IncomingHttpHeaders, ctx: FakeContext): AwsCall {
  const auth = authenticate(headers, ctx);
  return {
    ...target,
    accessKeyId: auth.accessKeyId,
    region: auth.region,
    ...(auth.ok ? { resource: resourceOf(target.action, parseInput(body), auth), principal: callerArn(auth) } : {}),
    answer: () => answer(target, body, auth, ctx),
    denied: (message) => jsonError(400, 'AccessDeniedException', message),
    throttled: () => jsonError(400, 'ThrottlingException', 'Rate exceeded'),
    unavailable: (status) =>
      status === 503
        ? jsonError(503, 'ServiceUnavailableException', 'Service is unavailable')
        : jsonError(500, 'InternalFailure', 'An internal error occurred'),
  };
}

function answer(target: { service: FakeService; action: string }, body: string, auth: AuthResult, ctx: FakeContext): Reply {
  if (!auth.ok) return authError(auth);
  const input = parseInput(body);
  if (!input) return jsonError(400, 'SerializationException', 'Request body is not a JSON object');
  // Pull actions on a repository with no images: enough for a permission probe (the preflight).
  if (target.service === 'ecr' && target.action === 'BatchGetImage') {
    const imageIds = Array.isArray(input.imageIds) ? input.imageIds : [];
    return jsonReply({ images: [], failures: imageIds.map((imageId) => ({ imageId, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' })) });
  }
  if (target.service === 'ecr' && target.action === 'GetDownloadUrlForLayer') {
    return jsonError(400, 'LayersNotFoundException', `The image layer ${String(input.layerDigest)} does not exist`);
  }
  if (target.action !== 'GetAuthorizationToken') {
    return jsonError(400, 'UnknownOperationException', `Operation ${target.action} is not supported by this fake`);
  }
  const region = auth.region ?? DEFAULT_REGION;
  return target.service === 'ecr' ? privateToken(input, auth, region, ctx) : publicToken(auth, region, ctx);
}

/** One entry per asked registry, or one for the caller's own account, each with its own password. */
function privateToken(input: Record<string, unknown>, auth: AuthResult & { ok: true }, region: string, ctx: FakeContext): Reply {
  const asked = input.registryIds ?? [auth.accountId];
  if (!Array.isArray(asked) || asked.length === 0 || !asked.every((id) => typeof id === 'string' && /^\d{12}$/.test(id))) {
    return jsonError(400, 'InvalidParameterException', "Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]{12}]'");
  }
  const authorizationData = (asked as string[]).map((registryId) => {
    const token = ctx.ecrTokens.issue({ registryId, region, accessKeyId: auth.accessKeyId }, ctx.settings.ecrTokenLifetimeSeconds);
    return {
      authorizationToken: basicToken(token.password),
      expiresAt: token.expiresAt / 1000,
      // Under the region's partition, as ECR answers (cn-north-1: .amazonaws.com.cn, eusc-de-east-1: .amazonaws.eu).
      proxyEndpoint: `https://${registryId}.dkr.ecr.${region}.${partitionOf(region)?.dnsSuffix ?? 'amazonaws.com'}`,
    };
  });
  return jsonReply({ authorizationData });
}

function publicToken(auth: AuthResult & { ok: true }, region: string, ctx: FakeContext): Reply {
  const token = ctx.ecrTokens.issue({ registryId: 'public.ecr.aws', region, accessKeyId: auth.accessKeyId }, ctx.settings.ecrTokenLifetimeSeconds);
  return jsonReply({ authorizationData: { authorizationToken: basicToken(token.password), expiresAt: token.expiresAt / 1000 } });
}

/** The ARN IAM decides on: `*` for GetAuthorizationToken, else the repository. */
function resourceOf(action: string, input: Record<string, unknown> | undefined, auth: AuthResult & { ok: true }): string {
  const repository = typeof input?.repositoryName === 'string' ? input.repositoryName : undefined;
  if (action === 'GetAuthorizationToken' || !repository) return '*';
  const registryId = typeof input?.registryId === 'string' ? input.registryId : auth.accountId;
  return `arn:aws:ecr:${auth.region ?? DEFAULT_REGION}:${registryId}:repository/${repository}`;
}

function basicToken(password: string): string {
  return Buffer.from(`AWS:${password}`).toString('base64');
}

function parseInput(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function authError(auth: AuthResult & { ok: false }): Reply {
  if (auth.reason === 'expired') return jsonError(403, 'ExpiredTokenException', 'The security token included in the request is expired');
  if (auth.reason === 'unknown') return jsonError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  return jsonError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
}

function jsonReply(value: unknown): Reply {
  return { status: 200, contentType: JSON_1_1, body: JSON.stringify(value) };
}

export function jsonError(status: number, code: string, message: string): Reply {
  const body = JSON.stringify({ __type: code, message });
  return { status, contentType: JSON_1_1, body, headers: { 'x-amzn-errortype': code }, errorCode: code };
}
