#!/usr/bin/env bash
# tshark 4.0.17 answers for the display-filter and -T fields reference tables (issue 10):
#   samples/expected/filters/NAME.tsv   one row per expression of filters.txt:
#                                        EXPR<TAB>frame numbers tshark prints, space-separated
#   samples/expected/fields/NAME.tsv    tshark -T fields -E header=y with every field of fields.txt
#   samples/expected/filters/NAME.values.tsv  the same fields plus those only filters.txt uses,
#                                        values of one field joined by 0x1f (never in a value),
#                                        so the filter engine can be checked on tshark's own values
# The sample list and Decode-As rules are read from make_expected.sh (one list, kept there).
# Usage: make_filter_expected.sh [NAME...]   (default: every sample)
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
SAMPLES="$(dirname "$GEN")"
FOUT="$SAMPLES/expected/filters"
EOUT="$SAMPLES/expected/fields"
mkdir -p "$FOUT" "$EOUT"
# frame.time prints in the local time zone; the references are in UTC.
export TZ=UTC

# The "NAME FILE DECODE-AS" rows of make_expected.sh's SAMPLES_LIST.
list="$(sed -n '/^SAMPLES_LIST="/,/^"/p' "$GEN/make_expected.sh" | grep -v '"')"
mapfile -t exprs < <(grep -v '^#' "$GEN/filters.txt" | grep . | cut -f1)
mapfile -t fields < <(grep -v '^#' "$GEN/fields.txt" | grep .)
eargs=()
for f in "${fields[@]}"; do eargs+=(-e "$f"); done
# Fields filters.txt reads that fields.txt does not print.
vargs=("${eargs[@]}")
for f in tcp.port tcp.flags.ack ip.addr ipv6.addr tcp.analysis.duplicate_ack \
  tcp.analysis.window_update tcp.analysis.window_full tcp.analysis.ack_lost_segment \
  tcp.analysis.lost_segment ip ipv6 tcp http http.request websocket; do
  vargs+=(-e "$f")
done

echo "$list" | while read -r name file da; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  f="$SAMPLES/$file"
  out="$FOUT/$name.tsv"
  {
    printf '# tshark -r samples/%s -d %s -Y EXPR -T fields -e frame.number\n' "$file" "$da"
    for e in "${exprs[@]}"; do
      # tshark's stderr is kept apart: a rejected expression must fail loudly, not look empty.
      if ! nums="$(tshark -r "$f" -d "$da" -Y "$e" -T fields -e frame.number 2>/tmp/mfe.err)"; then
        echo "tshark rejected '$e' on $file: $(grep -v 'Running as' /tmp/mfe.err)" >&2
        exit 1
      fi
      printf '%s\t%s\n' "$e" "$(echo $nums)"
    done
  } > "$out.tmp"
  mv "$out.tmp" "$out"
  tshark -r "$f" -d "$da" -T fields -E header=y "${eargs[@]}" 2>/dev/null > "$EOUT/$name.tsv"
  tshark -r "$f" -d "$da" -T fields -E header=y -E aggregator=$'\x1f' "${vargs[@]}" 2>/dev/null \
    > "$FOUT/$name.values.tsv"
  printf '%-24s %3s expressions, %4s field rows\n' "$name" "$(grep -vc '^#' "$out")" \
    "$(($(wc -l < "$EOUT/$name.tsv") - 1))"
done
