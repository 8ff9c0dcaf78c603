#!/usr/bin/env python3
"""signalr.pcap: the official @microsoft/signalr Node client (signalr_client.js) against a
small hub written for this test on 127.0.0.1:PORT (aiohttp), which speaks the SignalR hub
protocol as HubProtocol.md and TransportProtocols.md describe it (no ASP.NET Core here: the
.NET SDK is not in the package registries this machine reaches).

The client POSTs /hub/negotiate?negotiateVersion=1 (plain HTTP), then opens the WebSocket
/hub?id=TOKEN. Two connections: the JSON hub protocol (text frames, records ended by 0x1E),
then the MessagePack hub protocol (binary frames, VarInt-length-prefixed msgpack arrays,
encoded with the `msgpack` reference library). The hub answers:
  Add(a, b)        -> completion result a + b
  Echo(x)          -> completion result x
  Fail()           -> completion error "boom"
  Counter(n)       (stream invocation) -> stream items 0..n-1, then a completion
  Notify(text)     (no invocation id) -> the server invokes ReceiveMessage("server", "hello")
                   on the client and sends a ping
The client's keep-alive interval is 300 ms, so it pings too.
The manifest samples/signalr.sent.json lists every hub message the server sent and received
(as parsed here), and the client's own log of calls and results.
Usage: NODE_PATH=... python3 signalr_sample.py PORT
"""
import asyncio
import importlib.metadata
import json
import os
import subprocess
import sys

import aiohttp
import aiohttp.web
import msgpack

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9151
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.normpath(os.path.join(HERE, ".."))
RS = b"\x1e"

log = {"json": {"server_sent": [], "server_received": []},
       "messagepack": {"server_sent": [], "server_received": []}}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(b, at):
    n, shift = 0, 0
    while True:
        x = b[at]
        at += 1
        n |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return n, at


def to_msgpack_array(m):
    """A hub message (JSON form) as the MessagePack protocol's array."""
    t = m["type"]
    if t == 1:
        return [1, {}, m.get("invocationId"), m["target"], m["arguments"], []]
    if t == 2:
        return [2, {}, m["invocationId"], m["item"]]
    if t == 3:
        if "error" in m:
            return [3, {}, m["invocationId"], 1, m["error"]]
        if "result" in m:
            return [3, {}, m["invocationId"], 3, m["result"]]
        return [3, {}, m["invocationId"], 2]
    if t == 6:
        return [6]
    if t == 7:
        return [7, m.get("error"), False]
    raise ValueError(t)


def from_msgpack_array(a):
    t = a[0]
    if t in (1, 4):
        m = {"type": t, "target": a[3], "arguments": a[4]}
        if a[2] is not None:
            m["invocationId"] = a[2]
        if len(a) > 5 and a[5]:
            m["streamIds"] = a[5]
        return m
    if t == 2:
        return {"type": 2, "invocationId": a[2], "item": a[3]}
    if t == 3:
        m = {"type": 3, "invocationId": a[2]}
        if a[3] == 1:
            m["error"] = a[4]
        elif a[3] == 3:
            m["result"] = a[4]
        return m
    if t == 5:
        return {"type": 5, "invocationId": a[2]}
    if t == 6:
        return {"type": 6}
    if t == 7:
        m = {"type": 7}
        if len(a) > 1 and a[1] is not None:
            m["error"] = a[1]
        return m
    return {"type": t}


async def negotiate(request):
    return aiohttp.web.json_response({
        "negotiateVersion": 1,
        "connectionId": "c-" + str(len(log["json"]["server_received"])),
        "connectionToken": "tok" + str(id(request) % 1000),
        "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}],
    })


async def hub(request):
    ws = aiohttp.web.WebSocketResponse()
    await ws.prepare(request)
    state = {"proto": None}

    async def send(m):
        rec = log[state["proto"]]["server_sent"]
        rec.append(m)
        if state["proto"] == "json":
            await ws.send_str(json.dumps(m, separators=(",", ":")) + "\x1e")
        else:
            body = msgpack.packb(to_msgpack_array(m))
            await ws.send_bytes(varint(len(body)) + body)

    async def handle(m):
        log[state["proto"]]["server_received"].append(m)
        t = m["type"]
        if t == 1:
            target, args, iid = m["target"], m["arguments"], m.get("invocationId")
            if target == "Add":
                await send({"type": 3, "invocationId": iid, "result": args[0] + args[1]})
            elif target == "Echo":
                await send({"type": 3, "invocationId": iid, "result": args[0]})
            elif target == "Fail":
                await send({"type": 3, "invocationId": iid, "error": "boom"})
            elif target == "Notify":
                await send({"type": 1, "target": "ReceiveMessage", "arguments": ["server", "hello"]})
                await send({"type": 6})
        elif t == 4 and m["target"] == "Counter":
            iid = m["invocationId"]
            for i in range(m["arguments"][0]):
                await send({"type": 2, "invocationId": iid, "item": i})
                await asyncio.sleep(0.01)
            await send({"type": 3, "invocationId": iid})

    async for msg in ws:
        data = msg.data.encode() if msg.type == aiohttp.WSMsgType.TEXT else msg.data
        if state["proto"] is None:
            end = data.index(RS)
            hs = json.loads(data[:end])
            state["proto"] = hs["protocol"]
            log[state["proto"]]["server_received"].append({"handshake": hs})
            log[state["proto"]]["server_sent"].append({"handshake_response": {}})
            if state["proto"] == "json":
                await ws.send_str("{}\x1e")
            else:
                await ws.send_bytes(b"{}\x1e")
            data = data[end + 1:]
        if state["proto"] == "json":
            for rec in data.split(RS)[:-1]:
                await handle(json.loads(rec))
        else:
            at = 0
            while at < len(data):
                n, at = read_varint(data, at)
                await handle(from_msgpack_array(msgpack.unpackb(data[at:at + n])))
                at += n
    return ws


async def main():
    app = aiohttp.web.Application()
    app.router.add_post("/hub/negotiate", negotiate)
    app.router.add_get("/hub", hub)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", PORT).start()
    proc = await asyncio.create_subprocess_exec(
        "node", os.path.join(HERE, "signalr_client.js"), str(PORT),
        stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    await asyncio.sleep(0.2)
    await runner.cleanup()
    if proc.returncode != 0:
        sys.exit("client failed")
    node_modules = os.environ.get("NODE_PATH", "")

    def npm_version(name):
        with open(os.path.join(node_modules, name, "package.json")) as f:
            return json.load(f)["version"]

    manifest = {
        "sample": "signalr.pcap",
        "libraries": {
            "@microsoft/signalr": npm_version("@microsoft/signalr"),
            "@microsoft/signalr-protocol-msgpack": npm_version("@microsoft/signalr-protocol-msgpack"),
            "aiohttp": importlib.metadata.version("aiohttp"),
            "msgpack": importlib.metadata.version("msgpack"),
        },
        "server": ["127.0.0.1", PORT],
        "path": "/hub",
        "hub_connections": [{"protocol": p, **log[p]} for p in ("json", "messagepack")],
        "client_log": json.loads(out),
        "note": "per connection: every hub message the server sent and received, in order "
                "(JSON form of the hub message; MessagePack ones converted from their arrays)",
    }
    with open(os.path.join(SAMPLES, "signalr.sent.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


asyncio.run(main())
