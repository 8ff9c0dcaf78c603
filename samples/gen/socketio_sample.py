#!/usr/bin/env python3
"""socketio.pcap: python-socketio AsyncServer (aiohttp) and AsyncClient on 127.0.0.1:PORT.

The client starts with HTTP long-polling (Engine.IO v4, `/socket.io/?EIO=4&transport=polling`)
and upgrades to WebSocket (`2probe`/`3probe`/`5`); it connects to the namespaces `/` and
`/chat`. Once the client reports the `websocket` transport, the application sends, one at a
time (each awaited before the next):
  1. client  /      "sum" [1, 2]                    with ack  -> server returns 3
  2. client  /chat  "chat message" ["hi"]           with ack  -> server returns ["ok", "hi"]
  3. client  /chat  "typing" [{"user": "ana"}]      without ack
  4. server  /chat  "news" ["headline", 7]          without ack
  5. client  /chat  "upload" [b"\\x00\\x01\\x02\\xff", "a.bin"]  with ack (BINARY_EVENT, 1
     attachment) -> server returns 4 (the byte count)
  6. server  /chat  "ask" ["q?"]                    with ack (sio.call) -> client returns "a!"
  7. server  /      "blob" [b"\\xde\\xad\\xbe\\xef\\x00"]   without ack (BINARY_EVENT from the server)
  8. client  /chat  "chat message" ["bye"]          with ack  -> server returns ["ok", "bye"]
then the client disconnects (DISCONNECT per namespace, Engine.IO close). A second client then
connects to `/chat` with transports=["polling"] only (every packet in HTTP bodies) and sends
  9. client  /chat  "chat message" ["polled"]       with ack  -> server returns ["ok", "polled"]
and disconnects.
The manifest samples/socketio.sent.json lists these sends with what the ack returned.
Usage: python3 socketio_sample.py PORT
"""
import asyncio
import importlib.metadata
import json
import os
import sys

import aiohttp.web
import socketio

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9141
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.normpath(os.path.join(HERE, ".."))

sent = []


def arg_json(a):
    if isinstance(a, (bytes, bytearray)):
        return {"binary_hex": bytes(a).hex()}
    return a


def record(side, namespace, event, args, ack=None, transport="websocket"):
    e = {"side": side, "transport": transport, "namespace": namespace, "event": event,
         "args": [arg_json(a) for a in args]}
    if ack is not None:
        e["ack"] = ack
    sent.append(e)
    return e


async def main():
    # ping_interval/ping_timeout 1 s: the polling client's disconnect waits for its pending
    # long-poll GET, which otherwise lasts 25 + 20 s; the WebSocket part shows heartbeats.
    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
    app = aiohttp.web.Application()
    sio.attach(app)

    @sio.on("sum")
    async def on_sum(sid, a, b):
        return a + b

    @sio.on("chat message", namespace="/chat")
    async def on_chat(sid, text):
        return ["ok", text]

    @sio.on("typing", namespace="/chat")
    async def on_typing(sid, who):
        pass

    @sio.on("upload", namespace="/chat")
    async def on_upload(sid, data, name):
        return len(data)

    @sio.on("connect", namespace="/chat")
    async def on_connect_chat(sid, environ, auth=None):
        pass

    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", PORT)
    await site.start()

    client = socketio.AsyncClient()
    got = asyncio.Queue()

    @client.on("news", namespace="/chat")
    async def on_news(*args):
        await got.put(("news", args))

    @client.on("ask", namespace="/chat")
    async def on_ask(q):
        return "a!"

    @client.on("blob")
    async def on_blob(data):
        await got.put(("blob", data))

    await client.connect(f"http://127.0.0.1:{PORT}", namespaces=["/", "/chat"],
                         transports=["polling", "websocket"])
    for _ in range(100):
        if client.transport() == "websocket":
            break
        await asyncio.sleep(0.05)
    assert client.transport() == "websocket", client.transport()
    await asyncio.sleep(0.2)
    server_sid = client.get_sid("/chat")

    r = await client.call("sum", (1, 2), timeout=5)
    record("client", "/", "sum", [1, 2], ack={"args": [r]})
    r = await client.call("chat message", "hi", namespace="/chat", timeout=5)
    record("client", "/chat", "chat message", ["hi"], ack={"args": [r]})
    await client.emit("typing", {"user": "ana"}, namespace="/chat")
    record("client", "/chat", "typing", [{"user": "ana"}])
    await asyncio.sleep(0.1)
    await sio.emit("news", ("headline", 7), namespace="/chat")
    record("server", "/chat", "news", ["headline", 7])
    await got.get()
    blob = b"\x00\x01\x02\xff"
    r = await client.call("upload", (blob, "a.bin"), namespace="/chat", timeout=5)
    record("client", "/chat", "upload", [blob, "a.bin"], ack={"args": [r]})
    r = await sio.call("ask", "q?", to=server_sid, namespace="/chat", timeout=5)
    record("server", "/chat", "ask", ["q?"], ack={"args": [r]})
    await sio.emit("blob", b"\xde\xad\xbe\xef\x00")
    record("server", "/", "blob", [b"\xde\xad\xbe\xef\x00"])
    await got.get()
    r = await client.call("chat message", "bye", namespace="/chat", timeout=5)
    record("client", "/chat", "chat message", ["bye"], ack={"args": [r]})
    await asyncio.sleep(0.1)
    await client.disconnect()
    await asyncio.sleep(0.3)

    # A second client that stays on HTTP long-polling (transports=["polling"]).
    poller = socketio.AsyncClient()
    await poller.connect(f"http://127.0.0.1:{PORT}", namespaces=["/chat"], transports=["polling"])
    await asyncio.sleep(0.1)
    r = await poller.call("chat message", "polled", namespace="/chat", timeout=5)
    record("client", "/chat", "chat message", ["polled"], ack={"args": [r]}, transport="polling")
    await poller.disconnect()
    await asyncio.sleep(0.3)
    await runner.cleanup()

    manifest = {
        "sample": "socketio.pcap",
        "libraries": {n: importlib.metadata.version(n)
                      for n in ("python-socketio", "python-engineio", "aiohttp")},
        "server": ["127.0.0.1", PORT],
        "engineio": 4,
        "transports": ["polling", "websocket"],
        "namespaces": ["/", "/chat"],
        "sent": sent,
        "note": "application-level sends in order; ack.args = what the handler returned",
    }
    with open(os.path.join(SAMPLES, "socketio.sent.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


asyncio.run(main())
