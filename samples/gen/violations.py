#!/usr/bin/env python3
"""Hand-crafted violation samples: real TCP over 127.0.0.1, raw Python sockets on both sides,
frames built by hand (see viol_common.py).  One capture per rule group; every connection has
a correct handshake (correct Sec-WebSocket-Accept) unless the violation is in the handshake,
and ends with a clean close handshake unless the violation is about the ending.
The manifest samples/NAME.sent.json lists the frames and, per connection, the anomalies a
checker must report (kind, severity, direction, frame index; packets added by
`wire_frames.py annotate`), and nothing else is wrong in the capture.
Usage: violations.py NAME PORT
  NAME: viol-masking viol-rsv-opcode viol-control viol-fragment viol-utf8 viol-handshake
        viol-close bomb
"""
import struct
import sys
import time

from common import write_manifest
from viol_common import Capture, deflate_message, deflate_zeros, mask_key_for, raw_frame, sha256_zeros

NAME = sys.argv[1]
PORT = int(sys.argv[2])
cap = Capture(PORT)
notes = []


def clean_close(c, reason=""):
    c.close_pair(1000, reason)
    c.end("server-fin")


def masking():
    c = cap.connect("masking")
    c.handshake("/masking")
    c.frame("c2s", 1, "masked ok")
    i = c.frame("c2s", 1, "client frame without mask", masked=False)[0]
    c.expect("unmasked-client-frame", "c2s", "frame", i, "client-to-server frame with MASK=0 (RFC 6455 5.1)")
    c.frame("s2c", 1, "server ok")
    i = c.frame("s2c", 1, "server frame with mask", masked=True)[0]
    c.expect("masked-server-frame", "s2c", "frame", i, "server-to-client frame with MASK=1 (RFC 6455 5.1)")
    clean_close(c, "masking done")


def rsv_opcode():
    c = cap.connect("rsv")
    c.handshake("/rsv")
    c.frame("c2s", 1, "plain")
    i = c.frame("c2s", 1, "rsv1 without extension", rsv=4)[0]
    c.expect("rsv-without-extension", "c2s", "frame", i, "RSV1 set, no extension negotiated")
    i = c.frame("c2s", 1, "rsv2 set", rsv=2)[0]
    c.expect("rsv-without-extension", "c2s", "frame", i, "RSV2 set, no extension negotiated")
    i = c.frame("s2c", 2, b"\x01\x02", rsv=1)[0]
    c.expect("rsv-without-extension", "s2c", "frame", i, "RSV3 set, no extension negotiated")
    i = c.frame("c2s", 3, "op3!")[0]
    c.expect("reserved-opcode", "c2s", "frame", i, "reserved non-control opcode 0x3")
    i = c.frame("s2c", 0xB, "opB")[0]
    c.expect("reserved-opcode", "s2c", "frame", i, "reserved control opcode 0xB")
    clean_close(c, "rsv done")

    # permessage-deflate negotiated: RSV1 is legal only on the first frame of a data message
    c = cap.connect("rsv-pmd")
    offer = "permessage-deflate; client_max_window_bits"
    c.handshake("/rsv-pmd", extra_req=["Sec-WebSocket-Extensions: " + offer],
                extra_resp=["Sec-WebSocket-Extensions: permessage-deflate"])
    c.extensions = {"offered": offer, "accepted": "permessage-deflate"}
    c.compressed("c2s", 1, b"compressed ok", note="RSV1 on a single-frame message: legal")
    i = c.frame("c2s", 9, "p", rsv=4, note="RSV1 on a control frame")[0]
    c.expect("rsv-without-extension", "c2s", "frame", i,
             "RSV1 on a Ping: permessage-deflate allows RSV1 only on the first frame of a data message")
    c.frame("s2c", 10, "p")
    whole = b"two-frame compressed message, RSV1 wrongly repeated on its continuation"
    payload = deflate_message(c.comp["c2s"], whole)
    cut = len(payload) // 2
    c.frame("c2s", 1, payload[:cut], fin=False, rsv=4, note="first frame of a compressed message: RSV1 legal")
    i = c.frame("c2s", 0, payload[cut:], fin=True, rsv=4, note="continuation with RSV1")[0]
    c.expect("rsv-without-extension", "c2s", "frame", i,
             "RSV1 on a continuation frame (only the first frame of a message may carry it)")
    c.message("c2s", 1, whole, compressed=True, frames=2)
    clean_close(c, "rsv-pmd done")
    notes.append("connection 1 negotiates permessage-deflate (client context takeover): its c2s "
                 "messages inflate to `messages`; the continuation's RSV1 is the only problem there")


