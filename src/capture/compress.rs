//! Compressed captures (gzip, zstd, lz4 frames, as tshark reads them), recognised by their
//! magic number and decoded as a stream, so stdin works and nothing is held whole.
//!
//! Decoding runs wherever the reader is read: under [`super::FileSource::read_ahead`],
//! on the read-ahead thread, beside the dissection.
//!
//! Speed: see the comment on `ruzstd` in Cargo.toml (measured on a 200 MB capture).

use std::fmt;
use std::io::{self, BufRead, BufReader, Cursor, ErrorKind, Read};

/// A compression format recognised at the start of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952), members possibly concatenated.
    Gzip,
    /// Zstandard (RFC 8878), frames possibly concatenated, skippable frames skipped.
    Zstd,
    /// LZ4 frame format (the `lz4` command's default), frames possibly concatenated.
    Lz4,
}

/// gzip member header: ID1, ID2.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Zstandard frame magic number 0xFD2FB528, little-endian.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Zstandard skippable frames: magic 0x184D2A50..=0x184D2A5F, little-endian; the low nibble
/// of the first byte is free.
const ZSTD_SKIPPABLE_MAGIC_TAIL: [u8; 3] = [0x2a, 0x4d, 0x18];
const ZSTD_SKIPPABLE_FIRST_HIGH: u8 = 0x50;
/// LZ4 frame magic number 0x184D2204, little-endian.
const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
/// Bytes needed to recognise every format above.
pub(super) const DETECT_LEN: usize = 4;
/// Buffer between the compressed input and the zstd decoder, which reads block headers in
/// small pieces.
const ZSTD_INPUT_BUFFER: usize = 64 << 10;

impl Compression {
    /// The format whose magic number starts `head`, if any.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if head.starts_with(&ZSTD_MAGIC)
            || (head.get(1..4) == Some(&ZSTD_SKIPPABLE_MAGIC_TAIL[..])
                && head
                    .first()
                    .is_some_and(|b| b & 0xf0 == ZSTD_SKIPPABLE_FIRST_HIGH))
        {
            Some(Compression::Zstd)
        } else if head.starts_with(&LZ4_MAGIC) {
            Some(Compression::Lz4)
        } else {
            None
        }
    }

    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
        }
    }
}

/// The compressed data could not be decoded (corrupt, or cut off inside a compressed block).
/// Travels inside an `io::Error` from the decoder to the capture reader, which turns it into
/// [`super::CaptureError::Decompress`].
#[derive(Debug)]
pub(super) struct DecompressError {
    pub(super) compression: Compression,
    pub(super) reason: String,
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} data: {}", self.compression.name(), self.reason)
    }
}

impl std::error::Error for DecompressError {}

/// An error of the compressed input itself (disk, pipe), marked so that it is not taken
/// for a decoding error when it comes out of the decoder.
#[derive(Debug)]
struct SourceError(io::Error);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

/// The compressed input, with its errors marked as [`SourceError`].
struct Marked<R>(R);

impl<R: Read> Read for Marked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            // Retried by the decoder, as the caller would.
            ErrorKind::Interrupted => e,
            kind => io::Error::new(kind, SourceError(e)),
        })
    }
}

/// A decoder whose errors are either the input's own (unmarked again) or a
/// [`DecompressError`].
struct Decoded {
    inner: Box<dyn Read + Send>,
    compression: Compression,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| classify(e, self.compression))
    }
}

/// Gives an input error back as it was; anything else the decoder raised is a
/// [`DecompressError`].
fn classify(e: io::Error, compression: Compression) -> io::Error {
    let kind = e.kind();
    if kind == ErrorKind::Interrupted {
        return e;
    }
    if e.get_ref().is_some_and(|inner| inner.is::<SourceError>()) {
        return match e.into_inner().map(|inner| inner.downcast::<SourceError>()) {
            Some(Ok(source)) => source.0,
            Some(Err(other)) => io::Error::new(kind, other),
            None => io::Error::from(kind),
        };
    }
    io::Error::new(
        ErrorKind::InvalidData,
        DecompressError {
            compression,
            reason: e.to_string(),
        },
    )
}

