//! Display width of text and fitting it to a number of columns: cutting with `…`, or
//! wrapping at spaces. Widths count terminal columns (unicode-width), not bytes or chars.

use super::style::{Role, Style};

/// Terminal columns `text` takes.
pub fn display_width(text: &str) -> usize {
    // Printable ASCII is one column a character, whatever its neighbours: skipping
    // unicode-width's per-character lookup for it took ~10% of `--view messages`'s
    // instructions off (callgrind, small-20.pcap).
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.len();
    }
    unicode_width::UnicodeWidthStr::width(text)
}

/// Cuts `text` to at most `max` display columns, marking a cut with `…`.
pub fn fit_width(text: &str, max: usize) -> String {
    if display_width(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `text` broken into lines of at most `width` display columns at spaces (a word longer
/// than a line is cut).
pub fn fit_words(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = display_width(&line) + usize::from(!line.is_empty()) + display_width(word);
        if !line.is_empty() && needed > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&fit_width(word, width));
    }
    out.push_str(&line);
    out
}

/// Appends `text` to `out` as lines of at most `width` columns (when known): the first
/// line starts with `first`, the following ones with `indent` (both counted in the
/// width), words wrapped at spaces. Each line ends with a newline; `role` colours the text.
pub fn push_wrapped(
    out: &mut String,
    first: &str,
    indent: &str,
    text: &str,
    width: Option<usize>,
    style: Style,
    role: Role,
) {
    let Some(width) = width else {
        out.push_str(first);
        style.push(out, role, text);
        out.push('\n');
        return;
    };
    let room = width
        .saturating_sub(display_width(first).max(display_width(indent)))
        .max(10);
    for (i, line) in fit_words(&break_long_words(text, room), room)
        .lines()
        .enumerate()
    {
        out.push_str(if i == 0 { first } else { indent });
        style.push(out, role, line);
        out.push('\n');
    }
}

/// A line written piece by piece onto the end of a `String`, each piece in its colour,
/// that never grows past a width: the piece that would cross it is cut with `…` and later
/// pieces are dropped.
#[derive(Debug)]
pub struct FitLine<'a> {
    style: Style,
    width: Option<usize>,
    out: &'a mut String,
    /// Columns used so far (counted only when there is a width).
    used: usize,
    full: bool,
}

impl<'a> FitLine<'a> {
    /// An empty line at most `width` columns wide (`None`: no limit), appended to `out`.
    /// Writing into the caller's buffer, without measuring pieces when nothing limits the
    /// width, spares the messages view an allocation and a width lookup per piece.
    pub fn new(out: &'a mut String, style: Style, width: Option<usize>) -> Self {
        FitLine {
            style,
            width,
            out,
            used: 0,
            full: false,
        }
    }

    /// Appends `text` (already escaped) in `role`'s colour, or uncoloured with `None`.
    #[inline]
    pub fn push(&mut self, role: Option<Role>, text: &str) -> &mut Self {
        // Unlimited and uncoloured (output to a pipe): nothing to measure or paint.
        if self.width.is_none() && (role.is_none() || !self.style.enabled()) {
            self.out.push_str(text);
            return self;
        }
        self.push_fitted(role, text)
    }

    /// Appends what `write` writes as one piece, like [`Self::push`]: straight into the
    /// line when nothing can cut or paint it, else through `scratch` (cleared first).
    #[inline]
    pub fn push_with(
        &mut self,
        role: Option<Role>,
        scratch: &mut String,
        write: impl FnOnce(&mut String),
    ) -> &mut Self {
        if self.width.is_none() && (role.is_none() || !self.style.enabled()) {
            write(self.out);
            return self;
        }
        scratch.clear();
        write(scratch);
        self.push_fitted(role, scratch)
    }

    fn push_fitted(&mut self, role: Option<Role>, text: &str) -> &mut Self {
        if self.full || text.is_empty() {
            return self;
        }
        let cut;
        let piece = match self.width {
            None => text,
            Some(width) => {
                let w = display_width(text);
                if self.used + w > width {
                    self.full = true;
                    cut = fit_width(text, width.saturating_sub(self.used));
                    self.used += display_width(&cut);
                    cut.as_str()
                } else {
                    self.used += w;
                    text
                }
            }
        };
        match role {
            Some(role) => self.style.push(self.out, role, piece),
            None => self.out.push_str(piece),
        }
        self
    }
}

/// `text` (lines, possibly coloured by [`super::style`]) with every line wider than
/// `width` wrapped at spaces: the line's first `hang` columns (or its indentation, when
/// deeper) stay, and the rest continues on lines indented as far. A wrapped part that was
/// painted in one colour keeps it; mixed colours in a wrapped part are dropped (the words
/// stay). Lines that fit are untouched.
pub fn wrap_block(text: &str, width: usize, hang: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for piece in text.split_inclusive('\n') {
        let (line, newline) = match piece.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (piece, ""),
        };
        if display_width(&super::style::strip(line)) <= width {
            out.push_str(piece);
            continue;
        }
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let keep = spaces.max(hang).min(width.saturating_sub(10));
        let (head, rest) = split_at_column(line, keep);
        let room = width - keep;
        // One colour around the whole rest: keep it on every wrapped line.
        let (open, inner) = match single_paint(rest) {
            Some((open, inner)) => (Some(open), inner.to_string()),
            None => (None, super::style::strip(rest)),
        };
        for (i, part) in fit_words(&break_long_words(inner.trim_start(), room), room)
            .lines()
            .enumerate()
        {
            if i == 0 {
                out.push_str(head);
            } else {
                out.push('\n');
                out.push_str(&" ".repeat(keep));
            }
            match open {
                Some(open) => {
                    out.push_str(open);
                    out.push_str(part);
                    out.push_str("\x1b[0m");
                }
                None => out.push_str(part),
            }
        }
        out.push_str(newline);
    }
    out
}

