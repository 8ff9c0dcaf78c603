#!/usr/bin/env bash
# tshark 4.0.17 reference decodings of the TLS samples (issue 13), without and with the key log:
#   NAME.tshark-tls-list.tsv       frame, protocol column, Info of every TLS packet, no keys
#                                  (and SOCKS and plain HTTP: the proxy handshakes before TLS)
#   NAME.tshark-tls-list-keys.tsv  the same with -o tls.keylog_file:samples/NAME.keys
#   NAME.tshark-tls-ws.tsv         decrypted WebSocket frames: frame, opcode, 7-bit length,
#                                  16-bit extended length, mask flag
# tls13-secrets.pcapng carries its keys in a Decryption Secrets Block: no keylog option.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
EXP="$SAMPLES/expected"
for f in "$SAMPLES"/tls*.pcap "$SAMPLES"/tls*.pcapng "$SAMPLES"/h2ws-*.pcap; do
  base="$(basename "$f")"; name="${base%.*}"
  keyopt=()
  [ -f "$SAMPLES/$name.keys" ] && keyopt=(-o "tls.keylog_file:$SAMPLES/$name.keys")
  tshark -r "$f" -o tls.keylog_file: -Y "tls || socks || http" -T fields -E separator=/t \
    -e frame.number -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null > "$EXP/$name.tshark-tls-list.tsv"
  tshark -r "$f" "${keyopt[@]}" -Y "tls || socks || http" -T fields -E separator=/t \
    -e frame.number -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null > "$EXP/$name.tshark-tls-list-keys.tsv"
  tshark -r "$f" "${keyopt[@]}" -Y websocket -T fields -E separator=/t \
    -e frame.number -e websocket.opcode -e websocket.payload_length \
    -e websocket.payload_length_ext_16 -e websocket.mask 2>/dev/null > "$EXP/$name.tshark-tls-ws.tsv"
  printf '%-20s %3s tls packets, %3s ws rows with keys\n' "$name" \
    "$(wc -l < "$EXP/$name.tshark-tls-list.tsv")" "$(wc -l < "$EXP/$name.tshark-tls-ws.tsv")"
done
# sslv2-hello.pcap (SSL 2.0-format ClientHello, port 9158): tshark's TLS heuristic does not
# take that format on an unknown port, so it is decoded as TLS by hand (-d); wsdissect finds
# it by itself.
tshark -r "$SAMPLES/sslv2-hello.pcap" -d tcp.port==9158,tls -Y tls -T fields -E separator=/t \
  -e frame.number -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null > "$EXP/sslv2-hello.tshark-tls-list.tsv"
