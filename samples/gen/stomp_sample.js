// stomp.pcap: the @stomp/stompjs client (Node, `ws` as its WebSocket) against RabbitMQ's
// Web-STOMP plugin (ws://127.0.0.1:PORT/ws, default 15674; subprotocols v12.stomp v11.stomp
// v10.stomp, STOMP 1.2 agreed). Heart-beats: the client offers 300 ms both ways, RabbitMQ
// answers 1000,1000, so each side beats every second. The application:
//   1. subscribes to /queue/wsd-a asking for receipt "sub-receipt"
//   2. sends "hello queue a" to /queue/wsd-a asking for receipt "r-1" (MESSAGE comes back)
//   3. sends "nul\0inside" (a body holding NUL, so content-length matters) to /queue/wsd-a
//   4. sends "escaped" with a header note = "a:b\nc" (escaped on the wire as a\cb\nc)
//   5. sends a 40 000-byte text body to /queue/wsd-b asking for receipt "r-big", split by
//      stompjs into WebSocket messages of at most 4096 bytes (one frame over 10 messages)
//   6. unsubscribes, then disconnects (DISCONNECT with stompjs' own receipt; the manifest
//      says whether the RECEIPT came: RabbitMQ 3.10 closes the connection instead)
// The manifest samples/stomp.sent.json lists the frames the application asked for, with
// the receipts it got and the MESSAGE bodies it received.
// Usage: NODE_PATH=... node stomp_sample.js [PORT]
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');
const { Client } = require('@stomp/stompjs');

const PORT = Number(process.argv[2] || 15674);
const SAMPLES = path.join(__dirname, '..');
Object.assign(global, { WebSocket });

const sent = [];
const received = [];
// The packages' own package.json (stompjs does not export it to require()).
const version = (name) => {
  for (const dir of (process.env.NODE_PATH || '').split(':')) {
    const f = path.join(dir, name, 'package.json');
    if (fs.existsSync(f)) return JSON.parse(fs.readFileSync(f, 'utf8')).version;
  }
  return null;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const client = new Client({
    brokerURL: `ws://127.0.0.1:${PORT}/ws`,
    connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
    heartbeatIncoming: 300,
    heartbeatOutgoing: 300,
    reconnectDelay: 0,
    splitLargeFrames: true,
    maxWebSocketChunkSize: 4096,
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = (frame) => resolve(frame);
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
  });
  client.activate();
  const cf = await connected;
  sent.push({ command: 'CONNECT', headers: { login: 'guest', host: '/' }, answer: { command: 'CONNECTED', version: cf.headers.version } });

  const receipt = (id) => new Promise((resolve) => client.watchForReceipt(id, (f) => resolve(f)));
  let gotMessage;
  const messages = [];
  const sub = client.subscribe('/queue/wsd-a', (m) => {
    messages.push(m);
    received.push({
      command: 'MESSAGE',
      destination: m.headers.destination,
      subscription: m.headers.subscription,
      note: m.headers.note,
      body_hex: Buffer.from(m.binaryBody).toString('hex'),
    });
    if (gotMessage) gotMessage();
  }, { receipt: 'sub-receipt' });
  const waitMessage = () => new Promise((r) => { gotMessage = r; });
  let r = receipt('sub-receipt');
  await r;
  sent.push({ command: 'SUBSCRIBE', headers: { destination: '/queue/wsd-a', id: sub.id, receipt: 'sub-receipt' }, receipt: true });

  r = receipt('r-1');
  let m = waitMessage();
  client.publish({ destination: '/queue/wsd-a', body: 'hello queue a', headers: { receipt: 'r-1' } });
  sent.push({ command: 'SEND', headers: { destination: '/queue/wsd-a', receipt: 'r-1' }, body_hex: Buffer.from('hello queue a').toString('hex') });
  await r;
  await m;

  m = waitMessage();
  // Text, not binaryBody: RabbitMQ 3.10 delivers MESSAGE bodies in Text messages (ws_frame
  // = text), and `ws` closes with 1007 on a Text message that is not UTF-8.
  const withNul = 'nul\u0000inside';
  client.publish({ destination: '/queue/wsd-a', body: withNul, headers: { 'content-type': 'text/plain' } });
  sent.push({ command: 'SEND', headers: { destination: '/queue/wsd-a', 'content-type': 'text/plain' }, body_hex: Buffer.from(withNul).toString('hex') });
  await m;

  m = waitMessage();
  client.publish({ destination: '/queue/wsd-a', body: 'escaped', headers: { note: 'a:b\nc' } });
  sent.push({ command: 'SEND', headers: { destination: '/queue/wsd-a', note: 'a:b\nc' }, body_hex: Buffer.from('escaped').toString('hex') });
  await m;

  await sleep(2200); // heart-beats both ways (RabbitMQ asks for 1000 ms)
  r = receipt('r-big');
  const big = 'x'.repeat(40000);
  client.publish({ destination: '/queue/wsd-b', body: big, headers: { receipt: 'r-big' } });
  sent.push({ command: 'SEND', headers: { destination: '/queue/wsd-b', receipt: 'r-big' }, body_len: big.length, body_prefix: big.slice(0, 8) });
  await r;

  sub.unsubscribe();
  sent.push({ command: 'UNSUBSCRIBE', headers: { id: sub.id } });
  await sleep(100);
  // stompjs sends DISCONNECT with a receipt of its own and calls onDisconnect when the
  // RECEIPT arrives.
  let disconnectReceipt = false;
  client.onDisconnect = () => { disconnectReceipt = true; };
  await client.deactivate();
  await sleep(100);
  sent.push({ command: 'DISCONNECT', receipt_answered: disconnectReceipt });
  await sleep(200);

  const manifest = {
    sample: 'stomp.pcap',
    libraries: { '@stomp/stompjs': version('@stomp/stompjs'), ws: version('ws') },
    server: 'RabbitMQ Web-STOMP (rabbitmq_web_stomp, Debian 12 rabbitmq-server)',
    url: `ws://127.0.0.1:${PORT}/ws`,
    heartbeat_ms: 300,
    split_chunk: 4096,
    sent,
    received,
    note: 'frames the application asked for, in order; received = MESSAGE frames delivered to the subscription',
  };
  fs.writeFileSync(path.join(SAMPLES, 'stomp.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
