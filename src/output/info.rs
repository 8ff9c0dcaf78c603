//! The Info text of a packet, as Wireshark's packet list shows it: shared by the packet
//! list (timeline) and the flow diagram, so both label a packet the same way.
//!
//! A packet's upper-layer events (HTTP messages, WebSocket frames) arrive before its
//! [`PacketRecord`](crate::event::PacketRecord); [`InfoBuilder`] collects their text and
//! combines it with the TCP summary when the record comes.

use super::tcpinfo;
use crate::event::{FrameEvent, HttpPendingEvent, HttpRequestEvent, HttpResponseEvent, PacketBody};
use crate::http::accept::AcceptVerdict;
use crate::http::head::{BodyLength, Request, Response};
use crate::term::escape;
use crate::ws::OpCode;
use std::fmt::Write as _;

/// Longest request target or reason phrase shown in an Info text.
const MAX_START_LINE_PART: usize = 400;

/// Bytes of upper-layer Info text after which further PDUs of the same packet are only
/// counted. Wireshark's Info column holds at most `COL_MAX_INFO_LEN` (4096) bytes; a
/// 65 KB segment of one-byte frames otherwise makes a 715 045-character line. A PDU that
/// starts below the cap is written whole, so lines under the cap never change.
pub const MAX_INFO_LEN: usize = 4096;

/// How Info texts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoOptions {
    /// Exactly Wireshark's text: no wsdissect annotations (accept verdict, close code).
    pub wireshark_compat: bool,
    /// Start TCP summaries with the ports (`58901 → 2021 [ACK] ...`), as the packet list
    /// does; a flow diagram, whose arrows already say who sends, leaves them out.
    pub tcp_ports: bool,
    /// List TCP options (MSS, WS, timestamps, SACK) as the packet list does; a diagram
    /// short of room leaves them out.
    pub tcp_options: bool,
}

impl Default for InfoOptions {
    fn default() -> Self {
        InfoOptions {
            wireshark_compat: false,
            tcp_ports: true,
            tcp_options: true,
        }
    }
}

/// Collects the Info text of the packet being processed.
#[derive(Debug, Default)]
pub struct InfoBuilder {
    options: InfoOptions,
    /// Info text contributed by upper layers for the current packet.
    app_info: String,
    /// Wireshark's column fence: Info text before it survives the next PDU's text.
    fence: usize,
    /// Protocol column from the highest layer seen in the current packet.
    app_protocol: Option<&'static str>,
    /// First line of an HTTP message whose body continues in later packets.
    pending_http: String,
    /// PDUs of the current packet left out of `app_info` once it reached [`MAX_INFO_LEN`].
    omitted: u64,
    /// Whether every omitted PDU was a WebSocket frame (the note then says "frames").
    omitted_only_frames: bool,
}

/// `GET /ws HTTP/1.1 ` (Wireshark's request summary, trailing space included).
pub fn write_request_line(out: &mut String, r: &Request) {
    let _ = write!(
        out,
        "{} {} HTTP/1.{} ",
        escape::escape_line(r.method.as_bytes(), MAX_START_LINE_PART),
        escape::escape_line(r.path.as_bytes(), MAX_START_LINE_PART),
        r.version
    );
}

/// `HTTP/1.1 101 Switching Protocols ` (trailing space included).
pub fn write_status_line(out: &mut String, r: &Response) {
    let _ = write!(
        out,
        "HTTP/1.{} {} {} ",
        r.version,
        r.status,
        escape::escape_line(r.reason.as_bytes(), MAX_START_LINE_PART)
    );
}

/// Wireshark's ` (text/plain)` after a message with a body.
fn write_content_type(out: &mut String, content_type: Option<&str>, has_body: bool) {
    if let (Some(content_type), true) = (content_type, has_body) {
        // Wireshark shows the media type without parameters.
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let _ = write!(out, " ({})", escape::escape_line(media_type.as_bytes(), 80));
    }
}

