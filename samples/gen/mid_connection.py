#!/usr/bin/env python3
"""mid-connection.pcap: capture STARTED AFTER the WebSocket handshake (no SYN, no HTTP upgrade
in the file) - for the --ws-port option.  Python websockets server + client on 127.0.0.1:PORT.
This script starts tcpdump itself once the connection is open, waits for "listening on",
then:
  c2s text "after capture start"       s2c text "seen mid-connection"
  c2s binary bytes(range(200))         s2c binary bytes(range(200)) (echo)
  c2s close 1000 "mid done"            s2c close 1000 "mid done" (echo), server closes TCP.
Usage: mid_connection.py PORT OUTFILE
"""
import asyncio
import subprocess
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import close_payload, frame_entry, write_manifest

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9111
OUT = sys.argv[2] if len(sys.argv) > 2 else "mid-connection.pcap"
BIN = bytes(range(200))
REASON = "mid done"


async def handler(ws):
    m = await ws.recv()
    assert m == "after capture start"
    await ws.send("seen mid-connection")
    m = await ws.recv()
    await ws.send(m)
    try:
        await ws.recv()
    except Exception:
        pass


def start_tcpdump():
    p = subprocess.Popen(["timeout", "30", "tcpdump", "--immediate-mode", "-i", "lo", "-U", "-w", OUT,
                          "tcp port %d" % PORT], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 5
    line = ""
    while time.time() < deadline and "listening on" not in line:
        line = p.stderr.readline()
    time.sleep(0.3)
    return p


async def main():
    async with serve(handler, "127.0.0.1", PORT, compression=None, ping_interval=None):
        async with connect(f"ws://127.0.0.1:{PORT}/mid", compression=None,
                           ping_interval=None, open_timeout=5, close_timeout=5) as ws:
            cport = ws.local_address[1]
            td = await asyncio.to_thread(start_tcpdump)
            try:
                await ws.send("after capture start")
                assert await asyncio.wait_for(ws.recv(), 5) == "seen mid-connection"
                await asyncio.sleep(0.05)
                await ws.send(BIN)
                assert await asyncio.wait_for(ws.recv(), 5) == BIN
                await asyncio.sleep(0.05)
                await ws.close(1000, REASON)
            finally:
                await asyncio.sleep(0.5)
                td.send_signal(2)
                await asyncio.to_thread(td.wait, 5)
                print(td.stderr.read().strip().replace("\n", "; "))
    write_manifest("mid-connection", {
        "file": "mid-connection.pcap", "link_type": "EN10MB (lo)", "real": True,
        "generator": "samples/gen/mid_connection.py",
        "libraries": "python websockets 17.4 (client and server)",
        "note": "capture starts after the handshake: no SYN and no HTTP upgrade in the file",
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [],
            "frames": [
                frame_entry("c2s", 1, "after capture start"),
                frame_entry("s2c", 1, "seen mid-connection"),
                frame_entry("c2s", 2, BIN),
                frame_entry("s2c", 2, BIN, note="echo"),
                frame_entry("c2s", 8, close_payload(1000, REASON)),
                frame_entry("s2c", 8, close_payload(1000, REASON), note="close echo"),
            ],
            "close": {"initiator": "client", "code": 1000, "reason": REASON,
                      "echo": {"code": 1000, "reason": REASON}},
        }],
    })


asyncio.run(asyncio.wait_for(main(), 30))
