//! The packet list: one line per packet, Wireshark's columns (No., Time, Source,
//! Destination, Protocol, Length, Info), tab-separated or aligned as tshark aligns them,
//! optionally coloured by Wireshark's colouring rules and followed by a detail tree (`-V`)
//! and wsdissect's diagnostics for the packet.

use super::coloring;
use super::info::{InfoBuilder, InfoOptions};
use super::timefmt::{TimeColumn, TimeFormat};
use super::tree;
use crate::event::{
    Anomaly, Event, EventSink, FrameEvent, HttpRequestEvent, HttpResponseEvent, PacketBody,
    PacketRecord, WorkerPart, render_into,
};
use crate::term::escape;
use crate::term::style::{Role, Style};
use crate::term::width::{display_width, fit_width, push_wrapped};
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
    /// Tab-separated or aligned columns.
    pub columns: Columns,
    /// Columns of the terminal: aligned lines are fitted to it (`None`: not cut).
    pub width: Option<usize>,
    /// Colour: rows painted by Wireshark's colouring rules, diagnostics by severity, the
    /// detail tree's names.
    pub style: Style,
}

/// How the packet list's columns are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Columns {
    /// Separated by tabs, one line per packet whatever its length: for scripts.
    #[default]
    Tabs,
    /// Aligned as tshark prints them on a terminal (`    1   0.000000    127.0.0.1 →
    /// 127.0.0.1    TCP 74 ...`), each line cut to the width with `…`; diagnostics wrap
    /// under their marker and detail-tree lines are cut.
    Aligned,
}

/// tshark's least widths of the No., Time, Source and Destination columns (its
/// `print_columns`: numbers and times right-aligned, the source right-aligned, the
/// destination left-aligned, each widened by a longer value).
const NUMBER_WIDTH: usize = 5;
const TIME_WIDTH: usize = 10;
const ADDRESS_WIDTH: usize = 12;

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
    /// The laid out (aligned, coloured) packet line.
    row: String,
    time: TimeColumn,
    /// An HTTP message ended in the current packet (Wireshark's `http` layer is in it).
    http: bool,
    addresses: AddressCache,
    /// A worker part showed the HTTP head passed on next (it comes only for its
    /// Engine.IO polling body, decoded here).
    http_shown: u32,
}

/// The Source and Destination columns of the last few address pairs, as text: a capture
/// holds few addresses, and copying their text is ~6x cheaper than writing it (26 M of
/// the packet list's 469 M instructions saved, callgrind, prof build, small-20.pcap).
#[derive(Debug, Default)]
struct AddressCache {
    /// `(source, destination, "source\tdestination")`.
    pairs: Vec<(IpAddr, IpAddr, String)>,
    /// The entry replaced next when the cache is full.
    next: usize,
}

/// Address pairs remembered (both directions of a few conversations).
const ADDRESS_PAIRS: usize = 8;

