#!/usr/bin/env bash
# Application-payload samples (issue 11): socketio.pcap, graphql-ws.pcap, jsonrpc.pcap,
# graphql-legacy.pcap and
# their manifests samples/NAME.sent.json. Run as root; loopback only; called by make_all.sh.
# Needs: python-socketio + aiohttp, websockets + jsonrpcserver + jsonrpcclient (pip), and the
# npm packages graphql-ws graphql ws subscriptions-transport-ws installed into $NODEPAYLOAD (outside the repo).
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
cd "$GEN"

NODEPAYLOAD="${NODEPAYLOAD:-/tmp/node_payload}"
if [ ! -d "$NODEPAYLOAD/node_modules/graphql-ws" ]; then
  mkdir -p "$NODEPAYLOAD"
  (cd "$NODEPAYLOAD" && npm init -y >/dev/null && npm install --no-audit --no-fund graphql-ws@6 graphql@16 ws@8 subscriptions-transport-ws@0.11 >/dev/null)
fi

capture() {
  local out="$1" filter="$2"; shift 2
  local err; err="$(mktemp)"
  rm -f "$out"
  timeout 60 tcpdump --immediate-mode -i lo -U -w "$out" "$filter" 2>"$err" &
  local pid=$!
  for _ in $(seq 50); do grep -q "listening on" "$err" && break; sleep 0.1; done
  sleep 0.3
  timeout 40 "$@"
  sleep 0.5
  kill -INT "$pid"; wait "$pid" || true
  grep -h "packets captured" "$err" | sed "s|^|$(basename "$out"): |"
  rm -f "$err"
}

capture "$SAMPLES/socketio.pcap"   "tcp port 9141" python3 socketio_sample.py 9141
capture "$SAMPLES/graphql-ws.pcap" "tcp port 9142" env NODE_PATH="$NODEPAYLOAD/node_modules" node graphql_ws.js 9142
capture "$SAMPLES/jsonrpc.pcap"    "tcp port 9143" python3 jsonrpc_ws.py 9143
capture "$SAMPLES/graphql-legacy.pcap" "tcp port 9144" env NODE_PATH="$NODEPAYLOAD/node_modules" node graphql_legacy.js 9144

# tshark's reading of the HTTP bodies (Engine.IO long-polling) for tests/payload.rs:
# frame number, request method, request URI, response status, URI answered, body (as text).
tshark -r "$SAMPLES/socketio.pcap" -Y 'http.request or http.response' -T fields \
  -e frame.number -e http.request.method -e http.request.uri -e http.response.code \
  -e http.response_for.uri \
  -e http.file_data > "$SAMPLES/expected/socketio.tshark-http.tsv" 2>/dev/null
