#!/usr/bin/env python3
"""Turns a one-connection Ethernet/IPv4 pcap into a TcpAnalyzer fixture (see analysis.rs tests).

Usage: extract.py CAPTURE.pcap > NAME.txt   (needs tshark 4.0 on PATH)

One line per packet, tab separated:
  time_ns dir seq ack flags window len options_hex(SYN only, '-' otherwise)
  | tshark: rel_seq rel_ack window labels(';'-joined Info prefixes, '-' if none)
dir is c (sender of the first packet's source port) or s.
"""
import re, struct, subprocess, sys

path = sys.argv[1]
d = open(path, 'rb').read()
off, rows, client = 24, [], None
while off < len(d):
    s, us, incl, _ = struct.unpack('<IIII', d[off:off + 16]); off += 16
    p = d[off:off + incl]; off += incl
    ip = p[14:]; ihl = (ip[0] & 15) * 4; tot = struct.unpack('!H', ip[2:4])[0]
    t = ip[ihl:]
    sp, dp, seq, ack, offf, win = struct.unpack('!HHIIHH', t[:16])
    hl = (offf >> 12) * 4; flags = offf & 0x1ff
    client = sp if client is None else client
    opts = t[20:hl].hex() if flags & 2 else '-'
    rows.append([str(s * 1_000_000_000 + us * 1000), 'c' if sp == client else 's', str(seq),
                 str(ack), '%03x' % flags, str(win), str(tot - ihl - hl), opts or '-'])
ts = subprocess.run(['tshark', '-r', path, '-T', 'fields', '-E', 'separator=/t',
                     '-e', 'tcp.seq', '-e', 'tcp.ack', '-e', 'tcp.window_size', '-e', '_ws.col.Info'],
                    capture_output=True, text=True, check=True).stdout.splitlines()
assert len(ts) == len(rows)
for r, line in zip(rows, ts):
    seq, ack, win, info = line.split('\t')
    labels = []
    while m := re.match(r'\[(TCP [^\]]*)\] ', info):
        labels.append(m.group(1)); info = info[m.end():]
    print('\t'.join(r + ['|', seq, ack or '0', win, ';'.join(labels) or '-']))