/// A request's Info text: `GET /ws HTTP/1.1 ` and the body's media type.
pub fn write_request_info(out: &mut String, ev: &HttpRequestEvent<'_>) {
    let r = ev.request;
    write_request_line(out, r);
    let has_body = !matches!(r.body_length(), BodyLength::None | BodyLength::Fixed(0));
    write_content_type(out, r.header("Content-Type"), has_body);
}

/// A response's Info text: `HTTP/1.1 101 Switching Protocols `, the body's media type,
/// and (unless `wireshark_compat`) the accept verdict of an upgrade.
pub fn write_response_info(out: &mut String, ev: &HttpResponseEvent<'_>, wireshark_compat: bool) {
    let r = ev.response;
    write_status_line(out, r);
    let has_body = !matches!(r.body_length(None), BodyLength::None | BodyLength::Fixed(0));
    write_content_type(out, r.header("Content-Type"), has_body);
    if let (Some(verdict), false) = (ev.accept, wireshark_compat) {
        match verdict {
            AcceptVerdict::Valid => out.push_str("[accept OK]"),
            other => {
                let _ = write!(
                    out,
                    "[{}]",
                    escape::escape_line(other.to_string().as_bytes(), 200)
                );
            }
        }
    }
}

fn fin_text(fin: bool) -> &'static str {
    if fin { " [FIN]" } else { "[FRAGMENT] " }
}

fn mask_text(masked: bool) -> &'static str {
    if masked { " [MASKED]" } else { " " }
}

/// The four texts of a frame of opcode `name`: not fin / fin, then unmasked / masked.
macro_rules! frame_texts {
    ($name:literal) => {
        [
            concat!("WebSocket ", $name, "[FRAGMENT] ", " "),
            concat!("WebSocket ", $name, "[FRAGMENT] ", " [MASKED]"),
            concat!("WebSocket ", $name, " [FIN]", " "),
            concat!("WebSocket ", $name, " [FIN]", " [MASKED]"),
        ]
    };
}

/// `WebSocket Text [FIN] [MASKED]` for a defined opcode, as one static text: pushing its
/// four pieces cost ~95 instructions a frame, 7.3 M on small-20.pcap; this saved 2.4 M
/// (callgrind, prof build).
fn frame_text(opcode: OpCode, fin: bool, masked: bool) -> Option<&'static str> {
    const CONTINUATION: [&str; 4] = frame_texts!("Continuation");
    const TEXT: [&str; 4] = frame_texts!("Text");
    const BINARY: [&str; 4] = frame_texts!("Binary");
    const CLOSE: [&str; 4] = frame_texts!("Connection Close");
    const PING: [&str; 4] = frame_texts!("Ping");
    const PONG: [&str; 4] = frame_texts!("Pong");
    let texts = match opcode {
        OpCode::Continuation => &CONTINUATION,
        OpCode::Text => &TEXT,
        OpCode::Binary => &BINARY,
        OpCode::Close => &CLOSE,
        OpCode::Ping => &PING,
        OpCode::Pong => &PONG,
        OpCode::ReservedData(_) | OpCode::ReservedControl(_) => return None,
    };
    texts
        .get(usize::from(fin) * 2 + usize::from(masked))
        .copied()
}

/// `WebSocket Text [FIN] [MASKED]`, Wireshark 4.0's text with its spacing quirks, plus
/// the close code and reason unless `wireshark_compat`.
pub fn write_frame_info(out: &mut String, ev: &FrameEvent<'_>, wireshark_compat: bool) {
    let h = &ev.header;
    if let Some(text) = frame_text(h.opcode, h.fin, h.mask.is_some()) {
        out.push_str(text);
    } else {
        if wireshark_compat {
            out.push_str("WebSocket Unknown Opcode");
        } else {
            let _ = write!(out, "WebSocket {}", h.opcode);
        }
        out.push_str(fin_text(h.fin));
        out.push_str(mask_text(h.mask.is_some()));
    }
    if h.opcode == OpCode::Close && !wireshark_compat {
        if !out.ends_with(' ') {
            out.push(' ');
        }
        match ev.close_code {
            Some(code) => {
                let _ = write!(out, "({} {}", code.code(), code.name());
                if !ev.close_reason.is_empty() {
                    let _ = write!(out, ", \"{}\"", escape::escape_line(ev.close_reason, 60));
                }
                out.push(')');
            }
            None => out.push_str("(no status code)"),
        }
    }
}

