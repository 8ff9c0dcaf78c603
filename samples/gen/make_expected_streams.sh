#!/usr/bin/env bash
# tshark's TCP stream index (tcp.stream) for every packet of every sample:
# samples/expected/NAME.tshark-stream.tsv ("frame.number<TAB>tcp.stream"), so the tests can
# check that wsdissect numbers connections as Wireshark does. Same Decode-As as make_expected.sh.
set -euo pipefail
SAMPLES="$(cd "$(dirname "$0")/.." && pwd)"
EXP="$SAMPLES/expected"
for list in "$EXP"/*.tshark-list.tsv; do
  name=$(basename "$list" .tshark-list.tsv)
  case "$name" in
    basic-pcapng) file=basic.pcapng ;;
    *) file=$name.pcap ;;
  esac
  [ -f "$SAMPLES/$file" ] || { [ -f "$SAMPLES/$name.pcapng" ] && file=$name.pcapng; }
  tshark -r "$SAMPLES/$file" -T fields -e frame.number -e tcp.stream 2>/dev/null \
    > "$EXP/$name.tshark-stream.tsv"
done
