/**
 * One http.Agent for every AWS call, choosing per request, by proxy-env.ts (Go's rules), between a direct connection
 * and a proxy: `https-proxy-agent` (CONNECT tunnel) for https targets, `http-proxy-agent` (absolute-URI requests) for
 * http targets. Both are pure JS on `agent-base`, which lets `connect()` hand a request to another agent; this is what
 * the `proxy-agent` package does, without its PAC and SOCKS parts (a JS engine in WebAssembly we do not need).
 */
import http from 'node:http';
import https from 'node:https';
import { Agent, type AgentConnectOpts } from 'agent-base';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { proxyFor, type ProxyEnv } from './proxy-env.js';

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
    const key = `${secure}:${proxy.href}`;
    let agent = this.viaProxy.get(key);
    if (!agent) {
      agent = secure ? new HttpsProxyAgent(proxy, { keepAlive: true }) : new HttpProxyAgent(proxy, { keepAlive: true });
      this.viaProxy.set(key, agent);
    }
    return agent;
  }
}

/**
 * The agent for the SDK's request handler, also made Node's global agent so the SDK's own plain `http.request`s
 * (instance metadata, container credentials) follow the same rules, as Go's default transport does.
 */
export function installEnvProxy(env: ProxyEnv): EnvProxyAgent {
  const agent = new EnvProxyAgent(env);
  http.globalAgent = agent;
  https.globalAgent = agent;
  return agent;
}
