//! The whole pipeline over an in-memory capture (~20 MB of 64 interleaved WebSocket
//! connections from the gencap generator): reading records only (the ceiling), dissecting
//! without output, and dissecting into the JSON Lines and packet-list renderers.

#[path = "../examples/gencap/core.rs"]
mod gencap_core;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io;
use wsdissect::app;
use wsdissect::capture::PacketSource;
use wsdissect::capture::file::FileSource;
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::{Event, EventSink};
use wsdissect::output::{JsonLines, Timeline, TimelineOptions};

/// Counts frames; renders nothing.
#[derive(Default)]
struct CountFrames(u64);

impl EventSink for CountFrames {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        if let Event::Frame(_) = event {
            self.0 += 1;
        }
        Ok(())
    }
}

fn capture(mix: gencap_core::FrameMix) -> (Vec<u8>, gencap_core::Counts) {
    let mut bytes = Vec::new();
    let counts = gencap_core::generate(&gencap_core::Config::new(20_000_000, mix), &mut bytes)
        .expect("writing to memory");
    (bytes, counts)
}

fn dissect(bytes: &[u8], sink: &mut dyn EventSink) -> u64 {
    let mut source = FileSource::new(bytes).expect("a pcap");
    let mut dissector = Dissector::new(DissectConfig::default());
    let outcome = app::run(&mut source, &mut dissector, sink).expect("no output error");
    outcome.packets
}

fn pipeline(c: &mut Criterion) {
    for mix in [gencap_core::FrameMix::Small, gencap_core::FrameMix::Large] {
        let (bytes, counts) = capture(mix);
        // The decoder must see every frame the generator wrote.
        let mut frames = CountFrames::default();
        dissect(&bytes, &mut frames);
        assert_eq!(frames.0, counts.frames(), "frames decoded vs written");

        let mut group = c.benchmark_group(format!("pipeline_{}", mix.name()));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.sample_size(10);
        group.bench_function("read_records", |b| {
            b.iter(|| {
                let mut source = FileSource::new(&bytes[..]).expect("a pcap");
                let mut sum = 0u64;
                while let Ok(Some(p)) = source.next_packet() {
                    sum += p.data.iter().map(|&b| u64::from(b)).sum::<u64>();
                }
                black_box(sum)
            })
        });
        group.bench_function("dissect_count_frames", |b| {
            b.iter(|| dissect(&bytes, &mut CountFrames::default()))
        });
        group.bench_function("dissect_jsonl", |b| {
            b.iter(|| dissect(&bytes, &mut JsonLines::new(io::sink(), false)))
        });
        group.bench_function("dissect_timeline", |b| {
            b.iter(|| {
                let options = TimelineOptions::default();
                dissect(&bytes, &mut Timeline::new(io::sink(), options))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