impl InfoBuilder {
    /// A builder with nothing collected.
    pub fn new(options: InfoOptions) -> Self {
        InfoBuilder {
            options,
            ..InfoBuilder::default()
        }
    }

    /// Starts the Info text of another PDU completed by this packet. Wireshark keeps only
    /// the last PDU's text, except for PDUs reassembled from several segments, after which
    /// TCP sets a fence; wsdissect's own style lists every PDU, comma-separated.
    fn begin_pdu(&mut self) {
        if self.options.wireshark_compat {
            self.app_info.truncate(self.fence);
        } else if !self.app_info.is_empty() {
            let trimmed = self.app_info.trim_end().len();
            self.app_info.truncate(trimmed);
            self.app_info.push_str(", ");
        }
    }

    /// Whether the text is full: the PDU is then counted instead of written.
    fn full(&mut self, is_frame: bool) -> bool {
        if self.app_info.len() < MAX_INFO_LEN {
            return false;
        }
        if self.omitted == 0 {
            self.omitted_only_frames = true;
        }
        self.omitted += 1;
        self.omitted_only_frames &= is_frame;
        true
    }

    fn end_pdu(&mut self, spanned_segments: bool) {
        if spanned_segments {
            self.fence = self.app_info.len();
        }
    }

    /// An HTTP request completed in this packet.
    pub fn request(&mut self, ev: &HttpRequestEvent<'_>) {
        self.app_protocol = Some("HTTP");
        if self.full(false) {
            return;
        }
        self.begin_pdu();
        write_request_info(&mut self.app_info, ev);
        self.end_pdu(true);
    }

    /// An HTTP response completed in this packet.
    pub fn response(&mut self, ev: &HttpResponseEvent<'_>) {
        self.app_protocol = Some("HTTP");
        if self.full(false) {
            return;
        }
        self.begin_pdu();
        write_response_info(&mut self.app_info, ev, self.options.wireshark_compat);
        self.end_pdu(true);
    }

    /// An HTTP head whose body continues in later packets.
    pub fn pending(&mut self, ev: &HttpPendingEvent<'_>) {
        self.pending_http.clear();
        if let Some(r) = ev.request {
            write_request_line(&mut self.pending_http, r);
        } else if let Some(r) = ev.response {
            write_status_line(&mut self.pending_http, r);
        }
    }

    /// A WebSocket frame completed in this packet.
    pub fn frame(&mut self, ev: &FrameEvent<'_>) {
        self.app_protocol = Some("WebSocket");
        if self.full(true) {
            return;
        }
        self.begin_pdu();
        write_frame_info(&mut self.app_info, ev, self.options.wireshark_compat);
        self.end_pdu(ev.first_packet != ev.packet);
    }

