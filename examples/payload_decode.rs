//! Decodes the application payloads of every WebSocket connection in a capture and prints
//! one line per application packet, exchange, unanswered request and anomaly: a preview of
//! what the views will show once the decoders are wired into the pipeline.
//!
//! `cargo run --example payload_decode -- samples/socketio.pcap`

use std::collections::HashMap;
use std::io;
use wsdissect::capture::open_path;
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::{Event, EventSink};
use wsdissect::flow::analysis::Direction;
use wsdissect::payload::{self, AppInput, AppOutput, Context, Decoder};
use wsdissect::ws::OpCode;

/// One upgraded connection: its request, subprotocol and decoder (once chosen).
struct Conn {
    uri: String,
    subprotocol: Option<String>,
    decoder: Option<Box<dyn Decoder>>,
}

/// A message waiting for its packet's timestamp (the Packet event comes after it).
struct Held {
    conn: u32,
    packet: u64,
    bytes: Vec<u8>,
    text: bool,
    dir: Direction,
    complete: bool,
}

#[derive(Default)]
struct Run {
    conns: HashMap<u32, Conn>,
    out: Vec<AppOutput>,
    held: Vec<Held>,
}

impl Run {
    fn print(&mut self, conn: u32) {
        for o in self.out.drain(..) {
            match o {
                AppOutput::Packet(p) => {
                    println!("conn {conn} #{:<4} {}", p.packet, p.summary.escape_debug())
                }
                AppOutput::Exchange(x) => println!(
                    "conn {conn}       exchange {} id={} {:?} #{} -> #{} {:.3} ms ({} answers, {})",
                    x.protocol,
                    x.id,
                    x.name,
                    x.request_packet,
                    x.answer_packet,
                    x.latency_ns as f64 / 1e6,
                    x.answers,
                    x.outcome.name()
                ),
                AppOutput::Unanswered(u) => println!(
                    "conn {conn}       unanswered {} id={} {:?} #{}",
                    u.protocol, u.id, u.name, u.request_packet
                ),
                AppOutput::Anomaly(a) => println!(
                    "conn {conn} #{:<4} ! {}[{}] {}",
                    a.packet,
                    a.kind.severity().as_str(),
                    a.kind.name(),
                    a.detail.escape_debug()
                ),
            }
        }
    }
}

impl EventSink for Run {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Handshake(h) if h.upgraded => {
                let subprotocol = h
                    .response
                    .header("Sec-WebSocket-Protocol")
                    .map(str::to_string);
                let conn = Conn {
                    uri: h.request.path.clone(),
                    subprotocol,
                    decoder: None,
                };
                self.conns.insert(h.conn, conn);
            }
            Event::Message(m) if matches!(m.opcode, OpCode::Text | OpCode::Binary) => {
                self.held.push(Held {
                    conn: m.conn,
                    packet: m.last_packet,
                    bytes: m.payload.to_vec(),
                    text: m.opcode == OpCode::Text,
                    dir: m.dir,
                    complete: m.payload_complete,
                });
            }
            Event::Packet(p) => {
                let ns = p.timestamp.secs as u64 * 1_000_000_000 + u64::from(p.timestamp.nanos);
                for h in std::mem::take(&mut self.held) {
                    let Some(c) = self.conns.get_mut(&h.conn) else {
                        continue;
                    };
                    if c.decoder.is_none() {
                        let sp = c.subprotocol.as_deref();
                        if let Some(choice) = payload::choose(sp, &c.uri, Some((h.text, &h.bytes)))
                        {
                            println!(
                                "conn {} decoder {} chosen by {} ({}%)",
                                h.conn,
                                choice.protocol,
                                choice.chosen_by.name(),
                                choice.confidence
                            );
                            let ctx = Context {
                                request_uri: &c.uri,
                                subprotocol: sp,
                                summary_only: false,
                                ..Context::default()
                            };
                            c.decoder = payload::new_decoder(choice.protocol, &ctx);
                        }
                    }
                    if let Some(d) = c.decoder.as_mut() {
                        let input = AppInput {
                            dir: h.dir,
                            text: h.text,
                            payload: &h.bytes,
                            complete: h.complete,
                            packet: h.packet,
                            time_ns: ns,
                        };
                        d.message(&input, &mut self.out);
                    }
                    self.print(h.conn);
                }
            }
            Event::ConnectionEnd(s) => {
                if let Some(Conn {
                    decoder: Some(mut d),
                    ..
                }) = self.conns.remove(&s.conn)
                {
                    d.end(&mut self.out);
                    self.print(s.conn);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: payload_decode FILE")?;
    let mut source = open_path(std::path::Path::new(&path))?;
    let mut dissector = Dissector::new(DissectConfig::default());
    let mut run = Run::default();
    wsdissect::app::run(source.as_mut(), &mut dissector, &mut run)?;
    Ok(())
}
