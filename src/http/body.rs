//! Skipping a message body to find where the next message (or the WebSocket stream)
//! starts: fixed length, until close, or chunked (RFC 9112 §7.1), all incremental.

use super::head::BodyLength;

/// Longest chunk-size line (size, extensions, line end) accepted.
pub const MAX_CHUNK_LINE: usize = 4096;
/// Most trailer bytes accepted after the last chunk.
pub const MAX_TRAILER: usize = 64 * 1024;
/// Bits per hex digit: a size with fewer free leading bits would overflow u64.
const HEX_DIGIT_BITS: u32 = 4;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// Where the chunked decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Reading the hex size; `digits` so far, `line` bytes of this line so far.
    Size {
        value: u64,
        digits: usize,
        line: usize,
    },
    /// After the size: whitespace or extensions up to the line end.
    SizeRest { value: u64, line: usize },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Expecting the CRLF after chunk data.
    DataEnd { seen_cr: bool },
    /// Trailer section after the last chunk; `line` bytes in the current line, `total`
    /// trailer bytes overall.
    Trailer { line: usize, total: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Done,
    Fixed { remaining: u64 },
    UntilClose,
    Chunked(Chunked),
    Malformed,
}

/// Consumes one message body incrementally, given how it is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodySkipper {
    state: State,
}

impl BodySkipper {
    /// A skipper for a body delimited as `len`.
    pub fn new(len: BodyLength) -> Self {
        let state = match len {
            BodyLength::None | BodyLength::Fixed(0) => State::Done,
            BodyLength::Fixed(n) => State::Fixed { remaining: n },
            BodyLength::Chunked => State::Chunked(Chunked::Size {
                value: 0,
                digits: 0,
                line: 0,
            }),
            BodyLength::UntilClose => State::UntilClose,
        };
        BodySkipper { state }
    }

    /// Consumes body bytes from the start of `bytes`; returns how many. Stops at the end of
    /// the body (the rest belongs to the next message). A body that runs until close, or a
    /// malformed chunked body, consumes everything.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.feed_with(bytes, &mut |_| {})
    }

    /// As [`feed`](Self::feed), handing each piece of the body's content (chunked coding
    /// removed) to `data` in order. A malformed chunked body hands nothing more.
    pub fn feed_with(&mut self, bytes: &[u8], data: &mut dyn FnMut(&[u8])) -> usize {
        let mut used = 0;
        while used < bytes.len() {
            let rest = bytes.get(used..).unwrap_or_default();
            match self.state {
                State::Done => break,
                State::Malformed => return bytes.len(),
                State::UntilClose => {
                    data(rest);
                    return bytes.len();
                }
                State::Fixed { remaining } => {
                    let n = take_up_to(remaining, rest.len());
                    data(rest.get(..n).unwrap_or_default());
                    used += n;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::Done
                    } else {
                        State::Fixed { remaining }
                    };
                }
                State::Chunked(Chunked::Data { remaining }) => {
                    let n = take_up_to(remaining, rest.len());
                    data(rest.get(..n).unwrap_or_default());
                    used += n;
                    let remaining = remaining - n as u64;
                    self.state = State::Chunked(if remaining == 0 {
                        Chunked::DataEnd { seen_cr: false }
                    } else {
                        Chunked::Data { remaining }
                    });
                }
                State::Chunked(c) => {
                    let Some(&b) = rest.first() else { break };
                    used += 1;
                    self.state = chunk_step(c, b);
                }
            }
        }
        used
    }

    /// True once the whole body has been consumed (never for a body that runs until close).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// True when a chunked body could not be parsed; everything afterwards is consumed.
    pub fn is_malformed(&self) -> bool {
        self.state == State::Malformed
    }
}

