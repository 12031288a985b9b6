// STS over the awsQuery protocol, as @aws-sdk/client-sts sends it: a form-encoded POST to `/` with
// `Action=…&Version=2011-06-15&…`, answered with `<{Action}Response><{Action}Result>…` XML, errors as
// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
import type { IncomingHttpHeaders } from 'node:http';
import { authenticate, type AuthResult } from './auth.js';
import type { AwsCall, FakeContext, Reply } from './context.js';
import type { IssuedCredentials } from './keys.js';
import { verifyJwt } from './jwt.js';
import { findRole, parseRoleArn } from './roles.js';
import { isoSeconds, requestId, toXml, xmlEscape, type XmlFields } from './wire.js';

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const XML = 'text/xml';

export function isStsRequest(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

export function stsCall(form: URLSearchParams, headers: IncomingHttpHeaders, ctx: FakeContext): AwsCall {
  const action = form.get('Action') ?? 'Unknown';
  const auth = action === 'AssumeRoleWithWebIdentity' ? undefined : authenticate(headers, ctx);
  // Only the role-assuming actions can be refused by a policy (GetCallerIdentity never is, on AWS either).
  const roleArn = action.startsWith('AssumeRole') ? form.get('RoleArn') ?? undefined : undefined;
  const principal = action === 'AssumeRoleWithWebIdentity' ? 'the web identity' : auth?.ok ? callerArn(auth) : undefined;
  return {
    service: 'sts',
    action,
    accessKeyId: auth?.accessKeyId,
    region: auth?.region,
    ...(roleArn && principal ? { resource: roleArn, principal } : {}),
    answer: () => answer(action, form, auth, ctx),
    denied: (message) => stsError(403, 'AccessDenied', message),
    throttled: () => stsError(400, 'Throttling', 'Rate exceeded'),
    unavailable: (status) =>
      status === 503
        ? stsError(503, 'ServiceUnavailable', 'Service is unavailable', 'Receiver')
        : stsError(500, 'InternalFailure', 'An internal error occurred', 'Receiver'),
  };
}

function answer(action: string, form: URLSearchParams, auth: AuthResult | undefined, ctx: FakeContext): Reply {
  if (action === 'AssumeRoleWithWebIdentity') return assumeRoleWithWebIdentity(form, ctx);
  if (!auth?.ok) return authError(auth);
  if (action === 'AssumeRole') return assumeRole(form, auth, ctx);
  if (action === 'GetCallerIdentity') return getCallerIdentity(auth);
  return stsError(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
}

function assumeRoleWithWebIdentity(form: URLSearchParams, ctx: FakeContext): Reply {
  const missing = requireParams(form, ['RoleArn', 'RoleSessionName', 'WebIdentityToken']);
  if (missing) return missing;
  const verified = verifyJwt(ctx.jwtSecret, form.get('WebIdentityToken')!, ctx.now());
  if (!verified.ok && verified.reason === 'expired') {
    const now = Math.floor(ctx.now() / 1000);
    const message = `Token expired: current date/time ${now} must be before the expiration date/time${verified.payload?.exp}`;
    return stsError(400, 'ExpiredTokenException', message);
  }
  if (!verified.ok) {
    return stsError(400, 'InvalidIdentityToken', 'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.');
  }
  const { sub = '', aud, iss = '' } = verified.payload;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(ctx.settings.audience)) return stsError(400, 'InvalidIdentityToken', 'Incorrect token audience');
  const roleArn = form.get('RoleArn')!;
  const role = findRole(ctx.settings.roles, roleArn);
  if (!role || (role.subjects && !role.subjects.includes(sub))) {
    return stsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
  }
  const issued = issue(form, roleArn, ctx);
  return stsResult('AssumeRoleWithWebIdentity', {
    Credentials: credentialsXml(issued),
    SubjectFromWebIdentityToken: sub,
    AssumedRoleUser: assumedRoleUser(issued),
    Provider: iss.replace(/^https:\/\//, ''),
    Audience: ctx.settings.audience,
  });
}

function assumeRole(form: URLSearchParams, auth: AuthResult & { ok: true }, ctx: FakeContext): Reply {
  const missing = requireParams(form, ['RoleArn', 'RoleSessionName']);
  if (missing) return missing;
  const roleArn = form.get('RoleArn')!;
  const role = findRole(ctx.settings.roles, roleArn);
  if (!role || (role.externalId !== undefined && role.externalId !== form.get('ExternalId'))) {
    return stsError(403, 'AccessDenied', `User: ${callerArn(auth)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  }
  const issued = issue(form, roleArn, ctx);
  return stsResult('AssumeRole', { Credentials: credentialsXml(issued), AssumedRoleUser: assumedRoleUser(issued) });
}

function getCallerIdentity(auth: AuthResult & { ok: true }): Reply {
  const userId = auth.issued ? `${roleId(auth.issued)}:${auth.issued.sessionName}` : auth.accessKeyId;
  return stsResult('GetCallerIdentity', { Arn: callerArn(auth), UserId: userId, Account: auth.accountId });
}

/** The session lasts what the caller asked for, never longer than the configured lifetime; no lower bound. */
function issue(form: URLSearchParams, roleArn: string, ctx: FakeContext): IssuedCredentials {
  const configured = ctx.settings.stsLifetimeSeconds;
  const asked = Number(form.get('DurationSeconds') ?? configured);
  return ctx.keys.issue({
    roleArn,
    sessionName: form.get('RoleSessionName')!,
    accountId: parseRoleArn(roleArn)!.accountId,
    lifetimeSeconds: Number.isFinite(asked) && asked > 0 ? Math.min(asked, configured) : configured,
  });
}

function authError(auth: AuthResult | undefined): Reply {
  if (auth?.ok === false && auth.reason === 'expired') {
    return stsError(403, 'ExpiredToken', 'The security token included in the request is expired');
  }
  if (auth?.ok === false && auth.reason === 'unknown') {
    return stsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  return stsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
}

function requireParams(form: URLSearchParams, names: string[]): Reply | undefined {
  const missing = names.find((name) => !form.get(name));
  if (!missing) return undefined;
  const member = missing[0]!.toLowerCase() + missing.slice(1);
  return stsError(400, 'ValidationError', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
}

function credentialsXml(issued: IssuedCredentials): XmlFields {
  return {
    AccessKeyId: issued.accessKeyId,
    SecretAccessKey: issued.secretAccessKey,
    SessionToken: issued.sessionToken,
    Expiration: isoSeconds(issued.expiresAt),
  };
}

function assumedRoleUser(issued: IssuedCredentials): XmlFields {
  return { AssumedRoleId: `${roleId(issued)}:${issued.sessionName}`, Arn: assumedRoleArn(issued) };
}

function assumedRoleArn(issued: IssuedCredentials): string {
  const role = parseRoleArn(issued.roleArn)!;
  return `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${issued.sessionName}`;
}

/** A stable fake role id (`AROA…`), derived from the role name so two sessions of a role share it, as on AWS. */
function roleId(issued: IssuedCredentials): string {
  const name = parseRoleArn(issued.roleArn)!.roleName.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return ('AROA' + name + 'FAKEROLEID000000').slice(0, 21);
}

export function callerArn(auth: AuthResult & { ok: true }): string {
  return auth.issued ? assumedRoleArn(auth.issued) : `arn:aws:iam::${auth.accountId}:user/${auth.accessKeyId}`;
}

function stsResult(action: string, result: XmlFields): Reply {
  const body =
    `<${action}Response xmlns="${XMLNS}">` +
    `<${action}Result>${toXml(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata>` +
    `</${action}Response>\n`;
  return { status: 200, contentType: XML, body };
}

export function stsError(status: number, code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): Reply {
  const body =
    `<ErrorResponse xmlns="${XMLNS}">` +
    `<Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
    `<RequestId>${requestId()}</RequestId>` +
    `</ErrorResponse>\n`;
  return { status, contentType: XML, body, errorCode: code };
}
