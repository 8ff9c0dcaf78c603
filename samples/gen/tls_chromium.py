#!/usr/bin/env python3
"""tls13-chromium.pcap: headless Chromium as the wss:// client, Python websockets server over
ssl with a self-signed certificate made at sample time; Chromium's own key log
(`--ssl-key-log-file`) goes to samples/NAME.keys.

  - http.server on 127.0.0.1:HTTPPORT serves one page (not captured, plain HTTP);
  - the page's script opens wss://127.0.0.1:PORT/chromium-wss (Chromium runs with
    --ignore-certificate-errors: the certificate is self-signed);
  - the server sends BIG (a 20000-byte text: several TLS records) first; the page answers each
    message from the server with its next one: MESSAGES below (two texts, a 100-byte binary
    0..99), then closes with 1000 "bye" after the third echo;
  - the server echoes every message unchanged; no compression (the server accepts none), so
    each message is one frame and the manifest's frames are the messages' bytes.
Chromium runs headless with a throw-away profile; it is terminated (by its pid) once the
server has seen the close handshake, or after 25 s. The manifest's c2s frames are the page's
fixed strings (checked against what the server received), s2c frames what the server sent.
Usage: tls_chromium.py PORT HTTPPORT NAME
"""
import asyncio
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading

import websockets
from websockets.asyncio.server import serve

from common import SAMPLES, close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1])
HTTPPORT = int(sys.argv[2])
NAME = sys.argv[3]
KEYS = os.path.join(SAMPLES, NAME + ".keys")
TEXTS = ["hello from chromium over wss",
         json.dumps({"type": "update", "id": 7, "values": [1, 2, 3], "ok": True})]
BIN = bytes(range(100))
BIG = "b" * 20000
REASON = "bye"
PATH = "/chromium-wss"

PAGE = """<!doctype html><html><head><title>wss</title></head><body>waiting<script>
const texts = %s;
const bin = new Uint8Array(100); for (let i = 0; i < 100; i++) bin[i] = i;
const msgs = texts.concat([bin.buffer]);
const ws = new WebSocket("wss://127.0.0.1:%d%s");
ws.binaryType = "arraybuffer";
let i = 0;
ws.onmessage = () => { if (i < msgs.length) ws.send(msgs[i++]); else ws.close(1000, "%s"); };
ws.onclose = (e) => { document.body.textContent = "closed " + e.code + " " + e.wasClean; };
</script></body></html>""" % (json.dumps(TEXTS), PORT, PATH, REASON)

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
    hs["client_port"] = ws.remote_address[1]
    hs["user_agent"] = ws.request.headers.get("User-Agent")
    ssl_object = ws.transport.get_extra_info("ssl_object")
    hs["cipher"] = ssl_object.cipher()
    hs["version"] = ssl_object.version()
    hs["alpn"] = ssl_object.selected_alpn_protocol()
    await ws.send(BIG)
    sent.append(BIG)
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


async def main():
    global done
    done = asyncio.Event()
    if os.path.exists(KEYS):
        os.remove(KEYS)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTPPORT), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="wsd-chromium-")
    tmp = tempfile.mkdtemp(prefix="wsd-cert-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    try:
        async with serve(handler, "127.0.0.1", PORT, ssl=ctx, compression=None,
                         ping_interval=None):
            proc = await asyncio.create_subprocess_exec(
                "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--ignore-certificate-errors", "--ssl-key-log-file=" + KEYS,
                "--user-data-dir=" + profile, "http://127.0.0.1:%d/" % HTTPPORT,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                await asyncio.wait_for(done.wait(), 25)
                await asyncio.sleep(0.3)
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 10)
    finally:
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    want = TEXTS + [BIN]
    assert received == want, received
    assert sent == [BIG] + want, sent
    assert hs["close_code"] == 1000 and hs["close_reason"] == REASON, hs
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    frames = [frame_entry("s2c", 1, BIG, note="20000 bytes: several TLS records")]
    for m in want:
        opcode = 1 if isinstance(m, str) else 2
        frames.append(frame_entry("c2s", opcode, m))
        frames.append(frame_entry("s2c", opcode, m, note="echo"))
    frames.append(frame_entry("c2s", 8, close_payload(1000, REASON)))
    frames.append(frame_entry("s2c", 8, close_payload(1000, REASON), note="close echo"))
    write_manifest(NAME, {
        "file": NAME + ".pcap", "keylog": NAME + ".keys", "link_type": "EN10MB (lo)",
        "real": True,
        "generator": f"samples/gen/tls_chromium.py {PORT} {HTTPPORT} {NAME}",
        "libraries": "client: %s (headless, --ssl-key-log-file; %s); server: python websockets "
                     "%s over ssl (%s), no compression"
                     % (version, hs["user_agent"], websockets.__version__, ssl.OPENSSL_VERSION),
        "permessage_deflate": False,
        "connections": [{
            "client": ["127.0.0.1", hs["client_port"]], "server": ["127.0.0.1", PORT],
            "tls": {"version_python": hs["version"], "cipher_python": hs["cipher"],
                    "sni": None, "alpn": hs["alpn"]},
            "http": [{"dir": "c2s", "request": f"GET {PATH} HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "messages": [{"dir": "s2c", "type": "text", "len": len(BIG), "text_prefix": BIG[:16]}]
            + [{"dir": d, "type": "text", "text": m} if isinstance(m, str)
               else {"dir": d, "type": "binary", "len": len(m), "hex": m.hex()}
               for m in want for d in ("c2s", "s2c")],
            "frames": frames,
            "close": {"initiator": "client", "code": 1000, "reason": REASON,
                      "echo": {"code": 1000, "reason": REASON}},
        }],
    })
    print("cipher: %s, alpn: %s" % (hs["cipher"], hs["alpn"]))


asyncio.run(asyncio.wait_for(main(), 40))
