#!/usr/bin/env bash
# Write the tshark reference decodings samples/expected/NAME.tshark-ws.tsv and
# samples/expected/NAME.tshark-list.tsv for every sample (tshark 4.0.17).
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
EXP="$SAMPLES/expected"
mkdir -p "$EXP"

# NAME  FILE  DECODE-AS (tcp.port==PORT,PROTO)
SAMPLES_LIST="
basic                   basic.pcap                   tcp.port==9101,http
large                   large.pcap                   tcp.port==9102,http
coalesced               coalesced.pcap               tcp.port==9103,http
ipv6                    ipv6.pcap                    tcp.port==9104,http
any-sll2                any-sll2.pcap                tcp.port==9105,http
basic-pcapng            basic.pcapng                 tcp.port==9106,http
refused                 refused.pcap                 tcp.port==9107,http
keepalive-then-upgrade  keepalive-then-upgrade.pcap  tcp.port==9108,http
bad-accept              bad-accept.pcap              tcp.port==9109,http
no-accept               no-accept.pcap               tcp.port==9110,http
mid-connection          mid-connection.pcap          tcp.port==9111,websocket
seed000                 seed000.pcap                 tcp.port==2021,http
deflate-python          deflate-python.pcap          tcp.port==9120,http
deflate-node            deflate-node.pcap            tcp.port==9121,http
deflate-node-no-ctx     deflate-node-no-ctx.pcap     tcp.port==9122,http
deflate-window-bits     deflate-window-bits.pcap     tcp.port==9123,http
chromium                chromium.pcapng              tcp.port==9124,http
viol-masking            viol-masking.pcap            tcp.port==9126,http
viol-rsv-opcode         viol-rsv-opcode.pcap         tcp.port==9127,http
viol-control            viol-control.pcap            tcp.port==9128,http
viol-fragment           viol-fragment.pcap           tcp.port==9129,http
viol-utf8               viol-utf8.pcap               tcp.port==9130,http
viol-handshake          viol-handshake.pcap          tcp.port==9131,http
viol-close              viol-close.pcap              tcp.port==9132,http
bomb                    bomb.pcap                    tcp.port==9133,http
"

echo "$SAMPLES_LIST" | while read -r name file da; do
  [ -n "$name" ] || continue
  f="$SAMPLES/$file"
  tshark -r "$f" -d "$da" -Y websocket -T fields \
    -e frame.number -e websocket.opcode -e websocket.payload_length -e websocket.masking_key \
    -e websocket.fin -e websocket.mask 2>/dev/null > "$EXP/$name.tshark-ws.tsv"
  # websocket.payload_length is only the 7-bit field (126/127 mean "extended"), so also
  # record the extended lengths; in multi-frame packets the ext columns list only the
  # frames that have one (not aligned with the 7-bit list).
  tshark -r "$f" -d "$da" -Y websocket -T fields \
    -e frame.number -e websocket.payload_length -e websocket.payload_length_ext_16 \
    -e websocket.payload_length_ext_64 -e websocket.rsv 2>/dev/null > "$EXP/$name.tshark-ws-len.tsv"
  tshark -r "$f" -d "$da" -T fields -E separator=/t \
    -e frame.number -e frame.time_relative -e _ws.col.Source -e _ws.col.Destination \
    -e _ws.col.Protocol -e frame.len -e _ws.col.Info 2>/dev/null > "$EXP/$name.tshark-list.tsv"
  printf '%-24s %4s ws rows, %4s packets\n' "$name" "$(wc -l < "$EXP/$name.tshark-ws.tsv")" \
    "$(wc -l < "$EXP/$name.tshark-list.tsv")"
done
bash "$GEN/make_expected_tls.sh"
tshark --version | head -1 > "$EXP/TSHARK_VERSION"