    /// The Protocol column for the packet.
    pub fn protocol(&self, body: &PacketBody<'_>) -> &'static str {
        match body {
            PacketBody::Tcp(rec) if !tcpinfo::hides_upper_layer(rec.analysis.flags) => self
                .app_protocol
                .or_else(|| rec.tls.and_then(|label| label.protocol()))
                .unwrap_or("TCP"),
            PacketBody::Tcp(_) => "TCP",
            PacketBody::Other(o) => o.protocol,
        }
    }

    /// Appends the packet's Info text to `out`.
    pub fn write_info(&self, out: &mut String, body: &PacketBody<'_>) {
        match body {
            PacketBody::Tcp(rec) => {
                let upper =
                    self.app_protocol.is_some() && !tcpinfo::hides_upper_layer(rec.analysis.flags);
                tcpinfo::write_analysis_prefix(out, rec);
                let tls = rec
                    .tls
                    .filter(|_| !tcpinfo::hides_upper_layer(rec.analysis.flags));
                if upper {
                    out.push_str(&self.app_info);
                    self.write_omitted(out);
                    if let Some(label) = tls {
                        // Records after the one that carried the PDU (a close_notify
                        // alert after a close frame), as Wireshark appends them.
                        let _ = write!(out, "{}", label.trailing_records());
                    }
                } else if let Some(label) = tls {
                    // TLS records ended here and nothing above them completed: Wireshark's
                    // TLS Info ("Client Hello", "Application Data").
                    let _ = write!(out, "{label}");
                } else {
                    if !self.pending_http.is_empty() {
                        // Wireshark: the head's first line, then the segment note.
                        out.push_str(&self.pending_http);
                    } else {
                        // `write!("{} → {} ")` for the ports cost ~7.5 M instructions in
                        // fmt on small-20.pcap (callgrind); the whole summary now goes
                        // through tcpinfo's `SummaryWriter` (no fmt, no UTF-8 checks).
                        tcpinfo::write_tcp_line(
                            out,
                            rec,
                            self.options.tcp_ports,
                            self.options.tcp_options,
                        );
                    }
                    if rec.partial_pdu {
                        out.push_str(" [TCP segment of a reassembled PDU]");
                    }
                }
            }
            PacketBody::Other(o) => out.push_str(&escape::escape_line(o.info.as_bytes(), 400)),
        }
    }

    /// `… [+4 321 more frames]` after a text cut at [`MAX_INFO_LEN`].
    fn write_omitted(&self, out: &mut String) {
        if self.omitted == 0 {
            return;
        }
        let what = if self.omitted_only_frames {
            if self.omitted == 1 { "frame" } else { "frames" }
        } else if self.omitted == 1 {
            "PDU"
        } else {
            "PDUs"
        };
        let kept = out.trim_end().len();
        out.truncate(kept);
        let _ = write!(out, ", … [+{} more {what}]", group_digits(self.omitted));
    }

    /// Forgets the current packet's text (call after its record).
    pub fn reset(&mut self) {
        self.omitted = 0;
        self.omitted_only_frames = false;
        self.app_info.clear();
        self.pending_http.clear();
        self.fence = 0;
        self.app_protocol = None;
    }
}

/// `4321` as `4 321`: digits in groups of three, spaced.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Client and server addresses of a TCP packet, from its addresses, ports and direction.
pub(crate) fn endpoints(
    rec: &crate::event::TcpRecord<'_>,
    p: &crate::event::PacketRecord<'_>,
) -> (std::net::SocketAddr, std::net::SocketAddr) {
    use std::net::{Ipv4Addr, SocketAddr};
    let (src_ip, dst_ip) = match p.addrs {
        Some(a) => (a.src, a.dst),
        None => (Ipv4Addr::UNSPECIFIED.into(), Ipv4Addr::UNSPECIFIED.into()),
    };
    let src = SocketAddr::new(src_ip, rec.segment.src_port);
    let dst = SocketAddr::new(dst_ip, rec.segment.dst_port);
    match rec.dir {
        crate::flow::analysis::Direction::ClientToServer => (src, dst),
        crate::flow::analysis::Direction::ServerToClient => (dst, src),
    }
}

#[cfg(test)]
mod tests {
    use super::{OpCode, fin_text, frame_text, group_digits, mask_text};

    #[test]
    fn frame_texts_are_the_opcode_names_and_flags() {
        for code in 0..16u8 {
            let opcode = OpCode::from(code);
            for fin in [false, true] {
                for masked in [false, true] {
                    let expected = (!opcode.is_reserved()).then(|| {
                        format!(
                            "WebSocket {}{}{}",
                            opcode.name(),
                            fin_text(fin),
                            mask_text(masked)
                        )
                    });
                    assert_eq!(frame_text(opcode, fin, masked).map(str::to_owned), expected);
                }
            }
        }
    }

    #[test]
    fn digits_grouped_by_three() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(4321), "4 321");
        assert_eq!(group_digits(1_000_000), "1 000 000");
    }
}
