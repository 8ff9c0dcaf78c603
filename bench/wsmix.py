#!/usr/bin/env python3
"""A second small-frame capture generator for bench/run.sh, written independently of
examples/gencap (another language, another traffic shape), so the benchmark is not tuned to
one generator's file.

Traffic: CONNS WebSocket connections open at any time over Ethernet/IPv4/TCP (RFC 6455 on
RFC 9293), interleaved packet by packet; each runs a short life (handshake, a few hundred
messages, a close handshake with one of many close codes, FIN both ways) and is replaced by
a new one, so a capture holds thousands of handshakes and closes. Messages: mostly tiny JSON
text (2-60 bytes, some non-ASCII), some medium text and binary, a few 1-8 KiB (16-bit
length), rare 70 KiB (64-bit length, split over many TCP segments); 20 % of data messages
fragmented into 2-5 frames with pings between fragments; pings answered by pongs, some
unsolicited pongs; client frames masked with a random key; sometimes two or three frames
coalesced in one segment, sometimes a frame split over two segments, pure ACKs now and then.

Writes a pcap (microsecond, LINKTYPE_ETHERNET) to --out and prints one JSON line of counts
(packets, frames, frames_by_opcode, messages, close_frames, connections, ...): what a decoder
must find. Usage: wsmix.py --size-mb 200 --conns 64 --seed 1 --out F.pcap > F.counts.json
"""

import argparse
import base64
import hashlib
import json
import random
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MSS = 1460
CLOSE_CODES = [1000, 1000, 1000, 1001, 1001, 1003, 1008, 1011, 1012, 1013, 3000, 3999, 4000, 4321, 4999, None]
WORDS = ["alpha", "beta", "gamma", "délai", "naïve", "日本", "ünïcödé", "x", "tick", "price", "ok", "€"]


