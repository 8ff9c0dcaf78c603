"""Helpers for the hand-crafted violation samples (viol-*.pcap, bomb.pcap).

Real TCP over loopback, raw Python sockets on BOTH sides, in ONE thread: for every send the
driver writes on one socket and reads exactly those bytes on the other before going on, so
the wire order is the order of the calls and every send is its own TCP segment(s).
Frames are built by hand (any opcode, RSV bits, mask or no mask, length encoding, declared
length), so they can break RFC 6455 on purpose.

Manifest conventions (on top of common.py's): per frame
  rsv          the three RSV bits as an integer (4 = RSV1, 2 = RSV2, 1 = RSV3); rsv1 bool
  length_form  "7" | "16" | "64": which length encoding the header uses
  len          payload bytes present on the wire (after the header)
  declared_len only when the header declares more than is sent (truncated frame)
  text / hex   payload (unmasked); invalid UTF-8 text is given as hex only
  anomalies    kinds expected AT this frame
  tshark_decodes false (+ tshark_note) for the few frames tshark 4.0 does not show as WebSocket
and per connection `anomalies`: list of {kind, severity, dir, at, frame?, detail, ...}
where `at` is "frame" (with `frame` = index in that connection's frames), "request",
"response", "tcp-fin" or "tcp-rst"; wire_frames.py annotate adds the packet numbers.
`secondary: true` marks an anomaly that is a consequence of the primary one in the same
connection (e.g. the TCP close after a frame that can never complete).
"""
import base64
import hashlib
import socket
import struct
import time
import zlib

from common import accept_for

GAP = 0.03

# Severity per kind, following issue 3: RFC 6455/7692 MUST violations are errors; a missing
# close handshake, an unanswered close and a decompression bomb (capped) are warnings.
SEVERITY = {
    "no-close-handshake": "warning",
    "close-not-answered": "warning",
    "decompression-limit": "warning",
}


def severity(kind):
    return SEVERITY.get(kind, "error")


def nonce(tag):
    """A fixed, valid Sec-WebSocket-Key (base64 of 16 bytes) derived from a tag."""
    return base64.b64encode(hashlib.sha256(tag.encode()).digest()[:16]).decode()


def mask_key_for(tag):
    return hashlib.sha256(("mask:" + tag).encode()).digest()[:4]


def raw_frame(opcode, payload, fin=True, rsv=0, mask_key=None, form=None, declared_len=None):
    """Frame bytes; form forces the length encoding ("7", "16", "64"); declared_len overrides
    the length written in the header (the payload actually appended stays `payload`)."""
    n = len(payload) if declared_len is None else declared_len
    if form is None:
        form = "7" if n < 126 else "16" if n < 65536 else "64"
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask_key is not None else 0
    if form == "7":
        hdr = struct.pack("!BB", b0, mbit | n)
    elif form == "16":
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask_key is not None:
        return hdr + mask_key + bytes(c ^ mask_key[i % 4] for i, c in enumerate(payload)), form
    return hdr + payload, form


def deflate_message(comp, data):
    """permessage-deflate payload of one message: sync flush, trailing 00 00 ff ff removed."""
    out = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def deflate_zeros(comp, nbytes, chunk=1 << 20):
    """deflate_message() of nbytes zero bytes, fed to the compressor chunk by chunk."""
    zeros = bytes(chunk)
    parts = []
    left = nbytes
    while left:
        k = min(left, chunk)
        parts.append(comp.compress(zeros[:k]))
        left -= k
    out = b"".join(parts) + comp.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def sha256_zeros(nbytes, chunk=1 << 20):
    h = hashlib.sha256()
    zeros = bytes(chunk)
    left = nbytes
    while left:
        k = min(left, chunk)
        h.update(zeros[:k])
        left -= k
    return h.hexdigest()


