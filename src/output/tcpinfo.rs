//! The Info text Wireshark shows for a TCP segment.

use crate::event::TcpRecord;
use crate::flow::analysis::AnalysisFlags;
use crate::term::escape::push_u64_str;
use crate::wire::tcp::{self, TcpFlags, TcpOption};
use std::fmt::Write;

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
    for label in flags.labels() {
        if label == "TCP Dup ACK"
            && let Some((orig, count)) = rec.analysis.dup_ack
        {
            let _ = write!(out, "[TCP Dup ACK {orig}#{count}] ");
            continue;
        }
        let _ = write!(out, "[{label}] ");
    }
}

/// Appends `58901 → 2021 [SYN] Seq=0 Win=65535 Len=0 MSS=16344 ...` (without prefixes).
pub fn write_tcp_summary(out: &mut String, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    push_u64_str(out, seg.src_port.into());
    out.push_str(" → ");
    push_u64_str(out, seg.dst_port.into());
    out.push(' ');
    write_tcp_summary_without_ports(out, rec);
}

/// Appends `[SYN] Seq=0 Win=65535 Len=0 MSS=16344 ...`: the summary after the ports.
pub fn write_tcp_summary_without_ports(out: &mut String, rec: &TcpRecord<'_>) {
    write_tcp_flags_and_numbers(out, rec);
    write_tcp_options(out, rec);
}

/// Appends `[SYN] Seq=0 Win=65535 Len=0`: flags, sequence numbers, window and length.
pub fn write_tcp_flags_and_numbers(out: &mut String, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    out.push('[');
    let mut first = true;
    for (bit, name) in FLAG_NAMES {
        if seg.flags.has(bit) {
            if !first {
                out.push_str(", ");
            }
            out.push_str(name);
            first = false;
        }
    }
    if first {
        out.push_str("<None>");
    }
    out.push_str("] Seq=");
    push_u64_str(out, rec.analysis.rel_seq.into());
    if seg.flags.has(TcpFlags::ACK) {
        out.push_str(" Ack=");
        push_u64_str(out, rec.analysis.rel_ack.into());
    }
    out.push_str(" Win=");
    push_u64_str(out, rec.analysis.window);
    out.push_str(" Len=");
    push_u64_str(out, seg.wire_len().into());
    if seg.flags.has(TcpFlags::URG) {
        out.push_str(" Urg=");
        push_u64_str(out, seg.urgent.into());
    }
}

/// Appends the TCP options as Wireshark lists them (` MSS=16344 WS=64 SACK_PERM ...`).
pub fn write_tcp_options(out: &mut String, rec: &TcpRecord<'_>) {
    let seg = rec.segment;
    for option in tcp::options(seg.options) {
        match option {
            TcpOption::Mss(v) => {
                let _ = write!(out, " MSS={v}");
            }
            TcpOption::WindowScale(shift) => {
                let _ = write!(out, " WS={}", 1u64 << shift.min(14));
            }
            TcpOption::SackPermitted => out.push_str(" SACK_PERM"),
            TcpOption::Timestamp { value, echo } => {
                out.push_str(" TSval=");
                push_u64_str(out, value.into());
                out.push_str(" TSecr=");
                push_u64_str(out, echo.into());
            }
            TcpOption::Sack { blocks, count } => {
                for (left, right) in blocks.iter().take(usize::from(count)) {
                    let base = seg.ack.wrapping_sub(rec.analysis.rel_ack);
                    let _ = write!(
                        out,
                        " SLE={} SRE={}",
                        left.wrapping_sub(base),
                        right.wrapping_sub(base)
                    );
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
