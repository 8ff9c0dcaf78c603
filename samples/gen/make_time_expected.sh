#!/usr/bin/env bash
# tshark 4.0.17's Time column in every -t format for samples/basic.pcap (issue 10):
#   samples/expected/time/basic.FORMAT.txt   one line per packet
# The local-time formats (a, ad, adoy) are made with TZ=Asia/Kolkata (UTC+05:30), so the test
# shows the system zone is applied; the test runs wsdissect with the same TZ.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
mkdir -p "$SAMPLES/expected/time"
for t in r a ad adoy d dd e u ud udoy; do
  TZ=Asia/Kolkata tshark -r "$SAMPLES/basic.pcap" -t "$t" -T fields -e _ws.col.Time 2>/dev/null \
    > "$SAMPLES/expected/time/basic.$t.txt"
done
# dd under a display filter: since the previous packet shown.
tshark -r "$SAMPLES/basic.pcap" -Y websocket -t dd -T fields -e _ws.col.Time 2>/dev/null \
  > "$SAMPLES/expected/time/basic.dd-websocket.txt"
