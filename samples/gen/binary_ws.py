#!/usr/bin/env python3
"""Binary-content samples: a Python `websockets` server and client on 127.0.0.1:PORT.

  msgpack   msgpack.pcap: subprotocol `msgpack`, path /mp. The client sends values encoded
            with the reference `msgpack` library (maps, arrays, floats, negative and 64-bit
            integers, UTF-8, binary, the timestamp extension, an application extension);
            the server answers each with {"ok": true, "n": i}.
  cbor      cbor.pcap: subprotocol `cbor`, path /cb; values encoded with `cbor2` (tags,
            byte strings, floats, integers beyond 64 bits, nested maps); answers as above.
  protobuf  protobuf.pcap: subprotocol `chat.v1`, path /pb; chat.Envelope messages built
            with the Python `protobuf` runtime from binproto_chat.proto (compiled by
            grpcio-tools' protoc into a temporary directory); the server answers each with
            chat.Ack{seq, ok}.
  zlib      zlib-stream.pcap: path /gateway/?v=10&encoding=json&compress=zlib-stream, no
            subprotocol, Discord-gateway style: the server compresses every JSON payload
            into ONE zlib stream (zlib.compressobj, Z_SYNC_FLUSH per payload, so each ends
            00 00 ff ff) and sends it as binary; the client inflates with one
            zlib.decompressobj and sends plain JSON text (identify, heartbeats). A ~60 KB
            payload is sent split over two WebSocket messages.

The manifest samples/NAME.sent.json lists every message each side sent, in order: the
bytes in hex and the value as a JSON tree spelled as wsdissect documents it (binary as
{"$bin": first 32 bytes in hex, "length": n}, tags {"$tag": n, "value": v}, MessagePack
extensions {"$ext": type, "hex", "length"} and timestamps {"$timestamp": s, "nanos": n},
integers beyond 64 bits as decimal strings, protobuf fields by name with enums by value
name; the schema-less view as field numbers with their wire types).
Usage: python3 binary_ws.py MODE PORT
"""
import asyncio
import datetime
import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import zlib

import websockets

MODE = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9161
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.normpath(os.path.join(HERE, ".."))
sent = []


def bin_tree(b):
    return {"$bin": bytes(b[:32]).hex(), "length": len(b)}


def int_tree(v):
    if -(2 ** 63) <= v < 2 ** 64:
        return v
    return str(v)


def mp_tree(v):
    import msgpack
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        return int_tree(v)
    if isinstance(v, (bytes, bytearray)):
        return bin_tree(v)
    if isinstance(v, msgpack.Timestamp):
        return {"$timestamp": v.seconds, "nanos": v.nanoseconds}
    if isinstance(v, msgpack.ExtType):
        return {"$ext": v.code, "hex": v.data[:32].hex(), "length": len(v.data)}
    if isinstance(v, (list, tuple)):
        return [mp_tree(x) for x in v]
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else json.dumps(mp_tree(k), separators=(",", ":"))): mp_tree(x)
                for k, x in v.items()}
    raise TypeError(type(v))


