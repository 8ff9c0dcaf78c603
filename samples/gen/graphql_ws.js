#!/usr/bin/env node
// graphql-ws.pcap: the `graphql-ws` library (protocol graphql-transport-ws) server on Node `ws`
// and its client, on 127.0.0.1:PORT, path /graphql.  The client (lazy: false) sends
// connection_init, then, one after the other:
//   1. query  `query Hello($name: String) { hello(name: $name) }`  operationName Hello,
//      variables {name: "ws"}                                  -> next {hello: "Hello ws"}, complete
//   2. subscription `subscription Count { count(to: 3) }`      -> next {count: 1}, {count: 2},
//      {count: 3} (20 ms apart), complete
//   3. query `{ boom }` (a resolver that throws)              -> next with errors [Boom], complete
// then the client disposes (close 1000 "Normal Closure").  The manifest lists each operation
// (id is chosen by the client library: a UUID; recorded from the client's `message` hooks),
// what the server yielded and the order of messages each side sent.
// Usage: NODE_PATH=/tmp/node_payload/node_modules node graphql_ws.js PORT
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { createClient } = require('graphql-ws');
const { buildSchema } = require('graphql');
const fs = require('fs');
const path = require('path');

const PORT = parseInt(process.argv[2] || '9142', 10);
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);

const schema = buildSchema(`
  type Query { hello(name: String): String  boom: String }
  type Subscription { count(to: Int!): Int }
`);
const roots = {
  query: {
    hello: ({ name }) => `Hello ${name}`,
    boom: () => { throw new Error('Boom'); },
  },
  subscription: {
    count: async function* ({ to }) {
      for (let i = 1; i <= to; i++) {
        await new Promise((r) => setTimeout(r, 20));
        yield { count: i };
      }
    },
  },
};

const sent = [];
const wss = new WebSocketServer({ host: '127.0.0.1', port: PORT, path: '/graphql' });
useServer({ schema, roots }, wss);

// record what the client sends: wrap the library's WebSocket send through a subclass
class RecordingWS extends WebSocket {
  send(data, ...rest) {
    sent.push({ side: 'client', message: JSON.parse(String(data)) });
    return super.send(data, ...rest);
  }
}

async function run() {
  const c = createClient({
    url: `ws://127.0.0.1:${PORT}/graphql`,
    webSocketImpl: RecordingWS,
    lazy: false,
    retryAttempts: 0,
    on: { message: (m) => sent.push({ side: 'server', message: m }) },
  });
  const ops = [];
  const collect = (payload) => new Promise((resolve, reject) => {
    const results = [];
    c.subscribe(payload, {
      next: (v) => results.push(v),
      error: reject,
      complete: () => resolve(results),
    });
  });
  const q1 = { query: 'query Hello($name: String) { hello(name: $name) }', operationName: 'Hello', variables: { name: 'ws' } };
  ops.push({ kind: 'query', payload: q1, results: await collect(q1) });
  const s1 = { query: 'subscription Count { count(to: 3) }', operationName: 'Count' };
  ops.push({ kind: 'subscription', payload: s1, results: await collect(s1) });
  const q2 = { query: '{ boom }' };
  ops.push({ kind: 'query', payload: q2, results: await collect(q2) });
  await new Promise((r) => setTimeout(r, 50));
  await c.dispose();
  await new Promise((r) => setTimeout(r, 200));
  const manifest = {
    sample: 'graphql-ws.pcap',
    libraries: {
      'graphql-ws': require('graphql-ws/package.json').version,
      graphql: require('graphql/package.json').version,
      ws: require('ws/package.json').version,
    },
    server: ['127.0.0.1', PORT],
    path: '/graphql',
    subprotocol: 'graphql-transport-ws',
    operations: ops,
    // every protocol message in the order each side handed it over (client: send();
    // server: as the client received it; the two sides interleave in capture order)
    messages: sent,
  };
  fs.writeFileSync(path.join(__dirname, '..', 'graphql-ws.sent.json'), JSON.stringify(manifest, null, 1) + '\n');
  clearTimeout(guard);
  wss.close();
  process.exit(0);
}
run().catch((e) => { console.error(e); process.exit(1); });
