#!/usr/bin/env node
// permessage-deflate samples from Node `ws` (server and client) on 127.0.0.1:PORT.
// MODE selects the sample and the perMessageDeflate options (same on both sides):
//   ctx    deflate-node.pcap         { threshold: 0 }            (context takeover on)
//   noctx  deflate-node-no-ctx.pcap  { threshold: 0, serverNoContextTakeover: true,
//                                      clientNoContextTakeover: true }
//   wbits  deflate-window-bits.pcap  { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 10 }
// threshold 0: every message is compressed.  The client sends its messages one at a time and
// the server echoes each one back unchanged (a fragmented message is echoed whole); then the
// client closes with 1000 "done" and the server echoes the close.
//   ctx:   text OBJ x3, binary 200 B, text fragmented with send(..., { fin: false }) in 3 parts
//          ("part-1 ", "part-2 ", "part-3"; RSV1 only on the first frame), text "short"
//   noctx: text OBJ x3 (each copy compresses to the same size: no context reuse), binary 200 B
//   wbits: text OBJ x3, text 6000 B in which a 2000-byte block repeats at distance 2000
//          (beyond a 1 KB window)
// The manifest lists the offered / accepted Sec-WebSocket-Extensions strings and `messages`
// (what was passed to send(); server: what it echoed).  `frames` is filled afterwards from the
// capture by `wire_frames.py fill`, which also inflates every message and checks it.
// Usage: NODE_PATH=/tmp/nodews/node_modules node deflate_node.js MODE PORT
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const MODE = process.argv[2] || 'ctx';
const PORT = parseInt(process.argv[3] || '9121', 10);
const NAMES = { ctx: 'deflate-node', noctx: 'deflate-node-no-ctx', wbits: 'deflate-window-bits' };
const OPTS = {
  ctx: { threshold: 0 },
  noctx: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
  wbits: { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
};
const NAME = NAMES[MODE];
const PMD = OPTS[MODE];
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 15000);

const OBJ = JSON.stringify({ type: 'update', id: 1, payload: { name: 'wsdissect', values: [1, 2, 3, 4, 5], ok: true, note: 'same object every time' } });
const BIN = Buffer.from([...Array(200).keys()].map((i) => (i * 7) % 64));
// 2000 pseudo-random lowercase letters (LCG x = x * 1103515245 + 12345 mod 2^31, seed 1, letter
// 'a' + (x >> 16) % 26): no repeats inside the block, so only the repetition of the whole
// block could be matched, and a 1 KB window cannot reach it.
let lcg = 1;
const BLOCK = [...Array(2000).keys()].map(() => {
  lcg = (Math.imul(lcg, 1103515245) + 12345) & 0x7fffffff;
  return String.fromCharCode(97 + ((lcg >>> 16) % 26));
}).join('');
const WIDE = BLOCK + BLOCK + BLOCK.slice(0, 2000);
// each entry: a string/Buffer (one send) or an array of strings (fragments, one message)
const SENDS = {
  ctx: [OBJ, OBJ, OBJ, BIN, ['part-1 ', 'part-2 ', 'part-3'], 'short'],
  noctx: [OBJ, OBJ, OBJ, BIN],
  wbits: [OBJ, OBJ, OBJ, WIDE],
}[MODE];
const REASON = 'done';

function msg(dir, m) {
  const whole = Array.isArray(m) ? m.join('') : m;
  const buf = Buffer.isBuffer(whole) ? whole : Buffer.from(whole);
  const e = { dir, type: Buffer.isBuffer(whole) ? 'binary' : 'text', len: buf.length };
  if (Buffer.isBuffer(whole)) e.hex = buf.toString('hex'); else e.text = whole;
  e.sha256 = crypto.createHash('sha256').update(buf).digest('hex');
  return e;
}

const serverSent = [];
const hs = {};
const wss = new WebSocketServer({ host: '127.0.0.1', port: PORT, perMessageDeflate: PMD });
wss.on('headers', (headers, req) => {
  hs.serverOffered = req.headers['sec-websocket-extensions'];
  const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
  hs.serverAccepted = h ? h.split(':').slice(1).join(':').trim() : undefined;
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const out = isBinary ? Buffer.from(data) : data.toString();
    setTimeout(() => { ws.send(out, { binary: isBinary }); serverSent.push(out); }, 50);
  });
});
wss.on('listening', () => {
  const c = new WebSocket(`ws://127.0.0.1:${PORT}/deflate-${MODE}`, { perMessageDeflate: PMD });
  let cport;
  let i = 0;
  c.on('upgrade', (res) => { hs.clientAccepted = res.headers['sec-websocket-extensions']; });
  const next = () => {
    if (i === SENDS.length) { setTimeout(() => c.close(1000, REASON), 50); return; }
    const m = SENDS[i++];
    setTimeout(() => {
      if (Array.isArray(m)) m.forEach((p, k) => c.send(p, { fin: k === m.length - 1 }));
      else c.send(m, { binary: Buffer.isBuffer(m) });
    }, 50);
  };
  c.on('open', () => { cport = c._socket.localPort; next(); });
  c.on('message', () => next());
  c.on('close', () => {
    wss.close();
    if (hs.serverAccepted !== hs.clientAccepted || !hs.serverAccepted) {
      console.error('extension mismatch', hs); process.exit(3);
    }
    const manifest = {
      file: NAME + '.pcap', link_type: 'EN10MB (lo)', real: true,
      generator: `samples/gen/deflate_node.js ${MODE} (+ wire_frames.py fill)`,
      libraries: `node ws ${require('ws/package.json').version} (client and server), perMessageDeflate ${JSON.stringify(PMD)}`,
      permessage_deflate: true,
      connections: [{
        client: ['127.0.0.1', cport], server: ['127.0.0.1', PORT],
        http: [{ dir: 'c2s', request: `GET /deflate-${MODE} HTTP/1.1`, upgrade: true }, { dir: 's2c', status: 101 }],
        extensions: { offered: hs.serverOffered, accepted: hs.serverAccepted },
        messages: SENDS.map((m) => msg('c2s', m)).concat(serverSent.map((m) => msg('s2c', m))),
        frames: [],
        close: { initiator: 'client', code: 1000, reason: REASON, echo: { code: 1000, reason: REASON } },
      }],
    };
    fs.writeFileSync(path.join(__dirname, '..', NAME + '.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
    console.log(`offered: ${hs.serverOffered}\naccepted: ${hs.serverAccepted}`);
    setTimeout(() => { clearTimeout(guard); process.exit(0); }, 200);
  });
});
