// phoenix.pcap client: the official `phoenix` npm package's Socket (Node, `ws` as its
// transport) against channels_server.py's Phoenix V2 server. Heartbeat every 400 ms. The
// application, each push awaited before the next:
//   1. joins room:lobby with {"user": "ana"}           -> ok {"welcome": "ana"}
//   2. pushes new_msg {"body": "hi"} on room:lobby     -> ok {"echo": "hi"} (+ a broadcast)
//   3. pushes upload with 3 binary bytes (V2 binary)   -> ok, binary response (the count)
//   4. joins room:secret                               -> error {"reason": "unauthorized"}
//   5. leaves room:secret                              -> ok, then phx_close
//   6. waits 1 s (heartbeats), leaves room:lobby        -> ok, then phx_close
// The manifest samples/phoenix.sent.json lists each push with its ref and the reply the
// application received, and the broadcasts it received.
// Usage: NODE_PATH=... node phoenix_client.js PORT
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');
const { Socket } = require('phoenix');

const PORT = Number(process.argv[2] || 9151);
const SAMPLES = path.join(__dirname, '..');
const sent = [];
const received = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const version = (name) => {
  for (const dir of (process.env.NODE_PATH || '').split(':')) {
    const f = path.join(dir, name, 'package.json');
    if (fs.existsSync(f)) return JSON.parse(fs.readFileSync(f, 'utf8')).version;
  }
  return null;
};

// Resolves with {status, response} when the push is answered.
function answered(push) {
  return new Promise((resolve) => {
    push.receive('ok', (r) => resolve({ status: 'ok', response: r }))
      .receive('error', (r) => resolve({ status: 'error', response: r }))
      .receive('timeout', () => resolve({ status: 'timeout' }));
  });
}

function record(topic, event, payload, push, reply) {
  sent.push({ topic, event, payload, ref: push.ref, join_ref: push.channel.joinRef(), reply });
}

async function main() {
  const socket = new Socket(`ws://127.0.0.1:${PORT}/socket`, {
    transport: WebSocket,
    heartbeatIntervalMs: 400,
  });
  socket.connect();
  const lobby = socket.channel('room:lobby', { user: 'ana' });
  lobby.on('new_msg', (p) => received.push({ topic: 'room:lobby', event: 'new_msg', payload: p }));
  let push = lobby.join();
  let reply = await answered(push);
  record('room:lobby', 'phx_join', { user: 'ana' }, push, reply);

  push = lobby.push('new_msg', { body: 'hi' });
  reply = await answered(push);
  record('room:lobby', 'new_msg', { body: 'hi' }, push, reply);
  await sleep(50);

  const bytes = Uint8Array.from([7, 0, 255]);
  push = lobby.push('upload', bytes.buffer);
  reply = await answered(push);
  const resp = Buffer.from(reply.response).toString('hex');
  record('room:lobby', 'upload', { binary_hex: '0700ff' }, push, { status: reply.status, response: { binary_hex: resp } });

  const secret = socket.channel('room:secret', {});
  push = secret.join();
  reply = await answered(push);
  record('room:secret', 'phx_join', {}, push, reply);
  push = secret.leave();
  reply = await answered(push);
  record('room:secret', 'phx_leave', {}, push, reply);
  await sleep(1000);

  push = lobby.leave();
  reply = await answered(push);
  record('room:lobby', 'phx_leave', {}, push, reply);
  await sleep(100);
  socket.disconnect();
  await sleep(100);

  const manifest = {
    sample: 'phoenix.pcap',
    libraries: { phoenix: version('phoenix'), ws: version('ws') },
    server: 'channels_server.py (Python websockets, Phoenix V2 serializer, written for the test)',
    url: `ws://127.0.0.1:${PORT}/socket/websocket?vsn=2.0.0`,
    heartbeat_ms: 400,
    sent,
    received,
    note: 'pushes the application made, in order, with the ref the client gave each and the reply it received; heartbeats are the library\'s own (topic phoenix)',
  };
  fs.writeFileSync(path.join(SAMPLES, 'phoenix.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
