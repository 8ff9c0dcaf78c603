#!/usr/bin/env bash
# Regenerate the wss:// (TLS) samples with their key logs (issue 13); run as root.
# Each capture: tcpdump on lo around one generator; the generator writes samples/NAME.keys
# (NSS key log) and samples/NAME.sent.json. Ports 9140-9151.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
cd "$GEN"
NODEWS="${NODEWS:-/tmp/nodews}"
if [ ! -d "$NODEWS/node_modules/ws" ]; then
  mkdir -p "$NODEWS"
  (cd "$NODEWS" && npm init -y >/dev/null && npm install --no-audit --no-fund ws@8 >/dev/null)
fi
export NODE_PATH="$NODEWS/node_modules"

# capture NAME PORT CMD...: tcpdump -i lo around CMD, retried when tshark sees lost segments.
capture() {
  local name="$1" port="$2"; shift 2
  local out="$SAMPLES/$name.pcap"
  for attempt in 1 2 3; do
    local err; err="$(mktemp)"
    rm -f "$out"
    timeout 60 tcpdump --immediate-mode -i lo -U -w "$out" "tcp port $port" 2>"$err" &
    local pid=$!
    for _ in $(seq 50); do grep -q "listening on" "$err" && break; sleep 0.1; done
    sleep 0.3
    timeout 40 "$@"
    sleep 0.5
    kill -INT "$pid"; wait "$pid" || true
    grep -h "packets captured" "$err" | sed "s|^|$name.pcap: |"
    rm -f "$err"
    if [ "$(tshark -r "$out" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)" = 0 ]; then
      return 0
    fi
    echo "$name.pcap: lost segments, retrying ($attempt)" >&2
  done
  return 1
}

capture tls13-python      9140 python3 tls_python.py 9140 tls13-python tls13
capture tls12-gcm         9141 python3 tls_python.py 9141 tls12-gcm tls12-gcm
capture tls12-chacha      9142 python3 tls_python.py 9142 tls12-chacha tls12-chacha
capture tls12-cbc         9143 python3 tls_python.py 9143 tls12-cbc tls12-cbc
capture tls12-cbc-mte     9144 python3 tls_python.py 9144 tls12-cbc-mte tls12-cbc-mte
capture tls13-missing-key 9145 python3 tls_python.py 9145 tls13-missing-key missing-key
capture tls13-node-chacha 9146 node tls_node.js 9146 tls13-node-chacha TLS_CHACHA20_POLY1305_SHA256
capture tls13-node-aes128 9147 node tls_node.js 9147 tls13-node-aes128 TLS_AES_128_GCM_SHA256
capture tls13-keyupdate   9148 python3 tls_keyupdate.py 9148 tls13-keyupdate
capture tls12-resumed     9149 node tls_node_resume.js 9149 tls12-resumed TLSv1.2
capture tls13-resumed     9150 node tls_node_resume.js 9150 tls13-resumed TLSv1.3
capture tls13-hrr         9151 python3 tls_keyupdate.py 9151 tls13-hrr hrr
# WebSocket over HTTP/2 (RFC 8441): reported, not decoded (named h2ws-*, not tls*: its
# decrypted packet list is tshark's HTTP2 lines, which wsdissect does not decode).
capture h2ws-tls13        9152 node tls_h2.js 9152 h2ws-tls13
# Headless Chromium (Debian's chromium package) with --ssl-key-log-file; its page is served
# on 9154, not captured.
capture tls13-chromium    9153 python3 tls_chromium.py 9153 9154 tls13-chromium
# TLS after a proxy handshake: SOCKS4, SOCKS5 (port 1080) and HTTP CONNECT (port 3128), the
# ports Wireshark's SOCKS and HTTP dissectors know ("PORT" is spliced into `tcp port PORT`).
# An SSL 2.0-format ClientHello (hand-crafted client) answered by a real TLS 1.2 server.
capture sslv2-hello       9158 python3 tls_sslv2_hello.py 9158 sslv2-hello
capture tls13-proxied     "1080 or tcp port 3128" python3 tls_proxy.py 1080 3128 tls13-proxied

# The same traffic as tls13-node-aes128.pcap, with its key log embedded as a pcapng
# Decryption Secrets Block (no .keys file needed to decrypt it).
editcap --inject-secrets "tls,$SAMPLES/tls13-node-aes128.keys" \
  "$SAMPLES/tls13-node-aes128.pcap" "$SAMPLES/tls13-secrets.pcapng"
python3 - "$SAMPLES" <<'PY'
import json, sys
d = sys.argv[1]
m = json.load(open(f"{d}/tls13-node-aes128.sent.json"))
m["file"] = "tls13-secrets.pcapng"
m["keylog"] = "embedded (pcapng Decryption Secrets Block, from tls13-node-aes128.keys)"
m["generator"] += " ; editcap --inject-secrets tls,tls13-node-aes128.keys"
json.dump(m, open(f"{d}/tls13-secrets.sent.json", "w"), indent=1)
open(f"{d}/tls13-secrets.sent.json", "a").write("\n")
PY

# Capture started after the handshake: tls12-gcm.pcap from the packet that carries the first
# WebSocket frame on (tshark with the key log finds it). Real traffic, cut; no manifest
# frames are lost but the HTTP upgrade and the handshake are.
first="$(tshark -r "$SAMPLES/tls12-gcm.pcap" -o "tls.keylog_file:$SAMPLES/tls12-gcm.keys" \
  -Y websocket -T fields -e frame.number 2>/dev/null | head -1)"
tshark -r "$SAMPLES/tls12-gcm.pcap" -Y "frame.number >= $first" -w "$SAMPLES/tls12-mid.pcap" 2>/dev/null
python3 - "$SAMPLES" "$first" <<'PY'
import json, sys
d, first = sys.argv[1], sys.argv[2]
m = json.load(open(f"{d}/tls12-gcm.sent.json"))
m["file"] = "tls12-mid.pcap"
m["keylog"] = None
m["cut"] = (f"tls12-gcm.pcap from frame {first} (the first WebSocket frame) on: the handshake "
            "and the HTTP upgrade are not in the capture, so it cannot be decrypted")
m["generator"] += f" ; tshark -Y 'frame.number >= {first}' -w tls12-mid.pcap"
for c in m["connections"]:
    c["http"] = []
    c["undecryptable"] = "capture started after the handshake"
json.dump(m, open(f"{d}/tls12-mid.sent.json", "w"), indent=1)
open(f"{d}/tls12-mid.sent.json", "a").write("\n")
PY

chown "$(stat -c %u:%g "$SAMPLES")" "$SAMPLES"/tls*.pcap "$SAMPLES"/tls*.pcapng "$SAMPLES"/tls*.keys "$SAMPLES"/h2ws-*
chmod 644 "$SAMPLES"/tls*.pcap "$SAMPLES"/tls*.pcapng "$SAMPLES"/tls*.keys "$SAMPLES"/h2ws-*
ls -l "$SAMPLES"/tls*
