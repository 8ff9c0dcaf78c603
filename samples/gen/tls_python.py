#!/usr/bin/env python3
"""wss:// samples: Python websockets server + client over ssl on 127.0.0.1:PORT, with the
client's NSS key log written by OpenSSL (SSLContext.keylog_filename) to samples/NAME.keys.

Usage: tls_python.py PORT NAME MODE
MODE:
  tls13          TLS 1.3, OpenSSL's default suite choice (TLS_AES_256_GCM_SHA384)
  tls12-gcm      TLS 1.2 forced, ECDHE-RSA-AES128-GCM-SHA256
  tls12-chacha   TLS 1.2 forced, ECDHE-RSA-CHACHA20-POLY1305
  tls12-cbc      TLS 1.2 forced, ECDHE-RSA-AES128-SHA (CBC + HMAC-SHA1, encrypt-then-MAC
                 negotiated: OpenSSL's default)
  tls12-cbc-mte  TLS 1.2 forced, ECDHE-RSA-AES256-SHA384 (CBC + HMAC-SHA384) with
                 encrypt-then-MAC switched off (SSL_OP_NO_ENCRYPT_THEN_MAC): MAC-then-encrypt
  missing-key    TLS 1.3, two connections; afterwards the key log lines of the SECOND
                 connection are removed from NAME.keys (a key log that lacks one connection)

Each connection, strictly ordered by waiting on the peer:
  c2s text   "Hello over TLS!"
  c2s binary bytes(range(256)) + bytes(range(44))   (300 B -> 16-bit length)
  s2c text   "Hello from the TLS server"
  c2s ping   b"tls-ping" / s2c pong (automatic)
  s2c text   "x" * 20000  (one 20000-byte message: several TLS records)
  c2s close 1000 "bye" / s2c close echo
The self-signed certificate (CN=localhost) is made with the openssl CLI in a temp dir.
Both sides offer ALPN http/1.1 (selected in the ServerHello in 1.2, EncryptedExtensions in 1.3).
"""
import asyncio
import os
import ssl
import subprocess
import sys
import tempfile

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import SAMPLES, close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1])
NAME = sys.argv[2]
MODE = sys.argv[3]
KEYS = os.path.join(SAMPLES, NAME + ".keys")

TEXT1 = "Hello over TLS!"
BIN1 = bytes(range(256)) + bytes(range(44))
S_TEXT = "Hello from the TLS server"
PING = b"tls-ping"
BIG = "x" * 20000
REASON = "bye"
GAP = 0.05
SSL_OP_NO_ENCRYPT_THEN_MAC = 0x00080000  # OpenSSL 3 value

SUITES = {
    "tls12-gcm": "ECDHE-RSA-AES128-GCM-SHA256",
    "tls12-chacha": "ECDHE-RSA-CHACHA20-POLY1305",
    "tls12-cbc": "ECDHE-RSA-AES128-SHA",
    "tls12-cbc-mte": "ECDHE-RSA-AES256-SHA384",
}


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def contexts(cert, key):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cert)
    client.keylog_filename = KEYS
    # ALPN http/1.1 offered and selected: in the ServerHello (1.2) or EncryptedExtensions (1.3).
    client.set_alpn_protocols(["http/1.1"])
    server.set_alpn_protocols(["http/1.1"])
    if MODE in SUITES:
        for ctx in (server, client):
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(SUITES[MODE])
        if MODE == "tls12-cbc-mte":
            client.options |= SSL_OP_NO_ENCRYPT_THEN_MAC
            server.options |= SSL_OP_NO_ENCRYPT_THEN_MAC
    else:
        client.minimum_version = ssl.TLSVersion.TLSv1_3
    return server, client


async def handler(ws):
    assert await ws.recv() == TEXT1
    assert await ws.recv() == BIN1
    await asyncio.sleep(GAP)
    await ws.send(S_TEXT)
    await asyncio.sleep(GAP * 4)
    await ws.send(BIG)
    try:
        await ws.recv()
    except Exception:
        pass


