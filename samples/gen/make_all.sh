#!/usr/bin/env bash
# Regenerate every sample capture under samples/ (run as root, from anywhere).
# Needs: tcpdump, dumpcap, tshark, python3 + websockets (pip), node + npm.
# All traffic is on loopback; every step is bounded by `timeout`.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
cd "$GEN"

# Node `ws` lives outside the repo.
NODEWS="${NODEWS:-/tmp/nodews}"
if [ ! -d "$NODEWS/node_modules/ws" ]; then
  mkdir -p "$NODEWS"
  (cd "$NODEWS" && npm init -y >/dev/null && npm install --no-audit --no-fund ws@8 >/dev/null)
fi
export NODE_PATH="$NODEWS/node_modules"

# capture OUTFILE "TCPDUMP ARGS" "BPF FILTER" CMD...
# starts tcpdump in the background, waits for "listening on", runs CMD, stops tcpdump (SIGINT).
capture() {
  local out="$1" tdargs="$2" filter="$3"; shift 3
  local err; err="$(mktemp)"
  rm -f "$out"
  # shellcheck disable=SC2086
  timeout 60 tcpdump --immediate-mode $tdargs -U -w "$out" "$filter" 2>"$err" &
  local pid=$!
  for _ in $(seq 50); do grep -q "listening on" "$err" && break; sleep 0.1; done
  sleep 0.3
  timeout 40 "$@"
  sleep 0.5
  kill -INT "$pid"; wait "$pid" || true
  grep -h "packets captured" "$err" | sed "s|^|$(basename "$out"): |"
  rm -f "$err"
}

# dumpcap variant for pcapng
capture_ng() {
  local out="$1" iface="$2" filter="$3"; shift 3
  local err; err="$(mktemp)"
  rm -f "$out"
  timeout 60 dumpcap -q -i "$iface" -f "$filter" -w "$out" 2>"$err" &
  local pid=$!
  for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
  sleep 0.5
  timeout 40 "$@"
  sleep 0.5
  kill -INT "$pid"; wait "$pid" || true
  rm -f "$err"
}

# Retry a capture (up to 3 times) if tshark sees lost segments: on "-i any" tcpdump
# occasionally misses a loopback packet (seen here: 2 of 36 packets in some runs).
complete() {
  [ "$(tshark -r "$1" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)" = 0 ]
}
checked() {
  local fn="$1" out="$2"; shift
  for attempt in 1 2 3; do
    "$fn" "$@"
    if complete "$out"; then return 0; fi
    echo "$(basename "$out"): lost segments, retrying ($attempt)" >&2
  done
  echo "$(basename "$out"): still incomplete after 3 attempts" >&2; return 1
}

checked capture "$SAMPLES/basic.pcap"    "-i lo" "tcp port 9101" python3 basic.py 9101 basic
checked capture "$SAMPLES/large.pcap"    "-i lo" "tcp port 9102" python3 large.py 9102
checked capture "$SAMPLES/coalesced.pcap" "-i lo" "tcp port 9103" python3 coalesced.py 9103
checked capture "$SAMPLES/ipv6.pcap"     "-i lo" "tcp port 9104" node ipv6.js 9104
checked capture "$SAMPLES/any-sll2.pcap" "-i any -y LINUX_SLL2" "tcp port 9105" python3 basic.py 9105 any-sll2 "LINUX_SLL2 (any)"
checked capture_ng "$SAMPLES/basic.pcapng" lo "tcp port 9106" python3 pcapng_exchange.py 9106
checked capture "$SAMPLES/refused.pcap"  "-i lo" "tcp port 9107" python3 refused.py 9107
checked capture "$SAMPLES/keepalive-then-upgrade.pcap" "-i lo" "tcp port 9108" python3 keepalive_upgrade.py 9108
checked capture "$SAMPLES/bad-accept.pcap" "-i lo" "tcp port 9109" python3 bad_accept.py 9109 wrong
checked capture "$SAMPLES/no-accept.pcap"  "-i lo" "tcp port 9110" python3 bad_accept.py 9110 missing
# mid-connection: the script itself starts tcpdump after the handshake.
timeout 40 python3 mid_connection.py 9111 "$SAMPLES/mid-connection.pcap" | sed "s|^|mid-connection.pcap: |"
# hand-crafted NULL-link-type reconstruction of the seed packet list
python3 seed000.py "$SAMPLES/seed000.pcap"

# ---- issue 13: wss:// samples with key logs (ports 9140-9151) ----
bash "$GEN/make_tls.sh"

# ---- issue 3: permessage-deflate from real implementations (ports 9120-9124) ----
# The generators write `messages` (what the application passed to send()); wire_frames.py
# fill then reads the frames back from the capture, checks them against tshark's fields and
# inflates every message (Python zlib) to check it against `messages`.
checked capture "$SAMPLES/deflate-python.pcap" "-i lo" "tcp port 9120" python3 deflate_python.py 9120
python3 wire_frames.py fill deflate-python "$SAMPLES/deflate-python.pcap" 9120
checked capture "$SAMPLES/deflate-node.pcap" "-i lo" "tcp port 9121" node deflate_node.js ctx 9121
python3 wire_frames.py fill deflate-node "$SAMPLES/deflate-node.pcap" 9121
checked capture "$SAMPLES/deflate-node-no-ctx.pcap" "-i lo" "tcp port 9122" node deflate_node.js noctx 9122
python3 wire_frames.py fill deflate-node-no-ctx "$SAMPLES/deflate-node-no-ctx.pcap" 9122
checked capture "$SAMPLES/deflate-window-bits.pcap" "-i lo" "tcp port 9123" node deflate_node.js wbits 9123
python3 wire_frames.py fill deflate-window-bits "$SAMPLES/deflate-window-bits.pcap" 9123
# headless Chromium client (apt-get install -y chromium); the page is served on 9125 (not captured)
if command -v chromium >/dev/null; then
  checked capture_ng "$SAMPLES/chromium.pcapng" lo "tcp port 9124" python3 chromium_client.py 9124 9125
  python3 wire_frames.py fill chromium "$SAMPLES/chromium.pcapng" 9124
else
  echo "chromium not installed: chromium.pcapng not regenerated" >&2
fi

# ---- issue 3: hand-crafted violation captures (raw sockets both sides, ports 9126-9133) ----
# wire_frames.py annotate checks the wire against the manifest and adds packet numbers.
port=9126
for name in viol-masking viol-rsv-opcode viol-control viol-fragment viol-utf8 viol-handshake viol-close bomb; do
  checked capture "$SAMPLES/$name.pcap" "-i lo" "tcp port $port" python3 violations.py "$name" "$port"
  python3 wire_frames.py annotate "$name" "$SAMPLES/$name.pcap" "$port"
  port=$((port + 1))
done

# application-payload samples (issue 11): socketio, graphql-ws, jsonrpc
bash "$GEN/make_payload.sh"
bash "$GEN/make_binproto.sh"

# tcpdump drops privileges and dumpcap writes 0600: normalise owner and mode
chown "$(stat -c %u:%g "$SAMPLES")" "$SAMPLES"/*.pcap "$SAMPLES"/*.pcapng
chmod 644 "$SAMPLES"/*.pcap "$SAMPLES"/*.pcapng
ls -l "$SAMPLES"/*.pcap "$SAMPLES"/*.pcapng
