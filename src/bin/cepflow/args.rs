//! Command-line arguments.

use clap::{Args, Parser, Subcommand};

/// Complex event processing with Flink CEP's pattern language.
#[derive(Parser, Debug)]
#[command(name = "cepflow", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a spec over JSON Lines events (or log lines with --lines).
    Run(RunArgs),
    /// Validate a spec and print its compiled NFA.
    Check {
        /// The spec file.
        #[arg(long)]
        spec: String,
    },
    /// Load all events first, then time only the engine.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The spec file.
    #[arg(long)]
    pub spec: String,
    /// Events, one JSON object per line; `-` or absent: standard input.
    #[arg(long)]
    pub events: Option<String>,
    /// Stop at the first invalid line, with exit status 2.
    #[arg(long)]
    pub strict: bool,
    /// At end of input, release matches a skip strategy still holds back
    /// (Flink never does).
    #[arg(long)]
    pub flush_held: bool,
    /// Worker threads: above 1, the keys are split over that many
    /// operators on threads of their own (event time only). Each key's
    /// lines keep their order; lines of different keys interleave.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Read plain text lines through this regex; its named groups become
    /// the event's fields (lines that do not match are skipped).
    #[arg(long)]
    pub lines: Option<String>,
    /// With --lines: the named group holding the time.
    #[arg(long, default_value = "ts")]
    pub time_group: String,
    /// With --lines: chrono format of the time group (e.g. "%b %d %H:%M:%S");
    /// absent: the group is used as is.
    #[arg(long)]
    pub time_format: Option<String>,
    /// With --lines: the year for time formats without one (syslog).
    #[arg(long)]
    pub year: Option<i32>,
    /// With --lines: named groups kept as text even when they look like
    /// numbers (e.g. "user,pid"), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub text_groups: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The spec file.
    #[arg(long)]
    pub spec: String,
    /// Events, one JSON object per line.
    #[arg(long)]
    pub events: String,
    /// Timed repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Worker threads: above 1, the keys are split over that many
    /// operators on threads of their own, fed from the main thread (event
    /// time only; the peak of live partial matches is then the sum of the
    /// workers' peaks).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}