async def one_connection(client_ctx, path):
    async with connect(f"wss://localhost:{PORT}{path}", ssl=client_ctx, compression=None,
                       ping_interval=None, open_timeout=5, close_timeout=5) as ws:
        cport = ws.local_address[1]
        info = {"cipher": ws.transport.get_extra_info("cipher"),
                "alpn": ws.transport.get_extra_info("ssl_object").selected_alpn_protocol()}
        await asyncio.sleep(GAP)
        await ws.send(TEXT1)
        await asyncio.sleep(GAP)
        await ws.send(BIN1)
        assert await asyncio.wait_for(ws.recv(), 5) == S_TEXT
        await asyncio.sleep(GAP)
        pong = await ws.ping(PING)
        await asyncio.wait_for(pong, 5)
        assert await asyncio.wait_for(ws.recv(), 5) == BIG
        await asyncio.sleep(GAP)
        await ws.close(1000, REASON)
    await asyncio.sleep(0.1)
    frames = [
        frame_entry("c2s", 1, TEXT1),
        frame_entry("c2s", 2, BIN1),
        frame_entry("s2c", 1, S_TEXT),
        frame_entry("c2s", 9, PING, text=PING.decode()),
        frame_entry("s2c", 10, PING, text=PING.decode(), note="automatic pong"),
        frame_entry("s2c", 1, BIG, note="20000 bytes: several TLS records"),
        frame_entry("c2s", 8, close_payload(1000, REASON)),
        frame_entry("s2c", 8, close_payload(1000, REASON), note="close echo"),
    ]
    return {
        "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
        "tls": {"cipher_python": info["cipher"], "sni": "localhost", "alpn": info["alpn"]},
        "http": [{"dir": "c2s", "request": f"GET {path} HTTP/1.1", "upgrade": True},
                 {"dir": "s2c", "status": 101}],
        "messages": [
            {"dir": "c2s", "type": "text", "text": TEXT1},
            {"dir": "c2s", "type": "binary", "len": len(BIN1), "hex": BIN1.hex()},
            {"dir": "s2c", "type": "text", "text": S_TEXT},
            {"dir": "s2c", "type": "text", "len": len(BIG), "text_prefix": BIG[:16]},
        ],
        "frames": frames,
        "close": {"initiator": "client", "code": 1000, "reason": REASON,
                  "echo": {"code": 1000, "reason": REASON}},
    }


def drop_second_connection():
    """Removes every line of the second client random seen in the key log."""
    with open(KEYS) as f:
        lines = f.read().splitlines()
    order = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[1] not in order:
            order.append(parts[1])
    dropped = order[1]
    kept = [l for l in lines if dropped not in l.split()]
    with open(KEYS, "w") as f:
        f.write("\n".join(kept) + "\n")
    return dropped


async def main():
    if os.path.exists(KEYS):
        os.remove(KEYS)
    with tempfile.TemporaryDirectory() as tmp:
        server_ctx, client_ctx = contexts(*make_cert(tmp))
        async with serve(handler, "127.0.0.1", PORT, ssl=server_ctx, compression=None,
                         ping_interval=None):
            conns = [await one_connection(client_ctx, "/tls")]
            if MODE == "missing-key":
                await asyncio.sleep(0.2)
                conns.append(await one_connection(client_ctx, "/second"))
        await asyncio.sleep(0.2)
    manifest = {
        "file": NAME + ".pcap", "keylog": NAME + ".keys", "link_type": "EN10MB (lo)",
        "real": True, "generator": f"samples/gen/tls_python.py {PORT} {NAME} {MODE}",
        "libraries": f"python websockets 17.4 over ssl ({ssl.OPENSSL_VERSION})",
        "tls_mode": MODE, "permessage_deflate": False, "connections": conns,
    }
    if MODE == "missing-key":
        dropped = drop_second_connection()
        manifest["keylog_note"] = ("the key log lines of the second connection (client random "
                                   f"{dropped}) were removed after the capture")
        conns[1]["keylog_missing"] = True
    write_manifest(NAME, manifest)


asyncio.run(asyncio.wait_for(main(), 30))