def control():
    c = cap.connect("control")
    c.handshake("/control")
    i = c.frame("c2s", 9, bytes(range(126)), note="126-byte ping: 16-bit length")[0]
    c.expect("control-frame-too-long", "c2s", "frame", i, "Ping with a 126-byte payload (max 125)")
    i = c.frame("c2s", 9, "frag", fin=False)[0]
    c.expect("fragmented-control-frame", "c2s", "frame", i, "Ping with FIN=0")
    c.frame("c2s", 9, "ok")
    c.frame("s2c", 10, "ok")
    clean_close(c, "control done")
    cases = [
        ("close-1byte", "c2s", b"\x03", "close-body-one-byte", 1002, "Close with a 1-byte body"),
        ("close-1005", "c2s", struct.pack("!H", 1005), "close-code-forbidden", 1002,
         "Close code 1005 must not be sent"),
        ("close-1006", "s2c", struct.pack("!H", 1006) + b"abnormal", "close-code-forbidden", 1002,
         "Close code 1006 must not be sent"),
        ("close-2999", "s2c", struct.pack("!H", 2999) + b"unassigned", "close-code-unassigned", 1002,
         "Close code 2999 is in the unassigned range 1016-2999"),
        ("close-5000", "c2s", struct.pack("!H", 5000) + b"too big", "close-code-unassigned", 1002,
         "Close code 5000 is >= 5000"),
        ("close-999", "c2s", struct.pack("!H", 999), "close-code-unassigned", 1002, "Close code 999 is < 1000"),
        ("close-bad-utf8", "c2s", struct.pack("!H", 1000) + b"bad \xff reason", "invalid-utf8", 1007,
         "Close reason is not UTF-8: byte 0xff at offset 4 of the reason (6 of the payload)"),
    ]
    for tag, d, body, kind, reply, detail in cases:
        c = cap.connect(tag)
        c.handshake("/" + tag)
        i = c.frame(d, 8, body)[0]
        extra = {"offset": 4, "offset_in_payload": 6} if kind == "invalid-utf8" else {}
        c.expect(kind, d, "frame", i, detail, **extra)
        other = "s2c" if d == "c2s" else "c2s"
        c.frame(other, 8, struct.pack("!H", reply))
        c.close_info = {"initiator": "client" if d == "c2s" else "server", "body_hex": body.hex(),
                        "echo": {"code": reply}}
        c.end("server-fin")


def fragment():
    c = cap.connect("orphan")
    c.handshake("/orphan")
    i = c.frame("c2s", 0, "orphan continuation")[0]
    c.expect("continuation-without-message", "c2s", "frame", i, "Continuation (FIN=1) with no message open")
    c.frame("c2s", 1, "after the orphan")
    clean_close(c)

    c = cap.connect("intruder")
    c.handshake("/intruder")
    c.frame("c2s", 1, "first part ", fin=False)
    i = c.frame("c2s", 1, "intruder")[0]
    c.expect("new-message-while-fragmented", "c2s", "frame", i,
             "Text frame while the text message started by frame 0 is still open")
    clean_close(c)
    notes.append("connection 1 (intruder): the message opened by frame 0 is never finished; the "
                 "close handshake follows the intruder")

    c = cap.connect("non-minimal")
    c.handshake("/non-minimal")
    i = c.frame("c2s", 1, "hello", form="16")[0]
    c.expect("non-minimal-length", "c2s", "frame", i, "5-byte payload with a 16-bit extended length")
    i = c.frame("s2c", 2, bytes(range(200)), form="64")[0]
    c.expect("non-minimal-length", "s2c", "frame", i, "200-byte payload with a 64-bit extended length")
    c.frame("c2s", 1, "fine")
    clean_close(c)

    c = cap.connect("top-bit")
    c.handshake("/top-bit")
    declared = 0x8000000000000010
    i = c.frame("c2s", 2, b"topbit", form="64", declared_len=declared,
                note="header declares 2^63+16 bytes; only 6 payload bytes follow, then TCP FIN",
                tshark_note="the frame never completes: tshark shows the segment as "
                            "'[TCP segment of a reassembled PDU]'")[0]
    c.expect("length-top-bit", "c2s", "frame", i, "64-bit payload length with the most significant bit set")
    c.expect("no-close-handshake", "c2s", "tcp-fin", detail="client closes TCP inside the frame, no Close frames",
             secondary=True)
    c.close_info = {"tcp": "client FIN inside the truncated frame; no Close frames"}
    c.end("client-fin")
    notes.append("connection 3 (top-bit): the frame can never complete; besides length-top-bit and "
                 "the secondary no-close-handshake, a checker may also report the stream ending "
                 "inside a frame (no kind for that in issue 3's list)")


