#!/usr/bin/env python3
"""Small servers written for the phoenix.pcap and actioncable.pcap samples, speaking the
protocols their official JS clients expect (neither Phoenix/Elixir nor Rails installs here),
with the `websockets` library. Each runs its client (phoenix_client.js or
actioncable_client.js, Node, NODE_PATH set by the caller) as a subprocess and stops when it
exits; the client writes the manifest.

phoenix: `/socket/websocket?vsn=2.0.0`, the V2 serializer (JSON arrays [join_ref, ref,
  topic, event, payload]; binary pushes of kind 0 answered by binary replies of kind 1).
  phx_join of room:lobby -> reply ok {"welcome": user}; of room:secret -> reply error
  {"reason": "unauthorized"}; "new_msg" -> reply ok {"echo": body} and a broadcast
  [null, null, topic, "new_msg", payload]; "upload" (binary) -> binary reply ok with the byte
  count as 4 bytes big-endian; heartbeat -> reply ok {}; phx_leave -> reply ok, then
  [join_ref, join_ref, topic, "phx_close", {}].
actioncable: `/cable`, subprotocol actioncable-v1-json. welcome on connect; a ping every
  0.5 s (Rails: 3 s) while the connection is open; subscribe to ChatChannel ->
  confirm_subscription, to SecretChannel -> reject_subscription; message command with
  action "speak" -> broadcast {"identifier", "message": {"body", "from": "server"}}; action
  "bye" -> {"type": "disconnect", "reason": "remote", "reconnect": false} and close.
Usage: python3 channels_server.py phoenix|actioncable PORT
"""
import asyncio
import json
import os
import subprocess
import sys
import time

from websockets.asyncio.server import serve

MODE = sys.argv[1]
PORT = int(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))


async def phoenix(ws):
    async for raw in ws:
        if isinstance(raw, bytes):
            # kind 0 push from the client: join_ref, ref, topic, event sizes
            kind, jl, rl, tl, el = raw[:5]
            pos = 5
            join_ref = raw[pos:pos + jl].decode(); pos += jl
            ref = raw[pos:pos + rl].decode(); pos += rl
            topic = raw[pos:pos + tl].decode(); pos += tl
            pos += el
            data = raw[pos:]
            status = b"ok"
            head = bytes([1, len(join_ref), len(ref), len(topic), len(status)])
            await ws.send(head + join_ref.encode() + ref.encode() + topic.encode() + status
                          + len(data).to_bytes(4, "big"))
            continue
        join_ref, ref, topic, event, payload = json.loads(raw)

        def reply(status, response):
            return json.dumps([join_ref, ref, topic, "phx_reply",
                               {"status": status, "response": response}])
        if event == "phx_join":
            if topic == "room:secret":
                await ws.send(reply("error", {"reason": "unauthorized"}))
            else:
                await ws.send(reply("ok", {"welcome": payload.get("user")}))
        elif event == "heartbeat":
            await ws.send(reply("ok", {}))
        elif event == "new_msg":
            await ws.send(reply("ok", {"echo": payload.get("body")}))
            await ws.send(json.dumps([None, None, topic, "new_msg", payload]))
        elif event == "phx_leave":
            await ws.send(reply("ok", {}))
            await ws.send(json.dumps([join_ref, join_ref, topic, "phx_close", {}]))


async def actioncable(ws):
    await ws.send(json.dumps({"type": "welcome"}))

    async def pings():
        while True:
            await asyncio.sleep(0.5)
            await ws.send(json.dumps({"type": "ping", "message": int(time.time())}))

    pinger = asyncio.create_task(pings())
    try:
        async for raw in ws:
            m = json.loads(raw)
            ident = m.get("identifier")
            channel = json.loads(ident).get("channel")
            if m["command"] == "subscribe":
                t = "confirm_subscription" if channel == "ChatChannel" else "reject_subscription"
                await ws.send(json.dumps({"identifier": ident, "type": t}))
            elif m["command"] == "message":
                data = json.loads(m["data"])
                if data.get("action") == "speak":
                    await ws.send(json.dumps({"identifier": ident, "message": {
                        "body": data.get("body"), "from": "server"}}))
                elif data.get("action") == "bye":
                    await ws.send(json.dumps({"type": "disconnect", "reason": "remote",
                                              "reconnect": False}))
                    await ws.close()
    finally:
        pinger.cancel()


async def main():
    handler = phoenix if MODE == "phoenix" else actioncable
    kw = {"subprotocols": ["actioncable-v1-json"]} if MODE == "actioncable" else {}
    async with serve(handler, "127.0.0.1", PORT, compression=None, **kw):
        client = os.path.join(HERE, f"{MODE}_client.js")
        proc = await asyncio.create_subprocess_exec("node", client, str(PORT))
        rc = await proc.wait()
        if rc != 0:
            sys.exit(rc)


asyncio.run(main())