def checksum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.usec = 1_700_000_000 * 1_000_000
        self.packets = 0
        self.bytes = 24

    def packet(self, src, dst, sport, dport, seq, ack, flags, payload, rng):
        self.usec += rng.randint(1, 40)
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", checksum16(ip)) + ip[12:]
        eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
        frame = eth + ip + tcp + payload
        self.f.write(struct.pack("<IIII", self.usec // 1_000_000, self.usec % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)
        self.packets += 1
        self.bytes += 16 + len(frame)


def ws_frame(fin, opcode, payload, mask_key):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    m = 0x80 if mask_key else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if mask_key:
        key = mask_key * (n // 4 + 1)
        payload = bytes(a ^ b for a, b in zip(payload, key)) if n < 512 else (
            int.from_bytes(payload, "big") ^ int.from_bytes(key[:n], "big")).to_bytes(n, "big")
        return head + mask_key + payload
    return head + payload


class Conn:
    def __init__(self, idx, rng):
        self.cip = bytes([10, 1, (idx >> 8) & 255, idx & 255])
        self.sip = bytes([10, 0, 0, 2])
        self.cport = 20000 + (idx % 40000)
        self.sport = 8080
        self.cseq = rng.randrange(1 << 32)
        self.sseq = rng.randrange(1 << 32)
        self.state = "syn"
        self.left = rng.randint(80, 600)  # messages before closing
        self.pending = []  # (from_client, frame bytes) queued to send
        self.pings = []  # ping payloads awaiting a pong, per direction


class Gen:
    def __init__(self, args):
        self.rng = random.Random(args.seed)
        self.w = Writer(args.out)
        self.limit = args.size_mb * 1_000_000
        self.counts = {"frames": 0, "messages": 0, "close_frames": 0, "connections": 0,
                       "handshakes": 0, "closed_connections": 0, "fragmented_messages": 0,
                       "frames_len16": 0, "frames_len64": 0, "payload_bytes": 0,
                       "frames_by_opcode": {k: 0 for k in ["continuation", "text", "binary", "close", "ping", "pong"]}}
        self.next_idx = 0
        self.conns = [self.new_conn() for _ in range(args.conns)]

    def new_conn(self):
        c = Conn(self.next_idx, self.rng)
        self.next_idx += 1
        self.counts["connections"] += 1
        return c

    def send(self, c, from_client, payload, flags=0x18):
        rng = self.rng
        if from_client:
            src, dst, sp, dp, seq, ack = c.cip, c.sip, c.cport, c.sport, c.cseq, c.sseq
        else:
            src, dst, sp, dp, seq, ack = c.sip, c.cip, c.sport, c.cport, c.sseq, c.cseq
        for i in range(0, max(len(payload), 1), MSS):
            part = payload[i:i + MSS]
            self.w.packet(src, dst, sp, dp, seq, ack, flags, part, rng)
            seq += len(part)
        if from_client:
            c.cseq = seq
        else:
            c.sseq = seq

    def count_frame(self, opcode, payload):
        name = ["continuation", "text", "binary", None, None, None, None, None, "close", "ping", "pong"][opcode]
        self.counts["frames"] += 1
        self.counts["frames_by_opcode"][name] += 1
        self.counts["payload_bytes"] += len(payload)
        if 126 <= len(payload) < 65536:
            self.counts["frames_len16"] += 1
        elif len(payload) >= 65536:
            self.counts["frames_len64"] += 1

    def frame(self, c, from_client, fin, opcode, payload):
        self.count_frame(opcode, payload)
        key = bytes(self.rng.randrange(256) for _ in range(4)) if from_client else b""
        c.pending.append((from_client, ws_frame(fin, opcode, payload, key)))

    def flush(self, c):
        """Sends queued frames: coalesced two or three per segment sometimes, split sometimes."""
        rng = self.rng
        while c.pending:
            side, data = c.pending.pop(0)
            while c.pending and c.pending[0][0] == side and rng.random() < 0.25 and len(data) < 400:
                data += c.pending.pop(0)[1]
            if len(data) > 8 and rng.random() < 0.08:
                cut = rng.randint(1, len(data) - 1)
                self.send(c, side, data[:cut])
                self.send(c, side, data[cut:])
            else:
                self.send(c, side, data)
            if rng.random() < 0.1:
                self.send(c, not side, b"", 0x10)  # a pure ACK

    def payload(self):
        rng = self.rng
        r = rng.random()
        if r < 0.70:
            text = json.dumps({"t": rng.choice(WORDS), "n": rng.randint(0, 999)}, ensure_ascii=False)
            return 1, text.encode()[: rng.randint(2, 60)].decode("utf-8", "ignore").encode()
        if r < 0.85:
            text = json.dumps({"items": [rng.choice(WORDS) for _ in range(rng.randint(5, 60))]}, ensure_ascii=False)
            return 1, text.encode()
        if r < 0.95:
            return 2, rng.randbytes(rng.randint(1, 600))
        if r < 0.9995:
            return rng.choice([1, 2]), (b"y" * rng.randint(1024, 8192))
        return 2, rng.randbytes(70_000)

    def step(self, c):
        rng = self.rng
        if c.state == "syn":
            self.send(c, True, b"", 0x02)
            c.cseq += 1
            self.send(c, False, b"", 0x12)
            c.sseq += 1
            self.send(c, True, b"", 0x10)
            key = base64.b64encode(rng.randbytes(16))
            req = (b"GET /mix HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
            self.send(c, True, req)
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.send(c, False, resp)
            self.counts["handshakes"] += 1
            c.state = "open"
            return
        if c.state == "open" and c.left > 0:
            c.left -= 1
            side = rng.random() < 0.5
            r = rng.random()
            if r < 0.08:
                ping = rng.randbytes(rng.randint(0, 16))
                self.frame(c, side, True, 9, ping)
                self.frame(c, not side, True, 10, ping)
            elif r < 0.09:
                self.frame(c, side, True, 10, b"")  # unsolicited pong
            else:
                opcode, data = self.payload()
                self.counts["messages"] += 1
                if rng.random() < 0.2 and len(data) >= 2:
                    self.counts["fragmented_messages"] += 1
                    parts = rng.randint(2, min(5, len(data)))
                    cuts = sorted(rng.sample(range(1, len(data)), parts - 1))
                    pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
                    for i, piece in enumerate(pieces):
                        self.frame(c, side, i == len(pieces) - 1, opcode if i == 0 else 0, piece)
                        if i < len(pieces) - 1 and rng.random() < 0.3:
                            ping = rng.randbytes(4)
                            self.frame(c, side, True, 9, ping)
                            self.frame(c, not side, True, 10, ping)
                else:
                    self.frame(c, side, True, opcode, data)
            self.flush(c)
            return
        # Close handshake, from either side, then FIN both ways.
        side = rng.random() < 0.5
        code = rng.choice(CLOSE_CODES)
        body = b"" if code is None else struct.pack("!H", code) + rng.choice([b"", b"bye", "fin é".encode()])
        self.frame(c, side, True, 8, body)
        self.frame(c, not side, True, 8, body[:2])
        self.counts["close_frames"] += 2
        self.flush(c)
        self.send(c, side, b"", 0x11)
        c.cseq += 1 if side else 0
        c.sseq += 0 if side else 1
        self.send(c, not side, b"", 0x11)
        c.cseq += 0 if side else 1
        c.sseq += 1 if side else 0
        self.send(c, side, b"", 0x10)
        self.counts["closed_connections"] += 1
        c.state = "done"

    def run(self):
        rng = self.rng
        while self.w.bytes < self.limit:
            i = rng.randrange(len(self.conns))
            c = self.conns[i]
            self.step(c)
            if c.state == "done":
                self.conns[i] = self.new_conn()
        for c in self.conns:  # everything ends cleanly
            while c.state != "done":
                c.left = 0 if c.state == "open" else c.left
                self.step(c)
        self.w.f.close()
        out = {"packets": self.w.packets, "file_bytes": self.w.bytes}
        out.update(self.counts)
        print(json.dumps(out, separators=(",", ":")))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size-mb", type=int, default=20)
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    Gen(p.parse_args()).run()


if __name__ == "__main__":
    main()
