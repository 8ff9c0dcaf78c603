#!/usr/bin/env bash
# Proves a refactor byte-identical: runs two wsdissect binaries over every sample, every
# capture under ../shared/captures and every output mode, and diffs stdout, stderr and the
# exit code. Usage: scripts/compare-outputs.sh OLD_BINARY NEW_BINARY [CAPTURE...]
# Prints one line per difference and a closing count; exit 1 when anything differs.
set -uo pipefail
old=${1:?old binary}; new=${2:?new binary}; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then captures=("$@"); else
  mapfile -t captures < <( { ls "$here"/samples/*.pcap* "$here"/tests/data/*.pcap* 2>/dev/null;
    find "$here/../shared/captures" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) 2>/dev/null; } | sort -u)
fi
modes=(
  "read"
  "read -V"
  "read --wireshark-compat"
  "read -V --wireshark-compat"
  "read --format jsonl"
  "read --view explain"
  "read --view conversations"
  "read --view flow"
  "read --view flow --frames-only"
  "read --view flow --mermaid"
  "read --view messages"
  "read --follow 0"
  "read --follow 1"
  "read --color always --view explain"
  "read --color always --view messages"
  "read --color always --view flow"
  "read --color always --view conversations"
  "read --max-payload 10 --format jsonl"
  "read --format har"
  "check"
  "check --format jsonl"
  "check --format junit"
  "check --quiet"
  "check --deny warnings --expect-close-handshake --allowed-close-codes 1000,none --min-connections 2"
)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
runs=0; diffs=0
for f in "${captures[@]}"; do
  for m in "${modes[@]}"; do
    read -r -a argv <<<"$m"
    sub=${argv[0]}; rest=("${argv[@]:1}")
    for input in path stdin; do
      if [ $input = path ]; then
        COLUMNS=100 "$old" "$sub" "$f" "${rest[@]}" >"$tmp/o.out" 2>"$tmp/o.err"; oc=$?
        COLUMNS=100 "$new" "$sub" "$f" "${rest[@]}" >"$tmp/n.out" 2>"$tmp/n.err"; nc=$?
      else
        COLUMNS=100 "$old" "$sub" - "${rest[@]}" <"$f" >"$tmp/o.out" 2>"$tmp/o.err"; oc=$?
        COLUMNS=100 "$new" "$sub" - "${rest[@]}" <"$f" >"$tmp/n.out" 2>"$tmp/n.err"; nc=$?
      fi
      runs=$((runs+1))
      if [ $oc != $nc ] || ! cmp -s "$tmp/o.out" "$tmp/n.out" || ! cmp -s "$tmp/o.err" "$tmp/n.err"; then
        diffs=$((diffs+1)); echo "DIFF [$input] $m :: $f (exit $oc vs $nc)"
        diff "$tmp/o.out" "$tmp/n.out" | head -5; diff "$tmp/o.err" "$tmp/n.err" | head -3
      fi
    done
  done
  # check over several files at once, and export
done
# several files in one check run
"$old" check "${captures[@]:0:6}" >"$tmp/o.out" 2>&1; oc=$?
"$new" check "${captures[@]:0:6}" >"$tmp/n.out" 2>&1; nc=$?
runs=$((runs+1)); if [ $oc != $nc ] || ! cmp -s "$tmp/o.out" "$tmp/n.out"; then diffs=$((diffs+1)); echo "DIFF multi-file check"; fi
echo "compared ${#captures[@]} captures x ${#modes[@]} modes x 2 inputs (+1): $runs runs, $diffs differing"
[ $diffs = 0 ]
