//! The Info text Wireshark shows for a TCP segment.

use crate::event::TcpRecord;
use crate::flow::analysis::AnalysisFlags;
use crate::term::escape::{Digits, push_u64_str};
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

/// Where the TCP summary is written: fixed texts pushed as they are, numbers through
/// [`Digits::push_to`] (no UTF-8 check, no `fmt`). Pushing each number with
/// `push_u64_str` (a validated copy each) and the options with `write!` cost ~22 M
/// instructions on small-20.pcap; a stack buffer copied once with one validation saved
/// ~12 M of them, and these direct pushes 2.3 M more (callgrind, prof build).
struct SummaryWriter<'a> {
    out: &'a mut String,
}

impl<'a> SummaryWriter<'a> {
    fn new(out: &'a mut String) -> Self {
        out.reserve(96);
        SummaryWriter { out }
    }

    /// Appends text.
    fn text(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Appends `v` in decimal.
    fn num(&mut self, v: u64) {
        Digits::push_to(self.out, v);
    }
}

/// Appends `[SYN] Seq=0 Win=65535 Len=0`: flags, sequence numbers, window and length.
pub fn write_tcp_flags_and_numbers(out: &mut String, rec: &TcpRecord<'_>) {
    write_flags_and_numbers(&mut SummaryWriter::new(out), rec);
}

fn write_flags_and_numbers(line: &mut SummaryWriter<'_>, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    line.text("[");
    let mut first = true;
    for (bit, name) in FLAG_NAMES {
        if seg.flags.has(bit) {
            if !first {
                line.text(", ");
            }
            line.text(name);
            first = false;
        }
    }
    if first {
        line.text("<None>");
    }
    line.text("] Seq=");
    line.num(rec.analysis.rel_seq.into());
    if seg.flags.has(TcpFlags::ACK) {
        line.text(" Ack=");
        line.num(rec.analysis.rel_ack.into());
    }
    line.text(" Win=");
    line.num(rec.analysis.window);
    line.text(" Len=");
    line.num(seg.wire_len().into());
    if seg.flags.has(TcpFlags::URG) {
        line.text(" Urg=");
        line.num(seg.urgent.into());
    }
}

/// Appends the TCP options as Wireshark lists them (` MSS=16344 WS=64 SACK_PERM ...`).
pub fn write_tcp_options(out: &mut String, rec: &TcpRecord<'_>) {
    write_options(&mut SummaryWriter::new(out), rec);
}

/// The packet list's TCP summary in one validated copy: `58901 → 2021 ` when `ports`,
/// then [`write_tcp_flags_and_numbers`], then [`write_tcp_options`] when `options`.
pub fn write_tcp_line(out: &mut String, rec: &TcpRecord<'_>, ports: bool, options: bool) {
    let mut line = SummaryWriter::new(out);
    if ports {
        write_ports(&mut line, rec);
    }
    write_flags_and_numbers(&mut line, rec);
    if options {
        write_options(&mut line, rec);
    }
}

fn write_ports(line: &mut SummaryWriter<'_>, rec: &TcpRecord<'_>) {
    line.num(rec.segment.src_port.into());
    line.text(" → ");
    line.num(rec.segment.dst_port.into());
    line.text(" ");
}

fn write_options(line: &mut SummaryWriter<'_>, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    for option in tcp::options(seg.options) {
        match option {
            TcpOption::Mss(v) => {
                line.text(" MSS=");
                line.num(v.into());
            }
            TcpOption::WindowScale(shift) => {
                line.text(" WS=");
                line.num(1u64 << shift.min(14));
            }
            TcpOption::SackPermitted => line.text(" SACK_PERM"),
            TcpOption::Timestamp { value, echo } => {
                line.text(" TSval=");
                line.num(value.into());
                line.text(" TSecr=");
                line.num(echo.into());
            }
            TcpOption::Sack { blocks, count } => {
                for (left, right) in blocks.iter().take(usize::from(count)) {
                    let base = seg.ack.wrapping_sub(rec.analysis.rel_ack);
                    line.text(" SLE=");
                    line.num(left.wrapping_sub(base).into());
                    line.text(" SRE=");
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
