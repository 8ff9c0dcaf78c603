"""Shared helpers for the sample generators: manifest writing and raw WebSocket frames.

Every generator writes samples/NAME.sent.json describing what it SENT, frame by
frame, in order.  Frame entries:
  dir        "c2s" | "s2c"
  opcode     0 cont, 1 text, 2 binary, 8 close, 9 ping, 10 pong
  fin        bool
  masked     bool (client frames are masked, server frames are not)
  mask_key   hex of the 4-byte key, only when the generator chose it (raw sockets);
             library clients pick random keys, so it is absent there
  len        payload length in bytes
  text       payload as text (text frames / continuation of text / close reason)
  hex        payload hex (payloads up to 1024 bytes)
  sha256     sha256 of the payload (always)
  close_code / close_reason   for close frames
"""
import base64
import hashlib
import json
import os
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SAMPLES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame_entry(direction, opcode, payload, fin=True, masked=None, mask_key=None,
                text=None, note=None):
    if isinstance(payload, str):
        payload = payload.encode()
    if masked is None:
        masked = direction == "c2s"
    e = {"dir": direction, "opcode": opcode, "fin": fin, "masked": masked}
    if mask_key is not None:
        e["mask_key"] = mask_key.hex()
    e["len"] = len(payload)
    if opcode == 8 and len(payload) >= 2:
        e["close_code"] = struct.unpack("!H", payload[:2])[0]
        e["close_reason"] = payload[2:].decode()
    if text is not None:
        e["text"] = text
    elif opcode == 1 or (text is None and opcode == 0 and _is_text(payload)):
        e["text"] = payload.decode()
    if len(payload) <= 1024:
        e["hex"] = payload.hex()
    e["sha256"] = hashlib.sha256(payload).hexdigest()
    if note:
        e["note"] = note
    return e


def _is_text(b):
    try:
        b.decode("utf-8")
        return all(32 <= c < 127 for c in b)
    except UnicodeDecodeError:
        return False


def close_payload(code, reason=""):
    return struct.pack("!H", code) + reason.encode()


def write_manifest(name, manifest):
    path = os.path.join(SAMPLES, name + ".sent.json")
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return path


# ---- raw frames (for the hand-built-frame samples) ----

def build_frame(opcode, payload, fin=True, mask_key=None, rsv=0):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask_key is not None else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask_key is not None:
        masked = bytes(c ^ mask_key[i % 4] for i, c in enumerate(payload))
        return hdr + mask_key + masked
    return hdr + payload


def recv_until(sock, marker=b"\r\n\r\n", buf=b""):
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("eof before %r" % marker)
        buf += chunk
    i = buf.index(marker) + len(marker)
    return buf[:i], buf[i:]


def parse_frames(buf):
    """Parse complete frames from buf; return (list of (fin, opcode, payload), rest)."""
    out = []
    while True:
        if len(buf) < 2:
            return out, buf
        b0, b1 = buf[0], buf[1]
        n = b1 & 0x7F
        i = 2
        if n == 126:
            if len(buf) < 4:
                return out, buf
            n = struct.unpack("!H", buf[2:4])[0]
            i = 4
        elif n == 127:
            if len(buf) < 10:
                return out, buf
            n = struct.unpack("!Q", buf[2:10])[0]
            i = 10
        key = None
        if b1 & 0x80:
            if len(buf) < i + 4:
                return out, buf
            key = buf[i:i + 4]
            i += 4
        if len(buf) < i + n:
            return out, buf
        p = buf[i:i + n]
        if key:
            p = bytes(c ^ key[j % 4] for j, c in enumerate(p))
        out.append((bool(b0 & 0x80), b0 & 0x0F, p))
        buf = buf[i + n:]


def recv_frames(sock, count, buf=b"", timeout=5.0):
    sock.settimeout(timeout)
    frames = []
    while len(frames) < count:
        got, buf = parse_frames(buf)
        frames += got
        if len(frames) >= count:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("eof")
        buf += chunk
    return frames, buf


RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="   # RFC 6455 sample nonce; accept = s3pPLMBiTxaQ9kYGzzhZRbK+xOo=


def upgrade_request(host_port, path="/", key=RFC_KEY, extra=""):
    return ("GET %s HTTP/1.1\r\n"
            "Host: %s\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "User-Agent: wsdissect-samples-rawclient\r\n"
            "%s\r\n" % (path, host_port, key, extra)).encode()


def switching_response(key, accept="auto"):
    """101 response; accept="auto" -> correct value, None -> header omitted, str -> that value."""
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"]
    if accept == "auto":
        accept = accept_for(key)
    if accept is not None:
        lines.append("Sec-WebSocket-Accept: " + accept)
    lines.append("Server: wsdissect-samples-rawserver")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def header_value(head: bytes, name: str):
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            if k.strip().lower() == name.lower():
                return v.strip()
    return None
