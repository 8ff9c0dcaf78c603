//! Display filters (`-Y`), `-T fields` and saving (`-w`) as one event sink in front of a
//! renderer.
//!
//! Each packet's child events are kept as owned copies until its [`Event::Packet`] record
//! arrives; the filter is then evaluated on the packet's fields ([`crate::values`]) and, when
//! it matches, the children and the record go on to the renderer (or one `-T fields` line is
//! written, or the packet is saved), else they are dropped. This is tshark's semantics: every
//! output sees the packets that match and what they carry.
//!
//! Connection ends and TLS summaries follow the packets of their connection: they go on when
//! at least one packet of the connection matched (all of them without a filter), after the
//! record of the packet that ended the connection. Capture errors always go on. Events the
//! dissector flushes at the end of the capture (frames of unfinished connections, end-of-run
//! anomalies), which no packet record follows, are filtered as a group of their own, without
//! `frame.*`, `ip.*` or `tcp.*` values.
//!
//! Without `-Y`, `-T fields` and `-w`, none of this is installed: no filter costs nothing.

use crate::capture::writer::{
    InterfaceDescription, PcapWriter, PcapngWriter, Resolution, SECRETS_TYPE_TLS_KEY_LOG,
    create_no_follow,
};
use crate::capture::{LinkType, RawPacket};
use crate::event::{
    ConnId, ConnectionSummary, Endpoints, Event, EventSink, PacketBody, PacketRecord,
    TlsSessionEvent,
};
use crate::filter::Filter;
use crate::filter::tfields::FieldsWriter;
use crate::tls::DecryptStatus;
use crate::values::{PacketFields, Registry};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// `-T fields`: the writer and the column names (for `-E header=y`).
#[derive(Debug, Clone)]
pub struct FieldsOutput {
    /// The line writer.
    pub writer: FieldsWriter,
    /// The `-e` names, in order.
    pub names: Vec<String>,
}

/// What [`Select`] does.
#[derive(Debug, Default)]
pub struct SelectOptions {
    /// `-Y`: only packets this matches go on.
    pub filter: Option<Filter>,
    /// `-T fields`: one line per packet instead of the renderer.
    pub fields: Option<FieldsOutput>,
    /// `-w`: save the packets that go on (pcapng when the name ends in `.pcapng`, else pcap).
    pub save: Option<PathBuf>,
    /// Flush each `-T fields` line (live capture).
    pub flush_each_packet: bool,
    /// `--inject-secrets` (pcapng `-w` only): the key log lines that TLS packets carry
    /// ([`crate::tls::SegmentLabel::secrets`]; the dissector attaches them when its
    /// `inject_secrets` is on) are written as Decryption Secrets Blocks before the next
    /// saved packet, as `editcap --inject-secrets` does.
    pub inject_secrets: bool,
}

impl SelectOptions {
    /// Whether anything is asked for (else the renderer is used as it is).
    pub fn is_active(&self) -> bool {
        self.filter.is_some() || self.fields.is_some() || self.save.is_some()
    }
}

