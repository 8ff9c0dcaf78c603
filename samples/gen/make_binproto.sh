#!/usr/bin/env bash
# SignalR and binary-content samples (issue 12): signalr.pcap, msgpack.pcap, cbor.pcap,
# protobuf.pcap, zlib-stream.pcap and their manifests samples/NAME.sent.json. Run as root;
# loopback only; called by make_all.sh.
# Needs: aiohttp, websockets, msgpack, cbor2, protobuf, grpcio-tools (pip), and the npm
# packages @microsoft/signalr @microsoft/signalr-protocol-msgpack installed into
# $NODEBINPROTO (outside the repo).
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
cd "$GEN"

NODEBINPROTO="${NODEBINPROTO:-/tmp/node_binproto}"
if [ ! -d "$NODEBINPROTO/node_modules/@microsoft/signalr-protocol-msgpack" ]; then
  mkdir -p "$NODEBINPROTO"
  (cd "$NODEBINPROTO" && npm init -y >/dev/null && npm install --no-audit --no-fund @microsoft/signalr@10 @microsoft/signalr-protocol-msgpack@10 >/dev/null)
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
  # A loaded machine: give tcpdump time to drain the kernel buffer before SIGINT.
  sleep 2
  kill -INT "$pid"; wait "$pid" || true
  grep -h "packets captured" "$err" | sed "s|^|$(basename "$out"): |"
  rm -f "$err"
}

capture "$SAMPLES/signalr.pcap"     "tcp port 9151" env NODE_PATH="$NODEBINPROTO/node_modules" python3 signalr_sample.py 9151
capture "$SAMPLES/msgpack.pcap"     "tcp port 9152" python3 binary_ws.py msgpack 9152
capture "$SAMPLES/cbor.pcap"        "tcp port 9153" python3 binary_ws.py cbor 9153
capture "$SAMPLES/protobuf.pcap"    "tcp port 9154" python3 binary_ws.py protobuf 9154
capture "$SAMPLES/zlib-stream.pcap" "tcp port 9155" python3 binary_ws.py zlib 9155

# protoc's descriptor set of the same schema, for `--proto FILE.desc` (tests/binproto.rs).
python3 -m grpc_tools.protoc -I"$GEN" --include_imports -o "$GEN/binproto_chat.desc" "$GEN/binproto_chat.proto"
