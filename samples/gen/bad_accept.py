#!/usr/bin/env python3
"""bad-accept.pcap / no-accept.pcap traffic: raw-socket client and server (threads).
Real TCP on 127.0.0.1:PORT, HAND-BUILT handshake response and frames.
The client sends a normal upgrade request (RFC 6455 sample key dGhlIHNhbXBsZSBub25jZQ==,
correct accept would be s3pPLMBiTxaQ9kYGzzhZRbK+xOo=).  The server answers 101 with
  mode "wrong":   Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=   (wrong value)
  mode "missing": no Sec-WebSocket-Accept header at all
and then both sides exchange frames anyway (a real client would fail the connection):
  s2c text "server speaks first"
  c2s masked text "client replies" (key a5a5a5a5)
  s2c binary 01 02 03
  c2s masked close 1002 "bad accept" (key 5a5a5a5a); s2c close 1002 "bad accept"; server closes TCP.
Usage: bad_accept.py PORT wrong|missing
"""
import socket
import sys
import threading
import time

from common import (RFC_KEY, accept_for, build_frame, close_payload, frame_entry,
                    recv_frames, recv_until, switching_response, upgrade_request,
                    write_manifest)

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9109
MODE = sys.argv[2] if len(sys.argv) > 2 else "wrong"
WRONG = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
ACCEPT = WRONG if MODE == "wrong" else None
NAME = "bad-accept" if MODE == "wrong" else "no-accept"
K1, K2 = bytes.fromhex("a5a5a5a5"), bytes.fromhex("5a5a5a5a")
CLOSE = close_payload(1002, "bad accept")
errors = []


def server(lsock):
    try:
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head, buf = recv_until(conn)
        conn.sendall(switching_response(RFC_KEY, accept=ACCEPT))
        time.sleep(0.05)
        conn.sendall(build_frame(1, "server speaks first"))
        fr, buf = recv_frames(conn, 1, buf)
        time.sleep(0.05)
        conn.sendall(build_frame(2, b"\x01\x02\x03"))
        fr, buf = recv_frames(conn, 1, buf)
        assert fr[0][1] == 8
        conn.sendall(build_frame(8, CLOSE))
        time.sleep(0.05)
        conn.close()
    except Exception as e:
        errors.append(e)
    finally:
        lsock.close()


def main():
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", PORT))
    lsock.listen(1)
    lsock.settimeout(10)
    t = threading.Thread(target=server, args=(lsock,), daemon=True)
    t.start()
    c = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cport = c.getsockname()[1]
    c.sendall(upgrade_request("127.0.0.1:%d" % PORT, "/bad"))
    head, buf = recv_until(c)
    fr, buf = recv_frames(c, 1, buf)
    c.sendall(build_frame(1, "client replies", mask_key=K1))
    fr, buf = recv_frames(c, 1, buf)
    time.sleep(0.05)
    c.sendall(build_frame(8, CLOSE, mask_key=K2))
    fr, buf = recv_frames(c, 1, buf)
    c.settimeout(2)
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()
    t.join(5)
    if errors:
        raise errors[0]
    write_manifest(NAME, {
        "file": NAME + ".pcap", "link_type": "EN10MB (lo)", "real": True,
        "hand_built_frames": True, "generator": "samples/gen/bad_accept.py " + MODE,
        "libraries": "none: raw Python sockets on both sides",
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /bad HTTP/1.1", "upgrade": True,
                      "sec_websocket_key": RFC_KEY},
                     {"dir": "s2c", "status": 101, "sec_websocket_accept": ACCEPT,
                      "expected_accept": accept_for(RFC_KEY),
                      "accept_problem": "wrong value" if MODE == "wrong" else "header missing"}],
            "frames": [
                frame_entry("s2c", 1, "server speaks first"),
                frame_entry("c2s", 1, "client replies", mask_key=K1),
                frame_entry("s2c", 2, b"\x01\x02\x03"),
                frame_entry("c2s", 8, CLOSE, mask_key=K2),
                frame_entry("s2c", 8, CLOSE, note="close echo"),
            ],
            "close": {"initiator": "client", "code": 1002, "reason": "bad accept",
                      "echo": {"code": 1002, "reason": "bad accept"}},
        }],
    })


main()
