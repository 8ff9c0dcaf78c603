#!/usr/bin/env node
// Generic Node `ws` client used by the Python-driven samples.
// argv: URL  JSON-PLAN   where plan = {"messages":[{"text":..}|{"hex":..}], "close":[code, reason]}
// Sends each message after the previous one's reply arrived, then closes. perMessageDeflate off.
'use strict';
const { WebSocket } = require('ws');
const url = process.argv[2];
const plan = JSON.parse(process.argv[3]);
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 10000);
const c = new WebSocket(url, { perMessageDeflate: false });
let i = 0;
function next() {
  if (i < plan.messages.length) {
    const m = plan.messages[i++];
    setTimeout(() => c.send('text' in m ? m.text : Buffer.from(m.hex, 'hex')), 50);
  } else {
    setTimeout(() => c.close(plan.close[0], plan.close[1]), 50);
  }
}
c.on('open', () => { console.log(JSON.stringify({ local_port: c._socket.localPort })); next(); });
c.on('message', () => next());
c.on('close', () => { clearTimeout(guard); setTimeout(() => process.exit(0), 100); });
c.on('error', (e) => { console.error(e); process.exit(1); });