/// `reader`, decompressed when it starts with a known compression magic number, else the
/// same bytes unchanged. Reads at most [`DETECT_LEN`] bytes to decide (and, for zstd, the
/// first frame header); never seeks.
pub(super) fn decompressing(
    mut reader: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let mut head = [0u8; DETECT_LEN];
    let mut got = 0;
    while got < DETECT_LEN {
        match reader.read(head.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let head = head.get(..got).unwrap_or_default().to_vec();
    let compression = Compression::detect(&head);
    let whole = Cursor::new(head).chain(reader);
    let Some(compression) = compression else {
        return Ok((Box::new(whole), None));
    };
    let input = Marked(whole);
    let inner: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(ZstdFrames::new(input)),
        Compression::Lz4 => Box::new(Lz4Frames(lz4_flex::frame::FrameDecoder::new(
            BufReader::new(input),
        ))),
    };
    Ok((Box::new(Decoded { inner, compression }), Some(compression)))
}

/// LZ4 frames one after another (lz4_flex's decoder reports the end of each frame as the
/// end of input).
struct Lz4Frames<R: Read>(lz4_flex::frame::FrameDecoder<BufReader<R>>);

impl<R: Read> Read for Lz4Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            if n > 0 || buf.is_empty() || self.0.get_mut().fill_buf()?.is_empty() {
                return Ok(n);
            }
        }
    }
}

/// Zstandard frames one after another (ruzstd's streaming decoder stops after one frame).
struct ZstdFrames<R: Read> {
    source: BufReader<R>,
    decoder: ruzstd::decoding::FrameDecoder,
    /// A frame is being decoded (its header was read).
    in_frame: bool,
    /// The input ended between frames.
    done: bool,
}

impl<R: Read> ZstdFrames<R> {
    fn new(source: R) -> Self {
        ZstdFrames {
            source: BufReader::with_capacity(ZSTD_INPUT_BUFFER, source),
            decoder: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
            done: false,
        }
    }

    /// Reads the next frame header, skipping skippable frames; false at the end of input.
    fn start_frame(&mut self) -> io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.init(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let want = u64::from(length);
                    let skipped = io::copy(&mut (&mut self.source).take(want), &mut io::sink())?;
                    if skipped < want {
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "input ends inside a skippable frame",
                        ));
                    }
                }
                Err(e) => return Err(io::Error::new(ErrorKind::InvalidData, e.to_string())),
            }
        }
    }
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if !self.in_frame {
                if !self.start_frame()? {
                    self.done = true;
                    return Ok(0);
                }
                self.in_frame = true;
            }
            // As ruzstd's StreamingDecoder does: decode a block at a time until something
            // can be collected or the frame ends.
            while self.decoder.can_collect() == 0 && !self.decoder.is_finished() {
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(|e| io::Error::new(ErrorKind::InvalidData, e.to_string()))?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.decoder.is_finished() {
                self.in_frame = false;
                // ruzstd computes the content checksum but leaves the comparison to us.
                if let (Some(stored), Some(computed)) = (
                    self.decoder.get_checksum_from_data(),
                    self.decoder.get_calculated_checksum(),
                ) && stored != computed
                {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        "content checksum mismatch",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(
            Compression::detect(&[0x1f, 0x8b, 8, 0]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::detect(&[0x5f, 0x2a, 0x4d, 0x18]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::detect(&[0x04, 0x22, 0x4d, 0x18]),
            Some(Compression::Lz4)
        );
        assert_eq!(Compression::detect(&[0xd4, 0xc3, 0xb2, 0xa1]), None);
        assert_eq!(Compression::detect(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
        assert_eq!(Compression::detect(&[0x1f]), None);
        assert_eq!(Compression::detect(&[]), None);
    }

    #[test]
    fn plain_input_passes_through_unchanged() {
        for bytes in [&b""[..], b"ab", b"abcd", b"abcdefgh"] {
            let (mut r, c) = decompressing(Box::new(Cursor::new(bytes.to_vec()))).unwrap();
            assert_eq!(c, None);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn input_errors_come_out_unchanged() {
        /// A gzip header's first four bytes, then a failing disk.
        struct Failing(bool);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::new(ErrorKind::PermissionDenied, "disk on fire"));
                }
                buf[..4].copy_from_slice(&[0x1f, 0x8b, 8, 0]);
                Ok(4)
            }
        }
        let (mut r, c) = decompressing(Box::new(Failing(false))).unwrap();
        assert_eq!(c, Some(Compression::Gzip));
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.to_string(), "disk on fire");
        assert!(e.get_ref().is_some_and(|i| !i.is::<DecompressError>()));
    }

    #[test]
    fn corrupt_data_is_a_decompress_error() {
        // A gzip header followed by an invalid deflate block type (BTYPE = 11).
        let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        bytes.extend([0x07; 32]);
        let (mut r, _) = decompressing(Box::new(Cursor::new(bytes))).unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        let inner = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<DecompressError>());
        assert!(inner.is_some(), "{e:?}");
    }
}
