//! The packet list: one line per packet, Wireshark's columns (No., Time, Source,
//! Destination, Protocol, Length, Info), tab-separated, optionally followed by a detail
//! tree (`-V`) and wsdissect's diagnostics for the packet.

use super::escape;
use super::tcpinfo;
use super::tree;
use crate::event::{
    Anomaly, Event, EventSink, FrameEvent, HttpRequestEvent, HttpResponseEvent, PacketBody,
    PacketRecord,
};
use crate::http::accept::AcceptVerdict;
use crate::http::head::BodyLength;
use crate::ws::OpCode;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

/// How the packet list is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimelineOptions {
    /// Detail tree after each HTTP/WebSocket packet (`-V`).
    pub verbose: bool,
    /// Exactly Wireshark's Info text: no wsdissect annotations (accept verdict, close code).
    pub wireshark_compat: bool,
    /// Flush after every packet (live capture, stdin) so the output can be followed.
    pub flush_each_packet: bool,
}

/// Packet-list renderer.
pub struct Timeline<W: Write> {
    out: W,
    options: TimelineOptions,
    /// Info text contributed by upper layers for the current packet.
    app_info: String,
    /// Wireshark's column fence: Info text before it survives the next PDU's text.
    fence: usize,
    /// Protocol column from the highest layer seen in the current packet.
    app_protocol: Option<&'static str>,
    /// First line of an HTTP message whose body continues in later packets.
    pending_http: String,
    /// Detail tree lines for the current packet.
    detail: String,
    /// Diagnostics for the current packet.
    notes: String,
    line: String,
}

