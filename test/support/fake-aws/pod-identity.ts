// The EKS Pod Identity agent's endpoint (GET /v1/credentials, the token in `Authorization`), with what EKS Auth's
// AssumeRoleForPodIdentity decides behind it: the association of the token's service account names a role, and the
// role's trust policy must let pods.eks.amazonaws.com assume it (sts:AssumeRole). A trust policy that does not (its
// cluster/namespace/service-account tag conditions differ) is modelled as an injected denial of `sts:AssumeRole` on
// the role, as the other documents are. Answers as aws/eks-pod-identity-agent does (pkg/handlers,
// pkg/errors/errors.go): credentials as JSON on success; an EKS Auth error as text/plain
// `[requestId]: (Code): message, fault: client` with that error's HTTP status (botocore's eks-auth model:
// AccessDeniedException, InvalidTokenException and ExpiredTokenException 400, ResourceNotFoundException 404).
import type { IncomingMessage } from 'node:http';
import type { FakeContext, Reply } from './context.js';
import { accessDeniedMessage, type Denials } from './denials.js';
import { verifyJwt } from './jwt.js';
import { parseRoleArn } from './roles.js';
import { isoSeconds, requestId } from './wire.js';

export const POD_IDENTITY_PATH = '/v1/credentials';
/** The service principal EKS Auth assumes the role as. */
export const PODS_PRINCIPAL = 'pods.eks.amazonaws.com';

function agentError(status: number, code: string, message: string): Reply {
  return { status, contentType: 'text/plain; charset=utf-8', body: `[${requestId()}]: (${code}): ${message}, fault: client\n`, errorCode: code };
}

export function podIdentityCredentials(req: IncomingMessage, ctx: FakeContext, denials: Denials): Reply {
  const token = String(req.headers.authorization ?? '');
  if (token === '') return { status: 400, contentType: 'text/plain; charset=utf-8', body: 'Service account token cannot be empty\n' };
  const verified = verifyJwt(ctx.jwtSecret, token, ctx.now());
  if (!verified.ok) {
    return verified.reason === 'expired'
      ? agentError(400, 'ExpiredTokenException', 'Service account token has expired')
      : agentError(400, 'InvalidTokenException', 'Service account token is invalid');
  }
  const sub = verified.payload.sub ?? '';
  const roleArn = ctx.settings.podIdentityAssociations[sub];
  if (!roleArn) return agentError(404, 'ResourceNotFoundException', `No Pod Identity association found for ${sub.replace(/^system:serviceaccount:/, '')}`);
  const denial = denials.match('sts:AssumeRole', roleArn);
  if (denial) {
    return agentError(400, 'AccessDeniedException', `Failed to assume role: ${accessDeniedMessage(PODS_PRINCIPAL, 'sts:AssumeRole', roleArn, denial.policy)}`);
  }
  const role = parseRoleArn(roleArn)!;
  // EKS names the session eks-<cluster>-<pod>-<uuid>; any name of that shape will do here.
  const issued = ctx.keys.issue({ roleArn, sessionName: `eks-cluster-registry-${requestId().slice(0, 8)}`, accountId: role.accountId, lifetimeSeconds: ctx.settings.stsLifetimeSeconds });
  const body = JSON.stringify({
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    Token: issued.sessionToken,
    AccountId: role.accountId,
    Expiration: isoSeconds(issued.expiresAt),
  });
  return { status: 200, contentType: 'application/json', body };
}
