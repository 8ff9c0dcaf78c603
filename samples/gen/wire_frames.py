#!/usr/bin/env python3
"""Read the WebSocket frames back from a finished capture and tie a manifest to its packets.

Usage:
  wire_frames.py fill     NAME CAPTURE PORT   (library-generated deflate samples)
  wire_frames.py annotate NAME CAPTURE PORT   (hand-crafted violation samples)

Both modes rebuild every TCP stream to/from PORT from tshark's per-packet fields
(frame.number, tcp.stream, ports, relative tcp.seq, tcp.payload, SYN/FIN/RST flags),
skip the HTTP heads (request in c2s, response in s2c), and walk the frame headers.

fill: the libraries choose masking keys, RSV1 and the compressed lengths, so the generator
  only knows the application side (`messages`).  This mode writes the `frames` list of
  samples/NAME.sent.json from the wire (dir, opcode, fin, masked, rsv1, rsv, len = wire
  payload length (compressed), hex/sha256 of the unmasked wire payload, close_code/reason,
  first_packet/last_packet), checks it against tshark's own websocket fields (opcode, FIN,
  MASK, RSV, lengths), and then inflates every RSV1 message with Python zlib following the
  negotiated context-takeover parameters and checks that the result equals the manifest's
  `messages` (what the application passed to send()).  Any disagreement is a hard error.

annotate: the generator built every frame itself and listed it.  This mode checks that the
  wire holds exactly those frames (dir, opcode, fin, masked, mask key, rsv, payload bytes),
  and adds first_packet / last_packet to each frame and HTTP entry, and `packet` (+ first/last
  for frames) to each expected anomaly.  Where the manifest lists `messages`, the data
  messages on the wire must join (and, with RSV1, inflate) to exactly those.

first_packet = packet carrying the frame's first header byte; last_packet = packet carrying
its last byte (tshark shows a frame on that packet).
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)


def die(msg):
    print("wire_frames: " + msg, file=sys.stderr)
    sys.exit(1)


def tshark_packets(cap):
    out = subprocess.run(
        ["tshark", "-r", cap, "-o", "tcp.relative_sequence_numbers:TRUE", "-Y", "tcp", "-T", "fields",
         "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.payload", "-e", "tcp.flags.syn",
         "-e", "tcp.flags.fin", "-e", "tcp.flags.reset"],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        rows.append({"num": int(f[0]), "stream": int(f[1]), "sport": int(f[2]), "dport": int(f[3]),
                     "seq": int(f[4]), "len": int(f[5]), "payload": bytes.fromhex(f[6].replace(":", "")),
                     "syn": f[7] in ("1", "True"), "fin": f[8] in ("1", "True"),
                     "rst": f[9] in ("1", "True")})
    return rows


class Stream:
    """One direction of one TCP connection: contiguous bytes + which packet holds each range."""

    def __init__(self):
        self.data = b""
        self.pieces = []   # (start offset, end offset, packet number)

    def add(self, seq, payload, num):
        off = seq - 1      # relative seq 1 = first data byte
        end = off + len(payload)
        if end <= len(self.data):
            return         # retransmission of data already seen
        if off > len(self.data):
            die("gap in TCP stream at packet %d" % num)
        new = payload[len(self.data) - off:]
        self.pieces.append((len(self.data), len(self.data) + len(new), num))
        self.data += new

    def packet_at(self, off):
        for a, b, num in self.pieces:
            if a <= off < b:
                return num
        return None


def connections(cap, port):
    conns = {}
    for r in tshark_packets(cap):
        if port not in (r["sport"], r["dport"]):
            continue
        c = conns.setdefault(r["stream"], {"c2s": Stream(), "s2c": Stream(), "first": r["num"],
                                           "client_port": None, "fin": [], "rst": []})
        d = "c2s" if r["dport"] == port else "s2c"
        c["client_port"] = r["sport"] if d == "c2s" else r["dport"]
        if r["len"]:
            c[d].add(r["seq"], r["payload"], r["num"])
        if r["fin"]:
            c["fin"].append((d, r["num"]))
        if r["rst"]:
            c["rst"].append((d, r["num"]))
    return [conns[k] for k in sorted(conns, key=lambda k: conns[k]["first"])]


def split_http(st):
    """Return (head bytes or None, offset where frames start)."""
    d = st.data
    if d[:5] == b"HTTP/" or d.split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"HEAD"):
        i = d.find(b"\r\n\r\n")
        if i < 0:
            return d, len(d)
        return d[:i + 4], i + 4
    return None, 0


def walk_frames(st, off, direction):
    """Frames from offset off to the end of the stream (the last one may be truncated)."""
    d = st.data
    out = []
    while off < len(d):
        start = off
        if len(d) - off < 2:
            out.append({"dir": direction, "truncated": True, "start": start, "first_packet": st.packet_at(start),
                        "last_packet": st.packet_at(len(d) - 1), "bytes_present": len(d) - off})
            break
        b0, b1 = d[off], d[off + 1]
        n7 = b1 & 0x7F
        i = off + 2
        form = "7"
        if n7 == 126:
            n = struct.unpack("!H", d[i:i + 2])[0]
            i += 2
            form = "16"
        elif n7 == 127:
            n = struct.unpack("!Q", d[i:i + 8])[0]
            i += 8
            form = "64"
        else:
            n = n7
        key = None
        if b1 & 0x80:
            key = d[i:i + 4]
            i += 4
        f = {"dir": direction, "opcode": b0 & 0x0F, "fin": bool(b0 & 0x80), "rsv": (b0 >> 4) & 7,
             "masked": bool(b1 & 0x80), "mask_key": key.hex() if key else None, "len": n,
             "length_form": form, "start": start, "first_packet": st.packet_at(start)}
        avail = len(d) - i
        if avail < n:
            raw = d[i:]
            f["truncated"] = True
            f["bytes_present"] = avail
            f["last_packet"] = st.packet_at(len(d) - 1)
            off = len(d)
        else:
            raw = d[i:i + n]
            off = i + n
            f["last_packet"] = st.packet_at(off - 1)
        f["payload"] = bytes(c ^ key[j % 4] for j, c in enumerate(raw)) if key else raw
        out.append(f)
    return out


def wire_view(cap, port):
    res = []
    for c in connections(cap, port):
        view = {"client_port": c["client_port"], "fin": c["fin"], "rst": c["rst"], "http": {}, "frames": []}
        for d in ("c2s", "s2c"):
            head, off = split_http(c[d])
            if head is not None:
                view["http"][d] = {"head": head, "first_packet": c[d].packet_at(0),
                                   "last_packet": c[d].packet_at(len(head) - 1)}
            view["frames"] += walk_frames(c[d], off, d)
        # wire order across directions: by the packet that carries the first byte
        view["frames"].sort(key=lambda f: (f["first_packet"], f["dir"] == "s2c", f["start"]))
        res.append(view)
    return res


def tshark_ws(cap, port):
    """(opcode, fin, mask, rsv, real length) per frame as tshark decodes them, in packet order."""
    out = subprocess.run(
        ["tshark", "-r", cap, "-d", "tcp.port==%d,http" % port, "-Y", "websocket", "-T", "fields",
         "-e", "websocket.opcode", "-e", "websocket.fin", "-e", "websocket.mask", "-e", "websocket.rsv",
         "-e", "websocket.payload_length", "-e", "websocket.payload_length_ext_16",
         "-e", "websocket.payload_length_ext_64"], capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        ops, fins, masks, rsvs, l7, e16, e64 = line.split("\t")
        e16, e64 = iter(e16.split(",")), iter(e64.split(","))
        for op, fin, mask, rsv, n in zip(ops.split(","), fins.split(","), masks.split(","),
                                         rsvs.split(","), l7.split(",")):
            n = int(n)
            n = int(next(e16)) if n == 126 else int(next(e64)) if n == 127 else n
            res.append((int(op), int(fin), int(mask), int(rsv, 16), n))
    return res


def entry_from_wire(f):
    p = f["payload"]
    e = {"dir": f["dir"], "opcode": f["opcode"], "fin": f["fin"], "masked": f["masked"],
         "rsv1": bool(f["rsv"] & 4), "rsv": f["rsv"], "length_form": f["length_form"], "len": f["len"]}
    if f["opcode"] == 8 and len(p) >= 2:
        e["close_code"] = struct.unpack("!H", p[:2])[0]
        e["close_reason"] = p[2:].decode()
    if len(p) <= 1024:
        e["hex"] = p.hex()
    e["sha256"] = hashlib.sha256(p).hexdigest()
    e["first_packet"] = f["first_packet"]
    e["last_packet"] = f["last_packet"]
    return e


def ext_params(accepted):
    """Parameters of the accepted permessage-deflate offer, as a dict."""
    params = {}
    for part in accepted.split(";")[1:]:
        part = part.strip()
        if part:
            k, _, v = part.partition("=")
            params[k.strip()] = v.strip().strip('"') or True
    return params


def message_bytes(m):
    if "text" in m:
        return m["text"].encode()
    if "hex" in m:
        return bytes.fromhex(m["hex"])
    if m.get("pattern") == "zeros":
        return bytes(m["len"])
    die("message without text/hex: %r" % m)


def inflate_check(conn, frames):
    acc = conn.get("extensions", {}).get("accepted")
    params = ext_params(acc) if acc else {}
    reset = {"c2s": "client_no_context_takeover" in params, "s2c": "server_no_context_takeover" in params}
    for d in ("c2s", "s2c"):
        want = [m for m in conn["messages"] if m["dir"] == d]
        got = []
        z = zlib.decompressobj(-15)
        cur = None
        for f in frames:
            if f["dir"] != d or f["opcode"] >= 8:
                continue
            if f["opcode"] != 0:
                cur = {"op": f["opcode"], "rsv1": f["rsv1"], "parts": [], "frames": 0,
                       "skip": f.get("skip", False)}
            cur["parts"].append(bytes.fromhex(f["hex"]) if "hex" in f else f["_payload"])
            cur["frames"] += 1
            if f["fin"]:
                data = b"".join(cur["parts"])
                if cur["skip"]:
                    cur = None
                    continue
                if cur["rsv1"]:
                    if reset[d]:
                        z = zlib.decompressobj(-15)
                    data = z.decompress(data + b"\x00\x00\xff\xff")
                got.append((cur["op"], data, cur["rsv1"], cur["frames"]))
                cur = None
        if len(got) != len(want):
            die("%s: %d messages on the wire, %d in the manifest" % (d, len(got), len(want)))
        for (op, data, rsv1, nfr), m in zip(got, want):
            if op != {"text": 1, "binary": 2}[m["type"]] or data != message_bytes(m):
                die("%s: inflated message differs from the manifest: %r" % (d, m.get("text", "")[:60]))
            m["compressed"] = rsv1
            m["frames"] = nfr
    return True


def fill(name, cap, port):
    path = os.path.join(SAMPLES, name + ".sent.json")
    man = json.load(open(path))
    view = wire_view(cap, port)
    if len(view) != len(man["connections"]):
        die("%d connections on the wire, %d in the manifest" % (len(view), len(man["connections"])))
    all_frames = []
    for conn, v in zip(man["connections"], view):
        if any(f.get("truncated") for f in v["frames"]):
            die("truncated frame in a library capture")
        frames = []
        for f in v["frames"]:
            e = entry_from_wire(f)
            e["_payload"] = f["payload"]
            frames.append(e)
        inflate_check(conn, frames)
        for e in frames:
            del e["_payload"]
        conn["client"][1] = v["client_port"]
        conn["frames"] = frames
        for h in conn.get("http", []):
            w = v["http"].get(h["dir"])
            if w:
                h["first_packet"], h["last_packet"] = w["first_packet"], w["last_packet"]
        all_frames += [(f["opcode"], int(f["fin"]), int(f["masked"]), f["rsv"], f["len"]) for f in frames]
    ts = tshark_ws(cap, port)
    if ts != all_frames:
        die("frames differ from tshark's decoding:\n mine   %r\n tshark %r" % (all_frames, ts))
    man["frames_source"] = ("read back from the capture by samples/gen/wire_frames.py fill "
                            "(checked against tshark's websocket fields); messages come from the application")
    with open(path, "w") as fh:
        json.dump(man, fh, indent=1)
        fh.write("\n")
    print("%s: %d frames filled, %d messages inflate to the bytes sent" % (
        name, len(all_frames), sum(len(c["messages"]) for c in man["connections"])))


def annotate(name, cap, port):
    path = os.path.join(SAMPLES, name + ".sent.json")
    man = json.load(open(path))
    view = wire_view(cap, port)
    if len(view) != len(man["connections"]):
        die("%d connections on the wire, %d in the manifest" % (len(view), len(man["connections"])))
    for ci, (conn, v) in enumerate(zip(man["connections"], view)):
        conn["client"][1] = v["client_port"]
        wf = v["frames"]
        mf = conn["frames"]
        if len(wf) != len(mf):
            die("conn %d: %d frames on the wire, %d in the manifest" % (ci, len(wf), len(mf)))
        for i, (w, m) in enumerate(zip(wf, mf)):
            ok = (w["dir"] == m["dir"] and w.get("opcode") == m["opcode"] and w.get("fin") == m["fin"]
                  and w.get("masked") == m["masked"] and w.get("rsv") == m.get("rsv", 0)
                  and w.get("mask_key") == m.get("mask_key") and w.get("length_form") == m["length_form"]
                  and w.get("len") == m.get("declared_len", m["len"])
                  and hashlib.sha256(w["payload"]).hexdigest() == m["sha256"])
            if not ok:
                die("conn %d frame %d differs:\n wire %r\n manifest %r" % (
                    ci, i, {k: v for k, v in w.items() if k != "payload"}, m))
            m["first_packet"], m["last_packet"] = w["first_packet"], w["last_packet"]
        for h in conn.get("http", []):
            w = v["http"].get(h["dir"])
            if w:
                h["first_packet"], h["last_packet"] = w["first_packet"], w["last_packet"]
        if conn.get("messages"):
            # messages listed: every data message of the connection must join (and inflate)
            # to them, except one whose first frame is expected to fail to inflate
            inflate_check(conn, [{"dir": m["dir"], "opcode": m["opcode"], "fin": m["fin"],
                                  "rsv1": bool(m["rsv"] & 4), "_payload": w["payload"],
                                  "skip": "inflate-failed" in m.get("anomalies", [])}
                                 for w, m in zip(wf, mf)])
        for a in conn.get("anomalies", []):
            at = a["at"]
            if at == "frame":
                f = mf[a["frame"]]
                a["packet"], a["first_packet"], a["last_packet"] = \
                    f["first_packet"], f["first_packet"], f["last_packet"]
            elif at in ("request", "response"):
                w = v["http"]["c2s" if at == "request" else "s2c"]
                a["packet"] = w["first_packet"]
            elif at == "tcp-fin":
                a["packet"] = v["fin"][0][1]
            elif at == "tcp-rst":
                a["packet"] = v["rst"][0][1]
            else:
                die("unknown anomaly position %r" % at)
    man["packets_source"] = "packet numbers added by samples/gen/wire_frames.py annotate (tshark tcp fields)"
    with open(path, "w") as fh:
        json.dump(man, fh, indent=1)
        fh.write("\n")
    n = sum(len(c.get("anomalies", [])) for c in man["connections"])
    print("%s: %d connections, %d frames match the manifest, %d expected anomalies located" % (
        name, len(view), sum(len(c["frames"]) for c in man["connections"]), n))


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("fill", "annotate"):
        die(__doc__)
    {"fill": fill, "annotate": annotate}[sys.argv[1]](sys.argv[2], sys.argv[3], int(sys.argv[4]))
