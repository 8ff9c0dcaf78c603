// Node `ws` (both sides) with perMessageDeflate (threshold 0: every message compressed),
// optionally with server_no_context_takeover; writes a manifest of every data message
// each side sent, in order.
//
// Usage: NODE_PATH=/tmp/nodews/node_modules node deflate_node.js PORT MANIFEST.json [nct]
const { WebSocket, WebSocketServer } = require('ws');
const crypto = require('crypto');
const fs = require('fs');

const port = Number(process.argv[2]);
const manifestPath = process.argv[3];
const nct = process.argv[4] === 'nct';
const sent = [];
const version = require('ws/package.json').version;

function note(dir, data, isText) {
  const buf = Buffer.from(data);
  const rec = { dir, opcode: isText ? 1 : 2, len: buf.length,
    sha256: crypto.createHash('sha256').update(buf).digest('hex') };
  if (isText) rec.text = buf.toString('utf8');
  if (buf.length <= 1024) rec.hex = buf.toString('hex');
  sent.push(rec);
}

const fox = 'the quick brown fox jumps over the lazy dog; '.repeat(70);
const clientMessages = [
  ['Hello, deflate!', true],
  ['Hello, deflate!', true],
  [fox, true],
  [Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256)), false],
  ['κόσμε ✓ 😀 — UTF-8 text', true],
];

const wss = new WebSocketServer({
  host: '127.0.0.1', port,
  perMessageDeflate: { threshold: 0, serverNoContextTakeover: nct },
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const reply = isBinary ? Buffer.from(data).reverse() : 'echo: ' + data.toString('utf8');
    note('s2c', reply, !isBinary);
    ws.send(reply, { binary: isBinary });
  });
});

wss.on('listening', () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/deflate`, { perMessageDeflate: { threshold: 0 } });
  let i = 0;
  const next = () => {
    if (i < clientMessages.length) {
      const [m, isText] = clientMessages[i++];
      note('c2s', m, isText);
      ws.send(m, { binary: !isText });
    } else {
      ws.ping(Buffer.from('ping-42'));
    }
  };
  ws.on('open', next);
  ws.on('message', next);
  ws.on('pong', () => ws.close(1000, 'bye'));
  ws.on('close', () => {
    fs.writeFileSync(manifestPath, JSON.stringify({
      implementation: `node ws ${version}`, port, server_no_context_takeover: nct, messages: sent,
    }, null, 1));
    wss.close();
  });
});
setTimeout(() => process.exit(1), 20000).unref();
