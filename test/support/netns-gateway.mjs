#!/usr/bin/env node
// Runs INSIDE a network namespace that has only loopback (see proxy-netns.ts), then runs one command there.
// It is the namespace's only way out: a forward proxy on 127.0.0.1:<port> that
//   - answers CONNECT host:port by tunnelling to the local AWS's TLS front (a Unix socket outside the namespace),
//   - forwards absolute-URI requests (plain HTTP proxying) to the local AWS over another Unix socket,
// and logs every target, one line each (with the Proxy-Authorization a client sent), to a file the test reads. With NETNS_DIRECT_443, 127.0.0.1:443 also leads
// straight to the TLS front, for hosts the test maps to 127.0.0.1 in a private /etc/hosts (a NO_PROXY bypass).
// Test-side code only. Settings come in NETNS_* variables, which the command does not see.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const env = { ...process.env };
const setting = (name) => {
  const value = env[name];
  delete env[name];
  return value;
};
const port = Number(setting('NETNS_PROXY_PORT'));
const tlsSocket = setting('NETNS_TLS_SOCKET');
const httpSocket = setting('NETNS_HTTP_SOCKET');
const logFile = setting('NETNS_PROXY_LOG');
const direct443 = setting('NETNS_DIRECT_443') === '1';
const [command, ...args] = process.argv.slice(2);

const log = (line) => appendFileSync(logFile, `${line}\n`);
const pipeBoth = (a, b) => {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b).pipe(a);
};

const proxy = http.createServer((req, res) => {
  log(`${req.method} ${req.url}`);
  let target;
  try {
    target = new URL(req.url);
  } catch {
    res.writeHead(400).end('absolute URI expected');
    return;
  }
  const upstream = http.request(
    { socketPath: httpSocket, method: req.method, path: `${target.pathname}${target.search}`, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
});
proxy.on('connect', (req, client, head) => {
  const auth = req.headers['proxy-authorization'];
  log(`CONNECT ${req.url}${auth ? ` (${auth})` : ''}`);
  const upstream = net.connect(tlsSocket, () => {
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    pipeBoth(client, upstream);
  });
  upstream.on('error', () => client.destroy());
});

const listening = [new Promise((resolve) => proxy.listen(port, '127.0.0.1', resolve))];
if (direct443) {
  const direct = net.createServer((client) => pipeBoth(client, net.connect(tlsSocket)));
  listening.push(new Promise((resolve) => direct.listen(443, '127.0.0.1', resolve)));
}
await Promise.all(listening);

const child = spawn(command, args, { env, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