enum Target<'w> {
    Render(Box<dyn EventSink + 'w>),
    Borrowed(&'w mut dyn EventSink),
    Fields {
        out: &'w mut dyn Write,
        writer: FieldsWriter,
        line: String,
    },
}

impl<'w> Target<'w> {
    /// The renderer events go on to (none for `-T fields`).
    fn sink(&mut self) -> Option<&mut (dyn EventSink + 'w)> {
        match self {
            Target::Render(b) => Some(b.as_mut()),
            Target::Borrowed(b) => Some(*b),
            Target::Fields { .. } => None,
        }
    }
}

enum Saver {
    Pending(File, bool),
    Pcap(PcapWriter<BufWriter<File>>),
    Pcapng(PcapngWriter<BufWriter<File>>),
    Done,
}

/// An owned [`TlsSessionEvent`].
struct OwnedTls {
    conn: ConnId,
    endpoints: Endpoints,
    version: Option<u16>,
    cipher_suite: Option<u16>,
    sni: Option<String>,
    alpn: Option<String>,
    status: DecryptStatus,
    records: u64,
    decrypted_records: u64,
}

enum Deferred {
    End(ConnectionSummary),
    Tls(OwnedTls),
}

/// The sink: see the module documentation.
pub struct Select<'w> {
    registry: Registry,
    filter: Option<Filter>,
    target: Target<'w>,
    packet: PacketFields,
    deferred: Vec<Deferred>,
    /// Connections with a matching packet, by number (numbers are dense, from 0: a flag
    /// each is cheaper than a hash set, measured under callgrind).
    matched: Vec<bool>,
    saver: Saver,
    flush_each: bool,
    inject_secrets: bool,
    /// Key log lines not written yet (key material: written only into the `-w` file).
    pending_secrets: Vec<u8>,
}

