#!/usr/bin/env node
// Runs INSIDE a network namespace that has only loopback (see proxy-netns.ts), then runs one command there.
// It is the namespace's only way out: a forward proxy on 127.0.0.1:<port> that
//   - answers CONNECT host:port by tunnelling to the local AWS's TLS front (a Unix socket outside the namespace),
//   - forwards absolute-URI requests (plain HTTP proxying) to the local AWS over another Unix socket,
//   - on 127.0.0.1:1080, a minimal SOCKS5 server (RFC 1928 CONNECT with no auth or RFC 1929 user/password; test-only,
//     no npm SOCKS server fits: the maintained ones pull in a dozen packages for what is 40 lines here),
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

/** Reads exactly n bytes from a paused socket. */
const readBytes = (socket, n) =>
  new Promise((resolve, reject) => {
    const tryRead = () => {
      const chunk = socket.read(n);
      if (chunk === null) return socket.once('readable', tryRead);
      resolve(chunk);
    };
    socket.once('close', () => reject(new Error('closed')));
    tryRead();
  });

const socks = net.createServer((client) => {
  client.on('error', () => {});
  (async () => {
    const [version, nMethods] = await readBytes(client, 2);
    if (version !== 5) return client.destroy();
    const methods = [...(await readBytes(client, nMethods))];
    let user = '';
    if (methods.includes(2)) {
      client.write(Buffer.from([5, 2]));
      const [, ulen] = await readBytes(client, 2);
      user = (await readBytes(client, ulen)).toString();
      const [plen] = await readBytes(client, 1);
      const password = (await readBytes(client, plen)).toString();
      user = `${user}:${password}`;
      client.write(Buffer.from([1, 0]));
    } else if (methods.includes(0)) {
      client.write(Buffer.from([5, 0]));
    } else {
      return client.end(Buffer.from([5, 0xff]));
    }
    const [, command, , addressType] = await readBytes(client, 4);
    let host;
    if (addressType === 3) host = (await readBytes(client, (await readBytes(client, 1))[0])).toString();
    else if (addressType === 1) host = [...(await readBytes(client, 4))].join('.');
    else host = (await readBytes(client, 16)).toString('hex');
    const targetPort = (await readBytes(client, 2)).readUInt16BE(0);
    log(`SOCKS5 ${command === 1 ? 'CONNECT' : command} ${addressType === 3 ? host : `ip:${host}`}:${targetPort}${user ? ` (${user})` : ''}`);
    if (command !== 1) return client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
    const upstream = net.connect(targetPort === 443 ? tlsSocket : httpSocket, () => {
      client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
      pipeBoth(client, upstream);
      client.resume();
    });
    upstream.on('error', () => client.destroy());
  })().catch(() => client.destroy());
});

const listening = [
  new Promise((resolve) => proxy.listen(port, '127.0.0.1', resolve)),
  new Promise((resolve) => socks.listen(1080, '127.0.0.1', resolve)),
];
if (direct443) {
  const direct = net.createServer((client) => pipeBoth(client, net.connect(tlsSocket)));
  listening.push(new Promise((resolve) => direct.listen(443, '127.0.0.1', resolve)));
}
await Promise.all(listening);

const child = spawn(command, args, { env, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
