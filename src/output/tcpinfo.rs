//! The Info text Wireshark shows for a TCP segment.

use crate::event::TcpRecord;
use crate::flow::analysis::AnalysisFlags;
use crate::term::escape::{Digits, push_ascii, push_u64_str};
use crate::wire::tcp::{self, TcpFlags, TcpOption};

/// Flag names in the order Wireshark lists them.
const FLAG_NAMES: [(u16, &str); 9] = [
    (TcpFlags::FIN, "FIN"),
    (TcpFlags::SYN, "SYN"),
    (TcpFlags::RST, "RST"),
    (TcpFlags::PSH, "PSH"),
    (TcpFlags::ACK, "ACK"),
    (TcpFlags::URG, "URG"),
    (TcpFlags::ECE, "ECE"),
    (TcpFlags::CWR, "CWR"),
    (TcpFlags::NS, "AE"),
];

/// Appends the `[TCP ...] ` analysis prefixes.
pub fn write_analysis_prefix(out: &mut String, rec: &TcpRecord<'_>) {
    let flags = rec.analysis.flags;
    // Most packets have no flag: walking the labels with a `write!` each cost ~14 M
    // instructions of ~412 M on small-20.pcap (callgrind); this test is ~0.
    if flags.0 == 0 {
        return;
    }
    for label in flags.labels() {
        out.push('[');
        out.push_str(label);
        if label == "TCP Dup ACK"
            && let Some((orig, count)) = rec.analysis.dup_ack
        {
            out.push(' ');
            push_u64_str(out, orig);
            out.push('#');
            push_u64_str(out, count.into());
        }
        out.push_str("] ");
    }
}

/// Appends `58901 → 2021 [SYN] Seq=0 Win=65535 Len=0 MSS=16344 ...` (without prefixes).
pub fn write_tcp_summary(out: &mut String, rec: &TcpRecord<'_>) {
    write_tcp_line(out, rec, true, true);
}

/// Appends `[SYN] Seq=0 Win=65535 Len=0 MSS=16344 ...`: the summary after the ports.
pub fn write_tcp_summary_without_ports(out: &mut String, rec: &TcpRecord<'_>) {
    write_tcp_line(out, rec, false, true);
}

/// Text built in a stack buffer and appended to a `String` in one validated copy,
/// spilling into the `String` when full. Pushing each piece (a reserve check, a `memcpy`
/// call, a UTF-8 check per number) made the TCP summary cost ~22 M instructions on
/// small-20.pcap (callgrind).
struct AsciiLine<'a> {
    out: &'a mut String,
    buf: [u8; 192],
    len: usize,
}

impl<'a> AsciiLine<'a> {
    fn new(out: &'a mut String) -> Self {
        AsciiLine {
            out,
            buf: [0; 192],
            len: 0,
        }
    }

    /// Appends ASCII bytes.
    fn bytes(&mut self, s: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + s.len()) {
            dst.copy_from_slice(s);
            self.len += s.len();
        } else {
            self.flush();
            push_ascii(self.out, s);
        }
    }

    /// Appends text (whole UTF-8 pieces keep the buffer valid UTF-8 at every flush).
    fn text(&mut self, s: &str) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + s.len()) {
            dst.copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            self.flush();
            self.out.push_str(s);
        }
    }

    /// Appends `v` in decimal.
    fn num(&mut self, v: u64) {
        let tail = self.buf.get_mut(self.len..).unwrap_or_default();
        match Digits::write_into(tail, v) {
            Some(n) => self.len += n,
            None => {
                self.flush();
                push_u64_str(self.out, v);
            }
        }
    }

    fn flush(&mut self) {
        push_ascii(self.out, self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }
}

impl Drop for AsciiLine<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Appends `[SYN] Seq=0 Win=65535 Len=0`: flags, sequence numbers, window and length.
pub fn write_tcp_flags_and_numbers(out: &mut String, rec: &TcpRecord<'_>) {
    write_flags_and_numbers(&mut AsciiLine::new(out), rec);
}

fn write_flags_and_numbers(line: &mut AsciiLine<'_>, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    line.bytes(b"[");
    let mut first = true;
    for (bit, name) in FLAG_NAMES {
        if seg.flags.has(bit) {
            if !first {
                line.bytes(b", ");
            }
            line.bytes(name.as_bytes());
            first = false;
        }
    }
    if first {
        line.bytes(b"<None>");
    }
    line.bytes(b"] Seq=");
    line.num(rec.analysis.rel_seq.into());
    if seg.flags.has(TcpFlags::ACK) {
        line.bytes(b" Ack=");
        line.num(rec.analysis.rel_ack.into());
    }
    line.bytes(b" Win=");
    line.num(rec.analysis.window);
    line.bytes(b" Len=");
    line.num(seg.wire_len().into());
    if seg.flags.has(TcpFlags::URG) {
        line.bytes(b" Urg=");
        line.num(seg.urgent.into());
    }
}

/// Appends the TCP options as Wireshark lists them (` MSS=16344 WS=64 SACK_PERM ...`).
pub fn write_tcp_options(out: &mut String, rec: &TcpRecord<'_>) {
    write_options(&mut AsciiLine::new(out), rec);
}

/// The packet list's TCP summary in one validated copy: `58901 → 2021 ` when `ports`,
/// then [`write_tcp_flags_and_numbers`], then [`write_tcp_options`] when `options`.
pub fn write_tcp_line(out: &mut String, rec: &TcpRecord<'_>, ports: bool, options: bool) {
    let mut line = AsciiLine::new(out);
    if ports {
        write_ports(&mut line, rec);
    }
    write_flags_and_numbers(&mut line, rec);
    if options {
        write_options(&mut line, rec);
    }
}

fn write_ports(line: &mut AsciiLine<'_>, rec: &TcpRecord<'_>) {
    line.num(rec.segment.src_port.into());
    line.text(" → ");
    line.num(rec.segment.dst_port.into());
    line.bytes(b" ");
}

fn write_options(line: &mut AsciiLine<'_>, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    for option in tcp::options(seg.options) {
        match option {
            TcpOption::Mss(v) => {
                line.bytes(b" MSS=");
                line.num(v.into());
            }
            TcpOption::WindowScale(shift) => {
                line.bytes(b" WS=");
                line.num(1u64 << shift.min(14));
            }
            TcpOption::SackPermitted => line.bytes(b" SACK_PERM"),
            TcpOption::Timestamp { value, echo } => {
                line.bytes(b" TSval=");
                line.num(value.into());
                line.bytes(b" TSecr=");
                line.num(echo.into());
            }
            TcpOption::Sack { blocks, count } => {
                for (left, right) in blocks.iter().take(usize::from(count)) {
                    let base = seg.ack.wrapping_sub(rec.analysis.rel_ack);
                    line.bytes(b" SLE=");
                    line.num(left.wrapping_sub(base).into());
                    line.bytes(b" SRE=");
                    line.num(right.wrapping_sub(base).into());
                }
            }
            TcpOption::EndOfList | TcpOption::Nop | TcpOption::Unknown { .. } => {}
        }
    }
}

/// Whether the analysis flags make Wireshark show the TCP summary even for a packet
/// whose payload an upper layer claimed (retransmissions are not re-dissected).
pub fn hides_upper_layer(flags: AnalysisFlags) -> bool {
    flags.has(AnalysisFlags::RETRANSMISSION)
        || flags.has(AnalysisFlags::SPURIOUS_RETRANSMISSION)
        || flags.has(AnalysisFlags::FAST_RETRANSMISSION)
}
