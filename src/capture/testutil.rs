//! Builders of pcap and pcapng bytes and readers that behave like pipes, for the tests of
//! the capture modules (hand-crafted records, each field as the format specifies it).

use super::stream::FileSource;
use super::{CaptureError, LinkType, PacketSource, Timestamp};
use std::io::Read;

/// A reader that hands out at most `chunk` bytes per read, like a pipe.
pub(crate) struct Trickle<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Order {
    Le,
    Be,
}

pub(crate) fn u16b(o: Order, v: u16) -> [u8; 2] {
    match o {
        Order::Le => v.to_le_bytes(),
        Order::Be => v.to_be_bytes(),
    }
}

pub(crate) fn u32b(o: Order, v: u32) -> [u8; 4] {
    match o {
        Order::Le => v.to_le_bytes(),
        Order::Be => v.to_be_bytes(),
    }
}

/// A legacy pcap with the given records (secs, frac, data, origlen).
pub(crate) fn pcap(
    o: Order,
    nanos: bool,
    link: u32,
    records: &[(u32, u32, &[u8], u32)],
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(u32b(o, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    v.extend(u16b(o, 2));
    v.extend(u16b(o, 4));
    v.extend(u32b(o, 0));
    v.extend(u32b(o, 0));
    v.extend(u32b(o, 262_144));
    v.extend(u32b(o, link));
    for (secs, frac, data, orig) in records {
        v.extend(u32b(o, *secs));
        v.extend(u32b(o, *frac));
        v.extend(u32b(o, data.len() as u32));
        v.extend(u32b(o, *orig));
        v.extend_from_slice(data);
    }
    v
}

pub(crate) fn ng_block(o: Order, kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = body.len() as u32 + 12;
    let mut v = Vec::new();
    v.extend(u32b(o, kind));
    v.extend(u32b(o, len));
    v.extend(body);
    v.extend(u32b(o, len));
    v
}

pub(crate) fn ng_shb(o: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(o, 0x1a2b_3c4d));
    body.extend(u16b(o, 1));
    body.extend(u16b(o, 0));
    body.extend((-1i64).to_le_bytes());
    ng_block(o, 0x0a0d_0d0a, &body)
}

pub(crate) fn ng_idb(o: Order, link: u16, tsresol: Option<u8>, tsoffset: Option<i64>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16b(o, link));
    body.extend(u16b(o, 0));
    body.extend(u32b(o, 0));
    if let Some(r) = tsresol {
        body.extend(u16b(o, 9));
        body.extend(u16b(o, 1));
        body.extend([r, 0, 0, 0]);
    }
    if let Some(off) = tsoffset {
        body.extend(u16b(o, 14));
        body.extend(u16b(o, 8));
        match o {
            Order::Le => body.extend(off.to_le_bytes()),
            Order::Be => body.extend(off.to_be_bytes()),
        }
    }
    if tsresol.is_some() || tsoffset.is_some() {
        body.extend([0, 0, 0, 0]); // opt_endofopt
    }
    ng_block(o, 1, &body)
}

pub(crate) fn ng_epb(o: Order, if_id: u32, ticks: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(o, if_id));
    body.extend(u32b(o, (ticks >> 32) as u32));
    body.extend(u32b(o, ticks as u32));
    body.extend(u32b(o, data.len() as u32));
    body.extend(u32b(o, orig));
    body.extend_from_slice(data);
    ng_block(o, 6, &body)
}

pub(crate) fn ng_spb(o: Order, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32b(o, data.len() as u32));
    body.extend_from_slice(data);
    ng_block(o, 3, &body)
}

/// Owned copy of what a source yields.
#[derive(Debug, PartialEq)]
pub(crate) struct Owned {
    pub(crate) ts: Timestamp,
    pub(crate) link: LinkType,
    pub(crate) data: Vec<u8>,
    pub(crate) orig: u32,
}

pub(crate) fn read_all<R: Read>(src: &mut FileSource<R>) -> (Vec<Owned>, Option<CaptureError>) {
    let mut out = Vec::new();
    loop {
        match src.next_packet() {
            Ok(Some(p)) => out.push(Owned {
                ts: p.timestamp,
                link: p.link_type,
                data: p.data.to_vec(),
                orig: p.original_len,
            }),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

pub(crate) fn read_bytes(
    bytes: &[u8],
    chunk: usize,
) -> Result<(Vec<Owned>, Option<CaptureError>), CaptureError> {
    let mut src = FileSource::new(Trickle { data: bytes, chunk })?;
    Ok(read_all(&mut src))
}

pub(crate) fn ts(secs: i64, nanos: u32) -> Timestamp {
    Timestamp { secs, nanos }
}

pub(crate) fn sample_pcap_usec_le() -> Vec<u8> {
    pcap(
        Order::Le,
        false,
        1,
        &[
            (1_700_000_000, 123_456, b"abcdef", 6),
            (1_700_000_001, 999_999, b"xy", 60),
        ],
    )
}

pub(crate) fn sample_pcapng_le() -> Vec<u8> {
    let mut v = ng_shb(Order::Le);
    v.extend(ng_idb(Order::Le, 1, None, None));
    v.extend(ng_idb(Order::Le, 0, Some(9), None));
    // An unknown block type to skip.
    v.extend(ng_block(Order::Le, 0x0000_0099, &[1, 2, 3, 4]));
    v.extend(ng_epb(
        Order::Le,
        0,
        1_700_000_000_123_456,
        b"eth-packet",
        10,
    ));
    v.extend(ng_epb(
        Order::Le,
        1,
        1_700_000_001_000_000_007,
        b"null",
        100,
    ));
    v.extend(ng_spb(Order::Le, b"simple"));
    v
}

/// [`Trickle`] owning its bytes, for the read-ahead thread.
pub(crate) struct OwnedTrickle {
    pub(crate) data: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) chunk: usize,
}

impl Read for OwnedTrickle {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.pos..];
        let n = self.chunk.min(out.len()).min(rest.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// What reading `bytes` gives, as comparable text: packets, then the error if any.
pub(crate) fn outcome<R: Read>(source: Result<FileSource<R>, CaptureError>) -> String {
    match source {
        Err(e) => format!("open: {e:?}"),
        Ok(mut src) => {
            let (pkts, err) = read_all(&mut src);
            format!("{pkts:?} {err:?}")
        }
    }
}
