#!/usr/bin/env bash
# Write the tshark references of the terminal packet list (tshark 4.0.17):
#   samples/expected/NAME.tshark-color.tsv  frame number, foreground R,G,B, background R,G,B
#     of every packet as `tshark --color` paints it with Wireshark's default colouring rules
#     (/usr/share/wireshark/colorfilters); "-" for a packet no rule matches.
#   samples/expected/NAME.tshark-text.txt   tshark's default one-line-per-packet text output
#     (the aligned No., Time, Source, Destination columns).
# tshark only colours a terminal, and only with 24-bit escapes, so it runs under `script`
# (a pseudo-terminal) with COLORTERM=truecolor; carriage returns the terminal adds are removed.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
EXP="$SAMPLES/expected"

# NAME  FILE  DECODE-AS (the same as make_expected.sh)
LIST="
basic                   basic.pcap                   tcp.port==9101,http
ipv6                    ipv6.pcap                    tcp.port==9104,http
refused                 refused.pcap                 tcp.port==9107,http
keepalive-then-upgrade  keepalive-then-upgrade.pcap  tcp.port==9108,http
viol-close              viol-close.pcap              tcp.port==9132,http
chromium                chromium.pcapng              tcp.port==9124,http
large                   large.pcap                   tcp.port==9102,http
"
echo "$LIST" | while read -r name file da; do
  [ -n "$name" ] || continue
  f="$SAMPLES/$file"
  COLORTERM=truecolor script -qec "tshark --color -r '$f' -d '$da' 2>/dev/null" /dev/null < /dev/null \
    | tr -d '\r' | python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"(?:\x1b\[0m)*\x1b\[38;2;(\d+);(\d+);(\d+)m\x1b\[48;2;(\d+);(\d+);(\d+)m\s*(\d+) ", line)
    if m:
        print("%s\t%s,%s,%s\t%s,%s,%s" % (m.group(7), *m.group(1, 2, 3), *m.group(4, 5, 6)))
        continue
    m = re.match(r"(?:\x1b\[0m)*\s*(\d+) ", line)
    if m:
        print("%s\t-\t-" % m.group(1))
' > "$EXP/$name.tshark-color.tsv"
  tshark -r "$f" -d "$da" 2>/dev/null > "$EXP/$name.tshark-text.txt"
  printf '%-24s %4s coloured packets\n' "$name" "$(wc -l < "$EXP/$name.tshark-color.tsv")"
done
