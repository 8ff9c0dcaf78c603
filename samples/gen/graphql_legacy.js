#!/usr/bin/env node
// graphql-legacy.pcap: subscriptions-transport-ws (the legacy `graphql-ws` subprotocol)
// SubscriptionServer on Node `ws` (path /subscriptions) and its SubscriptionClient, on
// 127.0.0.1:PORT, with graphql's execute/subscribe. The client sends connection_init, then
// one after the other:
//   1. query `query Hello { hello }`                      -> data {hello: "hi"}, complete
//   2. subscription `subscription Ticks { tick(to: 3) }`  -> data {tick: 1}, {tick: 2},
//      {tick: 3} (20 ms apart), complete
//   3. subscription `subscription Forever { tick(to: 100) }` stopped by the client after its
//      first item (unsubscribe -> stop)
// then closes. The server also sends keep-alives (`ka`, keepAlive 50 ms). The manifest lists
// what the client's observers received and every protocol message each side sent (the
// client's through a WebSocket subclass; the server's as the client received them).
// Usage: NODE_PATH=/tmp/node_payload/node_modules node graphql_legacy.js PORT
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const { SubscriptionServer, SubscriptionClient } = require('subscriptions-transport-ws');
const { buildSchema, execute, subscribe } = require('graphql');
const fs = require('fs');
const path = require('path');

const PORT = parseInt(process.argv[2] || '9144', 10);
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);
const schema = buildSchema(`
  type Query { hello: String }
  type Subscription { tick(to: Int!): Int }
`);
const rootValue = {
  hello: () => 'hi',
  tick: async function* ({ to }) {
    for (let i = 1; i <= to; i++) {
      await new Promise((r) => setTimeout(r, 20));
      yield { tick: i };
    }
  },
};

const messages = [];
class RecordingWS extends WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (e) => messages.push({ side: 'server', message: JSON.parse(String(e.data)) }));
  }
  send(data, ...rest) {
    messages.push({ side: 'client', message: JSON.parse(String(data)) });
    return super.send(data, ...rest);
  }
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: PORT, path: '/subscriptions' });
SubscriptionServer.create({ schema, execute, subscribe, rootValue, keepAlive: 50 }, wss);

async function run() {
  const client = new SubscriptionClient(`ws://127.0.0.1:${PORT}/subscriptions`, { reconnect: false }, RecordingWS);
  const collect = (payload, stopAfter) => new Promise((resolve, reject) => {
    const results = [];
    const sub = client.request(payload).subscribe({
      next: (v) => {
        results.push(v);
        if (stopAfter && results.length === stopAfter) {
          sub.unsubscribe();
          setTimeout(() => resolve(results), 100);
        }
      },
      error: reject,
      complete: () => resolve(results),
    });
  });
  const ops = [];
  const q = { query: 'query Hello { hello }', operationName: 'Hello' };
  ops.push({ kind: 'query', payload: q, results: await collect(q) });
  const s = { query: 'subscription Ticks { tick(to: 3) }', operationName: 'Ticks' };
  ops.push({ kind: 'subscription', payload: s, results: await collect(s) });
  const f = { query: 'subscription Forever { tick(to: 100) }', operationName: 'Forever' };
  ops.push({ kind: 'subscription', payload: f, stopped_after: 1, results: await collect(f, 1) });
  client.close();
  await new Promise((r) => setTimeout(r, 200));
  const manifest = {
    sample: 'graphql-legacy.pcap',
    libraries: {
      'subscriptions-transport-ws': require('subscriptions-transport-ws/package.json').version,
      graphql: require('graphql/package.json').version,
      ws: require('ws/package.json').version,
    },
    server: ['127.0.0.1', PORT],
    path: '/subscriptions',
    subprotocol: 'graphql-ws',
    operations: ops,
    messages,
  };
  fs.writeFileSync(path.join(__dirname, '..', 'graphql-legacy.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
  clearTimeout(guard);
  wss.close();
  process.exit(0);
}
run().catch((e) => { console.error(e); process.exit(1); });