/// `min(remaining, available)` without truncating casts.
fn take_up_to(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// Advances the chunked-coding line state by one byte.
fn chunk_step(c: Chunked, b: u8) -> State {
    let next = match c {
        Chunked::Size {
            value,
            digits,
            line,
        } => {
            if let Some(d) = hex_value(b) {
                if value.leading_zeros() < HEX_DIGIT_BITS {
                    return State::Malformed;
                }
                Chunked::Size {
                    value: (value << HEX_DIGIT_BITS) | u64::from(d),
                    digits: digits + 1,
                    line: line + 1,
                }
            } else if digits == 0 {
                return State::Malformed;
            } else {
                return size_rest(value, line, b);
            }
        }
        Chunked::SizeRest { value, line } => return size_rest(value, line, b),
        Chunked::DataEnd { seen_cr } => match b {
            CR if !seen_cr => Chunked::DataEnd { seen_cr: true },
            LF => Chunked::Size {
                value: 0,
                digits: 0,
                line: 0,
            },
            _ => return State::Malformed,
        },
        Chunked::Trailer { line, total } => {
            if total >= MAX_TRAILER {
                return State::Malformed;
            }
            match b {
                LF if line == 0 => return State::Done,
                LF => Chunked::Trailer {
                    line: 0,
                    total: total + 1,
                },
                CR => Chunked::Trailer {
                    line,
                    total: total + 1,
                },
                _ => Chunked::Trailer {
                    line: line + 1,
                    total: total + 1,
                },
            }
        }
        // Handled in bulk by the caller.
        Chunked::Data { remaining } => Chunked::Data { remaining },
    };
    State::Chunked(next)
}

/// One byte after the chunk size: extensions and whitespace until LF ends the line.
fn size_rest(value: u64, line: usize, b: u8) -> State {
    if line >= MAX_CHUNK_LINE {
        return State::Malformed;
    }
    match b {
        LF if value == 0 => State::Chunked(Chunked::Trailer { line: 0, total: 0 }),
        LF => State::Chunked(Chunked::Data { remaining: value }),
        // Bare CR, whitespace, ';' and extension text are all skipped until the LF.
        _ => State::Chunked(Chunked::SizeRest {
            value,
            line: line + 1,
        }),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step`, returning total consumed and whether done.
    fn run(len: BodyLength, input: &[u8], step: usize) -> (usize, bool, bool) {
        let mut s = BodySkipper::new(len);
        let mut total = 0;
        for piece in input.chunks(step.max(1)) {
            let n = s.feed(piece);
            total += n;
            if n < piece.len() {
                break;
            }
        }
        (total, s.is_done(), s.is_malformed())
    }

    #[test]
    fn none_and_fixed() {
        assert_eq!(run(BodyLength::None, b"abc", 10), (0, true, false));
        assert!(BodySkipper::new(BodyLength::Fixed(0)).is_done());
        for step in 1..8 {
            assert_eq!(
                run(BodyLength::Fixed(5), b"helloNEXT", step),
                (5, true, false)
            );
        }
        assert_eq!(run(BodyLength::Fixed(10), b"hello", 2), (5, false, false));
        let mut s = BodySkipper::new(BodyLength::Fixed(u64::MAX));
        assert_eq!(s.feed(&[0; 100]), 100);
        assert!(!s.is_done());
    }

    #[test]
    fn until_close() {
        let mut s = BodySkipper::new(BodyLength::UntilClose);
        assert_eq!(s.feed(b"anything"), 8);
        assert!(!s.is_done());
    }

    #[test]
    fn chunked_every_split() {
        let body: &[u8] =
            b"4\r\nWiki\r\n5;name=\"v\"\r\npedia\r\nE \r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
        let mut input = body.to_vec();
        input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        for step in 1..=input.len() {
            assert_eq!(
                run(BodyLength::Chunked, &input, step),
                (body.len(), true, false),
                "step {step}"
            );
        }
        for cut in 0..=input.len() {
            let mut s = BodySkipper::new(BodyLength::Chunked);
            let a = s.feed(&input[..cut]);
            let b = s.feed(&input[cut..]);
            assert_eq!(a + b, body.len(), "cut {cut}");
            assert!(s.is_done());
        }
    }

    #[test]
    fn chunked_minimal_and_bare_lf() {
        assert_eq!(
            run(BodyLength::Chunked, b"0\r\n\r\nX", 100),
            (5, true, false)
        );
        assert_eq!(
            run(BodyLength::Chunked, b"3\nabc\n0\n\nX", 100),
            (9, true, false)
        );
        assert_eq!(
            run(BodyLength::Chunked, b"A\r\n0123456789\r\n0\r\n\r\n", 3),
            (20, true, false)
        );
    }

    #[test]
    fn chunked_malformed() {
        assert!(run(BodyLength::Chunked, b"xyz\r\n", 100).2);
        assert!(run(BodyLength::Chunked, b"3\r\nabcX\r\n", 100).2);
        assert!(run(BodyLength::Chunked, b"1ffffffffffffffff\r\n", 100).2);
        assert!(!run(BodyLength::Chunked, b"0ffffffffffffffff\r\n", 100).2);
        // Leading zeros are fine.
        assert!(
            !run(
                BodyLength::Chunked,
                b"00000000000000000000003\r\nabc\r\n",
                100
            )
            .2
        );
        let long_ext = [b"1;".as_slice(), &[b'x'; MAX_CHUNK_LINE + 1]].concat();
        assert!(run(BodyLength::Chunked, &long_ext, 100).2);
        let long_trailer = [b"0\r\n".as_slice(), &[b'x'; MAX_TRAILER + 1]].concat();
        assert!(run(BodyLength::Chunked, &long_trailer, 1000).2);
        let mut s = BodySkipper::new(BodyLength::Chunked);
        s.feed(b"zz");
        assert_eq!(s.feed(b"more"), 4);
        assert!(!s.is_done());
    }

    #[test]
    fn huge_chunk_size_allocates_nothing() {
        let mut s = BodySkipper::new(BodyLength::Chunked);
        assert_eq!(s.feed(b"ffffffffffffffff\r\nabc"), 21);
        assert!(!s.is_done() && !s.is_malformed());
    }

    #[test]
    fn content_comes_out_without_the_chunked_coding_at_every_split() {
        // RFC 9112 §7.1: chunk-size in hex, CRLF, data, CRLF; a last chunk of 0; trailers.
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        for step in 1..=body.len() {
            let mut s = BodySkipper::new(BodyLength::Chunked);
            let mut content = Vec::new();
            let mut used = 0;
            for piece in body.chunks(step) {
                used += s.feed_with(piece, &mut |d| content.extend_from_slice(d));
                if s.is_done() {
                    break;
                }
            }
            assert!(s.is_done(), "step {step}");
            assert_eq!(content, b"Wikipedia", "step {step}");
            assert_eq!(&body[used..], b"NEXT", "step {step}");
        }
        let mut s = BodySkipper::new(BodyLength::Fixed(3));
        let mut content = Vec::new();
        assert_eq!(
            s.feed_with(b"abcdef", &mut |d| content.extend_from_slice(d)),
            3
        );
        assert_eq!(content, b"abc");
    }
}
