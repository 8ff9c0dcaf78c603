#!/usr/bin/env python3
"""seed000.pcap - HAND-CRAFTED (struct-built) reconstruction of the Wireshark packet list in
/work/shared/seeds/000_eddd21dbe43e3d72.txt (packets 89-110, a macOS lo0 capture that is
not available to us).  Link type NULL (LINKTYPE_NULL = 0, 4-byte address family in
little-endian host order: 2 = IPv4, 30 = IPv6 on macOS).

Packets 1-88: filler UDP datagrams 127.0.0.1:50000 -> 127.0.0.1:50001 (payload "filler NNN"),
so that numbering and relative times line up with the seed (packet 1 at 0.000000).
Packets 89-108: one TCP connection 127.0.0.1:58901 -> 127.0.0.1:2021 with macOS-style options
(SYN: MSS 16344, NOP, WS 6, NOP, NOP, TS, SACK_PERM, EOL padding = 24 option bytes;
others: NOP, NOP, TS = 12 bytes), a 312-byte HTTP upgrade request, a 268-byte 101 response
with the correct Sec-WebSocket-Accept, a masked Continuation frame (FIN, 31 B payload),
an unmasked Continuation frame (FIN, 27 B), server Close 1000, client masked Close 1000,
FIN/ACK teardown.  Packets 109-110: IPv6 ::1 SYN 58902 -> 9229 answered by RST,ACK.
Usage: seed000.py [OUTFILE]
"""
import base64
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SAMPLES, accept_for, build_frame, close_payload, frame_entry, write_manifest  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SAMPLES, "seed000.pcap")
T0 = 1700000000  # arbitrary absolute epoch second for packet 1
KEY = "hj0eNqbhE/A0GkBXDRrYYw=="
C_ISN, S_ISN = 0x1A2B3C4D, 0x5E6F7081
CPORT, SPORT = 58901, 2021
CLIENT_CONT = b"client continuation payload #01"     # 31 bytes
SERVER_CONT = b"server continuation reply!!"         # 27 bytes
MASK1, MASK2 = bytes.fromhex("3c1d8e55"), bytes.fromhex("a7042b9f")
assert len(CLIENT_CONT) == 31 and len(SERVER_CONT) == 27


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


IP_ID = [0x1000]


def ipv4(proto, payload_fn, src=b"\x7f\0\0\1", dst=b"\x7f\0\0\1"):
    IP_ID[0] += 1
    pseudo = src + dst + struct.pack("!BBH", 0, proto, 0)  # length filled by caller
    seg = payload_fn(src, dst)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), IP_ID[0], 0x4000, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return struct.pack("<I", 2) + hdr + seg


def ipv6(proto, seg, src=b"\0" * 15 + b"\1", dst=b"\0" * 15 + b"\1"):
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(seg), proto, 64, src, dst)
    return struct.pack("<I", 30) + hdr + seg


