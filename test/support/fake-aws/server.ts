// The one HTTP handler behind every fake endpoint. STS, ECR and ECR Public share a URL (the SDK's per-service
// endpoint variables may all point at it), so a request is recognised by its protocol markers, not by its path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallLog, CallRecord } from './calls.js';
import type { AwsCall, FakeContext, Reply } from './context.js';
import { ecrCall, ecrTarget, jsonError } from './ecr.js';
import { accessDeniedMessage, type Denials } from './denials.js';
import type { Faults, FaultSpec } from './faults.js';
import { podIdentityCredentials, POD_IDENTITY_PATH } from './pod-identity.js';
import { isStsRequest, stsCall, stsError } from './sts.js';
import { readBody, requestId } from './wire.js';

export interface HandlerParts {
  ctx: FakeContext;
  faults: Faults;
  denials: Denials;
  log: CallLog;
  control: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void>;
}

export function createHandler(parts: HandlerParts) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Aborted when the client goes away or the server stops, so a 'slow' answer never outlives its socket.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    try {
      const body = (await readBody(req)).toString('utf8');
      if (req.url?.startsWith('/_fake/')) return await parts.control(req, res, body);
      if (req.method === 'GET' && req.url === POD_IDENTITY_PATH) {
        const reply = podIdentityCredentials(req, parts.ctx, parts.denials);
        parts.log.add({ service: 'eks-auth', action: 'AssumeRoleForPodIdentity', at: parts.ctx.now(), status: reply.status, ...(reply.errorCode ? { errorCode: reply.errorCode } : {}) });
        return write(res, reply, parts.ctx.now());
      }
      const call = recognise(req, body, parts.ctx);
      if (!call) return write(res, unrecognised(req), parts.ctx.now());
      await answer(call, req, res, parts, gone.signal, body);
    } catch (error) {
      if (gone.signal.aborted) return;
      if (!res.headersSent) write(res, jsonError(500, 'InternalFailure', `fake-aws: ${String(error)}`), parts.ctx.now());
      else res.destroy();
    }
  };
}

function recognise(req: IncomingMessage, body: string, ctx: FakeContext): AwsCall | undefined {
  if (req.method !== 'POST') return undefined;
  const target = ecrTarget(req.headers);
  if (target) return ecrCall(target, body, req.headers, ctx);
  if (isStsRequest(req.headers)) return stsCall(new URLSearchParams(body), req.headers, ctx);
  return undefined;
}

/** Latency, then the fault if one applies, then the real answer, computed last so it sees the clock of that moment. */
async function answer(call: AwsCall, req: IncomingMessage, res: ServerResponse, parts: HandlerParts, signal: AbortSignal, body: string): Promise<void> {
  const record: CallRecord = { service: call.service, action: call.action, at: parts.ctx.now(), status: 0 };
  if (call.accessKeyId) record.accessKeyId = call.accessKeyId;
  if (call.region) record.region = call.region;
  parts.log.add(record);
  if (parts.ctx.settings.latencyMs > 0) await sleep(parts.ctx.settings.latencyMs, undefined, { signal });
  const fault = parts.faults.take(call.service);
  if (fault) record.fault = fault.mode;
  if (fault?.mode === 'down') {
    req.socket.destroy();
    return;
  }
  if (fault?.mode === 'slow') await sleep(fault.delayMs ?? 5000, undefined, { signal });
  const reply = faultReply(call, fault) ?? hostile(call, fault, body, parts.ctx.now()) ?? deniedReply(call, parts.denials) ?? call.answer();
  record.status = reply.status;
  if (reply.errorCode) record.errorCode = reply.errorCode;
  write(res, reply, parts.ctx.now());
}

/** An injected denial, checked once the caller is known (an unknown or expired key is refused for that first). */
function deniedReply(call: AwsCall, denials: Denials): Reply | undefined {
  if (call.resource === undefined || call.principal === undefined) return undefined;
  const action = `${call.service}:${call.action}`;
  const denial = denials.match(action, call.resource);
  return denial ? call.denied(accessDeniedMessage(call.principal, action, call.resource, denial.policy)) : undefined;
}

function faultReply(call: AwsCall, fault: FaultSpec | undefined): Reply | undefined {
  if (fault?.mode === 'throttle') return call.throttled();
  if (fault?.mode === '5xx') return call.unavailable(fault.status ?? 500);
  return undefined;
}

const PAST_ISO = '2015-01-01T00:00:00Z';
const HUGE_BYTES = 50 * 1024 * 1024;
const FOREVER_ISO = '9999-12-31T23:59:59Z';

/** The hostile modes: a real answer bent out of shape, or an error echoing the request. */
function hostile(call: AwsCall, fault: FaultSpec | undefined, requestBody: string, now: number): Reply | undefined {
  const mode = fault?.mode;
  if (mode !== 'expired' && mode !== 'year-9999' && mode !== 'empty' && mode !== 'truncated' && mode !== 'echo' && mode !== 'huge') return undefined;
  if (mode === 'echo') {
    const message = `could not parse the request: ${requestBody}`;
    return call.service === 'sts' ? stsError(400, 'InvalidParameterValue', message) : jsonError(400, 'InvalidParameterException', message);
  }
  const real = call.answer();
  if (real.status !== 200) return real;
  if (mode === 'empty') return { ...real, body: '' };
  if (mode === 'truncated') return { ...real, body: real.body.slice(0, Math.floor(real.body.length / 2)) };
  if (mode === 'huge') {
    const pad = ' '.repeat(HUGE_BYTES);
    const body = call.service === 'sts' ? real.body.replace(/<\/(\w+)>\s*$/, `${pad}</$1>`) : real.body.replace(/^\s*\{/, `{${pad}`);
    return { ...real, body, chunked: true };
  }
  const iso = mode === 'expired' ? (call.service === 'sts' ? new Date(now - 60_000).toISOString().replace(/\.\d+Z$/, 'Z') : PAST_ISO) : FOREVER_ISO;
  const epoch = String(Date.parse(iso) / 1000);
  const body = call.service === 'sts'
    ? real.body.replace(/<Expiration>[^<]*<\/Expiration>/g, `<Expiration>${iso}</Expiration>`)
    : real.body.replace(/"expiresAt":[0-9.e+]+/g, `"expiresAt":${epoch}`);
  return { ...real, body };
}

/** Says exactly what arrived, so a future SDK that changes protocol (e.g. to rpc-v2-cbor) fails loudly here. */
function unrecognised(req: IncomingMessage): Reply {
  const markers = ['content-type', 'x-amz-target', 'smithy-protocol'].map((h) => `${h}=${String(req.headers[h] ?? '')}`);
  return jsonError(400, 'UnknownOperationException', `fake-aws does not recognise ${req.method} ${req.url} (${markers.join(', ')})`);
}

/** `now`: the fake's clock, so its `Date` header moves with advanceClock as AWS's own clock would look from here. */
function write(res: ServerResponse, reply: Reply, now: number): void {
  res.writeHead(reply.status, {
    date: new Date(now).toUTCString(),
    ...reply.headers,
    'content-type': reply.contentType,
    ...(reply.chunked ? {} : { 'content-length': Buffer.byteLength(reply.body) }),
    'x-amzn-requestid': requestId(),
  });
  res.end(reply.body);
}
