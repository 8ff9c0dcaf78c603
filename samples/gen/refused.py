#!/usr/bin/env python3
"""refused.pcap traffic: Python websockets server whose process_request refuses upgrades.
Two connections from the Python websockets client, both to 127.0.0.1:PORT:
  1. GET /forbidden (upgrade request) -> "HTTP/1.1 403 Forbidden", body "Forbidden: no WebSocket here\n"
  2. GET /missing   (upgrade request) -> "HTTP/1.1 404 Not Found", body "Not found: /missing\n"
No WebSocket frames at all.  The server closes each TCP connection after the response.
Usage: refused.py [PORT]
"""
import asyncio
import sys
from http import HTTPStatus

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import InvalidStatus

from common import write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9107
BODY403 = "Forbidden: no WebSocket here\n"
BODY404 = "Not found: /missing\n"


def process_request(connection, request):
    if request.path == "/forbidden":
        return connection.respond(HTTPStatus.FORBIDDEN, BODY403)
    return connection.respond(HTTPStatus.NOT_FOUND, BODY404)


async def handler(ws):  # never reached
    await ws.close()


async def attempt(path):
    try:
        async with connect(f"ws://127.0.0.1:{PORT}{path}", compression=None, ping_interval=None,
                           open_timeout=5):
            raise AssertionError("upgrade unexpectedly accepted")
    except InvalidStatus as e:
        return e.response.status_code, e.response.body.decode()


async def main():
    conns = []
    async with serve(handler, "127.0.0.1", PORT, compression=None, ping_interval=None,
                     process_request=process_request):
        for path, want, body in (("/forbidden", 403, BODY403), ("/missing", 404, BODY404)):
            status, got = await attempt(path)
            assert status == want and got == body, (status, got)
            conns.append({
                "server": ["127.0.0.1", PORT],
                "http": [{"dir": "c2s", "request": f"GET {path} HTTP/1.1", "upgrade": True},
                         {"dir": "s2c", "status": want,
                          "status_line": f"HTTP/1.1 {want} {HTTPStatus(want).phrase}",
                          "body": body, "content_length": len(body)}],
                "frames": [],
                "websocket": False,
            })
            await asyncio.sleep(0.1)
    write_manifest("refused", {
        "file": "refused.pcap", "link_type": "EN10MB (lo)", "real": True,
        "generator": "samples/gen/refused.py", "libraries": "python websockets 17.4 (client and server)",
        "connections": conns,
    })


asyncio.run(asyncio.wait_for(main(), 20))
