#!/usr/bin/env bash
# Throughput and memory benchmark of wsdissect (and tshark, when installed) on synthetic
# captures from the gencap example. One command from a clean clone:
#
#     bench/run.sh
#
# Builds the release binary, generates the captures once into bench/data/ (gitignored),
# then times every command on every capture with a warm page cache and prints a table:
# MB/s (10^6 bytes), packets/s, WebSocket frames/s, peak RSS, and the ratio to tshark.
# It also checks that the decoder counted exactly the frames the generator wrote (and that
# tshark did, where it ran) and exits non-zero if anything differs or fails.
#
# Environment:
#   BENCH_RUNS=N         timed runs per command, best wall time kept (default 3); a command
#                        whose runs took less than BENCH_MIN_SECONDS (default 1) together is run
#                        again, up to 25 runs: best of 3 runs of a 40 ms command was mostly noise
#   BENCH_SIZES="20 200 1000"   capture sizes in MB (default)
#   BENCH_TSHARK_1G=1    also run tshark on the 1 GB captures (slow: ~1 min for small frames)
#   BENCH_NO_TSHARK=1    never run tshark
#   BENCH_NO_SHORT=1     skip the 200 MB capture of ~100 000 short connections
#   BENCH_DATA=DIR       where captures are kept (default bench/data)
#   BENCH_NO_MIX=1       skip the second generator's capture (bench/wsmix.py, 200 MB)
#   BENCH_NO_MANY=1      skip the many-files case (check over 8 captures of 25 MB)
#   BENCH_NO_HOSTILE=1   skip the hostile cases (examples/hostile at full size: 1 000 000 SYNs,
#                        100 000 open WebSocket connections, 200 x 16 MiB of deflated zeros,
#                        ...), each in every output mode, with peak RSS against the 128 MiB
#                        the default --memory-limit promises (README "Limits")
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${BENCH_RUNS:-3}
MIN_NS=$(awk "BEGIN{printf \"%d\", ${BENCH_MIN_SECONDS:-1} * 1e9}")
SIZES=${BENCH_SIZES:-"20 200 1000"}
DATA=${BENCH_DATA:-$ROOT/bench/data}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SEED=1
CONNS=64
mkdir -p "$DATA"