impl<W: Write> Timeline<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W, options: TimelineOptions) -> Self {
        Timeline {
            out,
            options,
            app_info: String::new(),
            fence: 0,
            app_protocol: None,
            pending_http: String::new(),
            detail: String::new(),
            notes: String::new(),
            line: String::with_capacity(256),
        }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn append_info(&mut self, text: &str) {
        self.app_info.push_str(text);
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

    /// Wireshark's `  (text/plain)` after a message with a body.
    fn append_content_type(&mut self, content_type: Option<&str>, has_body: bool) {
        if let (Some(content_type), true) = (content_type, has_body) {
            // Wireshark shows the media type without parameters.
            let media_type = content_type.split(';').next().unwrap_or_default().trim();
            let _ = write!(
                self.app_info,
                " ({})",
                escape::escape_line(media_type.as_bytes(), 80)
            );
        }
    }

    fn end_pdu(&mut self, spanned_segments: bool) {
        if spanned_segments {
            self.fence = self.app_info.len();
        }
    }

    fn on_request(&mut self, ev: &HttpRequestEvent<'_>) {
        self.app_protocol = Some("HTTP");
        let r = ev.request;
        self.begin_pdu();
        let _ = write!(
            self.app_info,
            "{} {} HTTP/1.{} ",
            r.method, r.path, r.version
        );
        let has_body = !matches!(r.body_length(), BodyLength::None | BodyLength::Fixed(0));
        self.append_content_type(r.header("Content-Type"), has_body);
        self.end_pdu(true);
        if self.options.verbose {
            tree::write_request(&mut self.detail, ev);
        }
    }

    fn on_response(&mut self, ev: &HttpResponseEvent<'_>) {
        self.app_protocol = Some("HTTP");
        let r = ev.response;
        self.begin_pdu();
        let _ = write!(
            self.app_info,
            "HTTP/1.{} {} {} ",
            r.version, r.status, r.reason
        );
        let has_body = !matches!(r.body_length(None), BodyLength::None | BodyLength::Fixed(0));
        self.append_content_type(r.header("Content-Type"), has_body);
        if let (Some(verdict), false) = (ev.accept, self.options.wireshark_compat) {
            match verdict {
                AcceptVerdict::Valid => self.append_info("[accept OK]"),
                other => {
                    let _ = write!(self.app_info, "[{other}]");
                }
            }
        }
        self.end_pdu(true);
        if self.options.verbose {
            tree::write_response(&mut self.detail, ev);
        }
    }

    fn on_frame(&mut self, ev: &FrameEvent<'_>) {
        self.app_protocol = Some("WebSocket");
        let h = &ev.header;
        self.begin_pdu();
        // Wireshark 4.0's exact text, spacing quirks included.
        self.app_info.push_str("WebSocket ");
        if h.opcode.is_reserved() {
            let _ = write!(self.app_info, "{}", h.opcode);
        } else {
            self.app_info.push_str(h.opcode.name());
        }
        self.app_info
            .push_str(if h.fin { " [FIN]" } else { "[FRAGMENT] " });
        self.app_info
            .push_str(if h.mask.is_some() { " [MASKED]" } else { " " });
        if h.opcode == OpCode::Close && !self.options.wireshark_compat {
            if !self.app_info.ends_with(' ') {
                self.app_info.push(' ');
            }
            match ev.close_code {
                Some(code) => {
                    let _ = write!(self.app_info, "({} {}", code.code(), code.name());
                    if !ev.close_reason.is_empty() {
                        let _ = write!(
                            self.app_info,
                            ", \"{}\"",
                            escape::escape_line(ev.close_reason, 60)
                        );
                    }
                    self.app_info.push(')');
                }
                None => self.app_info.push_str("(no status code)"),
            }
        }
        self.end_pdu(ev.first_packet != ev.packet);
        if self.options.verbose {
            tree::write_frame(&mut self.detail, ev);
        }
    }

    fn on_anomaly(&mut self, a: &Anomaly) {
        let _ = writeln!(
            self.notes,
            "    ! {}[{}]: {}",
            a.severity.as_str(),
            a.kind,
            a.message
        );
    }

    fn on_packet(&mut self, p: &PacketRecord<'_>) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        let protocol = match &p.body {
            PacketBody::Tcp(rec) if !tcpinfo::hides_upper_layer(rec.analysis.flags) => {
                self.app_protocol.unwrap_or("TCP")
            }
            PacketBody::Tcp(_) => "TCP",
            PacketBody::Other(o) => o.protocol,
        };
        escape::push_u64_str(line, p.number);
        line.push('\t');
        escape::push_secs6_str(line, p.rel_time);
        line.push('\t');
        if let Some(a) = p.addrs {
            push_ip(line, a.src);
            line.push('\t');
            push_ip(line, a.dst);
        } else {
            line.push('\t');
        }
        line.push('\t');
        line.push_str(protocol);
        line.push('\t');
        escape::push_u64_str(line, p.wire_len.into());
        line.push('\t');
        match &p.body {
            PacketBody::Tcp(rec) => {
                let upper =
                    self.app_protocol.is_some() && !tcpinfo::hides_upper_layer(rec.analysis.flags);
                tcpinfo::write_analysis_prefix(line, rec);
                if upper {
                    line.push_str(&self.app_info);
                } else {
                    if !self.pending_http.is_empty() {
                        // Wireshark: the head's first line, then the segment note.
                        line.push_str(&self.pending_http);
                    } else {
                        tcpinfo::write_tcp_summary(line, rec);
                    }
                    if rec.partial_pdu {
                        line.push_str(" [TCP segment of a reassembled PDU]");
                    }
                }
            }
            PacketBody::Other(o) => {
                line.push_str(&super::escape::escape_line(o.info.as_bytes(), 400))
            }
        }
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        if !self.detail.is_empty() {
            self.out.write_all(self.detail.as_bytes())?;
        }
        if !self.notes.is_empty() {
            self.out.write_all(self.notes.as_bytes())?;
        }
        self.app_info.clear();
        self.pending_http.clear();
        self.fence = 0;
        self.app_protocol = None;
        self.detail.clear();
        self.notes.clear();
        if self.options.flush_each_packet {
            self.out.flush()?;
        }
        Ok(())
    }
}

/// Appends an address as `Display` writes it; IPv4 (the common case) without `fmt`.
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            escape::push_u64_str(out, a.into());
            out.push('.');
            escape::push_u64_str(out, b.into());
            out.push('.');
            escape::push_u64_str(out, c.into());
            out.push('.');
            escape::push_u64_str(out, d.into());
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

impl<W: Write> EventSink for Timeline<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Packet(p) => self.on_packet(p)?,
            Event::HttpRequest(r) => self.on_request(r),
            Event::HttpResponse(r) => self.on_response(r),
            Event::HttpPending(p) => {
                self.pending_http.clear();
                if let Some(r) = p.request {
                    let _ = write!(
                        self.pending_http,
                        "{} {} HTTP/1.{} ",
                        r.method, r.path, r.version
                    );
                } else if let Some(r) = p.response {
                    let _ = write!(
                        self.pending_http,
                        "HTTP/1.{} {} {} ",
                        r.version, r.status, r.reason
                    );
                }
            }
            Event::Frame(f) => self.on_frame(f),
            Event::Anomaly(a) => self.on_anomaly(a),
            Event::Handshake(_)
            | Event::ConnectionEnd(_)
            | Event::Message(_)
            | Event::PingPong(_) => {}
            // Printed by the caller on stderr; nothing to add to the packet list.
            Event::CaptureError(_) => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        // Diagnostics raised after the last packet (end of capture).
        if !self.notes.is_empty() {
            self.out.write_all(self.notes.as_bytes())?;
            self.notes.clear();
        }
        self.out.flush()
    }
}