impl<'w> Select<'w> {
    /// Filters in front of `render`, or writes `-T fields` lines to `out` when
    /// `options.fields` is set. Creating the `-w` file may fail.
    pub fn new(
        options: SelectOptions,
        render: impl FnOnce(&'w mut dyn Write) -> Box<dyn EventSink + 'w>,
        out: &'w mut dyn Write,
    ) -> io::Result<Self> {
        let saver = match &options.save {
            None => Saver::Done,
            Some(path) => {
                let pcapng = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
                Saver::Pending(create_no_follow(path)?, pcapng)
            }
        };
        let target = match options.fields {
            Some(f) => {
                let mut line = String::new();
                let names: Vec<&str> = f.names.iter().map(String::as_str).collect();
                f.writer.start(&names, &mut line);
                out.write_all(line.as_bytes())?;
                line.clear();
                Target::Fields {
                    out,
                    writer: f.writer,
                    line,
                }
            }
            None => Target::Render(render(out)),
        };
        Ok(Select {
            registry: Registry::new(),
            filter: options.filter,
            target,
            packet: PacketFields::new(),
            deferred: Vec::new(),
            matched: Vec::new(),
            saver,
            flush_each: options.flush_each_packet,
            inject_secrets: options.inject_secrets,
            pending_secrets: Vec::new(),
        })
    }

    /// Filters in front of `inner` (a sink the caller keeps, e.g. `check`'s); `-T fields` and
    /// `-w` are not for this form and are ignored.
    pub fn around(filter: Filter, inner: &'w mut dyn EventSink) -> Self {
        Select {
            registry: Registry::new(),
            filter: Some(filter),
            target: Target::Borrowed(inner),
            packet: PacketFields::new(),
            deferred: Vec::new(),
            matched: Vec::new(),
            saver: Saver::Done,
            flush_each: false,
            inject_secrets: false,
            pending_secrets: Vec::new(),
        }
    }

    /// Decides on the kept children and `record` (None: the end-of-capture group).
    fn packet_done(&mut self, record: Option<&PacketRecord<'_>>) -> io::Result<()> {
        let view = self.packet.view(&self.registry, record);
        let pass = self.filter.as_ref().is_none_or(|f| f.matches(&view));
        if self.inject_secrets
            && let Some(PacketBody::Tcp(t)) = record.map(|r| &r.body)
            && let Some(label) = t.tls
        {
            // Kept even when the packet is filtered out: a later saved packet of the
            // connection needs them.
            self.pending_secrets.extend_from_slice(label.secrets());
        }
        if pass {
            if self.filter.is_some() {
                for c in self.packet.children() {
                    if let Some(conn) = c.conn() {
                        mark(&mut self.matched, conn);
                    }
                }
                if let Some(PacketBody::Tcp(t)) = record.map(|r| &r.body) {
                    mark(&mut self.matched, t.conn);
                }
            }
            if let Some(r) = record {
                save(&mut self.saver, r, &mut self.pending_secrets)?;
            }
            match &mut self.target {
                Target::Render(_) | Target::Borrowed(_) => {
                    let Some(inner) = self.target.sink() else {
                        return Ok(());
                    };
                    for c in self.packet.children() {
                        c.with_event(|e| inner.event(e))?;
                    }
                    if let Some(r) = record {
                        inner.event(&Event::Packet(r))?;
                    }
                }
                Target::Fields { out, writer, line } => {
                    if record.is_some() {
                        line.clear();
                        writer.row(&view, line);
                        out.write_all(line.as_bytes())?;
                        if self.flush_each {
                            out.flush()?;
                        }
                    }
                }
            }
        }
        self.packet.clear(record);
        self.release_deferred()
    }

    fn release_deferred(&mut self) -> io::Result<()> {
        let Some(inner) = self.target.sink() else {
            self.deferred.clear();
            return Ok(());
        };
        for d in self.deferred.drain(..) {
            let conn = match &d {
                Deferred::End(s) => s.conn,
                Deferred::Tls(t) => t.conn,
            };
            let matched = self.matched.get(conn as usize).copied().unwrap_or(false);
            if self.filter.is_some() && !matched {
                continue;
            }
            match d {
                Deferred::End(s) => inner.event(&Event::ConnectionEnd(&s))?,
                Deferred::Tls(t) => inner.event(&Event::Tls(&TlsSessionEvent {
                    conn: t.conn,
                    endpoints: t.endpoints,
                    version: t.version,
                    cipher_suite: t.cipher_suite,
                    sni: t.sni.as_deref(),
                    alpn: t.alpn.as_deref(),
                    status: t.status,
                    records: t.records,
                    decrypted_records: t.decrypted_records,
                }))?,
            }
        }
        Ok(())
    }
}

fn mark(matched: &mut Vec<bool>, conn: ConnId) {
    let i = conn as usize;
    if i >= matched.len() {
        matched.resize(i + 1, false);
    }
    matched[i] = true;
}

/// Saves `r`, after a Decryption Secrets Block with `secrets` when there are any (pcapng).
fn save(saver: &mut Saver, r: &PacketRecord<'_>, secrets: &mut Vec<u8>) -> io::Result<()> {
    let raw = RawPacket {
        timestamp: r.timestamp,
        link_type: r.link_type,
        data: r.data,
        original_len: r.wire_len,
        block: None,
    };
    if let Saver::Pending(..) = saver {
        let Saver::Pending(file, pcapng) = std::mem::replace(saver, Saver::Done) else {
            return Ok(());
        };
        *saver = open(file, pcapng, r.link_type)?;
    }
    match saver {
        Saver::Pcap(w) => w.write_packet(&raw),
        Saver::Pcapng(w) => {
            write_secrets(w, secrets)?;
            w.write_packet(&raw)
        }
        Saver::Pending(..) | Saver::Done => Ok(()),
    }
}

/// Writes and forgets `secrets` as one Decryption Secrets Block, when there are any.
fn write_secrets(w: &mut PcapngWriter<BufWriter<File>>, secrets: &mut Vec<u8>) -> io::Result<()> {
    if !secrets.is_empty() {
        w.write_secrets(SECRETS_TYPE_TLS_KEY_LOG, secrets)?;
        secrets.clear();
    }
    Ok(())
}

fn open(file: File, pcapng: bool, link_type: LinkType) -> io::Result<Saver> {
    let out = BufWriter::new(file);
    Ok(if pcapng {
        let description = InterfaceDescription {
            link_type,
            snaplen: 0,
            name: None,
            resolution: Resolution::Nanos,
        };
        let application = concat!("wsdissect ", env!("CARGO_PKG_VERSION"));
        Saver::Pcapng(PcapngWriter::new(out, application, &description)?)
    } else {
        Saver::Pcap(PcapWriter::new(out, link_type)?)
    })
}

impl EventSink for Select<'_> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        if self.packet.push(event) {
            return Ok(());
        }
        match event {
            Event::Packet(r) => self.packet_done(Some(r)),
            Event::ConnectionEnd(s) => {
                self.deferred.push(Deferred::End((*s).clone()));
                Ok(())
            }
            Event::Tls(t) => {
                self.deferred.push(Deferred::Tls(OwnedTls {
                    conn: t.conn,
                    endpoints: t.endpoints,
                    version: t.version,
                    cipher_suite: t.cipher_suite,
                    sni: t.sni.map(str::to_string),
                    alpn: t.alpn.map(str::to_string),
                    status: t.status,
                    records: t.records,
                    decrypted_records: t.decrypted_records,
                }));
                Ok(())
            }
            _ => match self.target.sink() {
                Some(inner) => inner.event(event),
                None => Ok(()),
            },
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.target {
            Target::Fields { out, .. } => out.flush()?,
            Target::Render(inner) => inner.flush()?,
            Target::Borrowed(inner) => inner.flush()?,
        }
        match &mut self.saver {
            Saver::Pcap(w) => w.flush(),
            Saver::Pcapng(w) => w.flush(),
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.packet.children().is_empty() {
            self.packet_done(None)?;
        }
        self.release_deferred()?;
        // A capture with no packet saved still leaves a valid (empty, Ethernet) file.
        if let Saver::Pending(..) = self.saver {
            let Saver::Pending(file, pcapng) = std::mem::replace(&mut self.saver, Saver::Done)
            else {
                return Ok(());
            };
            self.saver = open(file, pcapng, LinkType::ETHERNET)?;
        }
        match &mut self.saver {
            Saver::Pcap(w) => w.flush()?,
            Saver::Pcapng(w) => {
                // Secrets seen after the last saved packet: kept in the file anyway, as
                // editcap keeps every line it is given.
                write_secrets(w, &mut self.pending_secrets)?;
                w.flush()?
            }
            _ => {}
        }
        match &mut self.target {
            Target::Fields { out, .. } => out.flush(),
            Target::Render(inner) => inner.finish(),
            Target::Borrowed(inner) => inner.finish(),
        }
    }
}

