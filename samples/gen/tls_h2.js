#!/usr/bin/env node
// WebSocket over HTTP/2 (RFC 8441) sample: Node's http2 server over TLS (ALPN h2) with
// `settings: { enableConnectProtocol: true }` (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1), and a
// Node http2 client sending an extended CONNECT (`:method CONNECT`, `:protocol websocket`),
// then WebSocket frames in the stream's DATA frames. The client's `keylog` event lines go
// to samples/NAME.keys.
// argv: PORT NAME
// Certificate: self-signed CN=localhost, made with the openssl CLI in a temp dir.
// Sequence on the CONNECT stream: c2s text "Hello over h2", s2c text "h2 server says hi",
// c2s binary bytes 0..99, s2c close 1000 "bye" (the server answers each client frame in
// turn; it builds its frames by hand, no WebSocket library speaks RFC 8441 here).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const http2 = require('http2');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const port = Number(process.argv[2]);
const name = process.argv[3];
const samples = path.resolve(__dirname, '..');
const keysPath = path.join(samples, name + '.keys');
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlsh2-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
  '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'cert.pem')], { stdio: 'ignore' });
const cert = fs.readFileSync(path.join(tmp, 'cert.pem'));
const key = fs.readFileSync(path.join(tmp, 'key.pem'));
fs.rmSync(tmp, { recursive: true });
try { fs.unlinkSync(keysPath); } catch (_) { /* absent */ }

const C_TEXT = 'Hello over h2';
const S_TEXT = 'h2 server says hi';
const BIN = Buffer.from([...Array(100).keys()]);

/// One unfragmented WebSocket frame (RFC 6455 §5.2), masked when `mask` is given.
function wsFrame(opcode, payload, mask) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | len])
    : Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 255]);
  if (!mask) return Buffer.concat([head, payload]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}
function sha(b) { return crypto.createHash('sha256').update(b).digest('hex'); }
function entry(dir, opcode, payload) {
  const e = { dir, opcode, fin: true, masked: dir === 'c2s', len: payload.length,
    hex: payload.toString('hex'), sha256: sha(payload) };
  if (opcode === 1) e.text = payload.toString();
  return e;
}
function closePayload(code, reason) {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0); b.write(reason, 2); return b;
}

const server = http2.createSecureServer({
  cert, key, minVersion: 'TLSv1.3', settings: { enableConnectProtocol: true },
});
server.on('stream', (stream, headers) => {
  stream.respond({ ':status': 200 });
  let n = 0;
  stream.on('data', () => {
    n += 1;
    if (n === 1) setTimeout(() => stream.write(wsFrame(1, Buffer.from(S_TEXT))), 50);
    else if (n === 2) setTimeout(() => stream.end(wsFrame(8, closePayload(1000, 'bye'))), 50);
  });
});

server.listen(port, '127.0.0.1', () => {
  const session = http2.connect(`https://localhost:${port}`, { ca: cert, minVersion: 'TLSv1.3' });
  session.socket.on('keylog', (line) => fs.appendFileSync(keysPath, line));
  session.on('error', (e) => { console.error(e); process.exit(1); });
  session.on('remoteSettings', (settings) => {
    if (!settings.enableConnectProtocol) { console.error('no RFC 8441 support'); process.exit(1); }
    if (session.__started) return;
    session.__started = true;
    const request = {
      ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https',
      ':path': '/h2ws', ':authority': `localhost:${port}`, 'sec-websocket-version': '13',
    };
    const stream = session.request(request);
    const masks = [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8])];
    let status = null;
    stream.on('response', (h) => {
      status = h[':status'];
      setTimeout(() => stream.write(wsFrame(1, Buffer.from(C_TEXT), masks[0])), 50);
    });
    let got = 0;
    stream.on('data', () => {
      got += 1;
      if (got === 1) setTimeout(() => stream.write(wsFrame(2, BIN, masks[1])), 50);
    });
    stream.on('end', () => {
      stream.end();
      const localPort = session.socket.localPort;
      const cipher = session.socket.getCipher();
      const alpn = session.socket.alpnProtocol;
      setTimeout(() => {
        session.close();
        const manifest = {
          file: name + '.pcap', keylog: name + '.keys', link_type: 'EN10MB (lo)', real: true,
          generator: `samples/gen/tls_h2.js ${port} ${name}`,
          libraries: `node ${process.version} http2 (client and server), OpenSSL ${process.versions.openssl}`,
          note: 'WebSocket over HTTP/2 (RFC 8441): not decoded by wsdissect yet, only reported',
          connections: [{
            client: ['127.0.0.1', localPort], server: ['127.0.0.1', port],
            tls: { cipher_node: cipher, sni: 'localhost', alpn },
            http2: {
              settings_enable_connect_protocol: 1,
              request: request, response_status: status,
            },
            frames: [
              entry('c2s', 1, Buffer.from(C_TEXT)), entry('s2c', 1, Buffer.from(S_TEXT)),
              entry('c2s', 2, BIN), entry('s2c', 8, closePayload(1000, 'bye')),
            ],
          }],
        };
        fs.writeFileSync(path.join(samples, name + '.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
        clearTimeout(guard);
        setTimeout(() => { server.close(); process.exit(0); }, 200);
      }, 100);
    });
  });
});
