//! A progress line on stderr while a capture is read: percentage, megabytes, MB/s and
//! the time left when the size is known, bytes read and MB/s otherwise. It appears only after the reading has
//! taken a moment, is redrawn at most ten times a second, and is erased at the end. The
//! caller decides whether stderr is a terminal; nothing here checks. The bytes come from
//! the capture layer's counter ([`crate::capture::Input::on_bytes`]), on its reading
//! thread; nothing here reads or opens the capture.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// Columns of stderr's terminal, when known: the line is kept narrower, so that it
    /// never wraps (a wrapped line cannot be erased with a carriage return).
    width: Option<usize>,
    /// The reading is over: the line was erased and is not drawn again (the reading
    /// thread may still be a read ahead).
    finished: bool,
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
            let eta = if done > 0 && secs > 0.0 {
                // At the average rate so far: steadier than the last interval's.
                let left = total.saturating_sub(done) as f64 / (done as f64 / secs);
                format!("  ETA {}", clock(left))
            } else {
                String::new()
            };
            format!(
                "[{}{}] {:>3.0}%  {:.1}/{:.1} MB  {:.1} MB/s{eta}",
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

/// `m:ss`, or `h:mm:ss` from an hour on.
fn clock(secs: f64) -> String {
    let total = if secs.is_finite() {
        secs.round().clamp(0.0, 359_999.0) as u64
    } else {
        0
    };
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

impl State {
    fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n);
        if self.finished {
            return;
        }
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
        let mut line = progress_line(self.done, self.total, now.duration_since(self.start));
        if let Some(width) = self.width {
            // One column spare: a line that fills the terminal may wrap on some.
            line = super::width::fit_width(&line, width.saturating_sub(1));
        }
        let pad = self.drawn_width.saturating_sub(line.chars().count());
        self.drawn_width = line.chars().count();
        // Progress is a courtesy: a failing stderr must not stop the reading.
        let _ = write!(io::stderr(), "\r{line}{}", " ".repeat(pad));
    }

    fn clear(&mut self) {
        self.finished = true;
        if self.drawn_width > 0 {
            let _ = write!(io::stderr(), "\r{}\r", " ".repeat(self.drawn_width));
            self.drawn_width = 0;
        }
    }
}

/// Erases the progress line when the reading is over (also when dropped).
pub struct ProgressHandle {
    state: Arc<Mutex<State>>,
}

/// Locks the state; a panic elsewhere while drawing leaves it usable.
fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProgressHandle {
    /// Erases the progress line, if one was drawn, and draws no more.
    pub fn finish(&self) {
        lock(&self.state).clear();
    }
}

impl Drop for ProgressHandle {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A progress line for reading `total` bytes (when known), kept narrower than `width`
/// columns (stderr's terminal, when known): the counter to give the capture layer (it is
/// called with the size of each read, from any thread) and the handle that erases the
/// line at the end.
pub fn track(
    total: Option<u64>,
    width: Option<usize>,
) -> (impl FnMut(u64) + Send + 'static, ProgressHandle) {
    let state = Arc::new(Mutex::new(State {
        total,
        done: 0,
        start: Instant::now(),
        last_draw: None,
        drawn_width: 0,
        width,
        finished: false,
    }));
    let counter = Arc::clone(&state);
    (move |n| lock(&counter).advance(n), ProgressHandle { state })
}

/// Whether to show progress: only when stderr is a terminal, and not when stdout is the
/// same kind of terminal being written to as the capture is read (`output_at_end` says
/// the output only comes when reading is over).
pub fn wanted(output_at_end: bool) -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal() && (output_at_end || !io::stdout().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_with_known_size() {
        let line = progress_line(5_000_000, Some(20_000_000), Duration::from_secs(2));
        // 15 MB left at 2.5 MB/s: 6 seconds.
        assert_eq!(
            line,
            "[#####---------------]  25%  5.0/20.0 MB  2.5 MB/s  ETA 0:06"
        );
        let line = progress_line(1_000_000, Some(7_201_000_000), Duration::from_secs(1));
        assert!(line.ends_with("ETA 2:00:00"), "{line}");
        let line = progress_line(0, Some(10), Duration::ZERO);
        assert!(!line.contains("ETA"), "{line}");
    }

    #[test]
    fn line_for_a_stream() {
        let line = progress_line(3_500_000, None, Duration::from_secs(1));
        assert_eq!(line, "3.5 MB read  3.5 MB/s");
    }

    #[test]
    fn counter_counts() {
        let (mut count, handle) = track(Some(11), None);
        count(5);
        count(6);
        assert_eq!(lock(&handle.state).done, 11);
        // Fast reads draw nothing, so there is nothing to erase.
        assert_eq!(lock(&handle.state).drawn_width, 0);
        handle.finish();
        assert!(lock(&handle.state).finished);
    }

    #[test]
    fn counts_what_the_capture_layer_reads() {
        use crate::capture::Input;
        let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        file.extend([0; 8]);
        file.extend(65_535u32.to_le_bytes());
        file.extend(1u32.to_le_bytes());
        let len = file.len() as u64;
        let (count, handle) = track(Some(len), None);
        let input = Input::from_reader(std::io::Cursor::new(file), Some(len)).on_bytes(count);
        let mut source = input.into_source().expect("a pcap header");
        assert!(source.next_packet().expect("clean end").is_none());
        assert_eq!(lock(&handle.state).done, len);
    }
}
