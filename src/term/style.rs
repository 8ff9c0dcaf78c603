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
    /// Field names in detail trees.
    Field,
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
        Role::Field => "34",  // blue
    }
}

/// Start of a Control Sequence Introducer.
const CSI: &str = "\x1b[";
/// Resets every attribute.
const RESET: &str = "\x1b[0m";

/// Erases from the cursor to the end of the line, in the current background colour:
/// a coloured row then spans the whole terminal line, as tshark's `--color` rows do.
const ERASE_TO_END: &str = "\x1b[K";

/// A colour as 8-bit red, green and blue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// From Wireshark's 16-bit channels (its `colorfilters` file), as Wireshark turns them
    /// into 8-bit ones: the high byte.
    pub const fn from_wireshark(r: u16, g: u16, b: u16) -> Rgb {
        Rgb((r >> 8) as u8, (g >> 8) as u8, (b >> 8) as u8)
    }

    /// The nearest of the 240 colours of the xterm 256-colour palette above the 16 system
    /// ones (the 6×6×6 cube and the 24 greys), whose values are fixed, unlike the system 16.
    pub fn ansi256(self) -> u8 {
        // The cube's levels per channel.
        const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
        let nearest_level = |v: u8| -> usize {
            (0..LEVELS.len())
                .min_by_key(|&i| (i32::from(LEVELS[i]) - i32::from(v)).abs())
                .unwrap_or(0)
        };
        let (ri, gi, bi) = (
            nearest_level(self.0),
            nearest_level(self.1),
            nearest_level(self.2),
        );
        let cube = Rgb(LEVELS[ri], LEVELS[gi], LEVELS[bi]);
        let cube_index = 16 + 36 * ri + 6 * gi + bi;
        // Greys 232..=255 are 8, 18, ..., 238.
        let mean = (u32::from(self.0) + u32::from(self.1) + u32::from(self.2)) / 3;
        let grey_step = (mean.saturating_sub(3) / 10).min(23) as u8;
        let grey_value = 8 + 10 * grey_step;
        let grey = Rgb(grey_value, grey_value, grey_value);
        if self.distance(grey) < self.distance(cube) {
            232 + grey_step
        } else {
            cube_index as u8
        }
    }

    fn distance(self, other: Rgb) -> u32 {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).unsigned_abs().pow(2);
        d(self.0, other.0) + d(self.1, other.1) + d(self.2, other.2)
    }
}

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorDepth {
    /// The 256-colour palette (xterm's): what nearly every terminal shows.
    #[default]
    Ansi256,
    /// 24-bit colour (`COLORTERM=truecolor` or `24bit`).
    TrueColor,
}

impl ColorDepth {
    /// The depth `COLORTERM` announces: 24-bit for `truecolor` and `24bit` (the values
    /// terminals set), else the 256-colour palette.
    pub fn from_colorterm(colorterm: Option<&str>) -> Self {
        match colorterm {
            Some(v) if v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit") => {
                ColorDepth::TrueColor
            }
            _ => ColorDepth::Ansi256,
        }
    }
}

/// Colours text, or leaves it alone when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    enabled: bool,
    depth: ColorDepth,
}

impl Style {
    /// A style that colours when `enabled`.
    pub const fn new(enabled: bool) -> Self {
        Style {
            enabled,
            depth: ColorDepth::Ansi256,
        }
    }

    /// No colour at all.
    pub const fn plain() -> Self {
        Style::new(false)
    }

    /// The same style, with RGB colours shown at `depth`.
    pub const fn with_depth(self, depth: ColorDepth) -> Self {
        Style {
            enabled: self.enabled,
            depth,
        }
    }

    /// How RGB colours are shown.
    pub fn depth(self) -> ColorDepth {
        self.depth
    }

    /// Appends the SGR sequence that sets `fg` on `bg`, or nothing when colour is off.
    pub fn push_colors(self, out: &mut String, fg: Rgb, bg: Rgb) {
        if !self.enabled {
            return;
        }
        let _ = match self.depth {
            ColorDepth::TrueColor => write!(
                out,
                "{CSI}38;2;{};{};{};48;2;{};{};{}m",
                fg.0, fg.1, fg.2, bg.0, bg.1, bg.2
            ),
            ColorDepth::Ansi256 => write!(out, "{CSI}38;5;{};48;5;{}m", fg.ansi256(), bg.ansi256()),
        };
    }

    /// Appends `text` (safe to show, without a newline) as a row painted `fg` on `bg`;
    /// with `fill` the background runs to the end of the terminal line. Plain text when
    /// colour is off.
    pub fn push_row(self, out: &mut String, fg: Rgb, bg: Rgb, text: &str, fill: bool) {
        if !self.enabled {
            out.push_str(text);
            return;
        }
        self.push_colors(out, fg, bg);
        out.push_str(text);
        if fill {
            out.push_str(ERASE_TO_END);
        }
        out.push_str(RESET);
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

/// Removes the sequences this module writes (SGR `ESC [ digits/semicolons m` and the
/// erase-line `ESC [ K`), for measuring the display width of coloured text.
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
        if matches!(after.as_bytes().get(params), Some(b'm' | b'K')) {
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

    #[test]
    fn wireshark_colours_map_to_8_bits_and_the_palette() {
        // Wireshark's "TCP" rule: background [59345,58980,65535], foreground
        // [4718,10030,11796]; `tshark --color` writes them as 231;230;255 and 18;39;46.
        assert_eq!(Rgb::from_wireshark(59345, 58980, 65535), Rgb(231, 230, 255));
        assert_eq!(Rgb::from_wireshark(4718, 10030, 11796), Rgb(18, 39, 46));
        // Exact palette entries map to themselves (xterm's cube and grey ramp).
        assert_eq!(Rgb(255, 0, 0).ansi256(), 196);
        assert_eq!(Rgb(0, 0, 0).ansi256(), 16);
        assert_eq!(Rgb(255, 255, 255).ansi256(), 231);
        assert_eq!(Rgb(128, 128, 128).ansi256(), 244);
        assert_eq!(Rgb(160, 160, 160).ansi256(), 247);
        assert_eq!(Rgb(95, 135, 175).ansi256(), 67);
    }

    #[test]
    fn rows_at_both_depths() {
        let mut s = String::new();
        let style = Style::new(true).with_depth(ColorDepth::TrueColor);
        style.push_row(&mut s, Rgb(18, 39, 46), Rgb(231, 230, 255), "row", true);
        assert_eq!(s, "\x1b[38;2;18;39;46;48;2;231;230;255mrow\x1b[K\x1b[0m");
        assert_eq!(strip(&s), "row");
        s.clear();
        Style::new(true).push_row(&mut s, Rgb(255, 0, 0), Rgb(0, 0, 0), "row", false);
        assert_eq!(s, "\x1b[38;5;196;48;5;16mrow\x1b[0m");
        s.clear();
        Style::plain().push_row(&mut s, Rgb(255, 0, 0), Rgb(0, 0, 0), "row", true);
        assert_eq!(s, "row");
        assert_eq!(
            ColorDepth::from_colorterm(Some("truecolor")),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::from_colorterm(Some("24bit")),
            ColorDepth::TrueColor
        );
        assert_eq!(ColorDepth::from_colorterm(None), ColorDepth::Ansi256);
    }
}