/// A renderer that shows nothing (for [`rewrite_with_secrets`]).
struct Discard;

impl EventSink for Discard {
    fn event(&mut self, _event: &Event<'_>) -> io::Result<()> {
        Ok(())
    }
}

/// Rewrites the capture at `input` into the pcapng `output`, every packet as it is, with a
/// Decryption Secrets Block before the ClientHello of each TLS connection whose secrets
/// are in `key_logs` or in the input's own secrets blocks (`-w --inject-secrets` after a
/// live capture, when every key log line is there). Returns the packets written.
pub fn rewrite_with_secrets(
    input: &std::path::Path,
    output: &std::path::Path,
    key_logs: &[PathBuf],
) -> io::Result<u64> {
    use crate::dissect::{DissectConfig, Dissector};
    let mut source = crate::capture::open_path(input)
        .map_err(|e| io::Error::other(format!("{}: {e}", input.display())))?;
    let mut config = DissectConfig::default();
    config.conn.inject_secrets = true;
    config.conn.app_fields = false;
    let mut dissector = Dissector::new(config);
    for path in key_logs {
        dissector.add_key_log_file(path)?;
    }
    let options = SelectOptions {
        save: Some(output.to_path_buf()),
        inject_secrets: true,
        ..SelectOptions::default()
    };
    let mut nowhere = io::sink();
    let mut sink = Select::new(options, |_| Box::new(Discard), &mut nowhere)?;
    let outcome = crate::app::run(source.as_mut(), &mut dissector, &mut sink)?;
    match outcome.error {
        Some(e) => Err(io::Error::other(format!("{}: {e}", input.display()))),
        None => Ok(outcome.packets),
    }
}