def utf8():
    c = cap.connect("utf8")
    c.handshake("/utf8")
    bad = b"abc\xc3def"
    i = c.frame("c2s", 1, bad, note="lone 0xC3 at offset 3")[0]
    c.expect("invalid-utf8", "c2s", "frame", i, "0xC3 followed by 'd' (not a continuation byte)", offset=3)
    c.message("c2s", 1, bad)
    a, b = "emoji split: ".encode() + b"\xf0\x9f", b"\x98\x80 ok"
    c.frame("c2s", 1, a, fin=False, note="U+1F600 split 2+2 bytes across fragments: valid")
    c.frame("c2s", 0, b, note="continuation completing U+1F600")
    c.message("c2s", 1, a + b, frames=2)
    a, b = "bad split: ".encode() + b"\xf0\x9f", b"A rest"
    c.frame("c2s", 1, a, fin=False, note="ends with F0 9F (a 4-byte sequence started)")
    i = c.frame("c2s", 0, b, note="continues with 'A': the sequence begun in the first fragment is invalid")[0]
    c.expect("invalid-utf8", "c2s", "frame", i, "F0 9F followed by 'A' across the fragment boundary",
             offset=11, message_first_frame=i - 1)
    c.message("c2s", 1, a + b, frames=2)
    bad = "server says ".encode() + b"\xc0\xaf"
    i = c.frame("s2c", 1, bad, note="overlong encoding C0 AF")[0]
    c.expect("invalid-utf8", "s2c", "frame", i, "overlong 2-byte encoding C0 AF at offset 12", offset=12)
    c.message("s2c", 1, bad)
    bad = "truncated at end ".encode() + b"\xe2\x82"
    i = c.frame("c2s", 1, bad, note="message ends inside a 3-byte sequence (E2 82 ..)")[0]
    c.expect("invalid-utf8", "c2s", "frame", i, "incomplete sequence E2 82 at the end of the message",
             offset=17)
    c.message("c2s", 1, bad)
    good = "h\u00e9llo \u2713 \U0001F600"
    c.frame("s2c", 1, good, note="valid 2-, 3- and 4-byte sequences")
    c.message("s2c", 1, good.encode())
    clean_close(c, "utf8 done")
    notes.append("`offset` of invalid-utf8 = byte offset in the whole (joined) message where the "
                 "invalid sequence starts (Rust's Utf8Error::valid_up_to)")


def handshake():
    def exchange(c):
        c.frame("c2s", 1, "hello")
        c.frame("s2c", 1, "hello back")
        clean_close(c)

    c = cap.connect("version-8")
    c.handshake("/v8", version="8")
    c.expect("bad-version", "c2s", "request", detail="Sec-WebSocket-Version: 8 (must be 13)")
    exchange(c)

    c = cap.connect("bad-key")
    c.handshake("/bad-key", key="c2hvcnQta2V5")
    c.expect("bad-key", "c2s", "request",
             detail="Sec-WebSocket-Key c2hvcnQta2V5 decodes to 9 bytes (must be a 16-byte nonce); "
                    "the 101 carries the accept value computed from it")
    exchange(c)

    c = cap.connect("no-connection")
    c.handshake("/no-connection", connection_hdr=False)
    c.expect("missing-connection-upgrade", "s2c", "response", detail="101 without a Connection: Upgrade header")
    exchange(c)

    c = cap.connect("subprotocol")
    c.handshake("/subprotocol", extra_req=["Sec-WebSocket-Protocol: json"],
                extra_resp=["Sec-WebSocket-Protocol: chat"])
    c.expect("unoffered-subprotocol", "s2c", "response", detail="server selected 'chat'; the client offered only 'json'")
    exchange(c)

    c = cap.connect("extension")
    c.handshake("/extension", extra_resp=["Sec-WebSocket-Extensions: permessage-deflate"])
    c.extensions = {"offered": None, "accepted": "permessage-deflate"}
    c.expect("unoffered-extension", "s2c", "response",
             detail="server accepted permessage-deflate; the client offered no extension (frames stay uncompressed)")
    exchange(c)

    c = cap.connect("pipelined")
    # the request and a masked text frame leave in ONE segment, before the server answers
    payload = b"too early"
    key = mask_key_for("%s-%d-%d" % (c.tag, c.index, 0))
    early, _ = raw_frame(1, payload, mask_key=key)
    k = c.handshake("/pipelined", pipelined=early,
                    request_note="a masked text frame follows the request in the same TCP segment")
    c.frame("c2s", 1, payload, send=False, note="sent in the request's segment, before the 101",
            tshark_note="tshark dissects these bytes as HTTP (Info 'GET /pipelined HTTP/1.1 Continuation')")
    c.expect("frames-before-101", "c2s", "frame", 0, "client frame sent before the 101 response")
    c.respond(k)
    c.frame("s2c", 1, "hello back")
    clean_close(c)

    c = cap.connect("post")
    c.handshake("/post", method="POST")
    c.expect("method-not-get", "c2s", "request", detail="upgrade request with method POST, answered 101")
    exchange(c)


