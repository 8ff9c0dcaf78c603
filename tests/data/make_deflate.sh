#!/usr/bin/env bash
# Regenerates the permessage-deflate captures in tests/data/ (root; loopback only; every
# step bounded by `timeout`). Needs tcpdump, python3 + websockets, node + ws@8 in
# $NODEWS (default /tmp/nodews, installed there if missing).
set -euo pipefail
cd "$(dirname "$0")"
NODEWS="${NODEWS:-/tmp/nodews}"
if [ ! -d "$NODEWS/node_modules/ws" ]; then
  mkdir -p "$NODEWS"
  (cd "$NODEWS" && npm init -y >/dev/null && npm install --no-audit --no-fund ws@8 >/dev/null)
fi
export NODE_PATH="$NODEWS/node_modules"

# capture NAME PORT CMD...: tcpdump on lo around CMD; NAME.pcap and NAME.sent.json.
capture() {
  local name="$1" port="$2"; shift 2
  local err; err="$(mktemp)"
  rm -f "$name.pcap"
  timeout 60 tcpdump --immediate-mode -i lo -U -w "$name.pcap" "tcp port $port" 2>"$err" &
  local pid=$!
  for _ in $(seq 50); do grep -q "listening on" "$err" && break; sleep 0.1; done
  sleep 0.3
  timeout 30 "$@" "$port" "$name.sent.json" ${EXTRA:-}
  sleep 0.5
  kill -INT "$pid"; wait "$pid" || true
  grep -h "packets captured" "$err" | sed "s|^|$name.pcap: |"
  rm -f "$err"
}

capture deflate-python 9131 python3 deflate_py.py
capture deflate-node 9132 node deflate_node.js
EXTRA=nct capture deflate-node-nct 9133 node deflate_node.js

# Headless Chromium as the client (apt-get install -y chromium), if present.
if command -v chromium >/dev/null; then
  capture deflate-chromium 9134 python3 deflate_chromium.py
fi
ls -l deflate-*.pcap