/// `text` with every word wider than `room` columns broken into pieces of `room` columns
/// (a URL, a key), so that wrapping shows all of it rather than cutting it.
fn break_long_words(text: &str, room: usize) -> String {
    let room = room.max(1);
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if display_width(word) <= room {
            out.push_str(word);
            continue;
        }
        let mut used = 0;
        for c in word.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if used + w > room {
                out.push(' ');
                used = 0;
            }
            out.push(c);
            used += w;
        }
    }
    out
}

/// `line` split where `column` display columns of it have been shown (escape sequences
/// take none).
fn split_at_column(line: &str, column: usize) -> (&str, &str) {
    let mut used = 0;
    let mut in_escape = false;
    for (i, c) in line.char_indices() {
        if in_escape {
            in_escape = !c.is_ascii_alphabetic();
            continue;
        }
        // A sequence at the split point opens the rest: it stays with it.
        if used >= column {
            return line.split_at(i);
        }
        if c == '\x1b' {
            in_escape = true;
            continue;
        }
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    (line, "")
}

/// `ESC[..m text ESC[0m` with no other sequence inside: the opening sequence and the text.
fn single_paint(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix("\x1b[")?;
    let end = body.find('m')?;
    let open = &text[..end + 3];
    let inner = text[open.len()..].strip_suffix("\x1b[0m")?;
    (!inner.contains('\x1b')).then_some((open, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_at_the_width() {
        assert_eq!(fit_words("aa bb cc dd", 5), "aa bb\ncc dd");
        assert_eq!(fit_words("abcdefgh x", 4), "abc…\nx");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(fit_width("abcdef", 4), "abc…");
        assert_eq!(fit_width("abc", 4), "abc");
        assert_eq!(fit_width("日本語", 4), "日…");
        assert_eq!(display_width("日本"), 4);
    }

    #[test]
    fn a_fitted_line_stops_at_the_width() {
        let mut out = String::from(">");
        FitLine::new(&mut out, Style::plain(), Some(10))
            .push(None, "12345")
            .push(None, "678901234")
            .push(None, "x");
        assert_eq!(out, ">123456789…");
        let mut out = String::new();
        FitLine::new(&mut out, Style::plain(), None)
            .push(None, "12345")
            .push(None, "678901234");
        assert_eq!(out, "12345678901234");
        let mut out = String::new();
        FitLine::new(&mut out, Style::plain(), Some(6))
            .push(None, "日本")
            .push(None, "語x");
        assert_eq!(out, "日本…");
    }

    /// The ASCII shortcut of `display_width` agrees with unicode-width.
    #[test]
    fn printable_ascii_is_one_column_a_character() {
        let printable: Vec<char> = (0x20u8..0x7f).map(char::from).collect();
        for &a in &printable {
            for &b in &printable {
                let s = format!("{a}{b}");
                assert_eq!(
                    display_width(&s),
                    unicode_width::UnicodeWidthStr::width(s.as_str())
                );
            }
        }
        let all: String = printable.iter().collect();
        assert_eq!(
            display_width(&all),
            unicode_width::UnicodeWidthStr::width(all.as_str())
        );
        for s in [
            "a\tb",
            "日本",
            "x\u{1F468}\u{200D}\u{1F469}",
            "1\u{FE0F}\u{20E3}",
            "a\u{7f}",
        ] {
            assert_eq!(display_width(s), unicode_width::UnicodeWidthStr::width(s));
        }
    }

    #[test]
    fn blocks_wrap_under_their_hang() {
        let text = "  1 client  sends a rather long sentence here\n  short\n";
        let out = wrap_block(text, 30, 12);
        assert_eq!(
            out,
            "  1 client  sends a rather\n            long sentence here\n  short\n"
        );
        // A word longer than a line is broken, not cut.
        let out = wrap_block("  x: abcdefghijklmnopqrstuvwxyz\n", 14, 2);
        assert_eq!(out, "  x:\n  abcdefghijkl\n  mnopqrstuvwx\n  yz\n");
        // A painted note keeps its colour on each wrapped line.
        let note = format!(
            "    {}\n",
            Style::new(true).paint(Role::Bad, "! error one two three")
        );
        let out = wrap_block(&note, 16, 2);
        assert_eq!(
            out,
            "    \x1b[1;31m! error one\x1b[0m\n    \x1b[1;31mtwo three\x1b[0m\n"
        );
    }

    #[test]
    fn wrapped_text_keeps_its_indent() {
        let mut out = String::new();
        push_wrapped(
            &mut out,
            "  ! ",
            "    ",
            "one two three four five six seven",
            Some(20),
            Style::plain(),
            Role::Bad,
        );
        assert_eq!(out, "  ! one two three\n    four five six\n    seven\n");
        assert!(out.lines().all(|l| display_width(l) <= 20));
    }
}
