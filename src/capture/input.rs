//! Where a capture's bytes come from: a file or standard input, its size when known, and
//! a count of the bytes read for whoever shows progress.

use super::compress::decompressing;
use super::{CaptureError, FileSource, PacketSource, STDIN_PATH};
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// An opened input not yet parsed: a file or standard input.
pub struct Input {
    reader: Box<dyn Read + Send>,
    size: Option<u64>,
    stop: Option<Arc<AtomicBool>>,
}

impl Input {
    /// Opens `path`, or standard input when it is [`STDIN_PATH`].
    pub fn open(path: &Path) -> Result<Input, CaptureError> {
        if path.as_os_str() == STDIN_PATH {
            return Ok(Input::from_reader(io::stdin(), None));
        }
        let file = std::fs::File::open(path).map_err(CaptureError::Io)?;
        // Only a regular file's length is the number of bytes that will be read.
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        Ok(Input::from_reader(file, size))
    }

    /// Any byte stream, of `size` bytes when known.
    pub fn from_reader<R: Read + Send + 'static>(reader: R, size: Option<u64>) -> Input {
        Input {
            reader: Box::new(reader),
            size,
            stop: None,
        }
    }

    /// Ends the input cleanly, before the next packet, once `stop` is set (by a Ctrl-C
    /// handler): the packets before it are the whole capture, even when the input is a
    /// pipe that is still open and sending nothing.
    pub fn stop_when(self, stop: Arc<AtomicBool>) -> Input {
        Input {
            stop: Some(stop),
            ..self
        }
    }

    /// Bytes in the input (compressed, when it is), when known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Calls `on_bytes` with the count of bytes of each read of the input (before any
    /// decompression, so comparable with [`size`](Self::size)). It runs on the thread that
    /// reads, which is not the caller's.
    pub fn on_bytes<F: FnMut(u64) + Send + 'static>(self, on_bytes: F) -> Input {
        Input {
            reader: Box::new(Counting {
                inner: self.reader,
                on_bytes,
            }),
            size: self.size,
            stop: self.stop,
        }
    }

    /// Recognises the compression and the capture format, reads the file header, and
    /// streams packets from then on, read (and decompressed) a few blocks ahead on a helper
    /// thread.
    pub fn into_source(self) -> Result<Box<dyn PacketSource>, CaptureError> {
        let (reader, _compression) = decompressing(self.reader).map_err(CaptureError::Io)?;
        Ok(Box::new(FileSource::read_ahead_until(reader, self.stop)?))
    }
}

/// A reader that reports the size of each read.
struct Counting<F> {
    inner: Box<dyn Read + Send>,
    on_bytes: F,
}

impl<F: FnMut(u64)> Read for Counting<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_bytes)(n as u64);
        Ok(n)
    }
}