die() { echo "bench: FAILED: $*" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install time"

echo "== building (release)" >&2
cargo build --release --quiet --bin wsdissect --example gencap --example hostile
WS=$TARGET/release/wsdissect
GEN=$TARGET/release/examples/gencap
HOSTILE=$TARGET/release/examples/hostile

HAVE_CHECK=0
if "$WS" check --help >/dev/null 2>&1; then HAVE_CHECK=1; fi
# check -Y (display filters) exists from issue 10 on; older binaries skip that row.
HAVE_TSHARK=0
if [[ -z "${BENCH_NO_TSHARK:-}" ]] && command -v tshark >/dev/null; then HAVE_TSHARK=1; fi

# json_field FILE KEY: an integer field of the generator's one-line JSON.
json_field() { grep -o "\"$2\":[0-9]*" "$1" | head -1 | cut -d: -f2; }

# Rows also show: `--threads 1` or `--threads 2` next to the default (a thread per core
# for `check` and the packet list, one for outputs that hold payloads: JSON Lines, the
# messages view; files in parallel for several),
# `check` pinned to one core (taskset -c 0), and the floor: `tcpdump -r F -w /dev/null`, a plain record
# walk and copy of the same file; the table gives each row's ratio to tshark and to it.

# gen KIND SIZE -> path; generates once (the counts file is written last, so a partial
# capture from an interrupted run is regenerated). KIND is small, large, or short (small
# frames, 1-3 messages per connection: ~100 000 connections in 200 MB).
gen() {
  local kind=$1 size=$2 mix=$1 extra=()
  if [[ $kind == short ]]; then
    mix=small
    extra=(--actions 1-3)
  fi
  local f=$DATA/$kind-${size}mb-c$CONNS-s$SEED.pcap
  if [[ $kind == mix && ( ! -s $f.counts.json || ! -s $f ) ]]; then
    # The second, independent generator (Python): another size mix, more close codes,
    # fragments and pings than gencap.
    echo "== generating $f (bench/wsmix.py)" >&2
    rm -f "$f.counts.json"
    python3 "$ROOT/bench/wsmix.py" --size-mb "$size" --conns "$CONNS" --seed "$SEED" --out "$f" >"$f.counts.tmp"
    mv "$f.counts.tmp" "$f.counts.json"
  fi
  if [[ ! -s $f.counts.json || ! -s $f ]]; then
    echo "== generating $f" >&2
    rm -f "$f.counts.json"
    "$GEN" --size-mb "$size" --frames "$mix" --conns "$CONNS" --seed "$SEED" "${extra[@]}" \
      --out "$f" > "$f.counts.tmp"
    mv "$f.counts.tmp" "$f.counts.json"
  fi
  echo "$f"
}

# timed CMD: runs the shell command RUNS times (more for a short command, see BENCH_RUNS);
# sets WALL (best, seconds, from a ns clock), RSS (KiB, largest of the runs) and STATUS
# (exit status of the last run).
timed() {
  local cmd=$1 best="" rss=0 t0 t1 w m x total=0
  local stats
  stats=$(mktemp)
  STATUS=0
  for ((i = 0; i < RUNS || (RUNS > 1 && i < 25 && total < MIN_NS); i++)); do
    t0=$(date +%s%N)
    /usr/bin/time -o "$stats" -f "%M %x" bash -c "$cmd" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    read -r m x <"$stats"
    w=$(awk "BEGIN{printf \"%.3f\", ($t1 - $t0) / 1e9}")
    total=$((total + t1 - t0))
    STATUS=$x
    if [[ -z $best ]] || awk "BEGIN{exit !($w < $best)}"; then best=$w; fi
    ((m > rss)) && rss=$m
  done
  rm -f "$stats"
  WALL=$best
  RSS=$rss
}

ROWS=()
FAILURES=()
WARNINGS=()
declare -A TSHARK_MBS

row() { # workload command bytes packets frames
  local mbs pps fps
  mbs=$(awk "BEGIN{printf \"%.0f\", $3 / 1e6 / ($WALL > 0 ? $WALL : 0.001)}")
  pps=$(awk "BEGIN{printf \"%.2f\", $4 / 1e6 / ($WALL > 0 ? $WALL : 0.001)}")
  fps=$(awk "BEGIN{printf \"%.2f\", $5 / 1e6 / ($WALL > 0 ? $WALL : 0.001)}")
  ROWS+=("$1"$'\t'"$2"$'\t'"$WALL"$'\t'"$mbs"$'\t'"$pps"$'\t'"$fps"$'\t'"$(awk "BEGIN{printf \"%.1f\", $RSS / 1024}")")
}

WORKLOADS=()
for mix in small large; do
  for size in $SIZES; do WORKLOADS+=("$mix:$size"); done
done
[[ -n "${BENCH_NO_SHORT:-}" ]] || WORKLOADS+=("short:200")
[[ -n "${BENCH_NO_MIX:-}" ]] || WORKLOADS+=("mix:200")
declare -A FLOOR_MBS

for workload in "${WORKLOADS[@]}"; do
  mix=${workload%%:*}
  size=${workload##*:}
  f=$(gen "$mix" "$size")
  counts=$f.counts.json
  bytes=$(stat -c %s "$f")
  packets=$(json_field "$counts" packets)
  frames=$(json_field "$counts" frames)
  name="$mix ${size} MB"
  echo "== $name: $packets packets, $frames frames" >&2
  cat "$f" >/dev/null # warm the page cache

  # The decoder must count every frame the generator wrote.
  got=$("$WS" read "$f" --format jsonl | grep -c '"type":"frame"' || true)
  if [[ $got != "$frames" ]]; then
    FAILURES+=("$name: wsdissect reported $got frames, the generator wrote $frames")
  fi

  # The floor: reading and copying the records, nothing decoded.
  timed "tcpdump -r '$f' -w /dev/null"
  row "$name" "floor: tcpdump -r F -w /dev/null" "$bytes" "$packets" "$frames"
  FLOOR_MBS[$name]=$(awk "BEGIN{print $bytes / 1e6 / $WALL}")
  timed "'$WS' read '$f' --format jsonl"
  [[ $STATUS == 0 ]] || FAILURES+=("$name: read --format jsonl exited $STATUS")
  row "$name" "read --format jsonl" "$bytes" "$packets" "$frames"
  timed "'$WS' read '$f' --format jsonl --threads 2"
  row "$name" "read --format jsonl --threads 2" "$bytes" "$packets" "$frames"
  timed "'$WS' read '$f' --view messages"
  [[ $STATUS == 0 ]] || FAILURES+=("$name: read --view messages exited $STATUS")
  row "$name" "read --view messages" "$bytes" "$packets" "$frames"
  timed "'$WS' read '$f' --view messages --threads 2"
  row "$name" "read --view messages --threads 2" "$bytes" "$packets" "$frames"
  timed "'$WS' read '$f'"
  [[ $STATUS == 0 ]] || FAILURES+=("$name: read (timeline) exited $STATUS")
  row "$name" "read (timeline)" "$bytes" "$packets" "$frames"
  timed "'$WS' read '$f' --threads 1"
  row "$name" "read (timeline) --threads 1" "$bytes" "$packets" "$frames"
  timed "cat '$f' | '$WS' read - --format jsonl"
  [[ $STATUS == 0 ]] || FAILURES+=("$name: cat | read - exited $STATUS")
  row "$name" "cat | read - --format jsonl" "$bytes" "$packets" "$frames"
  if [[ $HAVE_CHECK == 1 ]]; then
    timed "'$WS' check '$f'"
    [[ $STATUS == 0 ]] || FAILURES+=("$name: check exited $STATUS on generated (valid) traffic")
    row "$name" "check (default: a thread per core)" "$bytes" "$packets" "$frames"
    timed "'$WS' check '$f' --threads 1"
    row "$name" "check --threads 1" "$bytes" "$packets" "$frames"
    if command -v taskset >/dev/null; then
      timed "taskset -c 0 '$WS' check '$f' --threads 1"
      row "$name" "taskset -c 0 check --threads 1 (one core)" "$bytes" "$packets" "$frames"
    fi
    # A display filter on a frame field (issue 10: at most 25% slower than check).
    timed "'$WS' check -Y 'websocket.opcode == 1' '$f'"
    [[ $STATUS == 0 ]] || FAILURES+=("$name: check -Y exited $STATUS on generated (valid) traffic")
    row "$name" "check -Y 'websocket.opcode == 1'" "$bytes" "$packets" "$frames"
    timed "cat '$f' | '$WS' check -"
    [[ $STATUS == 0 ]] || FAILURES+=("$name: cat | check - exited $STATUS")
    row "$name" "cat | check -" "$bytes" "$packets" "$frames"
  fi
  if [[ $HAVE_TSHARK == 1 && $mix != short ]] && { [[ $size == 200 ]] || { [[ $size == 1000 ]] && [[ -n "${BENCH_TSHARK_1G:-}" ]]; }; }; then
    saved=$RUNS
    RUNS=1
    timed "tshark -r '$f' -Y websocket -T fields -e frame.number -e websocket.opcode"
    RUNS=$saved
    row "$name" "tshark -Y websocket" "$bytes" "$packets" "$frames"
    TSHARK_MBS[$mix]=$(awk "BEGIN{print $bytes / 1e6 / $WALL}")
    tframes=$(tshark -r "$f" -Y websocket -T fields -e websocket.opcode 2>/dev/null | tr ',' '\n' | grep -c . || true)
    if [[ $tframes != "$frames" ]]; then
      # Not a failure of wsdissect: tshark 4.0 loses frame sync in some streams of large
      # masked fragmented messages ("Packet size limited during capture", then reserved
      # opcodes), while wsdissect's count and payload bytes match the generator's.
      WARNINGS+=("$name: tshark decoded $tframes frames, the generator wrote $frames")
    fi
  fi
done

# Many files: check over 8 independent captures (gencap seeds 1-8, 25 MB each), with one
# thread and with the default (files checked in parallel, reports in the order given).
if [[ -z "${BENCH_NO_MANY:-}" && $HAVE_CHECK == 1 ]]; then
  many=()
  for seed in 1 2 3 4 5 6 7 8; do
    f=$DATA/many-25mb-c$CONNS-s$seed.pcap
    if [[ ! -s $f ]]; then
      echo "== generating $f" >&2
      "$GEN" --size-mb 25 --frames small --conns "$CONNS" --seed "$seed" --out "$f.tmp" >/dev/null && mv "$f.tmp" "$f"
    fi
    cat "$f" >/dev/null
    many+=("$f")
  done
  mbytes=$(cat "${many[@]}" | wc -c)
  timed "'$WS' check ${many[*]}"
  [[ $STATUS == 0 ]] || FAILURES+=("many files: check exited $STATUS")
  row "8 files x 25 MB" "check a b ... (8 files)" "$mbytes" 0 0
  timed "'$WS' check ${many[*]} --threads 1"
  row "8 files x 25 MB" "check a b ... (8 files) --threads 1" "$mbytes" 0 0
  timed "cat ${many[*]} >/dev/null; for f in ${many[*]}; do tcpdump -r \$f -w /dev/null 2>/dev/null; done"
  row "8 files x 25 MB" "floor: tcpdump -r F -w /dev/null (each)" "$mbytes" 0 0
  FLOOR_MBS["8 files x 25 MB"]=$(awk "BEGIN{print $mbytes / 1e6 / $WALL}")
fi

# The table, with the ratio to tshark's throughput on the same kind of traffic and to the
# floor (tcpdump copying the same file).
printf '\n| workload | command | wall s | MB/s | Mpackets/s | Mframes/s | peak RSS MiB | vs tshark | vs floor |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
for r in "${ROWS[@]}"; do
  IFS=$'\t' read -r wl cmd wall mbs pps fps rss <<<"$r"
  mix=${wl%% *}
  [[ $mix == short || $mix == 8 ]] && mix=small
  ratio="-"
  if [[ -n "${TSHARK_MBS[$mix]:-}" && $cmd != tshark* ]]; then
    ratio=$(awk "BEGIN{printf \"%.0fx\", $mbs / ${TSHARK_MBS[$mix]}}")
  fi
  floor="-"
  if [[ -n "${FLOOR_MBS[$wl]:-}" ]]; then
    floor=$(awk "BEGIN{printf \"%.2f\", $mbs / ${FLOOR_MBS[$wl]}}")
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$wl" "${cmd//|/\\|}" "$wall" "$mbs" "$pps" "$fps" "$rss" "$ratio" "$floor"
done
printf '\n%s, %s cores; best of %s runs (up to 25 for a command under %s s); page cache warm; MB = 10^6 bytes; tshark ratios against tshark on the 200 MB capture of the same kind; floor = tcpdump -r F -w /dev/null on the same file; load while measuring: %s.\n' \
  "$(uname -m)" "$(nproc)" "$RUNS" "$(awk "BEGIN{printf \"%.2f\", ${BENCH_MIN_SECONDS:-1} / 3}")" "$(uptime | sed 's/.*load average/load average/')"
[[ $HAVE_CHECK == 1 ]] || printf '(this wsdissect has no check subcommand: check rows skipped)\n'

# Hostile cases at full size: every output mode must stay under 128 MiB of peak RSS.
if [[ -z "${BENCH_NO_HOSTILE:-}" ]]; then
  HROWS=()
  for case in syns open-ws deflate-zeros early-data acks tiny-frames invisible; do
    f=$DATA/hostile-$case.pcap
    if [[ ! -s $f ]]; then
      echo "== generating $f" >&2
      "$HOSTILE" "$case" --out "$f.tmp" && mv "$f.tmp" "$f"
    fi
    cat "$f" >/dev/null
    for mode in "read" "read --format jsonl" "read -V" "read --view messages" "check"; do
      read -r -a argv <<<"$mode"
      saved=$RUNS
      RUNS=1
      timed "'$WS' ${argv[0]} '$f' ${argv[*]:1}"
      RUNS=$saved
      # check exits 1 when it finds errors; hostile captures have some.
      [[ $STATUS == 0 || ($STATUS == 1 && ${argv[0]} == check) ]] || FAILURES+=("hostile $case: $mode exited $STATUS")
      if ((RSS > 128 * 1024)); then FAILURES+=("hostile $case: $mode peaked at $((RSS / 1024)) MiB (over 128)"); fi
      HROWS+=("$case"$'\t'"$mode"$'\t'"$WALL"$'\t'"$(awk "BEGIN{printf \"%.1f\", $RSS / 1024}")")
    done
  done
  printf '\n| hostile case | command | wall s | peak RSS MiB |\n|---|---|---:|---:|\n'
  for r in "${HROWS[@]}"; do
    IFS=$'\t' read -r c m w r2 <<<"$r"
    printf '| %s | %s | %s | %s |\n' "$c" "$m" "$w" "$r2"
  done
fi

if ((${#WARNINGS[@]})); then
  printf '\nbench: warnings:\n' >&2
  printf '  %s\n' "${WARNINGS[@]}" >&2
fi
if ((${#FAILURES[@]})); then
  printf '\nbench: FAILED:\n' >&2
  printf '  %s\n' "${FAILURES[@]}" >&2
  exit 1
fi
echo "bench: frame counts match the generator's" >&2

# ---- TLS (issue 13): check --keylog on wss:// traffic -----------------------------------
# gencap --tls wraps the same traffic in TLS 1.3 TLS_AES_128_GCM_SHA256 and writes the key
# log; check decrypts every record (AES-GCM through RustCrypto's aes-gcm, AES-NI when the CPU
# has it) and must still count every frame the generator wrote. BENCH_TLS_SIZE=MB (default
# 200); BENCH_NO_TLS=1 skips this block.
if [[ -z "${BENCH_NO_TLS:-}" ]]; then
  TLS_SIZE=${BENCH_TLS_SIZE:-200}
  TROWS=()
  for mix in small large; do
    f=$DATA/tls-$mix-${TLS_SIZE}mb-c$CONNS-s$SEED.pcap
    if [[ ! -s $f.counts.json || ! -s $f || ! -s $f.keys ]]; then
      echo "== generating $f (TLS)" >&2
      rm -f "$f.counts.json"
      "$GEN" --size-mb "$TLS_SIZE" --frames "$mix" --conns "$CONNS" --seed "$SEED" \
        --tls "$f.keys" --out "$f" > "$f.counts.tmp"
      mv "$f.counts.tmp" "$f.counts.json"
    fi
    bytes=$(stat -c %s "$f")
    packets=$(json_field "$f.counts.json" packets)
    frames=$(json_field "$f.counts.json" frames)
    cat "$f" >/dev/null
    got=$("$WS" read "$f" --keylog "$f.keys" --format jsonl | grep -c '"type":"frame"' || true)
    [[ $got == "$frames" ]] || { echo "bench: FAILED: tls $mix: $got frames decrypted, the generator wrote $frames" >&2; exit 1; }
    timed "'$WS' check '$f' --keylog '$f.keys' --expect-decrypted"
    [[ $STATUS == 0 ]] || { echo "bench: FAILED: tls $mix: check --keylog exited $STATUS" >&2; exit 1; }
    TROWS+=("tls $mix ${TLS_SIZE} MB"$'\t'"$WALL"$'\t'"$(awk "BEGIN{printf \"%.0f\", $bytes / 1e6 / ($WALL > 0 ? $WALL : 0.001)}")"$'\t'"$(awk "BEGIN{printf \"%.2f\", $frames / 1e6 / ($WALL > 0 ? $WALL : 0.001)}")"$'\t'"$(awk "BEGIN{printf \"%.1f\", $RSS / 1024}")")
  done
  printf '\n| workload (TLS 1.3, AES-128-GCM) | command | wall s | MB/s | Mframes/s | peak RSS MiB |\n|---|---|---:|---:|---:|---:|\n'
  for r in "${TROWS[@]}"; do
    IFS=$'\t' read -r w s m fr r2 <<<"$r"
    printf '| %s | check --keylog | %s | %s | %s | %s |\n' "$w" "$s" "$m" "$fr" "$r2"
  done
  echo "bench: TLS frame counts match the generator's" >&2
fi
# ---- end of the TLS block ----------------------------------------------------------------
