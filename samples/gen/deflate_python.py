#!/usr/bin/env python3
"""deflate-python.pcap traffic: Python websockets server + client on 127.0.0.1:PORT with
their DEFAULT compression (permessage-deflate negotiated by the libraries themselves).

The client sends, one message at a time, each echoed back unchanged by the server:
  1-3  text  the same JSON object three times (context takeover: later copies are tiny)
  4    binary bytes(range(64)) * 5  (320 B)
  5    text  fragmented: send(["frag-alpha ", "frag-beta ", "frag-gamma"])
             (RSV1 only on the first frame; websockets ends with an empty FIN continuation)
  6    text  ~50 KB of JSON lines (compressible; ~20 KB compressed, so with the client's MSS
             limited to 4 KB receive buffers the compressed frame spans several TCP segments both ways)
then close 1000 "bye" (client), echoed by the server.

The manifest records the offered / accepted Sec-WebSocket-Extensions strings and the
`messages` exactly as passed to send() (server: as it echoed them).  The `frames` list is
filled afterwards from the capture by `wire_frames.py fill` (the library picks RSV1, masks
and compressed lengths), which also inflates every message and compares it with `messages`.
Usage: deflate_python.py [PORT]
"""
import asyncio
import hashlib
import json
import socket
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9120
NAME = "deflate-python"
OBJ = json.dumps({"type": "update", "id": 1, "payload": {"name": "wsdissect", "values": [1, 2, 3, 4, 5],
                                                          "ok": True, "note": "same object every time"}})
BIN = bytes(range(64)) * 5
FRAGS = ["frag-alpha ", "frag-beta ", "frag-gamma"]
BIG = "\n".join('{"row": %d, "id": "%s", "name": "item-%d", "status": "ok"}'
                % (i, hashlib.sha256(b"%d" % i).hexdigest()[:16], i % 10) for i in range(720))
SENDS = [OBJ, OBJ, OBJ, BIN, FRAGS, BIG]
REASON = "bye"
RCVBUF = 4096
GAP = 0.05
server_sent = []
server_hs = {}


def msg(direction, m):
    if isinstance(m, list):
        m = "".join(m)
    if isinstance(m, str):
        b = m.encode()
        e = {"dir": direction, "type": "text", "len": len(b), "text": m}
    else:
        b = m
        e = {"dir": direction, "type": "binary", "len": len(b), "hex": b.hex()}
    e["sha256"] = hashlib.sha256(b).hexdigest()
    return e


async def handler(ws):
    server_hs["offered"] = ws.request.headers.get("Sec-WebSocket-Extensions")
    server_hs["accepted"] = ws.response.headers.get("Sec-WebSocket-Extensions")
    try:
        async for m in ws:
            await asyncio.sleep(GAP)
            await ws.send(m)
            server_sent.append(m)
    except websockets.ConnectionClosed:
        pass


async def main():
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    lsock.bind(("127.0.0.1", PORT))
    async with serve(handler, sock=lsock, ping_interval=None):
        # Small receive buffers on both sides (small advertised windows) so that the ~11 KB
        # compressed frames span several TCP segments (loopback MSS is ~64 KB).
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.connect(("127.0.0.1", PORT))
        async with connect(f"ws://127.0.0.1:{PORT}/deflate", sock=sock, ping_interval=None,
                           open_timeout=5, close_timeout=5) as ws:
            cport = ws.local_address[1]
            offered = ws.request.headers.get("Sec-WebSocket-Extensions")
            accepted = ws.response.headers.get("Sec-WebSocket-Extensions")
            for m in SENDS:
                await asyncio.sleep(GAP)
                await ws.send(m)
                r = await asyncio.wait_for(ws.recv(), 5)
                assert r == ("".join(m) if isinstance(m, list) else m)
            await asyncio.sleep(GAP)
            await ws.close(1000, REASON)
        await asyncio.sleep(0.2)
    assert server_hs == {"offered": offered, "accepted": accepted}, server_hs
    assert accepted and accepted.startswith("permessage-deflate"), accepted
    messages = [msg("c2s", m) for m in SENDS] + [msg("s2c", m) for m in server_sent]
    write_manifest(NAME, {
        "file": NAME + ".pcap", "link_type": "EN10MB (lo)", "real": True,
        "generator": "samples/gen/deflate_python.py (+ wire_frames.py fill)",
        "libraries": "python websockets %s (client and server), default compression" % websockets.__version__,
        "permessage_deflate": True,
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /deflate HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "extensions": {"offered": offered, "accepted": accepted},
            "messages": messages,
            "frames": [],
            "close": {"initiator": "client", "code": 1000, "reason": REASON,
                      "echo": {"code": 1000, "reason": REASON}},
        }],
    })
    print("offered: %s\naccepted: %s" % (offered, accepted))


asyncio.run(asyncio.wait_for(main(), 20))
