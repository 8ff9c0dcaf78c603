#!/usr/bin/env python3
"""wss:// through proxies: TLS that starts mid-stream, after a SOCKS4, SOCKS5 or HTTP CONNECT
handshake (issue 13). A tiny relay proxy (written here: SOCKS4, SOCKS5 without
authentication, HTTP CONNECT) listens on SOCKS_PORT (1080) and HTTP_PORT (3128), the ports
Wireshark knows for them; a Python websockets server with TLS listens on an ephemeral port
(the proxy-to-server side is not captured). The client opens a TCP connection to the proxy,
speaks the proxy protocol itself on the plain socket, then hands the socket to
`websockets.connect(sock=..., ssl=...)`: ClientHello right after the proxy's answer.

Usage: tls_proxy.py SOCKS_PORT HTTP_PORT NAME
Connections, in order: SOCKS4 (CONNECT 127.0.0.1:PORT, user id "wsd"), SOCKS5 (no auth,
CONNECT to the domain name "localhost"), HTTP CONNECT (CONNECT localhost:PORT HTTP/1.1,
200 Connection established). Each: c2s text "through MODE", s2c echo, c2s close 1000 "bye",
s2c close echo. TLS 1.3 (OpenSSL's default suite), ALPN http/1.1, client key log to
samples/NAME.keys.
"""
import asyncio
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import SAMPLES, close_payload, frame_entry, write_manifest

SOCKS_PORT = int(sys.argv[1])
HTTP_PORT = int(sys.argv[2])
NAME = sys.argv[3]
KEYS = os.path.join(SAMPLES, NAME + ".keys")
REASON = "bye"


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def relay(reader, writer, host, port):
    up_reader, up_writer = await asyncio.open_connection(host, port)
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def socks(reader, writer):
    version = (await reader.readexactly(1))[0]
    if version == 4:
        cmd, port = struct.unpack("!BH", await reader.readexactly(3))
        ip = socket.inet_ntoa(await reader.readexactly(4))
        user = b""
        while (c := await reader.readexactly(1)) != b"\0":
            user += c
        assert cmd == 1 and user == b"wsd", (cmd, user)
        writer.write(bytes([0, 0x5A]) + struct.pack("!H", port) + socket.inet_aton(ip))
        await writer.drain()
        await relay(reader, writer, ip, port)
    elif version == 5:
        n = (await reader.readexactly(1))[0]
        methods = await reader.readexactly(n)
        assert 0 in methods
        writer.write(b"\x05\x00")
        await writer.drain()
        ver, cmd, _, atyp = await reader.readexactly(4)
        assert ver == 5 and cmd == 1 and atyp == 3, (ver, cmd, atyp)
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port))
        await writer.drain()
        await relay(reader, writer, "127.0.0.1" if host == "localhost" else host, port)


async def http_connect(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    line = head.split(b"\r\n")[0].decode()
    method, target, _ = line.split(" ")
    assert method == "CONNECT", line
    host, port = target.rsplit(":", 1)
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await writer.drain()
    await relay(reader, writer, "127.0.0.1" if host == "localhost" else host, int(port))


async def handler(ws):
    try:
        async for m in ws:
            await ws.send(m)
    except Exception:
        pass


def proxy_handshake(mode, sock, port):
    """The client's side of the proxy protocol on the plain socket; returns what was sent
    and received (for the manifest)."""
    if mode == "socks4":
        req = struct.pack("!BBH", 4, 1, port) + socket.inet_aton("127.0.0.1") + b"wsd\0"
        sock.sendall(req)
        rep = sock.recv(8)
        assert len(rep) == 8 and rep[1] == 0x5A, rep
        return [("c2s", req), ("s2c", rep)]
    if mode == "socks5":
        greet = b"\x05\x01\x00"
        sock.sendall(greet)
        choice = sock.recv(2)
        assert choice == b"\x05\x00", choice
        req = b"\x05\x01\x00\x03" + bytes([9]) + b"localhost" + struct.pack("!H", port)
        sock.sendall(req)
        rep = sock.recv(10)
        assert len(rep) == 10 and rep[1] == 0, rep
        return [("c2s", greet), ("s2c", choice), ("c2s", req), ("s2c", rep)]
    req = (f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n"
           "User-Agent: wsdissect-sample\r\n\r\n").encode()
    sock.sendall(req)
    rep = b""
    while not rep.endswith(b"\r\n\r\n"):
        rep += sock.recv(1)
    return [("c2s", req), ("s2c", rep)]


async def one(mode, client_ctx, port):
    proxy_port = HTTP_PORT if mode == "connect" else SOCKS_PORT
    sock = socket.create_connection(("127.0.0.1", proxy_port))
    exchanged = await asyncio.to_thread(proxy_handshake, mode, sock, port)
    text = f"through {mode}"
    cport = sock.getsockname()[1]
    sock.setblocking(False)
    async with connect(f"wss://localhost:{port}/{mode}", sock=sock, ssl=client_ctx,
                       server_hostname="localhost", compression=None, ping_interval=None,
                       open_timeout=5, close_timeout=5) as ws:
        await asyncio.sleep(0.05)
        await ws.send(text)
        assert await asyncio.wait_for(ws.recv(), 5) == text
        await asyncio.sleep(0.05)
        await ws.close(1000, REASON)
    await asyncio.sleep(0.1)
    return {
        "client": ["127.0.0.1", cport], "server": ["127.0.0.1", proxy_port],
        "proxy": {"protocol": mode, "target": ["localhost", port],
                  "exchange": [{"dir": d, "hex": b.hex()} for d, b in exchanged]},
        "tls": {"sni": "localhost", "alpn": "http/1.1"},
        "http": [{"dir": "c2s", "request": f"GET /{mode} HTTP/1.1", "upgrade": True},
                 {"dir": "s2c", "status": 101}],
        "frames": [frame_entry("c2s", 1, text), frame_entry("s2c", 1, text, note="echo"),
                   frame_entry("c2s", 8, close_payload(1000, REASON)),
                   frame_entry("s2c", 8, close_payload(1000, REASON), note="close echo")],
    }


async def main():
    if os.path.exists(KEYS):
        os.remove(KEYS)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        server_ctx.set_alpn_protocols(["http/1.1"])
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(cert)
        client_ctx.keylog_filename = KEYS
        client_ctx.set_alpn_protocols(["http/1.1"])
        async with serve(handler, "127.0.0.1", 0, ssl=server_ctx, compression=None,
                         ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            s1 = await asyncio.start_server(socks, "127.0.0.1", SOCKS_PORT)
            s2 = await asyncio.start_server(http_connect, "127.0.0.1", HTTP_PORT)
            conns = []
            for mode in ["socks4", "socks5", "connect"]:
                conns.append(await one(mode, client_ctx, port))
                await asyncio.sleep(0.1)
            s1.close()
            s2.close()
    write_manifest(NAME, {
        "file": NAME + ".pcap", "keylog": NAME + ".keys", "link_type": "EN10MB (lo)",
        "real": True, "generator": f"samples/gen/tls_proxy.py {SOCKS_PORT} {HTTP_PORT} {NAME}",
        "libraries": f"python websockets over ssl ({ssl.OPENSSL_VERSION}); the proxy is this "
                     "script's asyncio relay (SOCKS4, SOCKS5, HTTP CONNECT)",
        "permessage_deflate": False, "connections": conns,
    })


asyncio.run(asyncio.wait_for(main(), 30))
