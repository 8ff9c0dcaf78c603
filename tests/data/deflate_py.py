#!/usr/bin/env python3
"""Python websockets (both sides) with its default permessage-deflate: a fixed exchange,
and a manifest (JSON, argv[2]) of every data message each side sent, in order.

Usage: python3 deflate_py.py PORT MANIFEST.json
"""
import asyncio, hashlib, json, sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

PORT = int(sys.argv[1])
sent = []


def note(direction, message):
    rec = {"dir": direction}
    if isinstance(message, str):
        data = message.encode()
        rec.update(opcode=1, text=message)
    else:
        data = bytes(message)
        rec.update(opcode=2)
    rec.update(len=len(data), sha256=hashlib.sha256(data).hexdigest())
    if len(data) <= 1024:
        rec["hex"] = data.hex()
    sent.append(rec)


FOX = "the quick brown fox jumps over the lazy dog; " * 70  # 3150 bytes
CLIENT_MESSAGES = [
    "Hello, deflate!",
    "Hello, deflate!",  # again: context takeover makes it a back-reference
    FOX,
    bytes(range(256)) * 4,
    "κόσμε ✓ 😀 — UTF-8 text",
    ["frag-a|", "frag-b|", "frag-c"],  # fragmented: RSV1 on the first frame only
]


async def handler(ws):
    async for message in ws:
        reply = ("echo: " + message) if isinstance(message, str) else message[::-1]
        note("s2c", reply)
        await ws.send(reply)


async def main():
    async with serve(handler, "127.0.0.1", PORT):
        async with connect(f"ws://127.0.0.1:{PORT}/deflate") as ws:
            for m in CLIENT_MESSAGES:
                if isinstance(m, list):
                    note("c2s", "".join(m))
                else:
                    note("c2s", m)
                await ws.send(m)
                await ws.recv()
            pong = await ws.ping(b"ping-42")
            await pong
            await ws.close(1000, "bye")
    with open(sys.argv[2], "w") as f:
        json.dump({"implementation": f"python websockets {websockets.__version__}", "port": PORT, "messages": sent}, f, indent=1)


asyncio.run(asyncio.wait_for(main(), 20))
