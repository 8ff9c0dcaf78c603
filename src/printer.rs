//! The one factory of event renderers: from the output configuration built once from the
//! command line, the packet list (Wireshark's, with `-V` detail), JSON Lines, or one of the
//! human views. `read` and `live` both get their renderer here.

use crate::event::EventSink;
use crate::output::har::Har;
use crate::output::select::{Select, SelectOptions};
use crate::output::timefmt::TimeFormat;
use crate::output::timeline::Columns;
use crate::output::{JsonLines, Timeline, TimelineOptions};
use crate::views::conversations::Conversations;
use crate::views::explain::Explain;
use crate::views::export::ExportAll;
use crate::views::flow::{FlowGraph, FlowOptions};
use crate::views::follow::{Follow, FollowOptions};
use crate::views::messages::Messages;
use crate::views::{DEFAULT_DIAGRAM_WIDTH, MIN_WIDTH, View, ViewOptions};
use std::io::{self, Write};

/// Machine or human form of the packet list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The packet list like Wireshark's.
    #[default]
    PacketList,
    /// JSON Lines records.
    Jsonl,
    /// A HAR 1.2 file, one entry per WebSocket connection (written at the end).
    Har,
}

/// How events are printed.
#[derive(Debug, Clone, Default)]
pub struct OutputConfig {
    /// Packet list or JSON Lines (when no human view is chosen).
    pub format: Format,
    /// `-V`: a detail tree after each HTTP and WebSocket packet.
    pub verbose: bool,
    /// Exactly Wireshark's Info text.
    pub wireshark_compat: bool,
    /// The human view, its style and width.
    pub view: ViewOptions,
    /// The packet list's Time column (`-t`).
    pub time_format: TimeFormat,
    /// The packet list's layout: tab-separated, or aligned to the terminal.
    pub columns: Columns,
}

impl OutputConfig {
    /// Whether the output shows data payloads. The packet list without `-V` shows none, so
    /// the dissector need keep none (large frames then cost no memory); every other output
    /// shows them.
    pub fn shows_payloads(&self) -> bool {
        !(self.view.is_packet_list() && self.format == Format::PacketList && !self.verbose)
    }
}

/// `--export-limit`, or its default.
fn export_limit(view: &ViewOptions) -> u64 {
    match view.export_limit {
        0 => crate::views::follow::DEFAULT_EXPORT_LIMIT,
        n => n,
    }
}

/// The renderer `config` asks for, writing to `out`.
pub fn printer<'w>(config: &OutputConfig, out: &'w mut dyn Write) -> Box<dyn EventSink + 'w> {
    let view = &config.view;
    if let Some(conn) = view.follow {
        return Box::new(Follow::new(
            out,
            FollowOptions {
                conn,
                export: view.export.clone(),
                export_limit: export_limit(view),
                exported: Default::default(),
                style: view.style,
                streaming: view.streaming,
                time: view.time,
                width: view.width,
            },
        ));
    }
    if let Some(dir) = &view.export {
        return Box::new(ExportAll::new(out, dir.clone()).with_limit(export_limit(view)));
    }
    match view.view {
        View::Packets => match config.format {
            Format::PacketList => Box::new(Timeline::new(
                out,
                TimelineOptions {
                    verbose: config.verbose,
                    wireshark_compat: config.wireshark_compat,
                    flush_each_packet: view.streaming,
                    time_format: config.time_format,
                    columns: config.columns,
                    width: view.width,
                    style: view.style,
                },
            )),
            Format::Jsonl => Box::new(JsonLines::new(out, view.streaming)),
            Format::Har => Box::new(Har::new(out)),
        },
        View::Explain => Box::new(
            Explain::new(out, view.style, view.streaming)
                .with_time(view.time)
                .with_width(view.width),
        ),
        View::Messages => Box::new(
            Messages::new(out, view.streaming)
                .with_time(view.time)
                .with_style(view.style)
                .with_width(view.width),
        ),
        View::Conversations => Box::new(Conversations::new(out, view.style, view.width)),
        View::Flow => Box::new(FlowGraph::new(
            out,
            FlowOptions {
                frames_only: view.frames_only,
                mermaid: view.mermaid,
                style: view.style,
                width: view.width.unwrap_or(DEFAULT_DIAGRAM_WIDTH).max(MIN_WIDTH),
                streaming: view.streaming,
                time: view.time,
            },
        )),
    }
}

/// The renderer `config` asks for behind `select`'s display filter, `-T fields` and `-w`;
/// exactly [`printer`] when none of them is asked for. Creating the `-w` file may fail.
pub fn selected_printer<'w>(
    config: &OutputConfig,
    select: SelectOptions,
    out: &'w mut dyn Write,
) -> io::Result<Box<dyn EventSink + 'w>> {
    if !select.is_active() {
        return Ok(printer(config, out));
    }
    let config = config.clone();
    Ok(Box::new(Select::new(
        select,
        move |out| printer(&config, out),
        out,
    )?))
}