def tcp_seg(sport, dport, seq, ack, flags, win, opts, payload, pseudo_fn):
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      off << 4, flags, win, 0, 0) + opts
    seg = hdr + payload
    c = csum(pseudo_fn(len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def pseudo4(src, dst, proto):
    return lambda n: src + dst + struct.pack("!BBH", 0, proto, n)


def pseudo6(src, dst, proto):
    return lambda n: src + dst + struct.pack("!I3xB", n, proto)


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def syn_opts(mss, tsval, tsecr):
    o = (struct.pack("!BBH", 2, 4, mss) + b"\x01" + struct.pack("!BBB", 3, 3, 6) + b"\x01\x01"
         + struct.pack("!BBII", 8, 10, tsval, tsecr) + b"\x04\x02")
    return o + b"\0" * (24 - len(o))          # EOL + padding


def ts_opts(tsval, tsecr):
    return b"\x01\x01" + struct.pack("!BBII", 8, 10, tsval, tsecr)


def v4tcp(sport, dport, seq, ack, flags, win, opts, payload=b""):
    return ipv4(6, lambda s, d: tcp_seg(sport, dport, seq, ack, flags, win, opts, payload,
                                        pseudo4(s, d, 6)))


def udp4(sport, dport, payload):
    def mk(s, d):
        seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        c = csum(pseudo4(s, d, 17)(len(seg)) + seg) or 0xFFFF
        return seg[:6] + struct.pack("!H", c) + seg[8:]
    return ipv4(17, mk)


def http_request():
    head = ("GET /ws HTTP/1.1\r\n"
            "Host: 127.0.0.1:2021\r\n"
            "Connection: Upgrade\r\n"
            "Upgrade: websocket\r\n"
            "Sec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Accept-Encoding: gzip, deflate\r\n"
            "Pragma: no-cache\r\n"
            "Cache-Control: no-cache\r\n" % KEY)
    tail = "\r\n\r\n"
    ua = "User-Agent: "
    pad = 312 - len(head) - len(ua) - len(tail)
    base = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    ua_val = (base + " Version/16.0 Safari/605.1.15 " + "x" * 400)[:pad]
    req = (head + ua + ua_val.rstrip() + "x" * (pad - len(ua_val.rstrip())) + tail).encode()
    assert len(req) == 312, len(req)
    return req


def http_response():
    head = ("HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n" % accept_for(KEY))
    tail = "\r\n\r\n"
    srv = "Server: "
    pad = 268 - len(head) - len(srv) - len(tail)
    val = ("seed-reconstruction/1.0 " + "-" * 300)[:pad]
    resp = (head + srv + val + tail).encode()
    assert len(resp) == 268, len(resp)
    return resp


def build():
    pkts = []
    # packets 1-88: filler
    for i in range(88):
        t = 0.0 if i == 0 else round(i * 0.021, 6)
        pkts.append((t, udp4(50000, 50001, b"filler %03d" % (i + 1))))
    c, s = C_ISN, S_ISN
    REQ, RESP = http_request(), http_response()
    F1 = build_frame(0, CLIENT_CONT, fin=True, mask_key=MASK1)
    F2 = build_frame(0, SERVER_CONT, fin=True)
    F3 = build_frame(8, close_payload(1000))
    F4 = build_frame(8, close_payload(1000), mask_key=MASK2)
    assert (len(F1), len(F2), len(F3), len(F4)) == (37, 29, 4, 8)
    TA, TB = 851165646, 851165647
    C, S = (CPORT, SPORT), (SPORT, CPORT)
    seq = [
        # (time, dir, rel_seq, rel_ack, flags, win_raw, opts, payload)
        (1.943976, C, 0, 0, SYN, 65535, syn_opts(16344, TA, 0), b""),
        (1.944120, S, 0, 1, SYN | ACK, 65535, syn_opts(16344, TA, TA), b""),
        (1.944128, C, 1, 1, ACK, 6379, ts_opts(TA, TA), b""),
        (1.944134, S, 1, 1, ACK, 6379, ts_opts(TA, TA), b""),
        (1.944391, C, 1, 1, PSH | ACK, 6379, ts_opts(TA, TA), REQ),
        (1.944404, S, 1, 313, ACK, 6374, ts_opts(TA, TA), b""),
        (1.944571, S, 1, 313, PSH | ACK, 6374, ts_opts(TA, TA), RESP),
        (1.944581, C, 313, 269, ACK, 6375, ts_opts(TA, TA), b""),
        (1.944824, C, 313, 269, PSH | ACK, 6375, ts_opts(TB, TA), F1),
        (1.944834, S, 269, 350, ACK, 6374, ts_opts(TB, TB), b""),
        (1.945229, S, 269, 350, PSH | ACK, 6374, ts_opts(TB, TB), F2),
        (1.945240, C, 350, 298, ACK, 6375, ts_opts(TB, TB), b""),
        (1.945259, S, 298, 350, PSH | ACK, 6374, ts_opts(TB, TB), F3),
        (1.945270, C, 350, 302, ACK, 6374, ts_opts(TB, TB), b""),
        (1.945337, C, 350, 302, PSH | ACK, 6374, ts_opts(TB, TB), F4),
        (1.945346, S, 302, 358, ACK, 6374, ts_opts(TB, TB), b""),
        (1.945396, C, 358, 302, FIN | ACK, 6374, ts_opts(TB, TB), b""),
        (1.945409, S, 302, 359, ACK, 6374, ts_opts(TB, TB), b""),
        (1.945435, S, 302, 359, FIN | ACK, 6374, ts_opts(TB, TB), b""),
        (1.945460, C, 359, 303, ACK, 6374, ts_opts(TB, TB), b""),
    ]
    for t, d, rs, ra, fl, win, opts, pl in seq:
        if d == C:
            sq, ak = C_ISN + rs, (S_ISN + ra if fl & ACK else 0)
        else:
            sq, ak = S_ISN + rs, C_ISN + ra
        pkts.append((t, v4tcp(d[0], d[1], sq, ak, fl, win, opts, pl)))
    # 109/110: IPv6 SYN to a closed port and the RST,ACK
    lo6 = b"\0" * 15 + b"\1"
    isn6 = 0x7B1C2D3E
    syn6 = tcp_seg(58902, 9229, isn6, 0, SYN, 65535, syn_opts(16324, 851165708, 0), b"",
                   pseudo6(lo6, lo6, 6))
    rst6 = tcp_seg(9229, 58902, 0, isn6 + 1, RST | ACK, 0, b"", b"", pseudo6(lo6, lo6, 6))
    pkts.append((2.006821, ipv6(6, syn6)))
    pkts.append((2.006841, ipv6(6, rst6)))
    return pkts, REQ, RESP


def main():
    pkts, REQ, RESP = build()
    with open(OUT, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 0))  # LINKTYPE_NULL
        for t, p in pkts:
            us = int(round(t * 1e6))
            f.write(struct.pack("<IIII", T0 + us // 1000000, us % 1000000, len(p), len(p)))
            f.write(p)
    write_manifest("seed000", {
        "file": "seed000.pcap", "link_type": "NULL (LINKTYPE_NULL=0, BSD loopback, little-endian family)",
        "real": False, "hand_crafted": True, "generator": "samples/gen/seed000.py",
        "seed": "shared/seeds/000_eddd21dbe43e3d72.txt packets 89-110",
        "filler": "packets 1-88: UDP 127.0.0.1:50000 -> 127.0.0.1:50001, payload 'filler NNN'",
        "connections": [{
            "client": ["127.0.0.1", CPORT], "server": ["127.0.0.1", SPORT],
            "http": [{"dir": "c2s", "request": "GET /ws HTTP/1.1", "upgrade": True, "len": len(REQ),
                      "sec_websocket_key": KEY, "frame": 93},
                     {"dir": "s2c", "status": 101, "len": len(RESP),
                      "sec_websocket_accept": accept_for(KEY), "frame": 95}],
            "frames": [
                dict(frame_entry("c2s", 0, CLIENT_CONT, mask_key=MASK1), frame=97),
                dict(frame_entry("s2c", 0, SERVER_CONT), frame=99),
                dict(frame_entry("s2c", 8, close_payload(1000)), frame=101),
                dict(frame_entry("c2s", 8, close_payload(1000), mask_key=MASK2), frame=103),
            ],
            "close": {"initiator": "server", "code": 1000, "reason": "",
                      "echo": {"code": 1000, "reason": ""}},
        }, {
            "client": ["::1", 58902], "server": ["::1", 9229], "http": [], "frames": [],
            "note": "SYN answered by RST,ACK (packets 109-110)",
        }],
    })


main()
