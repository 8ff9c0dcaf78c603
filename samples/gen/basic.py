#!/usr/bin/env python3
"""basic.pcap traffic: Python websockets server + client on 127.0.0.1:PORT.

Sequence (one connection, strictly ordered by waiting on the peer):
  c2s text   "Hello, WebSocket!"
  c2s binary bytes(range(256))                      (256 B -> 16-bit length)
  s2c text   "Hello from the server"                (sent after the binary arrived)
  c2s ping   b"ping-1234"  /  s2c pong b"ping-1234" (automatic reply)
  c2s text fragmented: "frag-one|" (opcode 1, FIN=0), "frag-two|" (opcode 0, FIN=0),
                       "frag-three" (opcode 0, FIN=0), "" (opcode 0, FIN=1)
                       (websockets ends an iterable message with an empty final frame)
  s2c text   "got: frag-one|frag-two|frag-three"    (ack of the reassembled message)
  s2c text fragmented (unmasked): "srv-frag-1|" (opcode 1, FIN=0), "srv-frag-2" (opcode 0,
                       FIN=0), "" (opcode 0, FIN=1)
  c2s close 1000 "bye" / s2c close 1000 "bye" (echo), server closes TCP first.
Usage: basic.py [PORT] [MANIFEST_NAME]
"""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9101
NAME = sys.argv[2] if len(sys.argv) > 2 else "basic"
LINK = sys.argv[3] if len(sys.argv) > 3 else "EN10MB (lo)"

TEXT1 = "Hello, WebSocket!"
BIN1 = bytes(range(256))
S_TEXT = "Hello from the server"
PING = b"ping-1234"
FRAGS = ["frag-one|", "frag-two|", "frag-three"]
S_ACK = "got: " + "".join(FRAGS)
S_FRAGS = ["srv-frag-1|", "srv-frag-2"]
REASON = "bye"
GAP = 0.05


async def handler(ws):
    m1 = await ws.recv()
    assert m1 == TEXT1
    m2 = await ws.recv()
    assert m2 == BIN1
    await asyncio.sleep(GAP)
    await ws.send(S_TEXT)
    m3 = await ws.recv()
    assert m3 == "".join(FRAGS), m3
    await asyncio.sleep(GAP)
    await ws.send(S_ACK)
    await asyncio.sleep(GAP)
    await ws.send(S_FRAGS)
    try:
        await ws.recv()
    except Exception:
        pass


async def main():
    async with serve(handler, "127.0.0.1", PORT, compression=None, ping_interval=None):
        async with connect(f"ws://127.0.0.1:{PORT}/chat", compression=None,
                           ping_interval=None, open_timeout=5, close_timeout=5) as ws:
            cport = ws.local_address[1]
            await asyncio.sleep(GAP)
            await ws.send(TEXT1)
            await asyncio.sleep(GAP)
            await ws.send(BIN1)
            r = await asyncio.wait_for(ws.recv(), 5)
            assert r == S_TEXT
            await asyncio.sleep(GAP)
            pong = await ws.ping(PING)
            await asyncio.wait_for(pong, 5)
            await asyncio.sleep(GAP)
            await ws.send(FRAGS)
            r = await asyncio.wait_for(ws.recv(), 5)
            assert r == S_ACK
            r = await asyncio.wait_for(ws.recv(), 5)
            assert r == "".join(S_FRAGS)
            await asyncio.sleep(GAP)
            await ws.close(1000, REASON)
        await asyncio.sleep(0.2)
    frames = [
        frame_entry("c2s", 1, TEXT1),
        frame_entry("c2s", 2, BIN1),
        frame_entry("s2c", 1, S_TEXT),
        frame_entry("c2s", 9, PING, text=PING.decode()),
        frame_entry("s2c", 10, PING, text=PING.decode(), note="automatic pong"),
        frame_entry("c2s", 1, FRAGS[0], fin=False, note="fragment 1/4"),
        frame_entry("c2s", 0, FRAGS[1], fin=False, text=FRAGS[1], note="fragment 2/4"),
        frame_entry("c2s", 0, FRAGS[2], fin=False, text=FRAGS[2], note="fragment 3/4"),
        frame_entry("c2s", 0, b"", fin=True, text="",
                    note="fragment 4/4: websockets ends an iterable message with an empty FIN continuation"),
        frame_entry("s2c", 1, S_ACK),
        frame_entry("s2c", 1, S_FRAGS[0], fin=False, note="server fragment 1/3"),
        frame_entry("s2c", 0, S_FRAGS[1], fin=False, text=S_FRAGS[1], note="server fragment 2/3"),
        frame_entry("s2c", 0, b"", fin=True, text="", note="server fragment 3/3 (empty FIN continuation)"),
        frame_entry("c2s", 8, close_payload(1000, REASON)),
        frame_entry("s2c", 8, close_payload(1000, REASON), note="close echo"),
    ]
    write_manifest(NAME, {
        "file": NAME + ".pcap", "link_type": LINK, "real": True,
        "generator": "samples/gen/basic.py", "libraries": "python websockets 17.4 (client and server)",
        "permessage_deflate": False,
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /chat HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "messages": [
                {"dir": "c2s", "type": "text", "text": TEXT1},
                {"dir": "c2s", "type": "binary", "len": 256, "hex": BIN1.hex()},
                {"dir": "s2c", "type": "text", "text": S_TEXT},
                {"dir": "s2c", "type": "text", "text": S_ACK},
                {"dir": "s2c", "type": "text", "text": "".join(S_FRAGS), "fragments": 3},
                {"dir": "c2s", "type": "text", "text": "".join(FRAGS), "fragments": 4},
            ],
            "frames": frames,
            "close": {"initiator": "client", "code": 1000, "reason": REASON,
                      "echo": {"code": 1000, "reason": REASON}},
        }],
    })


asyncio.run(asyncio.wait_for(main(), 20))
