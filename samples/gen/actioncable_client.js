// actioncable.pcap client: the official `@rails/actioncable` consumer (Node, `ws` as the
// global WebSocket; subprotocols actioncable-v1-json, actioncable-unsupported) against
// channels_server.py's ActionCable server at ws://127.0.0.1:PORT/cable. The application:
//   1. subscribes to {channel: "ChatChannel", room: "Best Room"}   -> confirmed
//   2. performs speak {body: "hello"} on it                       -> broadcast back
//   3. subscribes to {channel: "SecretChannel"}                   -> rejected
//   4. waits 1.2 s (server pings), unsubscribes from ChatChannel
//   5. performs bye on a new ChatChannel subscription (room "2") -> the server sends
//      disconnect (reconnect false) and closes
// The manifest samples/actioncable.sent.json lists the commands with the identifier the
// consumer sent, and what the application received.
// Usage: NODE_PATH=... node actioncable_client.js PORT
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

// What a browser has and @rails/actioncable reads at load and when the monitor starts.
global.WebSocket = WebSocket;
global.addEventListener = () => {};
global.removeEventListener = () => {};
global.document = { visibilityState: 'visible' };
const { createConsumer } = require('@rails/actioncable');

const PORT = Number(process.argv[2] || 9152);
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

function subscribe(consumer, params) {
  return new Promise((resolve) => {
    const sub = consumer.subscriptions.create(params, {
      connected() { resolve({ sub, outcome: 'confirmed' }); },
      rejected() { resolve({ sub, outcome: 'rejected' }); },
      received(data) { received.push({ identifier: sub.identifier, message: data }); if (this.onMsg) this.onMsg(); },
      disconnected(d) { received.push({ identifier: sub.identifier, disconnected: d || null }); },
    });
  });
}

async function main() {
  const consumer = createConsumer(`ws://127.0.0.1:${PORT}/cable`);
  consumer.connect();
  let { sub: chat, outcome } = await subscribe(consumer, { channel: 'ChatChannel', room: 'Best Room' });
  sent.push({ command: 'subscribe', identifier: chat.identifier, outcome });
  const got = new Promise((r) => { chat.onMsg = r; });
  chat.perform('speak', { body: 'hello' });
  sent.push({ command: 'message', identifier: chat.identifier, data: { body: 'hello', action: 'speak' } });
  await got;
  const secret = await subscribe(consumer, { channel: 'SecretChannel' });
  sent.push({ command: 'subscribe', identifier: secret.sub.identifier, outcome: secret.outcome });
  await sleep(1200);
  chat.unsubscribe();
  sent.push({ command: 'unsubscribe', identifier: chat.identifier });
  await sleep(100);
  ({ sub: chat, outcome } = await subscribe(consumer, { channel: 'ChatChannel', room: '2' }));
  sent.push({ command: 'subscribe', identifier: chat.identifier, outcome });
  chat.perform('bye');
  sent.push({ command: 'message', identifier: chat.identifier, data: { action: 'bye' } });
  await sleep(300);
  consumer.disconnect();
  await sleep(100);

  const manifest = {
    sample: 'actioncable.pcap',
    libraries: { '@rails/actioncable': version('@rails/actioncable'), ws: version('ws') },
    server: 'channels_server.py (Python websockets, ActionCable protocol, written for the test)',
    url: `ws://127.0.0.1:${PORT}/cable`,
    sent,
    received,
    note: 'commands the application made, in order, with the identifier the consumer sent; outcome = confirmed or rejected as the consumer reported it',
  };
  fs.writeFileSync(path.join(SAMPLES, 'actioncable.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
