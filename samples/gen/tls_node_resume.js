#!/usr/bin/env node
// wss:// session resumption sample: Node `ws` server on https and two Node `ws` client
// connections; the second resumes the first one's TLS session (tls.connect({session})).
// argv: PORT NAME VERSION   (VERSION TLSv1.2: session ticket, abbreviated handshake;
//                            TLSv1.3: PSK from a NewSessionTicket)
// Key log lines of both client sockets (`keylog` event) go to samples/NAME.keys.
// Each connection: c2s text "resume test N", s2c text "echo: resume test N",
// c2s close 1000 "bye", s2c close echo.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const tls = require('tls');
const crypto = require('crypto');
const { execFileSync } = require('child_process');
const { WebSocket, WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const name = process.argv[3];
const version = process.argv[4];
const samples = path.resolve(__dirname, '..');
const keysPath = path.join(samples, name + '.keys');
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlsresume-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
  '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'cert.pem')], { stdio: 'ignore' });
const cert = fs.readFileSync(path.join(tmp, 'cert.pem'));
const key = fs.readFileSync(path.join(tmp, 'key.pem'));
fs.rmSync(tmp, { recursive: true });
try { fs.unlinkSync(keysPath); } catch (_) { /* absent */ }

const server = https.createServer({ cert, key, minVersion: version, maxVersion: version });
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => setTimeout(() => ws.send('echo: ' + data.toString()), 30));
});

function sha(b) { return crypto.createHash('sha256').update(b).digest('hex'); }
function frame(dir, opcode, payload, extra) {
  const b = Buffer.from(payload);
  const e = { dir, opcode, fin: true, masked: dir === 'c2s', len: b.length };
  if (opcode === 8) { e.close_code = b.readUInt16BE(0); e.close_reason = b.subarray(2).toString(); }
  if (opcode === 1) e.text = b.toString();
  e.hex = b.toString('hex');
  e.sha256 = sha(b);
  return Object.assign(e, extra || {});
}
const closeBye = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')]);

let saved = null;
const conns = [];
function connect(n, done) {
  let sock = null;
  const c = new WebSocket(`wss://localhost:${port}/resume${n}`, {
    perMessageDeflate: false,
    createConnection: (opts) => {
      sock = tls.connect({ ...opts, servername: 'localhost', ca: cert, minVersion: version,
        maxVersion: version, session: saved || undefined });
      sock.on('keylog', (line) => fs.appendFileSync(keysPath, line));
      sock.on('session', (s) => { saved = s; });
      return sock;
    },
  });
  const text = `resume test ${n}`;
  let info = null;
  c.on('open', () => {
    info = { version: sock.getProtocol(), cipher: sock.getCipher().standardName,
      session_reused: sock.isSessionReused(), sni: 'localhost' };
    setTimeout(() => c.send(text), 50);
  });
  c.on('message', () => setTimeout(() => c.close(1000, 'bye'), 50));
  c.on('close', () => {
    conns.push({
      client: ['127.0.0.1', sock.localPort], server: ['127.0.0.1', port],
      tls: info,
      http: [{ dir: 'c2s', request: `GET /resume${n} HTTP/1.1`, upgrade: true }, { dir: 's2c', status: 101 }],
      frames: [frame('c2s', 1, text), frame('s2c', 1, 'echo: ' + text), frame('c2s', 8, closeBye),
        frame('s2c', 8, closeBye, { note: 'close echo' })],
    });
    setTimeout(done, 200);
  });
  c.on('error', (e) => { console.error(e); process.exit(1); });
}

server.listen(port, '127.0.0.1', () => {
  connect(1, () => connect(2, () => {
    if (!conns[1].tls.session_reused) { console.error('second connection did not resume'); process.exit(3); }
    const manifest = {
      file: name + '.pcap', keylog: name + '.keys', link_type: 'EN10MB (lo)', real: true,
      generator: `samples/gen/tls_node_resume.js ${port} ${name} ${version}`,
      libraries: `node ${process.version} ws (client and server), OpenSSL ${process.versions.openssl}`,
      permessage_deflate: false,
      connections: conns,
    };
    fs.writeFileSync(path.join(samples, name + '.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
    clearTimeout(guard);
    setTimeout(() => { wss.close(); server.close(); process.exit(0); }, 200);
  }));
});
