#!/usr/bin/env bash
# Builds the fuzz targets with cargo-afl and runs each for a bounded time.
# usage: fuzz/run.sh [SECONDS per target, default 60] [TARGET...]
# Exit 1 when any target found a crash or a hang (inputs under fuzz/out/TARGET/default/).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(capture http_head extensions frame_decoder inflate pipeline app_decoders)
fi

# Exit status: 1 when a target found a crash or a hang, or the targets do not compile; 2 when
# the fuzzer itself could not be installed or started here (a machine problem, not a finding: CI reports it without
# failing); 0 otherwise.
setup_failed() { echo "fuzz: $1; no fuzzing done (exit 2)"; exit 2; }
command -v cargo-afl >/dev/null || cargo install cargo-afl --locked || setup_failed "cargo install cargo-afl failed"
# Builds AFL++ once per Rust toolchain; it refuses (harmlessly) when already built.
cargo afl config --build >/dev/null 2>&1 || true
# A target that does not compile is the code's fault, not the machine's: exit 1.
cargo afl build --release || { echo "fuzz: the fuzz targets do not build (exit 1)"; exit 1; }

# Seed corpus: the hand-made seeds, plus the small sample captures for the targets that
# read whole captures.
rm -rf corpus
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    if [ -d "seeds/$t" ]; then cp seeds/"$t"/* "corpus/$t/"; fi
    case $t in
    capture | pipeline)
        find ../samples -maxdepth 1 \( -name '*.pcap' -o -name '*.pcapng' \) -size -8k \
            -exec cp {} "corpus/$t/" \;
        ;;
    esac
done

failed=0
started=0
for t in "${targets[@]}"; do
    rm -rf "out/$t"
    mkdir -p "out/$t"
    # No UI (logs instead), no CPU pinning on a shared machine, no core_pattern check.
    AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        cargo afl fuzz -V "$secs" -i "corpus/$t" -o "out/$t" "target/release/$t" \
        >"out/$t/log.txt" 2>&1 || { echo "$t: afl-fuzz could not run, see fuzz/out/$t/log.txt"; tail -5 "out/$t/log.txt"; continue; }
    started=$((started + 1))
    stats=out/$t/default/fuzzer_stats
    execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
    crashes=$(awk -F' *: *' '$1=="saved_crashes"{print $2}' "$stats")
    hangs=$(awk -F' *: *' '$1=="saved_hangs"{print $2}' "$stats")
    paths=$(awk -F' *: *' '$1=="corpus_count"{print $2}' "$stats")
    echo "$t: ${secs}s, $execs execs, corpus $paths, crashes $crashes, hangs $hangs"
    if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
        echo "  inputs: fuzz/out/$t/default/crashes/ and hangs/ (replay: target/release/$t < FILE)"
        failed=1
    fi
done
if [ "$failed" = 0 ] && [ "$started" = 0 ]; then
    setup_failed "afl-fuzz started no target"
fi
exit $failed
