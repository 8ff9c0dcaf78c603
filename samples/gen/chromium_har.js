// Client side of chromium-har.pcap: starts headless Chromium with the DevTools protocol
// on a local port, opens the page har_server.py serves, records the WebSocket events the
// protocol reports (Network.webSocketCreated / WillSendHandshakeRequest /
// HandshakeResponseReceived / FrameSent / FrameReceived / Closed) and writes them as a HAR
// entry the way DevTools' own HAR export (front_end/models/har/Log.ts) does: request and
// response headers from the handshake events, `_resourceType: "websocket"`, and
// `_webSocketMessages` of {type: "send"|"receive", time: wall-clock seconds, opcode, data},
// `data` being the protocol's payloadData (text as is, binary in base64).
// Needs the `ws` package (NODE_PATH=/tmp/nodews/node_modules) and /usr/bin/chromium.
// Usage: node chromium_har.js HTTPPORT OUT.har
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const http = require("http");
const WebSocket = require("ws");

const HTTPPORT = Number(process.argv[2] || 9127);
const OUT = process.argv[3] || "chromium-har.har";
const CDP_PORT = 9229 + Math.floor(Math.random() * 500);

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    }).on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wsd-har-"));
  const chrome = spawn("/usr/bin/chromium", [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${profile}`, `--remote-debugging-port=${CDP_PORT}`, "about:blank",
  ], { stdio: ["ignore", "ignore", "ignore"] });
  const finish = (code) => {
    chrome.on("exit", () => {
      try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* best effort */ }
      process.exit(code);
    });
    chrome.kill("SIGTERM");
  };
  setTimeout(() => { console.error("timeout"); finish(1); }, 30000);

  let targets;
  for (let i = 0; i < 100; i++) {
    try { targets = await getJson(`http://127.0.0.1:${CDP_PORT}/json/list`); if (targets.some((t) => t.type === "page")) break; } catch (e) { /* not up yet */ }
    await sleep(100);
  }
  const page = targets.find((t) => t.type === "page");
  const cdp = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise((r) => cdp.on("open", r));
  let id = 0;
  const pending = new Map();
  const send = (method, params = {}) => new Promise((resolve) => {
    id += 1; pending.set(id, resolve); cdp.send(JSON.stringify({ id, method, params }));
  });
  const sockets = new Map(); // requestId -> entry state
  let closed = null;
  const closedPromise = new Promise((r) => (closed = r));
  cdp.on("message", (raw) => {
    const msg = JSON.parse(raw.toString());
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg.result); pending.delete(msg.id); return; }
    const p = msg.params || {};
    const s = sockets.get(p.requestId);
    switch (msg.method) {
      case "Network.webSocketCreated":
        sockets.set(p.requestId, { url: p.url, messages: [] });
        break;
      case "Network.webSocketWillSendHandshakeRequest":
        // wallTime (epoch seconds) and timestamp (monotonic seconds) of the same instant:
        // DevTools turns later monotonic timestamps into wall-clock times from this pair.
        Object.assign(s, { wallTime: p.wallTime, timestamp: p.timestamp, request: p.request });
        break;
      case "Network.webSocketHandshakeResponseReceived":
        Object.assign(s, { response: p.response, responseTimestamp: p.timestamp });
        break;
      case "Network.webSocketFrameSent":
      case "Network.webSocketFrameReceived":
        s.messages.push({
          type: msg.method === "Network.webSocketFrameSent" ? "send" : "receive",
          time: s.wallTime + (p.timestamp - s.timestamp),
          opcode: p.response.opcode,
          data: p.response.payloadData,
        });
        break;
      case "Network.webSocketClosed":
        closed();
        break;
    }
  });
  await send("Network.enable");
  await send("Page.navigate", { url: `http://127.0.0.1:${HTTPPORT}/` });
  await closedPromise;
  await sleep(300);

  const headers = (obj) => Object.entries(obj || {}).flatMap(([name, value]) =>
    String(value).split("\n").map((v) => ({ name, value: v })));
  const entries = [...sockets.values()].map((s) => {
    const url = new URL(s.url);
    return {
      startedDateTime: new Date(s.wallTime * 1000).toISOString(),
      time: (s.responseTimestamp - s.timestamp) * 1000,
      request: {
        method: "GET", url: s.url, httpVersion: "HTTP/1.1", cookies: [],
        headers: headers(s.request && s.request.headers),
        queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
        headersSize: -1, bodySize: 0,
      },
      response: {
        status: s.response.status, statusText: s.response.statusText, httpVersion: "HTTP/1.1",
        cookies: [], headers: headers(s.response.headers),
        content: { size: 0, mimeType: "x-unknown" }, redirectURL: "", headersSize: -1, bodySize: 0,
      },
      cache: {},
      timings: { send: 0, wait: (s.responseTimestamp - s.timestamp) * 1000, receive: 0 },
      _resourceType: "websocket",
      _webSocketMessages: s.messages,
    };
  });
  const version = await getJson(`http://127.0.0.1:${CDP_PORT}/json/version`);
  const har = { log: { version: "1.2", creator: { name: "chromium_har.js (DevTools protocol)", version: version.Browser }, pages: [], entries } };
  fs.writeFileSync(OUT, JSON.stringify(har, null, 1) + "\n");
  console.log(`wrote ${OUT}: ${entries.length} entries, ${entries.reduce((n, e) => n + e._webSocketMessages.length, 0)} messages`);
  cdp.close();
  finish(0);
})().catch((e) => { console.error(e); process.exit(1); });
