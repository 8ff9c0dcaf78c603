#!/usr/bin/env bash
# chromium-har.pcap + chromium-har.har + chromium-har.sent.json: one WebSocket session of
# headless Chromium (driven over the DevTools protocol, which also gives Chrome's HAR) against
# a Python websockets server, captured by tcpdump on the loopback. Root; needs /usr/bin/chromium
# (Debian package chromium), Node with `ws` (installed into /tmp/nodews if missing), Python
# websockets.
set -euo pipefail
cd "$(dirname "$0")"
PORT=9126; HTTPPORT=9127
OUT=$(cd .. && pwd)
if [ ! -d /tmp/nodews/node_modules/ws ]; then
  mkdir -p /tmp/nodews && (cd /tmp/nodews && npm init -y >/dev/null && npm install ws@8 >/dev/null)
fi
export NODE_PATH=/tmp/nodews/node_modules
err=$(mktemp)
timeout 60 tcpdump --immediate-mode -i lo -U -w "$OUT/chromium-har.pcap" "tcp port $PORT" 2>"$err" &
dump=$!
for _ in $(seq 50); do grep -q "listening on" "$err" && break; sleep 0.1; done
python3 har_server.py $PORT $HTTPPORT > /tmp/har_server.out &
server=$!
for _ in $(seq 50); do grep -q ready /tmp/har_server.out && break; sleep 0.1; done
node chromium_har.js $HTTPPORT "$OUT/chromium-har.har"
wait $server
sleep 0.5
kill -INT $dump; wait $dump || true
rm -f "$err"
