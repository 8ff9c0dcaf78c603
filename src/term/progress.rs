//! A progress line on stderr while a capture is read: percentage, megabytes and MB/s
//! when the size is known, bytes read otherwise. It appears only after the reading has
//! taken a moment, is redrawn at most ten times a second, and is erased at the end. The
//! caller decides whether stderr is a terminal; nothing here checks.

use crate::capture::file::FileSource;
use crate::capture::{CaptureError, PacketSource, STDIN_PATH};
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Reading shorter than this shows no progress at all.
pub const DELAY: Duration = Duration::from_millis(500);
/// Shortest time between two redraws.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// Width of the bar, in characters.
const BAR_WIDTH: usize = 20;
/// Bytes in a megabyte (decimal, as transfer rates are given).
const MB: f64 = 1_000_000.0;

/// Progress state shared by the reader and its handle.
#[derive(Debug)]
struct State {
    total: Option<u64>,
    done: u64,
    start: Instant,
    last_draw: Option<Instant>,
    /// Width of the last line drawn, to erase it.
    drawn_width: usize,
}

/// The text of a progress line after `done` of `total` bytes in `elapsed`.
pub fn progress_line(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        done as f64 / MB / secs
    } else {
        0.0
    };
    match total {
        Some(total) if total > 0 => {
            let fraction = (done as f64 / total as f64).clamp(0.0, 1.0);
            let filled = ((fraction * BAR_WIDTH as f64) as usize).min(BAR_WIDTH);
            format!(
                "[{}{}] {:>3.0}%  {:.1}/{:.1} MB  {:.1} MB/s",
                "#".repeat(filled),
                "-".repeat(BAR_WIDTH - filled),
                fraction * 100.0,
                done as f64 / MB,
                total as f64 / MB,
                rate
            )
        }
        _ => format!("{:.1} MB read  {:.1} MB/s", done as f64 / MB, rate),
    }
}

impl State {
    fn advance(&mut self, n: usize) {
        self.done = self.done.saturating_add(n as u64);
        let now = Instant::now();
        if now.duration_since(self.start) < DELAY {
            return;
        }
        if self
            .last_draw
            .is_some_and(|last| now.duration_since(last) < INTERVAL)
        {
            return;
        }
        self.last_draw = Some(now);
        let line = progress_line(self.done, self.total, now.duration_since(self.start));
        let pad = self.drawn_width.saturating_sub(line.chars().count());
        self.drawn_width = line.chars().count();
        // Progress is a courtesy: a failing stderr must not stop the reading.
        let _ = write!(io::stderr(), "\r{line}{}", " ".repeat(pad));
    }

    fn clear(&mut self) {
        if self.drawn_width > 0 {
            let _ = write!(io::stderr(), "\r{}\r", " ".repeat(self.drawn_width));
            self.drawn_width = 0;
        }
    }
}

/// A reader that reports how much of it was read.
pub struct ProgressReader<R: Read> {
    inner: R,
    state: Rc<RefCell<State>>,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state.borrow_mut().advance(n);
        Ok(n)
    }
}

/// Erases the progress line when the reading is over (also when dropped).
pub struct ProgressHandle {
    state: Rc<RefCell<State>>,
}

impl ProgressHandle {
    /// Erases the progress line, if one was drawn.
    pub fn finish(&self) {
        self.state.borrow_mut().clear();
    }
}

impl Drop for ProgressHandle {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Wraps `inner` (of `total` bytes, when known) to show progress.
pub fn track<R: Read>(inner: R, total: Option<u64>) -> (ProgressReader<R>, ProgressHandle) {
    let state = Rc::new(RefCell::new(State {
        total,
        done: 0,
        start: Instant::now(),
        last_draw: None,
        drawn_width: 0,
    }));
    (
        ProgressReader {
            inner,
            state: Rc::clone(&state),
        },
        ProgressHandle { state },
    )
}

/// Whether to show progress: only when stderr is a terminal, and not when stdout is the
/// same kind of terminal being written to as the capture is read (`output_at_end` says
/// the output only comes when reading is over).
pub fn wanted(output_at_end: bool) -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal() && (output_at_end || !io::stdout().is_terminal())
}

/// Opens a capture like [`crate::capture::open_path`], with a progress line on stderr.
pub fn open_path_with_progress(
    path: &Path,
) -> Result<(Box<dyn PacketSource>, ProgressHandle), CaptureError> {
    if path.as_os_str() == STDIN_PATH {
        let (reader, handle) = track(io::stdin().lock(), None);
        return Ok((Box::new(FileSource::new(reader)?), handle));
    }
    let file = std::fs::File::open(path).map_err(CaptureError::Io)?;
    let total = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let (reader, handle) = track(file, total);
    Ok((Box::new(FileSource::new(reader)?), handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_with_known_size() {
        let line = progress_line(5_000_000, Some(20_000_000), Duration::from_secs(2));
        assert_eq!(line, "[#####---------------]  25%  5.0/20.0 MB  2.5 MB/s");
    }

    #[test]
    fn line_for_a_stream() {
        let line = progress_line(3_500_000, None, Duration::from_secs(1));
        assert_eq!(line, "3.5 MB read  3.5 MB/s");
    }

    #[test]
    fn reader_counts_and_passes_bytes_through() {
        let (mut reader, handle) = track(&b"hello world"[..], Some(11));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        assert_eq!(out, b"hello world");
        assert_eq!(handle.state.borrow().done, 11);
        // Fast reads draw nothing, so there is nothing to erase.
        assert_eq!(handle.state.borrow().drawn_width, 0);
    }
}
