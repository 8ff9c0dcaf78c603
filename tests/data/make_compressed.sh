#!/usr/bin/env bash
# Compressed copies of samples/basic.pcap (and basic.pcapng) made by the real gzip, zstd and
# lz4 command-line tools, plus a pcapng carrying a TLS key log in a Decryption Secrets Block
# made by editcap. Run from the repository root: bash tests/data/make_compressed.sh
# (apt-get install -y zstd lz4 tshark if missing).
set -euo pipefail
d=tests/data; s=samples/basic.pcap; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gzip -9 -n -c "$s" > "$d/basic.pcap.gz"
zstd -q -19 -c "$s" > "$d/basic.pcap.zst"
lz4 -q -9 -c "$s" > "$d/basic.pcap.lz4"
gzip -n -c samples/basic.pcapng > "$d/basic.pcapng.gz"
# The same bytes cut in two at byte 2000, each part compressed on its own and the results
# concatenated: two gzip members, two zstd frames, two lz4 frames.
head -c 2000 "$s" > "$tmp/p1"; tail -c +2001 "$s" > "$tmp/p2"
( gzip -n -c "$tmp/p1"; gzip -n -c "$tmp/p2" ) > "$d/basic-2members.pcap.gz"
( zstd -q -c "$tmp/p1"; zstd -q -c "$tmp/p2" ) > "$d/basic-2frames.pcap.zst"
( lz4 -q -c "$tmp/p1"; lz4 -q -c "$tmp/p2" ) > "$d/basic-2frames.pcap.lz4"
# Decryption Secrets Block: dummy-keys.log is hand-written (made-up randoms and secrets,
# NSS key log syntax, no final newline to check that the block's padding is not exposed).
editcap --inject-secrets tls,"$d/dummy-keys.log" "$s" "$d/basic-with-secrets.pcapng"