class Capture:
    """All connections of one sample, made one after the other to 127.0.0.1:port."""

    def __init__(self, port):
        self.port = port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(1)
        self.lsock.settimeout(5)
        self.conns = []

    def connect(self, tag):
        c = Conn(self, tag, len(self.conns))
        self.conns.append(c)
        return c

    def manifest(self, name, generator, notes):
        self.lsock.close()
        kinds = {}
        for c in self.conns:
            for a in c.anomalies:
                kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
        return {
            "file": name + ".pcap", "link_type": "EN10MB (lo)", "real": True,
            "hand_built_frames": True, "generator": generator,
            "libraries": "none: raw Python sockets on both sides, hand-crafted frames",
            "permessage_deflate": [c.index for c in self.conns
                                   if c.extensions and c.extensions.get("offered")],
            "notes": notes,
            "expected_anomaly_counts": dict(sorted(kinds.items())),
            "connections": [c.record() for c in self.conns],
        }


class Conn:
    def __init__(self, cap, tag, index):
        self.tag = tag
        self.index = index
        self.c = socket.create_connection(("127.0.0.1", cap.port), timeout=5)
        self.s, _ = cap.lsock.accept()
        self.s.settimeout(5)
        for sk in (self.c, self.s):
            sk.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.cport = self.c.getsockname()[1]
        self.sport = cap.port
        self.http, self.frames, self.anomalies, self.messages = [], [], [], []
        self.close_info = None
        self.extensions = None
        self.comp = {}

    # ---- raw transport ----
    def send(self, direction, data):
        src, dst = (self.c, self.s) if direction == "c2s" else (self.s, self.c)
        src.sendall(data)
        got = 0
        while got < len(data):
            chunk = dst.recv(min(1 << 20, len(data) - got))
            if not chunk:
                raise ConnectionError("peer closed early")
            got += len(chunk)
        time.sleep(GAP)

    # ---- anomalies ----
    def expect(self, kind, direction, at, frame=None, detail="", **extra):
        a = {"kind": kind, "severity": severity(kind), "dir": direction, "at": at}
        if frame is not None:
            a["frame"] = frame
            self.frames[frame].setdefault("anomalies", []).append(kind)
        a["detail"] = detail
        a.update(extra)
        self.anomalies.append(a)

    # ---- handshake ----
    def handshake(self, path="/", key=None, version="13", method="GET", extra_req=(),
                  connection_hdr=True, extra_resp=(), accept="auto", pipelined=b"",
                  request_note=None):
        key = key or nonce("%s-%d" % (self.tag, self.index))
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % self.sport,
                 "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
                 "Sec-WebSocket-Version: " + version]
        lines += list(extra_req)
        lines.append("User-Agent: wsdissect-samples-rawclient")
        req = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.send("c2s", req + pipelined)
        h = {"dir": "c2s", "request": lines[0], "upgrade": True, "sec_websocket_key": key,
             "sec_websocket_version": version}
        for e in extra_req:
            k, v = e.split(":", 1)
            h[k.strip().lower().replace("-", "_")] = v.strip()
        if request_note:
            h["note"] = request_note
        self.http.append(h)
        if pipelined:
            return key
        self.respond(key, connection_hdr, extra_resp, accept)
        return key

    def respond(self, key, connection_hdr=True, extra_resp=(), accept="auto"):
        lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"]
        if connection_hdr:
            lines.append("Connection: Upgrade")
        acc = accept_for(key) if accept == "auto" else accept
        lines.append("Sec-WebSocket-Accept: " + acc)
        lines += list(extra_resp)
        lines.append("Server: wsdissect-samples-rawserver")
        self.send("s2c", ("\r\n".join(lines) + "\r\n\r\n").encode())
        h = {"dir": "s2c", "status": 101, "sec_websocket_accept": acc, "connection_header": connection_hdr}
        for e in extra_resp:
            k, v = e.split(":", 1)
            h[k.strip().lower().replace("-", "_")] = v.strip()
        self.http.append(h)

    # ---- frames ----
    def frame(self, direction, opcode, payload=b"", fin=True, rsv=0, masked=None, form=None,
              declared_len=None, note=None, send=True, text=None, tshark_note=None):
        """Build, record and (unless send=False) send one frame; returns (index, bytes)."""
        if isinstance(payload, str):
            payload = payload.encode()
        if masked is None:
            masked = direction == "c2s"
        idx = len(self.frames)
        key = mask_key_for("%s-%d-%d" % (self.tag, self.index, idx)) if masked else None
        data, form = raw_frame(opcode, payload, fin, rsv, key, form, declared_len)
        e = {"dir": direction, "opcode": opcode, "fin": fin, "masked": masked}
        if key:
            e["mask_key"] = key.hex()
        e["rsv"] = rsv
        e["rsv1"] = bool(rsv & 4)
        e["length_form"] = form
        e["len"] = len(payload)
        if declared_len is not None:
            e["declared_len"] = declared_len
            e["declared_len_hex"] = "0x%016x" % declared_len
            e["truncated"] = True
        if opcode == 8 and len(payload) >= 2:
            e["close_code"] = struct.unpack("!H", payload[:2])[0]
            try:
                e["close_reason"] = payload[2:].decode()
            except UnicodeDecodeError:
                e["close_reason_hex"] = payload[2:].hex()
        if text is not None:
            e["text"] = text
        elif opcode in (0, 1) and not rsv & 4:
            try:
                e["text"] = payload.decode()
            except UnicodeDecodeError:
                pass
        if len(payload) <= 1024:
            e["hex"] = payload.hex()
        e["sha256"] = hashlib.sha256(payload).hexdigest()
        if note:
            e["note"] = note
        if tshark_note:
            # verify_manifests.py skips these: tshark 4.0 shows no WebSocket frame for them
            e["tshark_decodes"] = False
            e["tshark_note"] = tshark_note
        self.frames.append(e)
        if send:
            self.send(direction, data)
        return idx, data

    def compressed(self, direction, opcode, data, note=None):
        """One permessage-deflate message in one frame (RSV1), per-direction context takeover."""
        comp = self.comp.setdefault(direction, zlib.compressobj(6, zlib.DEFLATED, -15))
        payload = deflate_message(comp, data)
        idx, _ = self.frame(direction, opcode, payload, rsv=4, note=note)
        self.message(direction, opcode, data, compressed=True, frames=1)
        return idx

    def message(self, direction, opcode, data, compressed=False, frames=1, pattern=None):
        m = {"dir": direction, "type": {1: "text", 2: "binary"}[opcode], "len": len(data)}
        if pattern:
            m["pattern"] = pattern
        else:
            if opcode == 1:
                try:
                    m["text"] = data.decode()
                except UnicodeDecodeError:
                    m["utf8_valid"] = False
            if "text" not in m:
                m["hex"] = data.hex()
        m["sha256"] = hashlib.sha256(data).hexdigest()
        m["compressed"] = compressed
        m["frames"] = frames
        self.messages.append(m)

    def close_pair(self, code=1000, reason="", initiator="c2s", echo_code=None):
        other = "s2c" if initiator == "c2s" else "c2s"
        echo_code = code if echo_code is None else echo_code
        self.frame(initiator, 8, struct.pack("!H", code) + reason.encode())
        self.frame(other, 8, struct.pack("!H", echo_code) + (reason.encode() if echo_code == code else b""))
        self.close_info = {"initiator": "client" if initiator == "c2s" else "server", "code": code,
                           "reason": reason, "echo": {"code": echo_code}}

    # ---- TCP endings ----
    def end(self, how="server-fin"):
        """server-fin: server closes first (after a close handshake); client-fin: client
        shuts down first; client-rst: client aborts with RST (SO_LINGER 0)."""
        if how == "client-rst":
            self.c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.c.close()
            try:
                self.s.recv(10)
            except OSError:
                pass
            self.s.close()
        else:
            first, second = (self.s, self.c) if how == "server-fin" else (self.c, self.s)
            first.shutdown(socket.SHUT_WR)
            while second.recv(4096):
                pass
            second.close()
            while first.recv(4096):
                pass
            first.close()
        time.sleep(GAP * 3)

    def record(self):
        r = {"client": ["127.0.0.1", self.cport], "server": ["127.0.0.1", self.sport],
             "tag": self.tag, "http": self.http}
        if self.extensions:
            r["extensions"] = self.extensions
        if self.messages:
            r["messages"] = self.messages
        r["frames"] = self.frames
        r["close"] = self.close_info
        r["anomalies"] = self.anomalies
        return r
