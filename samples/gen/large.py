#!/usr/bin/env python3
"""large.pcap traffic: Python websockets server + client on 127.0.0.1:PORT.

  c2s binary 200000 bytes = (bytes(range(256)) * 782)[:200000]   (64-bit length field)
  s2c text   1000 bytes = "0123456789" * 100                      (16-bit length field)
  c2s close 1000 "done" / s2c close 1000 "done" (echo)
Usage: large.py [PORT]
"""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9102
BIG = (bytes(range(256)) * 782)[:200000]
REPLY = "0123456789" * 100
REASON = "done"


async def handler(ws):
    m = await ws.recv()
    assert m == BIG
    await ws.send(REPLY)
    try:
        await ws.recv()
    except Exception:
        pass


async def main():
    async with serve(handler, "127.0.0.1", PORT, compression=None, ping_interval=None):
        async with connect(f"ws://127.0.0.1:{PORT}/large", compression=None,
                           ping_interval=None, open_timeout=5, close_timeout=5) as ws:
            cport = ws.local_address[1]
            await asyncio.sleep(0.05)
            await ws.send(BIG)
            r = await asyncio.wait_for(ws.recv(), 5)
            assert r == REPLY
            await asyncio.sleep(0.05)
            await ws.close(1000, REASON)
        await asyncio.sleep(0.2)
    write_manifest("large", {
        "file": "large.pcap", "link_type": "EN10MB (lo)", "real": True,
        "generator": "samples/gen/large.py", "libraries": "python websockets 17.4 (client and server)",
        "permessage_deflate": False,
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /large HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "messages": [
                {"dir": "c2s", "type": "binary", "len": len(BIG),
                 "pattern": "(bytes(range(256)) * 782)[:200000]"},
                {"dir": "s2c", "type": "text", "len": len(REPLY), "pattern": "'0123456789' * 100"},
            ],
            "frames": [
                frame_entry("c2s", 2, BIG, note="64-bit extended length; pattern (bytes(range(256))*782)[:200000]"),
                frame_entry("s2c", 1, REPLY, note="16-bit extended length"),
                frame_entry("c2s", 8, close_payload(1000, REASON)),
                frame_entry("s2c", 8, close_payload(1000, REASON), note="close echo"),
            ],
            "close": {"initiator": "client", "code": 1000, "reason": REASON,
                      "echo": {"code": 1000, "reason": REASON}},
        }],
    })


asyncio.run(asyncio.wait_for(main(), 20))
