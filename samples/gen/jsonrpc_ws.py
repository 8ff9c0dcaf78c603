#!/usr/bin/env python3
"""jsonrpc.pcap: JSON-RPC 2.0 over WebSocket on 127.0.0.1:PORT, path /rpc.

Server: Python `websockets` + `jsonrpcserver` (dispatch answers every text message).
Client: Python `websockets` + `jsonrpcclient` (builds the requests, parses the answers).
The client sends, one at a time, waiting for the answer when one is due:
  1. request      sum(1, 2)                          -> result 3
  2. notification log(entry={"level": "info", "text": "started"})  (no answer)
  3. request      divide({"a": 1, "b": 0})           -> error -32000 "division by zero"
  4. request      nosuch()                           -> error -32601 "Method not found"
  5. batch        [sum(10, 20), notification log(...), echo("x")]
                                                     -> batch [result 30, result "x"]
  6. the text `{"jsonrpc": "2.0", "method": ` (invalid JSON, sent raw) -> error -32700
then closes (1000). Request ids come from jsonrpcclient's counter and are recorded.
The manifest samples/jsonrpc.sent.json lists every text message each side sent, in order.
Usage: python3 jsonrpc_ws.py PORT
"""
import asyncio
import importlib.metadata
import json
import os
import sys

import websockets
from jsonrpcclient import notification_json, request, request_json
from jsonrpcserver import Error, Success, async_dispatch, method

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9143
SAMPLES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sent = []


@method
async def sum(a, b):  # noqa: A001 (the RPC method's name)
    return Success(a + b)


@method
async def log(entry):
    return Success(None)


@method
async def divide(a, b):
    if b == 0:
        return Error(-32000, "division by zero")
    return Success(a / b)


@method
async def echo(x):
    return Success(x)


async def handler(ws):
    async for text in ws:
        answer = await async_dispatch(text)
        if answer:
            sent.append({"side": "server", "text": answer})
            await ws.send(answer)


async def main():
    async with websockets.serve(handler, "127.0.0.1", PORT, compression=None):
        async with websockets.connect(f"ws://127.0.0.1:{PORT}/rpc", compression=None) as ws:
            async def send(text, answer=True):
                sent.append({"side": "client", "text": text})
                await ws.send(text)
                if answer:
                    await ws.recv()
            await send(request_json("sum", params=(1, 2)))
            await send(notification_json("log", params={"entry": {"level": "info", "text": "started"}}), False)
            await asyncio.sleep(0.05)
            await send(request_json("divide", params={"a": 1, "b": 0}))
            await send(request_json("nosuch"))
            batch = [request("sum", params=(10, 20)),
                     json.loads(notification_json("log", params={"entry": {"level": "debug", "text": "batch"}})),
                     request("echo", params=("x",))]
            await send(json.dumps(batch))
            await send('{"jsonrpc": "2.0", "method": ')
            await ws.close(1000)
    manifest = {
        "sample": "jsonrpc.pcap",
        "libraries": {n: importlib.metadata.version(n)
                      for n in ("websockets", "jsonrpcserver", "jsonrpcclient")},
        "server": ["127.0.0.1", PORT],
        "path": "/rpc",
        "messages": sent,
        "note": "every text message in the order each side sent it",
    }
    with open(os.path.join(SAMPLES, "jsonrpc.sent.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


asyncio.run(main())
