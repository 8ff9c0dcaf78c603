#!/usr/bin/env python3
"""basic.pcapng traffic: Python websockets echo server on 127.0.0.1:PORT, Node `ws` client
(node_client.js).  Client sends each message after the previous echo arrived:
  c2s text "pcapng hello"        s2c text "pcapng hello" (echo)
  c2s binary ca fe ba be 00 ff   s2c binary same (echo)
  c2s close 1001 "going away"    s2c close 1001 "going away" (echo)
Usage: pcapng_exchange.py [PORT]   (needs NODE_PATH pointing at a node_modules with ws)
"""
import asyncio
import json
import os
import sys

from websockets.asyncio.server import serve

from common import close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9106
TEXT = "pcapng hello"
BIN = bytes.fromhex("cafebabe00ff")
CODE, REASON = 1001, "going away"
HERE = os.path.dirname(os.path.abspath(__file__))


async def echo(ws):
    async for m in ws:
        await ws.send(m)


async def main():
    async with serve(echo, "127.0.0.1", PORT, compression=None, ping_interval=None):
        plan = {"messages": [{"text": TEXT}, {"hex": BIN.hex()}], "close": [CODE, REASON]}
        p = await asyncio.create_subprocess_exec(
            "node", os.path.join(HERE, "node_client.js"), f"ws://127.0.0.1:{PORT}/ng",
            json.dumps(plan), stdout=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(p.communicate(), 15)
        assert p.returncode == 0
        cport = json.loads(out.decode().splitlines()[0])["local_port"]
        await asyncio.sleep(0.2)
    write_manifest("basic-pcapng", {
        "file": "basic.pcapng", "format": "pcapng (dumpcap)", "link_type": "EN10MB (lo)", "real": True,
        "generator": "samples/gen/pcapng_exchange.py + samples/gen/node_client.js",
        "libraries": "server: python websockets 17.4; client: node ws 8",
        "permessage_deflate": False,
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /ng HTTP/1.1", "upgrade": True},
                     {"dir": "s2c", "status": 101}],
            "frames": [
                frame_entry("c2s", 1, TEXT),
                frame_entry("s2c", 1, TEXT, note="echo"),
                frame_entry("c2s", 2, BIN),
                frame_entry("s2c", 2, BIN, note="echo"),
                frame_entry("c2s", 8, close_payload(CODE, REASON)),
                frame_entry("s2c", 8, close_payload(CODE, REASON), note="close echo"),
            ],
            "close": {"initiator": "client", "code": CODE, "reason": REASON,
                      "echo": {"code": CODE, "reason": REASON}},
        }],
    })


asyncio.run(asyncio.wait_for(main(), 25))
