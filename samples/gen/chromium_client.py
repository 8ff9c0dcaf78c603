#!/usr/bin/env python3
"""chromium.pcapng traffic: headless Chromium as the WebSocket client, Python websockets
server (default compression, so permessage-deflate is negotiated with what Chromium offers).

  - http.server on 127.0.0.1:HTTPPORT serves one page (not captured);
  - the page's script opens ws://127.0.0.1:PORT/chromium and sends, one at a time after each
    echo: MESSAGES below (four texts, the JSON object three times so context takeover shows,
    and a 100-byte binary 0..99), then closes with 1000 "bye";
  - the server echoes every message unchanged and logs what it received and sent.
Chromium runs headless with a throw-away profile; it is terminated (by its pid) once the
server has seen the close handshake, or after 25 s.  The manifest's c2s messages
are the page's fixed strings (checked against what the server received), s2c messages are what
the server sent.  `frames` is filled afterwards from the capture by `wire_frames.py fill`.
Usage: chromium_client.py [PORT] [HTTPPORT]
"""
import asyncio
import hashlib
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading

import websockets
from websockets.asyncio.server import serve

from common import write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9124
HTTPPORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9125
NAME = "chromium"
OBJ = json.dumps({"type": "update", "id": 1, "payload": {"name": "wsdissect", "values": [1, 2, 3, 4, 5],
                                                          "ok": True, "note": "same object every time"}})
TEXTS = ["hello from chromium", OBJ, OBJ, OBJ]
BIN = bytes(range(100))
REASON = "bye"

PAGE = """<!doctype html><html><head><title>ws</title></head><body>waiting<script>
const texts = %s;
const bin = new Uint8Array(100); for (let i = 0; i < 100; i++) bin[i] = i;
const msgs = texts.concat([bin.buffer]);
const ws = new WebSocket("ws://127.0.0.1:%d/chromium");
ws.binaryType = "arraybuffer";
let i = 0;
function next() { if (i < msgs.length) ws.send(msgs[i++]); else ws.close(1000, "%s"); }
ws.onopen = next;
ws.onmessage = next;
ws.onclose = (e) => { document.body.textContent = "closed " + e.code + " " + e.wasClean; };
</script></body></html>""" % (json.dumps(TEXTS), PORT, REASON)

received, sent, hs = [], [], {}
done = None


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


async def handler(ws):
    hs["offered"] = ws.request.headers.get("Sec-WebSocket-Extensions")
    hs["accepted"] = ws.response.headers.get("Sec-WebSocket-Extensions")
    hs["client_port"] = ws.remote_address[1]
    hs["user_agent"] = ws.request.headers.get("User-Agent")
    try:
        async for m in ws:
            received.append(m)
            await ws.send(m)
            sent.append(m)
    except websockets.ConnectionClosed:
        pass
    hs["close_code"] = ws.close_code
    hs["close_reason"] = ws.close_reason
    done.set()


def msg(direction, m):
    if isinstance(m, str):
        b = m.encode()
        e = {"dir": direction, "type": "text", "len": len(b), "text": m}
    else:
        b = m
        e = {"dir": direction, "type": "binary", "len": len(b), "hex": b.hex()}
    e["sha256"] = hashlib.sha256(b).hexdigest()
    return e


async def main():
    global done
    done = asyncio.Event()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTPPORT), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="wsd-chromium-")
    try:
        async with serve(handler, "127.0.0.1", PORT, ping_interval=None):
            proc = await asyncio.create_subprocess_exec(
                "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + profile, "http://127.0.0.1:%d/" % HTTPPORT,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                # the handler sets `done` once the close handshake is over
                await asyncio.wait_for(done.wait(), 25)
                await asyncio.sleep(0.3)
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 10)
    finally:
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    want = TEXTS + [BIN]
    assert received == want, received
    assert hs["close_code"] == 1000 and hs["close_reason"] == REASON, hs
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    write_manifest(NAME, {
        "file": NAME + ".pcapng", "link_type": "EN10MB (lo), pcapng", "real": True,
        "generator": "samples/gen/chromium_client.py (+ wire_frames.py fill)",
        "libraries": "client: %s (headless; %s); server: python websockets %s, default compression"
                     % (version, hs["user_agent"], websockets.__version__),
        "permessage_deflate": True,
        "connections": [{
            "client": ["127.0.0.1", hs["client_port"]], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /chromium HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "extensions": {"offered": hs["offered"], "accepted": hs["accepted"]},
            "messages": [msg("c2s", m) for m in want] + [msg("s2c", m) for m in sent],
            "frames": [],
            "close": {"initiator": "client", "code": 1000, "reason": REASON,
                      "echo": {"code": 1000, "reason": REASON}},
        }],
    })
    print("offered: %s\naccepted: %s" % (hs["offered"], hs["accepted"]))


asyncio.run(asyncio.wait_for(main(), 40))
