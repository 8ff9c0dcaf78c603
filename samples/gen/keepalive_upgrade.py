#!/usr/bin/env python3
"""keepalive-then-upgrade.pcap traffic: raw-socket client and server (threads, one process),
ONE TCP connection to 127.0.0.1:PORT:
  1. c2s "GET /hello HTTP/1.1" (plain, no upgrade)
     s2c "HTTP/1.1 200 OK", Content-Length: 13, Connection: keep-alive, body "Hello, HTTP!\n"
  2. c2s "GET /ws HTTP/1.1" upgrade request (RFC 6455 sample key) on the SAME connection
     s2c "HTTP/1.1 101 Switching Protocols" with the correct Sec-WebSocket-Accept
  3. c2s masked text "after keep-alive" (key 0badc0de); s2c text "upgraded"
  4. c2s masked close 1000 with no reason (key 12345678); s2c close 1000 (no reason);
     server closes TCP first.
Frames are built by hand (real TCP, hand-built frames).
Usage: keepalive_upgrade.py [PORT]
"""
import socket
import sys
import threading
import time

from common import (RFC_KEY, accept_for, build_frame, close_payload, frame_entry,
                    header_value, recv_frames, recv_until, switching_response,
                    upgrade_request, write_manifest)

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9108
BODY = b"Hello, HTTP!\n"
GET = ("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: wsdissect-samples-rawclient\r\n"
       "Accept: */*\r\n\r\n" % PORT).encode()
OK = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
      b"Connection: keep-alive\r\n\r\n" % len(BODY)) + BODY
K1, K2 = bytes.fromhex("0badc0de"), bytes.fromhex("12345678")
errors = []


def server(lsock):
    try:
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head, buf = recv_until(conn)
        assert head.startswith(b"GET /hello ")
        conn.sendall(OK)
        head, buf = recv_until(conn, buf=buf)
        assert head.startswith(b"GET /ws ")
        conn.sendall(switching_response(header_value(head, "Sec-WebSocket-Key")))
        fr, buf = recv_frames(conn, 1, buf)
        assert fr[0][2] == b"after keep-alive"
        conn.sendall(build_frame(1, "upgraded"))
        fr, buf = recv_frames(conn, 1, buf)
        assert fr[0][1] == 8
        conn.sendall(build_frame(8, close_payload(1000)))
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
    c.sendall(GET)
    head, buf = recv_until(c)
    while len(buf) < len(BODY):
        buf += c.recv(4096)
    assert buf == BODY
    time.sleep(0.05)
    c.sendall(upgrade_request("127.0.0.1:%d" % PORT, "/ws"))
    head, buf = recv_until(c)
    assert head.startswith(b"HTTP/1.1 101")
    time.sleep(0.05)
    c.sendall(build_frame(1, "after keep-alive", mask_key=K1))
    fr, buf = recv_frames(c, 1, buf)
    time.sleep(0.05)
    c.sendall(build_frame(8, close_payload(1000), mask_key=K2))
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
    write_manifest("keepalive-then-upgrade", {
        "file": "keepalive-then-upgrade.pcap", "link_type": "EN10MB (lo)", "real": True,
        "hand_built_frames": True, "generator": "samples/gen/keepalive_upgrade.py",
        "libraries": "none: raw Python sockets on both sides",
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [
                {"dir": "c2s", "request": "GET /hello HTTP/1.1", "upgrade": False, "len": len(GET)},
                {"dir": "s2c", "status": 200, "status_line": "HTTP/1.1 200 OK",
                 "content_length": len(BODY), "body": BODY.decode(), "len": len(OK)},
                {"dir": "c2s", "request": "GET /ws HTTP/1.1", "upgrade": True,
                 "sec_websocket_key": RFC_KEY,
                 "len": len(upgrade_request("127.0.0.1:%d" % PORT, "/ws"))},
                {"dir": "s2c", "status": 101, "sec_websocket_accept": accept_for(RFC_KEY),
                 "len": len(switching_response(RFC_KEY))},
            ],
            "frames": [
                frame_entry("c2s", 1, "after keep-alive", mask_key=K1),
                frame_entry("s2c", 1, "upgraded"),
                frame_entry("c2s", 8, close_payload(1000), mask_key=K2, note="code only, no reason"),
                frame_entry("s2c", 8, close_payload(1000), note="close echo, code only"),
            ],
            "close": {"initiator": "client", "code": 1000, "reason": "",
                      "echo": {"code": 1000, "reason": ""}},
        }],
    })


main()