def close():
    c = cap.connect("fin-no-close")
    c.handshake("/fin")
    c.frame("c2s", 1, "bye without close")
    c.frame("s2c", 1, "ok")
    c.close_info = {"tcp": "client FIN, then server FIN; no Close frames"}
    c.end("client-fin")
    c.expect("no-close-handshake", "c2s", "tcp-fin", detail="TCP closed (FIN) without any Close frame")

    c = cap.connect("rst-no-close")
    c.handshake("/rst")
    c.frame("c2s", 1, "about to reset")
    c.close_info = {"tcp": "client RST; no Close frames"}
    c.end("client-rst")
    c.expect("no-close-handshake", "c2s", "tcp-rst", detail="TCP reset without any Close frame")

    c = cap.connect("unanswered")
    c.handshake("/unanswered")
    i = c.frame("c2s", 8, struct.pack("!H", 1000) + b"anyone there?")[0]
    time.sleep(0.3)
    c.close_info = {"initiator": "client", "code": 1000, "reason": "anyone there?", "echo": None,
                    "tcp": "no Close from the server; client FIN after 0.3 s, then server FIN"}
    c.end("client-fin")
    c.expect("close-not-answered", "c2s", "frame", i, "client Close never answered by the server")

    c = cap.connect("data-after-close")
    c.handshake("/after")
    c.frame("c2s", 8, struct.pack("!H", 1000) + b"closing")
    i = c.frame("c2s", 1, "data after close")[0]
    c.expect("data-after-close", "c2s", "frame", i, "client Text frame after the client's Close")
    c.frame("s2c", 8, struct.pack("!H", 1000) + b"closing")
    i = c.frame("s2c", 2, b"\xde\xad", note="server Binary after its own Close")[0]
    c.expect("data-after-close", "s2c", "frame", i, "server Binary frame after the server's Close")
    c.close_info = {"initiator": "client", "code": 1000, "reason": "closing",
                    "echo": {"code": 1000, "reason": "closing"}}
    c.end("server-fin")


def bomb():
    offer = "permessage-deflate; client_max_window_bits"
    c = cap.connect("bomb")
    c.handshake("/bomb", extra_req=["Sec-WebSocket-Extensions: " + offer],
                extra_resp=["Sec-WebSocket-Extensions: permessage-deflate"])
    c.extensions = {"offered": offer, "accepted": "permessage-deflate"}
    c.compressed("c2s", 1, b"before the bomb")
    size = 100 * 1024 * 1024
    # second c2s message: same compressor as the first (client context takeover)
    payload = deflate_zeros(c.comp["c2s"], size)
    i = c.frame("c2s", 2, payload, rsv=4, note="100 MiB of zero bytes, deflated (level 6)")[0]
    c.messages.append({"dir": "c2s", "type": "binary", "len": size, "pattern": "zeros",
                       "sha256": sha256_zeros(size), "compressed": True, "frames": 1})
    c.expect("decompression-limit", "c2s", "frame", i,
             "inflates to 104857600 bytes (100 MiB), beyond any sensible per-message cap", inflated_len=size)
    c.frame("c2s", 1, "after the bomb", note="uncompressed (RSV1=0), legal with permessage-deflate")
    c.message("c2s", 1, b"after the bomb")
    c.compressed("s2c", 1, b"server still fine")
    clean_close(c, "bomb done")

    c = cap.connect("garbage")
    c.handshake("/garbage", extra_req=["Sec-WebSocket-Extensions: " + offer],
                extra_resp=["Sec-WebSocket-Extensions: permessage-deflate"])
    c.extensions = {"offered": offer, "accepted": "permessage-deflate"}
    junk = b"\xff\xff\xff\xffnot deflate data"
    i = c.frame("s2c", 1, junk, rsv=4, note="RSV1 set, payload is not a deflate stream (block type 3)")[0]
    c.expect("inflate-failed", "s2c", "frame", i, "first byte 0xFF: BFINAL=1 with the reserved block type 3")
    c.compressed("c2s", 1, b"client still fine")
    c.frame("s2c", 1, "server uncompressed after the failure")
    c.message("s2c", 1, b"server uncompressed after the failure")
    clean_close(c, "garbage done")
    notes.append("messages: the inflated payloads per direction; the bomb message is given by "
                 "`pattern: zeros`, `len` and `sha256` (the failed s2c message has no entry)")


SCENARIOS = {"viol-masking": masking, "viol-rsv-opcode": rsv_opcode, "viol-control": control,
             "viol-fragment": fragment, "viol-utf8": utf8, "viol-handshake": handshake,
             "viol-close": close, "bomb": bomb}
SCENARIOS[NAME]()
write_manifest(NAME, cap.manifest(NAME, "samples/gen/violations.py %s (+ wire_frames.py annotate)" % NAME,
                                  notes))
print("%s: %d connections" % (NAME, len(cap.conns)))
