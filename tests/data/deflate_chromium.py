#!/usr/bin/env python3
"""Headless Chromium as the WebSocket client, Python websockets (default permessage-deflate)
as the server. A small HTTP server on PORT+100 serves the page; the page sends the messages
below over ws://127.0.0.1:PORT and closes with 1000 "bye" after the last echo. Writes a
manifest (argv[2]) of every data message each side sent, in order.

Usage: python3 deflate_chromium.py PORT MANIFEST.json
"""
import asyncio, hashlib, http.server, json, os, subprocess, sys, tempfile, threading

import websockets
from websockets.asyncio.server import serve

PORT = int(sys.argv[1])
HTTP_PORT = PORT + 100
FOX = "the quick brown fox jumps over the lazy dog; " * 70
# What the page sends, in order (binary given as a list of byte values).
PAGE_MESSAGES = [
    {"text": "Hello from Chromium!"},
    {"text": "Hello from Chromium!"},
    {"text": FOX},
    {"bin": list(range(256)) * 2},
    {"text": "κόσμε ✓ 😀 — UTF-8 text"},
]
sent = []


def note(direction, data, is_text):
    rec = {"dir": direction, "opcode": 1 if is_text else 2, "len": len(data),
           "sha256": hashlib.sha256(data).hexdigest()}
    if is_text:
        rec["text"] = data.decode()
    if len(data) <= 1024:
        rec["hex"] = data.hex()
    sent.append(rec)


PAGE = """<!doctype html><meta charset="utf-8"><title>ws</title><script>
const msgs = %s;
const ws = new WebSocket('ws://127.0.0.1:%d/chromium');
ws.binaryType = 'arraybuffer';
let i = 0;
function next() {
  if (i < msgs.length) {
    const m = msgs[i++];
    ws.send(m.text !== undefined ? m.text : new Uint8Array(m.bin));
  } else {
    ws.close(1000, 'bye');
  }
}
ws.onopen = next;
ws.onmessage = next;
</script>""" % (json.dumps(PAGE_MESSAGES), PORT)


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


async def main():
    done = asyncio.Event()
    extensions = []

    async def handler(ws):
        extensions.append(ws.request.headers.get("Sec-WebSocket-Extensions"))
        try:
            async for message in ws:
                if isinstance(message, str):
                    reply = "echo: " + message
                    note("s2c", reply.encode(), True)
                else:
                    reply = message[::-1]
                    note("s2c", reply, False)
                await ws.send(reply)
        finally:
            done.set()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP_PORT), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    for m in PAGE_MESSAGES:
        if "text" in m:
            note("c2s", m["text"].encode(), True)
        else:
            note("c2s", bytes(m["bin"]), False)
    async with serve(handler, "127.0.0.1", PORT):
        profile = tempfile.mkdtemp()
        browser = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", f"http://127.0.0.1:{HTTP_PORT}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await asyncio.wait_for(done.wait(), 20)
            await asyncio.sleep(0.5)
        finally:
            browser.terminate()
            browser.wait(10)
            httpd.shutdown()
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    with open(sys.argv[2], "w") as f:
        json.dump({"implementation": f"{version} (client), python websockets {websockets.__version__} (server)",
                   "offered_extensions": extensions[0] if extensions else None,
                   "port": PORT, "messages": sent}, f, indent=1)


asyncio.run(main())
