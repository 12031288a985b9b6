/**
 * One http.Agent for every AWS call, choosing per request, by proxy-env.ts (Go's rules), between a direct connection
 * and a proxy: `https-proxy-agent` (CONNECT tunnel) for https targets, `http-proxy-agent` (absolute-URI requests) for
 * http targets, `socks-proxy-agent` for socks5:// and socks5h:// proxies. All are pure JS on `agent-base`, which lets
 * `connect()` hand a request to another agent; this is what the `proxy-agent` package does, without its PAC part (a
 * JS engine in WebAssembly we do not need).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Agent, type AgentConnectOpts } from 'agent-base';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { ConfigError } from './env.js';
import { proxyFor, type ProxyEnv, type ProxyUrl } from './proxy-env.js';

/**
 * The proxy, not AWS, refused or failed the request: one line naming the proxy (`host:port`, never its user info) and
 * what it said. `status` is the proxy's HTTP status to CONNECT, absent for a SOCKS refusal.
 */
export class ProxyError extends Error {
  override name = 'ProxyError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * https-proxy-agent 7 treats only 200 as an open tunnel and replays any other CONNECT reply onto the request as if the
 * target had sent it, and the SDK takes any 2xx as AWS's answer: a proxy answering `201` with a JSON body could forge
 * an ECR token or STS credentials. Go's transport fails the request on any CONNECT reply but 200 (net/http
 * transport.go: "if resp.StatusCode != 200"), and so does this: the request fails with a ProxyError, and the proxy's
 * body is never read.
 */
class StrictHttpsProxyAgent extends HttpsProxyAgent<string> {
  constructor(private readonly named: ProxyUrl) {
    super(named.url, { keepAlive: true });
  }

  override async connect(req: http.ClientRequest, opts: AgentConnectOpts): Promise<Socket> {
    let status: number | undefined;
    const onConnect = (reply: { statusCode: number }) => (status = reply.statusCode);
    req.once('proxyConnect', onConnect);
    try {
      const socket = await super.connect(req, opts);
      if (status !== 200) {
        socket.destroy();
        throw new ProxyError(`proxy ${this.named.address} answered CONNECT ${opts.host}:${opts.port} with ${status}`, status);
      }
      return socket;
    } finally {
      req.off('proxyConnect', onConnect);
    }
  }
}

/** SOCKS refusals (`socks`' SocksClientError) as ProxyError naming the proxy; socket errors keep their code. */
class NamedSocksProxyAgent extends SocksProxyAgent {
  constructor(private readonly named: ProxyUrl) {
    super(named.url, { keepAlive: true });
  }

  override async connect(req: http.ClientRequest, opts: AgentConnectOpts) {
    try {
      return await super.connect(req, opts);
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      if (e.code === undefined && e.name !== 'AbortError' && e.name !== 'TimeoutError') {
        throw new ProxyError(`proxy ${this.named.address} (SOCKS5) failed ${opts.host}:${opts.port}: ${String(e.message).slice(0, 200)}`);
      }
      throw err;
    }
  }
}

export class EnvProxyAgent extends Agent {
  private readonly direct = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  private readonly viaProxy = new Map<string, http.Agent>();

  constructor(private readonly env: ProxyEnv) {
    super({ keepAlive: true });
  }

  override connect(_req: http.ClientRequest, opts: AgentConnectOpts): http.Agent {
    const secure = opts.secureEndpoint;
    const proxy = proxyFor(this.env, { protocol: secure ? 'https:' : 'http:', host: opts.host ?? 'localhost', port: opts.port ?? (secure ? 443 : 80) });
    if (!proxy) return secure ? this.direct.https : this.direct.http;
    const key = `${secure}:${proxy.url.href}`;
    let agent = this.viaProxy.get(key);
    if (!agent) {
      if (proxy.kind === 'socks5') agent = new NamedSocksProxyAgent(proxy);
      else agent = secure ? new StrictHttpsProxyAgent(proxy) : new HttpProxyAgent(proxy.url, { keepAlive: true });
      this.viaProxy.set(key, agent);
    }
    return agent;
  }
}

/**
 * For a proxy variable that cannot be used: every request fails with the variable's one-line error, as Go's transport
 * fails every request when ProxyFromEnvironment returns an error; going direct instead would bypass the proxy the
 * user set, and a network whose only way out is that proxy would fail on DNS with a misleading reason.
 */
export class FailingProxyAgent extends Agent {
  constructor(private readonly error: ConfigError) {
    super();
  }

  override connect(): never {
    throw this.error;
  }
}

/**
 * The agent for the SDK's request handler, also made Node's global agent so the SDK's own plain `http.request`s
 * (instance metadata, container credentials) follow the same rules, as Go's default transport does.
 */
export function installEnvProxy(agent: Agent): Agent {
  http.globalAgent = agent as unknown as http.Agent;
  https.globalAgent = agent as unknown as https.Agent;
  return agent;
}
