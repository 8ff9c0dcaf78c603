//! Micro-benchmarks of the WebSocket hot paths: unmasking (word-wise vs the byte-wise
//! reference), frame-header parsing, and the streaming frame decoder.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wsdissect::ws::mask::{apply_mask, apply_mask_simple};
use wsdissect::ws::{DecoderLimits, FrameDecoder, FrameHeader};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn unmasking(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for size in [64usize, 1024, 64 * 1024] {
        let mut buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("apply_mask", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), KEY, 1))
        });
        group.bench_with_input(
            BenchmarkId::new("apply_mask_simple", size),
            &size,
            |b, _| b.iter(|| apply_mask_simple(black_box(&mut buf), KEY, 1)),
        );
    }
    group.finish();
}

/// A frame header with the given 7-bit length code, masked or not.
fn header(len: u64, masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut h = vec![0x81];
    if len < 126 {
        h.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        h.push(mask_bit | 126);
        h.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        h.push(mask_bit | 127);
        h.extend_from_slice(&len.to_be_bytes());
    }
    if masked {
        h.extend_from_slice(&KEY);
    }
    h
}

fn header_parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_header_parse");
    group.throughput(Throughput::Elements(1));
    for (name, len, masked) in [
        ("short_unmasked", 100, false),
        ("short_masked", 100, true),
        ("len16_masked", 4096, true),
        ("len64_unmasked", 1 << 20, false),
    ] {
        let h = header(len, masked);
        group.bench_function(name, |b| b.iter(|| FrameHeader::parse(black_box(&h))));
    }
    // Too short: the "need more bytes" answer.
    let partial = &header(1 << 20, true)[..5];
    group.bench_function("incomplete", |b| {
        b.iter(|| FrameHeader::parse(black_box(partial)))
    });
    group.finish();
}

/// `count` frames of `len` payload bytes, masked or not, back to back.
fn stream(count: usize, len: usize, masked: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend_from_slice(&header(len as u64, masked));
        out.extend((0..len).map(|j| (i + j) as u8));
    }
    out
}

fn decoder(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_decoder");
    for (name, count, len, masked) in [
        ("small_masked", 1000, 100, true),
        ("small_unmasked", 1000, 100, false),
        ("64k_masked", 16, 64 * 1024, true),
    ] {
        let bytes = stream(count, len, masked);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        // Fed in 1448-byte segments, as TCP would deliver them.
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut decoder = FrameDecoder::new(DecoderLimits::default());
                let mut frames = 0u64;
                for (k, seg) in bytes.chunks(1448).enumerate() {
                    decoder.feed(k as u64, seg, &mut |f| {
                        frames += f.payload.len() as u64;
                    });
                }
                black_box(frames)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, unmasking, header_parsing, decoder);
criterion_main!(benches);
