#!/usr/bin/env node
// wss:// sample: Node `ws` server on https + Node `ws` client, TLS 1.3 with one forced cipher
// suite; the client's `keylog` event lines go to samples/NAME.keys.
// argv: PORT NAME SUITE   (SUITE e.g. TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256)
// Certificate: self-signed CN=localhost, made with the openssl CLI in a temp dir.
// Sequence: c2s text "Hello from Node over TLS", s2c text "Node server says hi",
// c2s binary bytes 0..199, s2c binary (echo), c2s close 1000 "done", s2c close echo.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const crypto = require('crypto');
const { execFileSync } = require('child_process');
const { WebSocket, WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const name = process.argv[3];
const suite = process.argv[4];
const samples = path.resolve(__dirname, '..');
const keysPath = path.join(samples, name + '.keys');
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlsnode-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
  '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'cert.pem')], { stdio: 'ignore' });
const cert = fs.readFileSync(path.join(tmp, 'cert.pem'));
const key = fs.readFileSync(path.join(tmp, 'key.pem'));
fs.rmSync(tmp, { recursive: true });
try { fs.unlinkSync(keysPath); } catch (_) { /* absent */ }

const TEXT1 = 'Hello from Node over TLS';
const S_TEXT = 'Node server says hi';
const BIN = Buffer.from([...Array(200).keys()]);

const server = https.createServer({ cert, key, minVersion: 'TLSv1.3', ciphers: suite });
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary) setTimeout(() => ws.send(S_TEXT), 50);
    else setTimeout(() => ws.send(data, { binary: true }), 50);
  });
});

function sha(b) { return crypto.createHash('sha256').update(b).digest('hex'); }
function frame(dir, opcode, payload, extra) {
  const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const e = { dir, opcode, fin: true, masked: dir === 'c2s', len: b.length };
  if (opcode === 8) { e.close_code = b.readUInt16BE(0); e.close_reason = b.subarray(2).toString(); }
  if (opcode === 1) e.text = b.toString();
  e.hex = b.toString('hex');
  e.sha256 = sha(b);
  return Object.assign(e, extra || {});
}
function closePayload(code, reason) {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0); b.write(reason, 2); return b;
}

server.listen(port, '127.0.0.1', () => {
  const c = new WebSocket(`wss://localhost:${port}/node`, {
    perMessageDeflate: false, ca: cert, minVersion: 'TLSv1.3', ciphers: suite,
  });
  c.on('upgrade', (res) => {
    const s = res.socket;
    s.on('keylog', (line) => fs.appendFileSync(keysPath, line));
  });
  // The keylog event can fire before 'upgrade'; listen on the request's socket too.
  c._req && c._req.on('socket', (s) => s.on('keylog', (line) => fs.appendFileSync(keysPath, line)));
  let step = 0;
  let cipher = null;
  c.on('open', () => { cipher = c._socket.getCipher(); setTimeout(() => c.send(TEXT1), 50); });
  c.on('message', () => {
    step += 1;
    if (step === 1) setTimeout(() => c.send(BIN), 50);
    else setTimeout(() => c.close(1000, 'done'), 50);
  });
  c.on('close', () => {
    const frames = [
      frame('c2s', 1, TEXT1), frame('s2c', 1, S_TEXT), frame('c2s', 2, BIN),
      frame('s2c', 2, BIN, { note: 'echo' }),
      frame('c2s', 8, closePayload(1000, 'done')),
      frame('s2c', 8, closePayload(1000, 'done'), { note: 'close echo' }),
    ];
    const manifest = {
      file: name + '.pcap', keylog: name + '.keys', link_type: 'EN10MB (lo)', real: true,
      generator: `samples/gen/tls_node.js ${port} ${name} ${suite}`,
      libraries: `node ${process.version} ws (client and server), OpenSSL ${process.versions.openssl}`,
      permessage_deflate: false,
      connections: [{
        client: ['127.0.0.1', localPort], server: ['127.0.0.1', port],
        tls: { cipher_node: cipher, sni: 'localhost' },
        http: [{ dir: 'c2s', request: 'GET /node HTTP/1.1', upgrade: true }, { dir: 's2c', status: 101 }],
        messages: [
          { dir: 'c2s', type: 'text', text: TEXT1 }, { dir: 's2c', type: 'text', text: S_TEXT },
          { dir: 'c2s', type: 'binary', len: 200, hex: BIN.toString('hex') },
          { dir: 's2c', type: 'binary', len: 200, hex: BIN.toString('hex') },
        ],
        frames,
        close: { initiator: 'client', code: 1000, reason: 'done', echo: { code: 1000, reason: 'done' } },
      }],
    };
    fs.writeFileSync(path.join(samples, name + '.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
    clearTimeout(guard);
    setTimeout(() => { wss.close(); server.close(); process.exit(0); }, 200);
  });
  let localPort = null;
  c.on('open', () => { localPort = c._socket.localPort; });
  c.on('error', (e) => { console.error(e); process.exit(1); });
});
