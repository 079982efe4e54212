//! `cepflow`: run, check and benchmark pattern specs on JSON Lines.
//!
//! Thin: arguments, exit statuses and I/O; all matching logic lives in
//! the library (`cepflow::spec`).

mod args;
mod bench;
mod input;
mod lines;

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, RunArgs};
use cepflow::spec::{self, ParallelSpecRunner, RunError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(a) => run(&a),
        Command::Check { spec } => check(&spec),
        Command::Bench(a) => bench::bench(&a),
    }
}

/// Loads a spec, printing the error (with its caret) on failure.
pub(crate) fn load_spec(path: &str) -> Result<spec::CompiledSpec, ExitCode> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cepflow: cannot read spec {path}: {e}");
            return Err(ExitCode::from(2));
        }
    };
    spec::load(&text).map_err(|e| {
        eprintln!("cepflow: invalid spec {path}: {e}");
        if let Some(caret) = e.caret() {
            for line in caret.lines() {
                eprintln!("    {line}");
            }
        }
        ExitCode::from(2)
    })
}

fn check(path: &str) -> ExitCode {
    let spec = match load_spec(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(
        out,
        "spec {path}: valid, {} pattern(s)",
        spec.patterns().len()
    );
    for p in spec.patterns() {
        let _ = writeln!(
            out,
            "\npattern {:?} (timeouts: {})",
            p.name(),
            p.timeouts()
        );
        let _ = write!(out, "{}", p.pattern().nfa());
    }
    ExitCode::SUCCESS
}

/// The size of the pieces of input whose text events share: small, so
/// that an event a partial match holds keeps little else alive, and
/// large enough to hold many lines.
const PIECE: usize = 4096;

/// Reports a line's error: a bad line is printed and skipped (the exit
/// status when `strict`), anything else ends the run.
fn report(result: Result<(), RunError>, strict: bool) -> Result<(), ExitCode> {
    match result {
        Ok(()) => Ok(()),
        Err(RunError::Event(e)) => {
            eprintln!("{e}");
            if strict {
                return Err(ExitCode::from(2));
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("cepflow: {e}");
            Err(ExitCode::from(1))
        }
    }
}

fn run(a: &RunArgs) -> ExitCode {
    let spec = match load_spec(&a.spec) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let line_parser = match lines::LineParser::from_args(a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cepflow: {e}");
            return ExitCode::from(2);
        }
    };
    let input: Box<dyn Read> = match a.events.as_deref() {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("cepflow: cannot read events {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let out = BufWriter::with_capacity(1 << 16, io::stdout());
    let mut runner = ParallelSpecRunner::new(spec, a.threads, out);
    let mut line_no = 0u64;
    // With --lines: lines the regex skips, and lines it matched whose
    // fields were bad (counted as invalid, like bad JSON lines).
    let (mut unmatched, mut bad_fields) = (0u64, 0u64);
    let mut blocks = input::Blocks::new(input);
    loop {
        let block = match blocks.next_block() {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(e) => {
                eprintln!("cepflow: reading events: {e}");
                return ExitCode::from(1);
            }
        };
        let Some(p) = &line_parser else {
            // JSON lines: each event shares the text of its piece of the
            // block (one allocation per piece, not per event).
            let read =
                input::for_each_shared_line(block, PIECE, |text, at| {
                    line_no += 1;
                    report(runner.push_line_in(line_no, text, at), a.strict)
                });
            if let Err(code) = read {
                return code;
            }
            continue;
        };
        for line in input::lines(block) {
            line_no += 1;
            let result = match p.to_json(line) {
                Ok(Some(json)) => runner.push_line(line_no, &json),
                Ok(None) => {
                    unmatched += u64::from(!line.trim().is_empty());
                    Ok(())
                }
                Err(reason) => {
                    bad_fields += 1;
                    Err(RunError::Event(cepflow::spec::EventError::new(
                        line_no, reason,
                    )))
                }
            };
            if let Err(code) = report(result, a.strict) {
                return code;
            }
        }
    }
    match runner.finish(a.flush_held) {
        Ok((summary, _)) => {
            let c = summary.counters;
            let skipped = if line_parser.is_some() {
                format!(", {unmatched} not matching --lines skipped")
            } else {
                String::new()
            };
            eprintln!(
                "cepflow: {} lines, {} invalid{skipped}, {} late, {} matches, {} timeouts, peak {} partial matches",
                summary.lines + bad_fields + unmatched,
                summary.invalid + bad_fields,
                c.late,
                c.matches,
                c.timeouts,
                c.peak_partial_matches
            );
            // Fanned out, which rule fired how often.
            if summary.patterns.len() > 1 {
                for p in &summary.patterns {
                    eprintln!(
                        "cepflow:   pattern {:?}: {} matches, {} timeouts",
                        p.name, p.counters.matches, p.counters.timeouts
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cepflow: {e}");
            ExitCode::from(1)
        }
    }
}
