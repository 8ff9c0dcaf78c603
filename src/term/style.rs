//! Colour for the human views: a handful of ANSI SGR sequences, written by us.
//!
//! Colour goes around text that is already safe to show (capture bytes are escaped by
//! [`super::escape`] first), so the only escape sequences a view ever writes are the ones
//! named here.

use std::fmt::Write as _;

/// When to colour (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Only when stdout is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given whether stdout is a terminal and the value of `NO_COLOR`
    /// (<https://no-color.org>: any non-empty value turns colour off).
    pub fn resolve(self, stdout_is_terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && no_color.is_none_or(str::is_empty),
        }
    }
}

/// What a piece of text is, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sent by the client.
    Client,
    /// Sent by the server.
    Server,
    /// A check that passed, a normal closure.
    Good,
    /// Worth a look: warnings, unusual close codes.
    Warn,
    /// A failed check, a protocol error.
    Bad,
    /// Section headers.
    Heading,
    /// Secondary detail (times, packet numbers).
    Dim,
}

/// SGR parameters of each role.
const fn sgr(role: Role) -> &'static str {
    match role {
        Role::Client => "36", // cyan
        Role::Server => "35", // magenta
        Role::Good => "32",   // green
        Role::Warn => "33",   // yellow
        Role::Bad => "1;31",  // bold red
        Role::Heading => "1", // bold
        Role::Dim => "2",     // faint
    }
}

/// Start of a Control Sequence Introducer.
const CSI: &str = "\x1b[";
/// Resets every attribute.
const RESET: &str = "\x1b[0m";

/// Colours text, or leaves it alone when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// A style that colours when `enabled`.
    pub const fn new(enabled: bool) -> Self {
        Style { enabled }
    }

    /// No colour at all.
    pub const fn plain() -> Self {
        Style { enabled: false }
    }

    /// Whether colour is on.
    pub fn enabled(self) -> bool {
        self.enabled
    }

    /// Appends `text` to `out` in the colour of `role`. `text` must already be safe to
    /// show (escaped).
    pub fn push(self, out: &mut String, role: Role, text: &str) {
        if self.enabled && !text.is_empty() {
            let _ = write!(out, "{CSI}{}m{text}{RESET}", sgr(role));
        } else {
            out.push_str(text);
        }
    }

    /// `text` in the colour of `role`, as a new string.
    pub fn paint(self, role: Role, text: &str) -> String {
        let mut s = String::with_capacity(text.len() + 12);
        self.push(&mut s, role, text);
        s
    }
}

/// Removes the SGR sequences this module writes (`ESC [ digits/semicolons m`), for
/// measuring the display width of coloured text.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(CSI) {
        out.push_str(&rest[..start]);
        let after = &rest[start + CSI.len()..];
        let params = after
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b';')
            .count();
        if after.as_bytes().get(params) == Some(&b'm') {
            rest = &after[params + 1..];
        } else {
            // Not one of ours: keep it visible rather than hide it.
            out.push_str(CSI);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Role of a close status code: normal endings are good, protocol and policy failures
/// bad, everything else worth a look.
pub fn close_code_role(code: u16) -> Role {
    match code {
        1000 | 1001 => Role::Good,
        1002 | 1003 | 1007 | 1008 | 1009 | 1010 | 1011 | 1015 => Role::Bad,
        _ => Role::Warn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_terminal_and_no_color() {
        assert!(ColorChoice::Auto.resolve(true, None));
        assert!(ColorChoice::Auto.resolve(true, Some("")));
        assert!(!ColorChoice::Auto.resolve(true, Some("1")));
        assert!(!ColorChoice::Auto.resolve(false, None));
        assert!(ColorChoice::Always.resolve(false, Some("1")));
        assert!(!ColorChoice::Never.resolve(true, None));
    }

    #[test]
    fn plain_style_adds_nothing() {
        assert_eq!(Style::plain().paint(Role::Bad, "x"), "x");
    }

    #[test]
    fn coloured_text_strips_back() {
        let s = Style::new(true).paint(Role::Bad, "mismatch");
        assert_eq!(s, "\x1b[1;31mmismatch\x1b[0m");
        assert_eq!(strip(&s), "mismatch");
        assert_eq!(strip("a\x1b[xb"), "a\x1b[xb");
    }
}
