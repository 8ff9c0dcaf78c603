//! `--export DIR` without `--follow`: every WebSocket connection's messages written as
//! `--follow N --export` writes one connection's, each into its own subfolder
//! `DIR/conn{N}/` (payload files and `index.tsv`), and one line per connection on the output
//! saying how many messages went where.
//!
//! A connection gets a folder once it shows WebSocket traffic (a handshake, a frame or a
//! message); plain TCP connections get none. Each connection is handled by its own
//! [`Follow`] renderer (writing its transcript nowhere), so the files are the same as
//! `--follow N --export DIR/connN` would write.

use super::follow::{Follow, FollowOptions};
use crate::event::{ConnId, Event, EventSink, PacketBody};
use crate::term::style::Style;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

/// The export-everything renderer.
pub struct ExportAll<W: Write> {
    out: W,
    dir: PathBuf,
    conns: BTreeMap<ConnId, Follow<io::Sink>>,
    /// `--export-limit`, over every connection together.
    limit: u64,
    exported: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<W: Write> ExportAll<W> {
    /// Exports into `dir` (checked beforehand with
    /// [`check_export_dir`](super::follow::check_export_dir)), reporting on `out`.
    pub fn new(out: W, dir: PathBuf) -> Self {
        ExportAll {
            out,
            dir,
            conns: BTreeMap::new(),
            limit: super::follow::DEFAULT_EXPORT_LIMIT,
            exported: Default::default(),
        }
    }

    /// Exports at most `limit` payload bytes in all (`--export-limit`).
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    fn follower(&mut self, conn: ConnId) -> &mut Follow<io::Sink> {
        let dir = self.dir.join(format!("conn{conn}"));
        let (limit, exported) = (self.limit, self.exported.clone());
        self.conns.entry(conn).or_insert_with(|| {
            Follow::new(
                io::sink(),
                FollowOptions {
                    conn,
                    export: Some(dir),
                    style: Style::plain(),
                    streaming: false,
                    time: Default::default(),
                    export_limit: limit,
                    exported,
                    width: None,
                },
            )
        })
    }
}

impl<W: Write> EventSink for ExportAll<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        // Only the connection's own events reach its renderer (a packet of another
        // connection tells it nothing), and only WebSocket traffic makes a folder.
        let (conn, starts) = match event {
            Event::Packet(p) => match &p.body {
                PacketBody::Tcp(rec) => (rec.conn, false),
                _ => return Ok(()),
            },
            Event::Handshake(h) => (h.conn, true),
            Event::Frame(f) => (f.conn, true),
            Event::Message(m) => (m.conn, true),
            _ => return Ok(()),
        };
        if starts || self.conns.contains_key(&conn) {
            self.follower(conn).event(event)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        for (conn, follow) in &mut self.conns {
            follow.finish()?;
            let n = follow.messages();
            writeln!(
                self.out,
                "connection {conn}: {n} message{} → {}",
                if n == 1 { "" } else { "s" },
                self.dir.join(format!("conn{conn}")).display()
            )?;
        }
        if self.conns.is_empty() {
            writeln!(self.out, "no WebSocket connection: nothing exported")?;
        }
        self.out.flush()
    }
}
