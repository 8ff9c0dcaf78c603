#!/usr/bin/env python3
"""TLS 1.3 KeyUpdate sample: Python websockets echo server over ssl (server key log written by
OpenSSL to samples/NAME.keys) and `openssl s_client` as the client, driven through its stdin.

Usage: tls_keyupdate.py PORT NAME [hrr]

With `hrr`, no KeyUpdate: the server accepts only the P-256 group and s_client offers a key
share for X25519 only (`-groups X25519:P-256`), so the server answers with a
HelloRetryRequest and the client sends a second ClientHello.

The driver writes, with pauses so each write is its own read() in s_client:
  1. the HTTP Upgrade request (GET /ku, Sec-WebSocket-Key = RFC 6455's example key)
  2. a masked text frame "before key update" (mask key 00000000, so the payload is plain)
  3. "K\n": s_client's command to send KeyUpdate(update_requested); the server answers with
     its own KeyUpdate, so both directions move to their next traffic secret
  4. a masked text frame "after key update"
  5. a masked close frame 1000 "ku-done"
The server echoes each text message. The self-signed cert is made with the openssl CLI.
"""
import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.server import serve

from common import SAMPLES, RFC_KEY, build_frame, close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1])
NAME = sys.argv[2]
HRR = len(sys.argv) > 3 and sys.argv[3] == "hrr"
KEYS = os.path.join(SAMPLES, NAME + ".keys")
MSGS = ["before key update", "after key update"]
ZERO = b"\x00\x00\x00\x00"


async def echo(ws):
    async for m in ws:
        await ws.send(m)


def drive(cert):
    groups = ["-groups", "X25519:P-256"] if HRR else []
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{PORT}",
                          "-servername", "localhost", "-tls1_3", "-CAfile", cert] + groups,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writes = [
        (f"GET /ku HTTP/1.1\r\nHost: localhost:{PORT}\r\nUpgrade: websocket\r\n"
         f"Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n").encode(),
        build_frame(1, MSGS[0], mask_key=ZERO),
        b"" if HRR else b"K\n",
        build_frame(1, MSGS[1], mask_key=ZERO),
        build_frame(8, close_payload(1000, "ku-done"), mask_key=ZERO),
    ]
    time.sleep(0.5)
    for w in writes:
        if not w:
            continue
        p.stdin.write(w)
        p.stdin.flush()
        time.sleep(0.4)
    time.sleep(0.5)
    out, err = p.communicate(timeout=10)
    return out, err


async def main():
    if os.path.exists(KEYS):
        os.remove(KEYS)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.keylog_filename = KEYS
        if HRR:
            ctx.set_ecdh_curve("prime256v1")
        async with serve(echo, "127.0.0.1", PORT, ssl=ctx, compression=None, ping_interval=None):
            out, err = await asyncio.to_thread(drive, cert)
        await asyncio.sleep(0.2)
    if not HRR:
        assert b"KEYUPDATE" in out or b"KEYUPDATE" in err, (out[-500:], err[-500:])
    frames = [
        frame_entry("c2s", 1, MSGS[0], mask_key=ZERO),
        frame_entry("s2c", 1, MSGS[0], note="echo"),
        frame_entry("c2s", 1, MSGS[1], mask_key=ZERO,
                    note=None if HRR else "after both KeyUpdates"),
        frame_entry("s2c", 1, MSGS[1], note="echo"),
        frame_entry("c2s", 8, close_payload(1000, "ku-done"), mask_key=ZERO),
        frame_entry("s2c", 8, close_payload(1000, "ku-done"), note="close echo"),
    ]
    write_manifest(NAME, {
        "file": NAME + ".pcap", "keylog": NAME + ".keys", "link_type": "EN10MB (lo)",
        "real": True, "generator": f"samples/gen/tls_keyupdate.py {PORT} {NAME}" + (" hrr" if HRR else ""),
        "libraries": f"python websockets 17.4 server over ssl ({ssl.OPENSSL_VERSION}); "
                     "openssl s_client client",
        "permessage_deflate": False,
        "connections": [{
            "server": ["127.0.0.1", PORT],
            "tls": ({"version": "TLSv1.3", "hello_retry_request": "server accepts P-256 only, "
                     "client key share X25519", "sni": "localhost"} if HRR else
                    {"version": "TLSv1.3", "key_update": "client KeyUpdate(update_requested), "
                     "server KeyUpdate(update_not_requested)", "sni": "localhost"}),
            "http": [{"dir": "c2s", "request": "GET /ku HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "messages": [{"dir": d, "type": "text", "text": t}
                         for t in MSGS for d in ("c2s", "s2c")],
            "frames": frames,
        }],
    })


asyncio.run(asyncio.wait_for(main(), 30))
