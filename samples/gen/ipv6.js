#!/usr/bin/env node
// ipv6.pcap traffic: Node `ws` server and client over [::1]:PORT (perMessageDeflate off).
//   c2s text "hello over IPv6"          s2c text "echo: hello over IPv6"
//   c2s binary bytes 0..129 (130 B)     s2c binary same 130 bytes (echo)
//   c2s ping "v6ping"                   s2c pong "v6ping" (automatic)
//   c2s close 1000 "ipv6 done"          s2c close 1000 "ipv6 done" (echo)
// Usage: NODE_PATH=/tmp/nodews/node_modules node ipv6.js [PORT]
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const PORT = parseInt(process.argv[2] || '9104', 10);
const TEXT = 'hello over IPv6';
const BIN = Buffer.from([...Array(130).keys()]);
const PING = 'v6ping';
const REASON = 'ipv6 done';
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 15000);

function entry(dir, opcode, payload, extra = {}) {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const e = { dir, opcode, fin: true, masked: dir === 'c2s', len: buf.length };
  if (opcode === 8) { e.close_code = buf.readUInt16BE(0); e.close_reason = buf.subarray(2).toString(); }
  if (opcode === 1 || typeof payload === 'string') e.text = buf.toString();
  e.hex = buf.toString('hex');
  e.sha256 = crypto.createHash('sha256').update(buf).digest('hex');
  return Object.assign(e, extra);
}
function closePayload(code, reason) {
  const b = Buffer.alloc(2); b.writeUInt16BE(code); return Buffer.concat([b, Buffer.from(reason)]);
}

const wss = new WebSocketServer({ host: '::1', port: PORT, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (isBinary) ws.send(data, { binary: true });
    else ws.send('echo: ' + data.toString());
  });
});
wss.on('listening', () => {
  const c = new WebSocket(`ws://[::1]:${PORT}/v6`, { perMessageDeflate: false });
  let n = 0;
  let cport;
  c.on('open', () => { cport = c._socket.localPort; setTimeout(() => c.send(TEXT), 50); });
  c.on('message', (data, isBinary) => {
    n += 1;
    if (n === 1) setTimeout(() => c.send(BIN), 50);
    else if (n === 2) setTimeout(() => c.ping(PING), 50);
  });
  c.on('pong', () => setTimeout(() => c.close(1000, REASON), 50));
  c.on('close', () => {
    wss.close();
    const manifest = {
      file: 'ipv6.pcap', link_type: 'EN10MB (lo)', real: true,
      generator: 'samples/gen/ipv6.js', libraries: 'node ws 8 (client and server)',
      permessage_deflate: false,
      connections: [{
        client: ['::1', cport], server: ['::1', PORT],
        http: [{ dir: 'c2s', request: 'GET /v6 HTTP/1.1', upgrade: true }, { dir: 's2c', status: 101 }],
        frames: [
          entry('c2s', 1, TEXT),
          entry('s2c', 1, 'echo: ' + TEXT),
          entry('c2s', 2, BIN),
          entry('s2c', 2, BIN, { note: 'echo' }),
          entry('c2s', 9, PING),
          entry('s2c', 10, PING, { note: 'automatic pong' }),
          entry('c2s', 8, closePayload(1000, REASON)),
          entry('s2c', 8, closePayload(1000, REASON), { note: 'close echo' }),
        ],
        close: { initiator: 'client', code: 1000, reason: REASON, echo: { code: 1000, reason: REASON } },
      }],
    };
    fs.writeFileSync(path.join(__dirname, '..', 'ipv6.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
    setTimeout(() => { clearTimeout(guard); process.exit(0); }, 200);
  });
});
