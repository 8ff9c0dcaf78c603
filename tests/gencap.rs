//! The benchmark generator against the dissector: every connection, handshake and frame the
//! generator says it wrote (its own counts, computed while writing) is decoded, with valid
//! accept keys, for both traffic mixes.

#[path = "../examples/gencap/core.rs"]
mod gencap_core;

use gencap_core::{Config, Counts, FrameMix};
use std::io;
use wsdissect::app;
use wsdissect::capture::PacketSource;
use wsdissect::capture::file::FileSource;
use wsdissect::dissect::{DissectConfig, Dissector, MAX_LINGERING};
use wsdissect::event::{Event, EventSink};

#[derive(Default)]
struct Tally {
    frames_by_opcode: [u64; 16],
    handshakes_accept_ok: u64,
    handshakes: u64,
    anomalies: Vec<String>,
}

impl EventSink for Tally {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Frame(f) => {
                self.frames_by_opcode[usize::from(u8::from(f.header.opcode))] += 1;
                assert!(f.payload_complete, "frame payload complete");
            }
            Event::Handshake(h) => {
                self.handshakes += 1;
                if h.accept.is_valid() && h.upgraded {
                    self.handshakes_accept_ok += 1;
                }
            }
            Event::Anomaly(a) => self.anomalies.push(format!("{}: {}", a.kind, a.message)),
            _ => {}
        }
        Ok(())
    }
}

fn run(cfg: &Config) -> (Counts, Tally, u64, u64) {
    let mut bytes = Vec::new();
    let counts = gencap_core::generate(cfg, &mut bytes).expect("in memory");
    assert_eq!(counts.file_bytes, bytes.len() as u64);
    let mut source = FileSource::new(&bytes[..]).expect("a pcap");
    let mut dissector = Dissector::new(DissectConfig::default());
    let mut tally = Tally::default();
    let outcome = app::run(&mut source, &mut dissector, &mut tally).expect("no sink error");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    (
        counts,
        tally,
        outcome.packets,
        dissector.stats().connections,
    )
}

fn check(cfg: &Config) -> Counts {
    let (counts, tally, packets, connections) = run(cfg);
    assert_eq!(packets, counts.packets);
    assert_eq!(connections, counts.connections);
    assert_eq!(tally.handshakes, counts.handshakes);
    assert_eq!(tally.handshakes_accept_ok, counts.handshakes);
    assert_eq!(tally.frames_by_opcode, counts.frames_by_opcode);
    assert!(tally.anomalies.is_empty(), "{:?}", tally.anomalies);
    // The traffic has what the benchmark claims: closes, every ping answered, fragments.
    assert!(counts.closed_connections > 0);
    assert_eq!(counts.close_frames, 2 * counts.closed_connections);
    assert_eq!(counts.frames_by_opcode[0x9], counts.frames_by_opcode[0xA]);
    assert!(counts.fragmented_messages > 0);
    counts
}

#[test]
fn small_frames_all_decoded() {
    let mut cfg = Config::new(3_000_000, FrameMix::Small);
    cfg.conns = 16;
    cfg.actions_per_conn = Some((20, 200));
    let counts = check(&cfg);
    assert!(counts.frames_by_opcode[0x9] > 0);
}

#[test]
fn large_frames_all_decoded_with_a_small_mss() {
    let mut cfg = Config::new(8_000_000, FrameMix::Large);
    cfg.conns = 8;
    cfg.mss = 1460;
    cfg.actions_per_conn = Some((2, 6));
    let counts = check(&cfg);
    assert!(counts.frames_len64 > 0 && counts.frames_len16 > 0);
    assert!(
        counts.packets > counts.frames() * 10,
        "frames span many segments"
    );
}

#[test]
fn same_seed_same_bytes() {
    let cfg = Config::new(500_000, FrameMix::Small);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    gencap_core::generate(&cfg, &mut a).unwrap();
    gencap_core::generate(&cfg, &mut b).unwrap();
    assert_eq!(a, b);
    let mut other = cfg.clone();
    other.seed = 2;
    let mut c = Vec::new();
    gencap_core::generate(&other, &mut c).unwrap();
    assert_ne!(a, c);
}

#[test]
fn many_short_connections_are_released() {
    // ~6000 connections of a handful of packets each, within a second of capture time.
    let mut cfg = Config::new(14_000_000, FrameMix::Small);
    cfg.conns = 32;
    cfg.actions_per_conn = Some((1, 1));
    let mut bytes = Vec::new();
    let counts = gencap_core::generate(&cfg, &mut bytes).expect("in memory");
    assert!(
        counts.closed_connections as usize > MAX_LINGERING + 1000,
        "{counts:?}"
    );
    let mut source = FileSource::new(&bytes[..]).expect("a pcap");
    let mut dissector = Dissector::new(DissectConfig::default());
    let mut tally = Tally::default();
    let mut most = 0;
    while let Ok(Some(packet)) = source.next_packet() {
        dissector
            .process(&packet, &mut tally)
            .expect("no sink error");
        most = most.max(dissector.tracked_connections());
    }
    dissector.finish(&mut tally).expect("no sink error");
    // Open connections plus at most MAX_LINGERING closed ones (and the one closing now).
    assert!(
        most <= MAX_LINGERING + cfg.conns + 1,
        "{most} connections held at once"
    );
    assert_eq!(dissector.stats().connections, counts.connections);
    assert_eq!(tally.frames_by_opcode, counts.frames_by_opcode);
}

/// `gencap --tls`: the same traffic in TLS 1.3 (AES-128-GCM) with its key log. With the key
/// log every frame the generator counted is decrypted and decoded, nothing is anomalous;
/// without it nothing is decoded (the records are really protected). Checked by hand
/// against tshark 4.0.17 too: `tshark -d tcp.port==8080,tls -o tls.keylog_file:K -Y
/// websocket` lists the generator's frame count.
#[test]
fn tls_variant_decrypts_to_the_counted_frames() {
    for mix in [FrameMix::Small, FrameMix::Large] {
        let mut cfg = Config::new(3_000_000, mix);
        cfg.conns = 6;
        cfg.tls = true;
        let mut bytes = Vec::new();
        let (counts, key_log) =
            gencap_core::generate_with_key_log(&cfg, &mut bytes).expect("in memory");
        assert_eq!(counts.file_bytes, bytes.len() as u64);
        assert_eq!(key_log.lines().count() as u64, 4 * counts.connections);
        for with_keys in [true, false] {
            let mut source = FileSource::new(&bytes[..]).expect("a pcap");
            let mut dissector = Dissector::new(DissectConfig::default());
            if with_keys {
                dissector.add_tls_keys(key_log.as_bytes());
            }
            let mut tally = Tally::default();
            app::run(&mut source, &mut dissector, &mut tally).expect("no sink error");
            if with_keys {
                assert_eq!(tally.frames_by_opcode, counts.frames_by_opcode, "{mix:?}");
                assert_eq!(tally.handshakes_accept_ok, counts.handshakes);
                assert!(tally.anomalies.is_empty(), "{:?}", tally.anomalies);
            } else {
                assert_eq!(tally.frames_by_opcode, [0; 16]);
                assert!(tally.anomalies.iter().all(|a| a.starts_with("tls-no-key")));
            }
        }
    }
}
