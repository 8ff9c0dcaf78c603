//! What reaches a terminal: escaping of capture bytes, colour, progress on stderr.
//! Nothing here knows about packets or events.

pub mod escape;
pub mod progress;
pub mod style;
pub mod width;

/// Output width: `COLUMNS` when set to a number, else the terminal's width when stdout is
/// one, else `None`.
pub fn output_width(stdout_is_terminal: bool) -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(cols);
    }
    if stdout_is_terminal {
        // comfy-table already links a terminal-size query; asking it avoids another
        // dependency.
        return comfy_table::Table::new().width().map(usize::from);
    }
    None
}
