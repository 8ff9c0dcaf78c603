#!/usr/bin/env python3
"""Server side of chromium-har.pcap: Python websockets echo server on 127.0.0.1:PORT
(default compression, so permessage-deflate is negotiated with what Chromium offers) and a
plain http.server page on 127.0.0.1:HTTPPORT (not captured) whose script opens
ws://127.0.0.1:PORT/har, sends MESSAGES one after each echo (texts, a JSON object twice, a
100-byte binary 0..99, a 3000-byte text), then closes with 1000 "bye". Exits once the close
handshake is done (or after 30 s). Writes samples/chromium-har.sent.json (what it received and
sent). Chromium is driven by chromium_har.js, which also writes Chrome's HAR.
Usage: har_server.py [PORT] [HTTPPORT]
"""
import asyncio
import http.server
import json
import sys
import threading

import websockets
from websockets.asyncio.server import serve

from common import write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9126
HTTPPORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9127
NAME = "chromium-har"
OBJ = json.dumps({"type": "update", "id": 7, "values": [1, 2, 3], "note": "same object twice"})
TEXTS = ["hello from chromium", OBJ, OBJ, "é ü ✓ (UTF-8)", "x" * 3000]

PAGE = """<!doctype html><html><head><title>har</title></head><body>waiting<script>
const texts = %s;
const bin = new Uint8Array(100); for (let i = 0; i < 100; i++) bin[i] = i;
const msgs = texts.slice(0, 4).concat([bin.buffer], texts.slice(4));
const ws = new WebSocket("ws://127.0.0.1:%d/har?session=1");
ws.binaryType = "arraybuffer";
let i = 0;
function next() { if (i < msgs.length) ws.send(msgs[i++]); else ws.close(1000, "bye"); }
ws.onopen = next;
ws.onmessage = next;
ws.onclose = (e) => { document.title = "closed " + e.code; };
</script></body></html>""" % (json.dumps(TEXTS), PORT)

received, sent, hs = [], [], {}


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAGE.encode() if self.path == "/" else b""
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


async def main():
    done = asyncio.Event()

    async def handler(ws):
        hs["offered"] = ws.request.headers.get("Sec-WebSocket-Extensions")
        hs["accepted"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        hs["client_port"] = ws.remote_address[1]
        try:
            async for m in ws:
                received.append(m)
                await ws.send(m)
                sent.append(m)
        except websockets.ConnectionClosed:
            pass
        done.set()

    httpd = http.server.HTTPServer(("127.0.0.1", HTTPPORT), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    async with serve(handler, "127.0.0.1", PORT):
        print("ready", flush=True)
        try:
            await asyncio.wait_for(done.wait(), 30)
        except asyncio.TimeoutError:
            print("timeout", file=sys.stderr)
    httpd.shutdown()

    def msg(direction, m):
        if isinstance(m, str):
            return {"dir": direction, "type": "text", "text": m, "len": len(m.encode())}
        return {"dir": direction, "type": "binary", "hex": m.hex(), "len": len(m)}

    messages = []
    for r, s in zip(received, sent):
        messages.append(msg("c2s", r))
        messages.append(msg("s2c", s))
    write_manifest(NAME, {
        "file": NAME + ".pcap",
        "link_type": "EN10MB",
        "real": "headless Chromium client (driven over the DevTools protocol), Python websockets server",
        "generator": "samples/gen/har_server.py + samples/gen/chromium_har.js",
        "permessage_deflate": hs.get("accepted") is not None,
        "connections": [{
            "client": ["127.0.0.1", hs.get("client_port")],
            "server": ["127.0.0.1", PORT],
            "offered_extensions": hs.get("offered"),
            "accepted_extensions": hs.get("accepted"),
            "messages": messages,
        }],
    })


asyncio.run(main())