impl AddressCache {
    /// Appends `src\tdst`.
    fn push(&mut self, out: &mut String, src: IpAddr, dst: IpAddr) {
        if let Some((_, _, text)) = self.pairs.iter().find(|(s, d, _)| *s == src && *d == dst) {
            out.push_str(text);
            return;
        }
        let mut text = String::with_capacity(32);
        push_ip(&mut text, src);
        text.push('\t');
        push_ip(&mut text, dst);
        out.push_str(&text);
        if self.pairs.len() < ADDRESS_PAIRS {
            self.pairs.push((src, dst, text));
        } else if let Some(slot) = self.pairs.get_mut(self.next) {
            *slot = (src, dst, text);
            self.next = (self.next + 1) % ADDRESS_PAIRS;
        }
    }
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
            row: String::new(),
            time: TimeColumn::new(options.time_format),
            http: false,
            http_shown: 0,
            addresses: AddressCache::default(),
        }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn on_request(&mut self, ev: &HttpRequestEvent<'_>) {
        self.http = true;
        self.info.request(ev);
        if self.options.verbose {
            tree::write_request(&mut self.detail, ev);
        }
    }

    fn on_response(&mut self, ev: &HttpResponseEvent<'_>) {
        self.http = true;
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
        let o = &self.options;
        if o.columns == Columns::Tabs && !o.style.enabled() {
            let _ = writeln!(
                self.notes,
                "    ! {}[{}]: {}",
                a.severity.as_str(),
                a.kind,
                crate::term::escape::escape_line(a.message.as_bytes(), 1000)
            );
            return;
        }
        let text = format!(
            "{}[{}]: {}",
            a.severity.as_str(),
            a.kind,
            crate::term::escape::escape_line(a.message.as_bytes(), 1000)
        );
        let role = match a.severity {
            crate::rules::Severity::Error => Role::Bad,
            crate::rules::Severity::Warning => Role::Warn,
            crate::rules::Severity::Note => Role::Dim,
        };
        let width = match o.columns {
            Columns::Aligned => o.width,
            Columns::Tabs => None,
        };
        push_wrapped(
            &mut self.notes,
            "    ! ",
            "      ",
            &text,
            width,
            o.style,
            role,
        );
    }

    /// Lays out the tab-separated `line` (without its newline) as the row to print:
    /// aligned and fitted when asked, painted by the colouring rule that matches `p`.
    fn lay_out(&mut self, p: &PacketRecord<'_>) {
        let row = &mut self.row;
        row.clear();
        let aligned;
        let text = match self.options.columns {
            Columns::Tabs => self.line.as_str(),
            Columns::Aligned => {
                aligned = align(&self.line, p.addrs.is_some(), self.options.width);
                aligned.as_str()
            }
        };
        let style = self.options.style;
        match coloring::rule(p, self.http) {
            Some(rule) if style.enabled() => {
                let (fg, bg) = rule.colors();
                // The background runs to the end of the terminal line, unless the text
                // already fills it (erasing there would take the last character).
                let fill = self.options.width.is_none_or(|w| display_width(text) < w);
                style.push_row(row, fg, bg, text, fill);
            }
            _ => row.push_str(text),
        }
        row.push('\n');
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
            self.addresses.push(line, a.src, a.dst);
        } else {
            line.push('\t');
        }
        line.push('\t');
        line.push_str(self.info.protocol(&p.body));
        line.push('\t');
        escape::push_u64_str(line, p.wire_len.into());
        line.push('\t');
        self.info.write_info(line, &p.body);
        let plain = self.options.columns == Columns::Tabs && !self.options.style.enabled();
        if plain {
            line.push('\n');
        }
        if self.options.verbose
            && let PacketBody::Tcp(rec) = &p.body
            && let Some(label) = rec.tls
            && let Some(version) = label.tls_protocol()
        {
            // The TLS layer comes first in the detail tree, as in Wireshark's.
            let tls = format!("Transport Layer Security\n    {version} Record Layer: {label}\n");
            self.detail.insert_str(0, &tls);
        }
        if plain {
            self.out.write_all(self.line.as_bytes())?;
            if !self.detail.is_empty() {
                self.out.write_all(self.detail.as_bytes())?;
            }
        } else {
            self.lay_out(p);
            self.out.write_all(self.row.as_bytes())?;
            if !self.detail.is_empty() {
                let width = match self.options.columns {
                    Columns::Aligned => self.options.width,
                    Columns::Tabs => None,
                };
                let mut tree = String::with_capacity(self.detail.len() + 64);
                super::treestyle::push_tree(&mut tree, &self.detail, self.options.style, width);
                self.out.write_all(tree.as_bytes())?;
            }
        }
        if !self.notes.is_empty() {
            self.out.write_all(self.notes.as_bytes())?;
        }
        self.info.reset();
        self.detail.clear();
        self.notes.clear();
        self.http = false;
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

    fn worker_part(&self) -> Option<Box<dyn WorkerPart>> {
        // A delta needs the row before, of whatever connection.
        if matches!(
            self.options.time_format,
            TimeFormat::Delta | TimeFormat::DeltaDisplayed
        ) {
            return None;
        }
        let options = TimelineOptions {
            flush_each_packet: false,
            ..self.options
        };
        Some(Box::new(RowsPart {
            rows: Timeline::new(Vec::new(), options),
            whole: false,
        }))
    }

    fn part_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        if self.http_shown > 0 && matches!(event, Event::HttpRequest(_) | Event::HttpResponse(_)) {
            self.http_shown -= 1;
            return Ok(());
        }
        self.event(event)
    }

    fn part_output(&mut self, bytes: &[u8]) -> io::Result<()> {
        match bytes.split_first() {
            Some((&PART_HTTP, notes)) => {
                self.notes
                    .push_str(std::str::from_utf8(notes).unwrap_or_default());
                self.http_shown += 1;
            }
            Some((&PART_ROW, rest)) => {
                let (len, rest) = rest.split_at(rest.len().min(4));
                let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
                let (row, own_notes) = rest.split_at(len.min(rest.len()));
                self.out.write_all(row)?;
                // The notes before this packet's polling bodies, and theirs, then its own.
                if !self.notes.is_empty() {
                    self.out.write_all(self.notes.as_bytes())?;
                    self.notes.clear();
                }
                self.out.write_all(own_notes)?;
                if self.options.flush_each_packet {
                    self.out.flush()?;
                }
            }
            _ => {}
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

/// [`RowsPart`]'s bytes: an HTTP head passed on (after the packet's notes so far).
const PART_HTTP: u8 = b'H';
/// [`RowsPart`]'s bytes: a packet's row and detail tree (their length, 4 bytes little
/// endian, first), then its notes.
const PART_ROW: u8 = b'R';

/// The packet list's rows made on a dissection thread: a row, its detail tree and its
/// notes depend only on the packet's own events (with a time format that is not a
/// delta). What the one-thread output joins across connections stays on the reading
/// thread: an evicted connection's last events, shown under the next packet (those jobs
/// come `whole`, passed on), and the anomalies of an Engine.IO polling body decoded
/// there, shown among the packet's notes (its HTTP head is passed on after the notes
/// before it). Callgrind, small-20.pcap, prof build: one thread 438 M instructions; two:
/// the reading thread 130 M, the workers 219 M and 205 M.
struct RowsPart {
    rows: Timeline<Vec<u8>>,
    whole: bool,
}

impl WorkerPart for RowsPart {
    fn job(&mut self, whole: bool) {
        self.whole = whole;
    }

    fn polled_head(&mut self, event: &Event<'_>, out: &mut Vec<u8>) {
        if self.whole {
            return;
        }
        // Shown here; the notes so far go first, before those of the decoded body.
        let _ = self.rows.event(event);
        out.push(PART_HTTP);
        out.extend_from_slice(self.rows.notes.as_bytes());
        self.rows.notes.clear();
    }

    fn event(&mut self, event: &Event<'_>, out: &mut Vec<u8>) -> bool {
        if self.whole {
            return true;
        }
        // Writing into a Vec cannot fail.
        match event {
            Event::Packet(_) => {
                let own_notes = std::mem::take(&mut self.rows.notes);
                out.push(PART_ROW);
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                render_into(
                    &mut self.rows,
                    |r| &mut r.out,
                    out,
                    |r| {
                        let _ = r.event(event);
                    },
                );
                let len = u32::try_from(out.len() - at - 4).unwrap_or(u32::MAX);
                if let Some(slot) = out.get_mut(at..at + 4) {
                    slot.copy_from_slice(&len.to_le_bytes());
                }
                out.extend_from_slice(own_notes.as_bytes());
                self.rows.notes = own_notes;
                self.rows.notes.clear();
                false
            }
            _ => {
                let _ = self.rows.event(event);
                false
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// The tab-separated packet line `tabs` laid out as tshark lays out its default columns:
/// `No. Time Source → Destination Protocol Length Info`, cut to `width` with `…`.
/// `addressed` says whether the packet has addresses (the arrow is left out otherwise).
fn align(tabs: &str, addressed: bool, width: Option<usize>) -> String {
    let mut cells = tabs.splitn(7, '\t');
    let mut cell = || cells.next().unwrap_or_default();
    let (number, time, src, dst, protocol, length, info) =
        (cell(), cell(), cell(), cell(), cell(), cell(), cell());
    let mut out = String::with_capacity(tabs.len() + 32);
    let _ = write!(
        out,
        "{number:>NUMBER_WIDTH$} {time:>TIME_WIDTH$} {src:>ADDRESS_WIDTH$} {} {dst:<ADDRESS_WIDTH$} {protocol} {length} ",
        if addressed { "→" } else { " " }
    );
    match width {
        Some(width) => {
            let room = width.saturating_sub(display_width(&out));
            if room == 0 {
                return fit_width(&out, width);
            }
            out.push_str(&fit_width(info, room));
        }
        None => out.push_str(info),
    }
    out
}

/// Appends an address as `Display` writes it; IPv4 (the common case) without `fmt`, into a
/// stack buffer copied once (four `Digits` and four validated copies an address were 14%
/// of the packet list's instructions before the [`AddressCache`]).
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            // "255.255.255.255"
            let mut buf = [0u8; 15];
            let mut len = 0;
            let mut put = |b: u8| {
                if let Some(slot) = buf.get_mut(len) {
                    *slot = b;
                    len += 1;
                }
            };
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    put(b'.');
                }
                if octet >= 100 {
                    put(b'0' + octet / 100);
                }
                if octet >= 10 {
                    put(b'0' + octet / 10 % 10);
                }
                put(b'0' + octet % 10);
            }
            out.push_str(
                buf.get(..len)
                    .and_then(|text| std::str::from_utf8(text).ok())
                    .unwrap_or_default(),
            );
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_display_writes_them() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut cases: Vec<IpAddr> = vec![
            "0.0.0.0".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
            "10.0.100.9".parse().unwrap(),
            "::1".parse().unwrap(),
            "fe80::1:2".parse().unwrap(),
        ];
        for _ in 0..10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            cases.push(IpAddr::from((seed as u32).to_be_bytes()));
        }
        for ip in &cases {
            let mut out = String::from("x");
            push_ip(&mut out, *ip);
            assert_eq!(out, format!("x{ip}"));
        }
        // The cache gives the same text, full or not, hit or miss.
        let mut cache = AddressCache::default();
        for (i, pair) in cases.windows(2).take(500).enumerate() {
            for (src, dst) in [
                (pair[0], pair[1]),
                (pair[1], pair[0]),
                (cases[i % 3], pair[1]),
            ] {
                let mut out = String::from("x");
                cache.push(&mut out, src, dst);
                assert_eq!(out, format!("x{src}\t{dst}"));
            }
        }
    }
}
