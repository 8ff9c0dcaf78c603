#!/usr/bin/env python3
"""Writes the seeds of the app_decoders fuzz target (fuzz/seeds/app_decoders/): the
examples of each protocol's specification, framed as the target reads them (a header byte:
bit 0 from the server, bit 1 text; a big-endian 16-bit length; the payload).
Run from this folder: python3 make_app_decoders.py"""
import os
import struct

C, S = 0, 1
EURO = "\u20ac"


def enc(msgs):
    out = b""
    for side, text, data in msgs:
        if isinstance(data, str):
            data = data.encode()
        out += bytes([side | (2 if text else 0)]) + struct.pack(">H", len(data)) + data
    return out


SEEDS = {
    # Engine.IO v4 protocol (socketio/engine.io-protocol README): open, probe, upgrade.
    "engineio-v4-upgrade": [
        (S, 1, '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'),
        (C, 1, "2probe"), (S, 1, "3probe"), (C, 1, "5"), (C, 1, "4hello"),
        (S, 1, "2"), (C, 1, "3"), (C, 0, b"\x01\x02\x03\x04"), (S, 1, "1"),
    ],
    # Socket.IO v5 protocol (socketio/socket.io-protocol README), in Engine.IO messages.
    "socketio-v5-spec": [
        (C, 1, "40"), (C, 1, '40/admin,{"token":"123"}'), (S, 1, '40{"sid":"wZX3oN0bSVIhsaknAAAI"}'),
        (S, 1, '44{"message":"Not authorized"}'), (C, 1, '42["hello","world"]'),
        (C, 1, '42/admin,["project:delete",123]'), (C, 1, '4212["hello","world"]'),
        (S, 1, '4312["bar"]'), (C, 1, "41/admin,"),
    ],
    "socketio-v5-binary": [
        (C, 1, '451-["hello",{"_placeholder":true,"num":0}]'), (C, 0, b"\x01\x02\x03"),
        (S, 1, '4613-/admin,[{"_placeholder":true,"num":0}]'), (S, 0, b"\x03\x02\x01"),
    ],
    # Engine.IO polling payloads: v4 records separated by 0x1e, base64 binary; v3 lengths.
    "engineio-polling": [
        (C, 1, "4hello\x1e4" + EURO + "\x1ebAQIDBA=="), (S, 1, "6:4hello2:4" + EURO),
        (S, 1, '42/chat,1["chat message","polled"]\x1e1'),
    ],
    # graphql-transport-ws (enisdenjo/graphql-ws PROTOCOL.md).
    "graphql-transport-ws": [
        (C, 1, '{"type":"connection_init","payload":{}}'), (S, 1, '{"type":"connection_ack"}'),
        (C, 1, '{"type":"ping"}'), (S, 1, '{"type":"pong"}'),
        (C, 1, '{"id":"1","type":"subscribe","payload":{"operationName":"OnMessage","query":"subscription OnMessage { message }","variables":{}}}'),
        (S, 1, '{"id":"1","type":"next","payload":{"data":{"message":"hi"}}}'),
        (S, 1, '{"id":"1","type":"error","payload":[{"message":"boom"}]}'),
        (C, 1, '{"id":"2","type":"subscribe","payload":{"query":"{ hello }"}}'),
        (S, 1, '{"id":"2","type":"complete"}'),
    ],
    # subscriptions-transport-ws PROTOCOL.md (the legacy graphql-ws subprotocol).
    "graphql-ws-legacy": [
        (C, 1, '{"type":"connection_init","payload":{}}'), (S, 1, '{"type":"connection_ack"}'),
        (S, 1, '{"type":"ka"}'),
        (C, 1, '{"id":"1","type":"start","payload":{"query":"subscription { tick }","operationName":null}}'),
        (S, 1, '{"id":"1","type":"data","payload":{"data":{"tick":1}}}'),
        (C, 1, '{"id":"1","type":"stop"}'), (S, 1, '{"id":"1","type":"complete"}'),
        (C, 1, '{"type":"connection_terminate"}'),
    ],
    # JSON-RPC 2.0 specification, section 7 examples.
    "jsonrpc-spec": [
        (C, 1, '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}'),
        (S, 1, '{"jsonrpc": "2.0", "result": 19, "id": 1}'),
        (C, 1, '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}'),
        (S, 1, '{"jsonrpc": "2.0", "result": 19, "id": 3}'),
        (C, 1, '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}'),
        (C, 1, '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}'),
        (S, 1, '{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}'),
        (C, 1, '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'),
        (S, 1, '{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}'),
        (C, 1, "[]"), (C, 1, "[1,2,3]"),
        (C, 1, '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},{"foo": "boo"},{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]'),
        (S, 1, '[{"jsonrpc": "2.0", "result": 7, "id": "1"},{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},{"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}]'),
    ],
    # RFC 8259 section 13 examples.
    "json-rfc8259": [
        (C, 1, '{"Image": {"Width": 800, "Height": 600, "Title": "View from 15th Floor", "Thumbnail": {"Url": "http://www.example.com/image/481989943", "Height": 125, "Width": 100}, "Animated": false, "IDs": [116, 943, 234, 38793]}}'),
        (S, 1, '"Hello world!"'), (S, 1, "42"), (C, 1, "true"),
        (C, 1, '[{"precision": "zip", "Latitude": 37.7668}]'),
    ],
}

os.makedirs("app_decoders", exist_ok=True)
for name, msgs in SEEDS.items():
    with open(os.path.join("app_decoders", name), "wb") as f:
        f.write(enc(msgs))
