//! The packet list: one line per packet, Wireshark's columns (No., Time, Source,
//! Destination, Protocol, Length, Info), tab-separated, optionally followed by a detail
//! tree (`-V`) and wsdissect's diagnostics for the packet.

use super::info::{InfoBuilder, InfoOptions};
use super::timefmt::{TimeColumn, TimeFormat};
use super::tree;
use crate::event::{
    Anomaly, Event, EventSink, FrameEvent, HttpRequestEvent, HttpResponseEvent, PacketBody,
    PacketRecord,
};
use crate::term::escape;
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
    /// The Time column's format (`-t`).
    pub time_format: TimeFormat,
}

/// Packet-list renderer.
pub struct Timeline<W: Write> {
    out: W,
    options: TimelineOptions,
    /// Protocol and Info columns of the current packet.
    info: InfoBuilder,
    /// Detail tree lines for the current packet.
    detail: String,
    /// Diagnostics for the current packet.
    notes: String,
    line: String,
    time: TimeColumn,
}

impl<W: Write> Timeline<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W, options: TimelineOptions) -> Self {
        Timeline {
            out,
            options,
            info: InfoBuilder::new(InfoOptions {
                wireshark_compat: options.wireshark_compat,
                tcp_ports: true,
                tcp_options: true,
            }),
            detail: String::new(),
            notes: String::new(),
            line: String::with_capacity(256),
            time: TimeColumn::new(options.time_format),
        }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn on_request(&mut self, ev: &HttpRequestEvent<'_>) {
        self.info.request(ev);
        if self.options.verbose {
            tree::write_request(&mut self.detail, ev);
        }
    }

    fn on_response(&mut self, ev: &HttpResponseEvent<'_>) {
        self.info.response(ev);
        if self.options.verbose {
            tree::write_response(&mut self.detail, ev);
        }
    }

    fn on_frame(&mut self, ev: &FrameEvent<'_>) {
        self.info.frame(ev);
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
            crate::term::escape::escape_line(a.message.as_bytes(), 1000)
        );
    }

    fn on_packet(&mut self, p: &PacketRecord<'_>) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        // Numbers and addresses written without `fmt`: this runs for every packet.
        escape::push_u64_str(line, p.number);
        line.push('\t');
        self.time.push(line, p);
        line.push('\t');
        if let Some(a) = p.addrs {
            push_ip(line, a.src);
            line.push('\t');
            push_ip(line, a.dst);
        } else {
            line.push('\t');
        }
        line.push('\t');
        line.push_str(self.info.protocol(&p.body));
        line.push('\t');
        escape::push_u64_str(line, p.wire_len.into());
        line.push('\t');
        self.info.write_info(line, &p.body);
        line.push('\n');
        if self.options.verbose
            && let PacketBody::Tcp(rec) = &p.body
            && let Some(label) = rec.tls
            && let Some(version) = label.protocol()
        {
            // The TLS layer comes first in the detail tree, as in Wireshark's.
            let _ = writeln!(
                line,
                "Transport Layer Security\n    {version} Record Layer: {label}"
            );
        }
        self.out.write_all(line.as_bytes())?;
        if !self.detail.is_empty() {
            self.out.write_all(self.detail.as_bytes())?;
        }
        if !self.notes.is_empty() {
            self.out.write_all(self.notes.as_bytes())?;
        }
        self.info.reset();
        self.detail.clear();
        self.notes.clear();
        if self.options.flush_each_packet {
            self.out.flush()?;
        }
        Ok(())
    }
}

impl<W: Write> EventSink for Timeline<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Packet(p) => self.on_packet(p)?,
            Event::HttpRequest(r) => self.on_request(r),
            Event::HttpResponse(r) => self.on_response(r),
            Event::HttpPending(p) => self.info.pending(p),
            Event::Frame(f) => self.on_frame(f),
            Event::Anomaly(a) => self.on_anomaly(a),
            Event::Message(m) => {
                // -V: the application layer under the frame that completed the message.
                if self.options.verbose && !m.app.is_empty() {
                    tree::write_app(&mut self.detail, m);
                }
            }
            Event::Handshake(_) | Event::ConnectionEnd(_) | Event::PingPong(_) => {}
            // Printed by the caller on stderr; nothing to add to the packet list.
            Event::CaptureError(_) | Event::Tls(_) | Event::AppExchange(_) => {}
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
