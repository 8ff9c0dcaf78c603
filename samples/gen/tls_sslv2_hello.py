#!/usr/bin/env python3
"""sslv2-hello.pcap: a ClientHello in the SSL 2.0-compatible format (RFC 5246 Appendix E.2,
as old clients and some scanners still send) to a real TLS 1.2 server (Python ssl, OpenSSL),
which answers with its TLS 1.2 ServerHello flight. The client side is HAND-CRAFTED (no
library sends this format any more): after reading the server's flight it closes; there is
no key exchange, so nothing is encrypted and there is no key log.

Usage: tls_sslv2_hello.py PORT NAME
Manifest: the client hello's bytes, its challenge (the client random, right-justified in 32
bytes), the cipher specs offered, and the first bytes the server answered.
"""
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading

from common import write_manifest

PORT = int(sys.argv[1])
NAME = sys.argv[2]
CHALLENGE = bytes(range(0xA0, 0xB0))  # 16 bytes, as SSLv2-era clients sent
SPECS = [0x00C02F, 0x00C030, 0x00009C, 0x00002F, 0x0000FF]  # TLS suites as 3-byte specs


def hello():
    body = bytes([1]) + struct.pack("!HHHH", 0x0303, 3 * len(SPECS), 0, len(CHALLENGE))
    body += b"".join(s.to_bytes(3, "big") for s in SPECS) + CHALLENGE
    return struct.pack("!H", 0x8000 | len(body)) + body


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        # Without extensions (SSLv2 format) there are no signature_algorithms: OpenSSL 3 would
        # sign with SHA-1, refused at its default security level.
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256:@SECLEVEL=0")
        srv = socket.create_server(("127.0.0.1", PORT))
        result = {}

        def serve():
            conn, _ = srv.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as s:
                    s.recv(1)
            except (ssl.SSLError, OSError) as e:
                result["server_error"] = str(e)

        t = threading.Thread(target=serve)
        t.start()
        c = socket.create_connection(("127.0.0.1", PORT))
        h = hello()
        c.sendall(h)
        c.settimeout(3)
        answer = b""
        try:
            while len(answer) < 5 or b"\x0e\x00\x00\x00" not in answer:
                data = c.recv(65536)
                if not data:
                    break
                answer += data
        except socket.timeout:
            pass
        cport = c.getsockname()[1]
        c.close()
        t.join(5)
        srv.close()
    assert answer[:1] == b"\x16", answer[:16]
    write_manifest(NAME, {
        "file": NAME + ".pcap", "keylog": None, "link_type": "EN10MB (lo)", "real": True,
        "hand_crafted": "the client's SSLv2-format ClientHello (built by this script); the "
                        "server is Python ssl (%s)" % ssl.OPENSSL_VERSION,
        "generator": f"samples/gen/tls_sslv2_hello.py {PORT} {NAME}",
        "connections": [{
            "client": ["127.0.0.1", cport], "server": ["127.0.0.1", PORT],
            "sslv2_client_hello": {"hex": h.hex(), "version": "0x0303",
                                   "challenge": CHALLENGE.hex(),
                                   "client_random": (bytes(32 - len(CHALLENGE)) + CHALLENGE).hex(),
                                   "cipher_specs": ["0x%06x" % s for s in SPECS]},
            "server_answer_first_bytes": answer[:64].hex(),
            "server_error": result.get("server_error"),
        }],
    })


main()
