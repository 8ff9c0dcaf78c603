#!/usr/bin/env bash
# Compare tshark's packet list for seed000.pcap (packets 89-110) with the seed text.
# tshark 4.0 prints "SACK_PERM" where the seed's older Wireshark printed "SACK_PERM=1";
# that is the only normalisation applied.  Exit status 0 = identical.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
SEED="${SEED:-/work/shared/seeds/000_eddd21dbe43e3d72.txt}"
[ -f "$SEED" ] || SEED="$(cd "$SAMPLES/.." && pwd)/../shared/seeds/000_eddd21dbe43e3d72.txt"
tmp="$(mktemp -d)"
tshark -r "$SAMPLES/seed000.pcap" -d tcp.port==2021,http -o tcp.relative_sequence_numbers:TRUE \
  -T fields -E separator=/t -e frame.number -e frame.time_relative -e _ws.col.Source \
  -e _ws.col.Destination -e _ws.col.Protocol -e frame.len -e _ws.col.Info 2>/dev/null \
  | awk -F'\t' 'BEGIN{OFS="\t"} $1>=89 && $1<=110 { $2=sprintf("%.6f",$2); print }' > "$tmp/got"
sed -n '/^89\t/,/^110\t/p' "$SEED" | sed 's/SACK_PERM=1/SACK_PERM/' > "$tmp/want"
if diff "$tmp/want" "$tmp/got"; then echo "seed000: packets 89-110 identical to the seed"; rc=0; else rc=1; fi
rm -rf "$tmp"
exit $rc
