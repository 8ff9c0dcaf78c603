#!/usr/bin/env python3
"""coalesced.pcap traffic: raw-socket client and raw-socket server (threads, one process).
Real TCP over 127.0.0.1, but the WebSocket frames are BUILT BY HAND (fixed mask keys).

Phase 1  handshake: GET /coalesced with the RFC 6455 sample key; 101 with the correct accept.
Phase 2  client -> ONE sendall with 4 masked frames: text "one", text "two",
         binary de ad be ef, ping "p".
         server -> ONE sendall with 4 frames: pong "p", text "uno", text "dos",
         binary 300 bytes (bytes(range(256)) + bytes(range(44)), 16-bit length).
Phase 3  client -> masked text frame of 100 bytes split over two sends:
         send A = header + mask + first 40 payload bytes; 0.1 s later
         send B = last 60 payload bytes + a complete masked text frame "tail".
Phase 4  client -> masked binary frame of 10 bytes (00..09) whose FIRST HEADER BYTE is sent
         alone; 0.1 s later the rest of the frame.
         server -> ONE sendall with a fragmented text message: "a" (op 1, FIN=0),
         "b" (op 0, FIN=0), "c" (op 0, FIN=1).
Phase 5  client -> masked close 1000 "coalesced done"; server -> close 1000 "coalesced done"
         then server closes TCP; client closes.
Usage: coalesced.py [PORT]
"""
import socket
import sys
import threading
import time

from common import (RFC_KEY, accept_for, build_frame, close_payload, frame_entry,
                    header_value, recv_frames, recv_until, switching_response,
                    upgrade_request, write_manifest)

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9103
K = [bytes.fromhex(h) for h in ("11223344", "55667788", "99aabbcc", "ddeeff00",
                                "0f1e2d3c", "a1b2c3d4", "01020304", "37fa213d")]
BIN300 = bytes(range(256)) + bytes(range(44))
LONG100 = ("0123456789" * 10)
CLOSE = close_payload(1000, "coalesced done")
frames_log = []
errors = []


def log(direction, opcode, payload, fin=True, key=None, note=None, text=None):
    frames_log.append(frame_entry(direction, opcode, payload, fin=fin,
                                  masked=key is not None, mask_key=key, note=note, text=text))


def server(lsock):
    try:
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head, buf = recv_until(conn)
        key = header_value(head, "Sec-WebSocket-Key")
        conn.sendall(switching_response(key))
        fr, buf = recv_frames(conn, 4, buf)
        assert [f[2] for f in fr] == [b"one", b"two", b"\xde\xad\xbe\xef", b"p"], fr
        out = (build_frame(10, b"p") + build_frame(1, "uno") + build_frame(1, "dos")
               + build_frame(2, BIN300))
        conn.sendall(out)
        fr, buf = recv_frames(conn, 3, buf)       # long100, tail, binary10
        assert fr[0][2] == LONG100.encode() and fr[1][2] == b"tail" and fr[2][2] == bytes(range(10))
        conn.sendall(build_frame(1, "a", fin=False) + build_frame(0, "b", fin=False)
                     + build_frame(0, "c", fin=True))
        fr, buf = recv_frames(conn, 1, buf)
        assert fr[0][1] == 8
        conn.sendall(build_frame(8, CLOSE))
        time.sleep(0.05)
        conn.close()
    except Exception as e:  # pragma: no cover
        errors.append(e)
    finally:
        lsock.close()


def main():
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", PORT))
    lsock.listen(1)
    lsock.settimeout(10)
    t = threading.Thread(target=server, args=(lsock,), daemon=True)
    t.start()

    c = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cport = c.getsockname()[1]
    c.sendall(upgrade_request("127.0.0.1:%d" % PORT, "/coalesced"))
    head, buf = recv_until(c)
    assert header_value(head, "Sec-WebSocket-Accept") == accept_for(RFC_KEY)
    time.sleep(0.05)

    # phase 2
    c.sendall(build_frame(1, "one", mask_key=K[0]) + build_frame(1, "two", mask_key=K[1])
              + build_frame(2, b"\xde\xad\xbe\xef", mask_key=K[2])
              + build_frame(9, b"p", mask_key=K[3]))
    log("c2s", 1, "one", key=K[0], note="phase 2: 4 frames in one segment")
    log("c2s", 1, "two", key=K[1])
    log("c2s", 2, b"\xde\xad\xbe\xef", key=K[2])
    log("c2s", 9, b"p", key=K[3], text="p")
    fr, buf = recv_frames(c, 4, buf)
    log("s2c", 10, b"p", text="p", note="phase 2: 4 frames in one segment")
    log("s2c", 1, "uno")
    log("s2c", 1, "dos")
    log("s2c", 2, BIN300)
    time.sleep(0.05)

    # phase 3
    f_long = build_frame(1, LONG100, mask_key=K[4])
    split = 2 + 4 + 40
    c.sendall(f_long[:split])
    time.sleep(0.1)
    c.sendall(f_long[split:] + build_frame(1, "tail", mask_key=K[5]))
    log("c2s", 1, LONG100, key=K[4],
        note="phase 3: split; first segment = header+mask+40 payload bytes (46 B), second = last 60 bytes + next frame")
    log("c2s", 1, "tail", key=K[5], note="phase 3: shares the segment with the end of the previous frame")
    time.sleep(0.1)

    # phase 4
    f_bin = build_frame(2, bytes(range(10)), mask_key=K[6])
    c.sendall(f_bin[:1])
    time.sleep(0.1)
    c.sendall(f_bin[1:])
    log("c2s", 2, bytes(range(10)), key=K[6],
        note="phase 4: first header byte (0x82) alone in one segment, rest (15 B) in the next")
    fr, buf = recv_frames(c, 3, buf)
    log("s2c", 1, "a", fin=False, note="phase 4: 3 fragments in one segment")
    log("s2c", 0, "b", fin=False, text="b")
    log("s2c", 0, "c", fin=True, text="c")
    time.sleep(0.05)

    # phase 5
    c.sendall(build_frame(8, CLOSE, mask_key=K[7]))
    log("c2s", 8, CLOSE, key=K[7])
    fr, buf = recv_frames(c, 1, buf)
    log("s2c", 8, CLOSE, note="close echo; server then closes TCP first")
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
    write_manifest("coalesced", {
        "file": "coalesced.pcap", "link_type": "EN10MB (lo)", "real": True,
        "hand_built_frames": True,
        "generator": "samples/gen/coalesced.py",
        "libraries": "none: raw Python sockets on both sides, frames built by hand",
        "permessage_deflate": False,
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "http": [{"dir": "c2s", "request": "GET /coalesced HTTP/1.1", "upgrade": True,
                      "sec_websocket_key": RFC_KEY},
                     {"dir": "s2c", "status": 101, "sec_websocket_accept": accept_for(RFC_KEY)}],
            "frames": frames_log,
            "close": {"initiator": "client", "code": 1000, "reason": "coalesced done",
                      "echo": {"code": 1000, "reason": "coalesced done"}},
        }],
    })


main()