def cbor_tree(v):
    import cbor2
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        # RFC 8949 3.4.3: beyond major types 0/1, a bignum tag 2 (n) or 3 (-1 - n) over
        # the big-endian bytes of n.
        if v >= 2 ** 64 or v < -(2 ** 64):
            tag, n = (2, v) if v > 0 else (3, -1 - v)
            return {"$tag": tag, "value": bin_tree(n.to_bytes((n.bit_length() + 7) // 8, "big"))}
        return int_tree(v)
    if isinstance(v, (bytes, bytearray)):
        return bin_tree(v)
    if isinstance(v, cbor2.CBORTag):
        return {"$tag": v.tag, "value": cbor_tree(v.value)}
    if isinstance(v, (list, tuple)):
        return [cbor_tree(x) for x in v]
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else json.dumps(cbor_tree(k), separators=(",", ":"))): cbor_tree(x)
                for k, x in v.items()}
    raise TypeError(type(v))


MSGPACK_VALUES = None
CBOR_VALUES = None


def msgpack_values():
    import msgpack
    return [
        {"type": "hello", "user": "ana", "id": 1},
        [1, 2.5, True, None, "é ünïcode", b"\x00\x01\xff"],
        {"nested": {"list": [1, -1, 2 ** 40, -(2 ** 40), 2 ** 64 - 1, -(2 ** 63)], "map": {"k": "v"}}},
        {"when": msgpack.Timestamp(1700000000, 5), "ext": msgpack.ExtType(5, b"\x07\x08")},
        {1: "int key", "blob": bytes(range(256)) * 40},
        "just a string",
    ]


def cbor_values():
    import cbor2
    return [
        {"type": "hello", "user": "ana", "id": 1},
        [1, 1.5, 100000.0, True, None, "é", b"\x00\x01\xff", -1000],
        {"big": 2 ** 64 - 1, "neg": -(2 ** 64), "huge": -(2 ** 70) + 1},
        cbor2.CBORTag(1, 1363896240),
        {"when": cbor2.CBORTag(0, "2013-03-21T20:04:00Z"), "uri": cbor2.CBORTag(32, "http://www.example.com")},
        {1: "int key", "nested": [[1, [2, 3]], {"a": {"b": {"c": [b"x" * 3000]}}}]},
    ]


async def run_values(codec, encode, decode, tree, values, subprotocol, path):
    async def handler(ws):
        n = 0
        async for data in ws:
            decode(data)
            answer = {"ok": True, "n": n}
            enc = encode(answer)
            sent.append({"side": "server", "hex": enc.hex(), "value": tree(answer)})
            await ws.send(enc)
            n += 1

    async with websockets.serve(handler, "127.0.0.1", PORT, compression=None,
                                subprotocols=[subprotocol]):
        async with websockets.connect(f"ws://127.0.0.1:{PORT}{path}", compression=None,
                                      subprotocols=[subprotocol]) as ws:
            for v in values:
                enc = encode(v)
                sent.append({"side": "client", "hex": enc.hex() if len(enc) <= 256 else None,
                             "length": len(enc), "value": tree(v)})
                await ws.send(enc)
                await ws.recv()
            await ws.close(1000)


def pb_tree(msg):
    from google.protobuf.descriptor import FieldDescriptor as FD
    out = {}
    for fd, v in msg.ListFields():
        def one(x):
            if fd.type == FD.TYPE_MESSAGE:
                return pb_tree(x)
            if fd.type == FD.TYPE_ENUM:
                return fd.enum_type.values_by_number[x].name
            if fd.type == FD.TYPE_BYTES:
                return bin_tree(x)
            return x
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            vf = fd.message_type.fields_by_name["value"]
            out[fd.name] = {str(k): (pb_tree(x) if vf.type == FD.TYPE_MESSAGE else x) for k, x in v.items()}
        elif fd.is_repeated:
            out[fd.name] = [one(x) for x in v]
        else:
            out[fd.name] = one(v)
    return out


def pb_wire(msg):
    """Top-level field numbers and wire types, as the encoding guide assigns them."""
    from google.protobuf.descriptor import FieldDescriptor as FD
    wire = {}
    for fd, _ in msg.ListFields():
        if fd.type in (FD.TYPE_DOUBLE, FD.TYPE_FIXED64, FD.TYPE_SFIXED64):
            w = "i64"
        elif fd.type in (FD.TYPE_FLOAT, FD.TYPE_FIXED32, FD.TYPE_SFIXED32):
            w = "i32"
        elif fd.type in (FD.TYPE_STRING, FD.TYPE_BYTES, FD.TYPE_MESSAGE) or fd.is_repeated:
            w = "len"  # proto3 packs repeated scalars
        else:
            w = "varint"
        wire[str(fd.number)] = w
    return wire


async def run_protobuf():
    tmp = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{HERE}", f"--python_out={tmp}",
                    os.path.join(HERE, "binproto_chat.proto")], check=True)
    sys.path.insert(0, tmp)
    pb = importlib.import_module("binproto_chat_pb2")
    msgs = []
    e = pb.Envelope(seq=1, kind=pb.KIND_TEXT, text="hello")
    e.__getattribute__("from").CopyFrom(pb.User(name="ana", id=7))
    msgs.append(e)
    e = pb.Envelope(seq=2, kind=pb.KIND_IMAGE, blob=bytes(range(40)), score=0.75, delta=-5)
    e.tags.extend([3, 270, 86942])
    e.meta["lang"] = "en"
    e.meta["room"] = "lobby"
    msgs.append(e)
    e = pb.Envelope(seq=3, text="ünïcode ✓", delta=123456789)
    e.__getattribute__("from").CopyFrom(pb.User(name="bo"))
    msgs.append(e)
    msgs.append(pb.Envelope(seq=4))

    async def handler(ws):
        async for data in ws:
            env = pb.Envelope.FromString(data)
            ack = pb.Ack(seq=env.seq, ok=True)
            enc = ack.SerializeToString()
            sent.append({"side": "server", "message": "chat.Ack", "hex": enc.hex(),
                         "value": pb_tree(ack), "wire_types": pb_wire(ack)})
            await ws.send(enc)

    async with websockets.serve(handler, "127.0.0.1", PORT, compression=None, subprotocols=["chat.v1"]):
        async with websockets.connect(f"ws://127.0.0.1:{PORT}/pb", compression=None,
                                      subprotocols=["chat.v1"]) as ws:
            for m in msgs:
                enc = m.SerializeToString()
                sent.append({"side": "client", "message": "chat.Envelope", "hex": enc.hex(),
                             "value": pb_tree(m), "wire_types": pb_wire(m)})
                await ws.send(enc)
                await ws.recv()
            await ws.close(1000)
    return {"protobuf": importlib.metadata.version("protobuf"),
            "grpcio-tools": importlib.metadata.version("grpcio-tools")}


async def run_zlib():
    big = {"op": 0, "s": 3, "t": "GUILD_CREATE",
           "d": {"id": "1", "members": [{"user": {"id": str(i), "username": f"user{i}"}, "roles": [str(i % 7)]}
                                        for i in range(1200)]}}
    payloads = [
        {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None},
        {"op": 0, "s": 1, "t": "READY", "d": {"v": 10, "session_id": "abc123", "user": {"id": "42", "username": "bot"}}},
        {"op": 0, "s": 2, "t": "MESSAGE_CREATE", "d": {"content": "hello ünïcode", "channel_id": "9"}},
        big,
        {"op": 11},
    ]

    async def handler(ws):
        z = zlib.compressobj()
        async def push(obj, split=False):
            raw = json.dumps(obj, separators=(",", ":")).encode()
            data = z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
            assert data.endswith(b"\x00\x00\xff\xff")
            parts = [data[: len(data) // 2], data[len(data) // 2:]] if split else [data]
            # The big payload's value is past the display caps: only its envelope is kept.
            value = obj if len(raw) < 4096 else {k: obj[k] for k in ("op", "s", "t")}
            sent.append({"side": "server", "value": value, "whole": len(raw) < 4096,
                         "inflated": len(raw), "compressed": len(data), "messages": len(parts)})
            for p in parts:
                await ws.send(p)
        await push(payloads[0])
        identify = json.loads(await ws.recv())
        assert identify["op"] == 2
        await push(payloads[1])
        await push(payloads[2])
        await push(payloads[3], split=True)
        hb = json.loads(await ws.recv())
        assert hb["op"] == 1
        await push(payloads[4])
        await ws.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", PORT, compression=None):
        async with websockets.connect(
                f"ws://127.0.0.1:{PORT}/gateway/?v=10&encoding=json&compress=zlib-stream",
                compression=None, max_size=None) as ws:
            d = zlib.decompressobj()
            buf = b""
            async def recv_payload():
                nonlocal buf
                while True:
                    buf += await ws.recv()
                    if buf.endswith(b"\x00\x00\xff\xff"):
                        out = json.loads(d.decompress(buf))
                        buf = b""
                        return out
            hello = await recv_payload()
            assert hello["op"] == 10
            for text in ['{"op":2,"d":{"token":"t0k3n","intents":513,"properties":{"os":"linux"}}}']:
                sent.append({"side": "client", "value": json.loads(text), "text": text})
                await ws.send(text)
            for _ in range(3):
                await recv_payload()
            text = '{"op":1,"d":2}'
            sent.append({"side": "client", "value": json.loads(text), "text": text})
            await ws.send(text)
            assert (await recv_payload())["op"] == 11
            await ws.close(1000)
    return {}


async def main():
    libs = {"websockets": importlib.metadata.version("websockets")}
    if MODE == "msgpack":
        import msgpack
        await run_values("msgpack", msgpack.packb, lambda b: msgpack.unpackb(b, strict_map_key=False), mp_tree, msgpack_values(), "msgpack", "/mp")
        libs["msgpack"] = importlib.metadata.version("msgpack")
        name, sub, path = "msgpack.pcap", "msgpack", "/mp"
    elif MODE == "cbor":
        import cbor2
        await run_values("cbor", cbor2.dumps, cbor2.loads, cbor_tree, cbor_values(), "cbor", "/cb")
        libs["cbor2"] = importlib.metadata.version("cbor2")
        name, sub, path = "cbor.pcap", "cbor", "/cb"
    elif MODE == "protobuf":
        libs.update(await run_protobuf())
        name, sub, path = "protobuf.pcap", "chat.v1", "/pb"
    elif MODE == "zlib":
        libs.update(await run_zlib())
        name, sub, path = "zlib-stream.pcap", None, "/gateway/?v=10&encoding=json&compress=zlib-stream"
    else:
        sys.exit(f"unknown mode {MODE}")
    manifest = {"sample": name, "libraries": libs, "server": ["127.0.0.1", PORT], "path": path,
                "subprotocol": sub, "messages": sent,
                "note": "every data message in the order each side sent it"}
    with open(os.path.join(SAMPLES, name.replace(".pcap", ".sent.json")), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


asyncio.run(main())
