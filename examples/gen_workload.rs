//! Writes a benchmark event file, byte-identical to
//! `shared/bench/gen_events.py` for the same arguments.
//!
//! ```text
//! cargo run --release --example gen_workload -- W1 [--events N] [--seed S]
//!     [-o FILE] [--out-dir DIR]
//! ```
//!
//! The workload is W1, W2, W3, W4 (= the W1 file) or W5, or `all` for the
//! four files.  Without `-o` the file goes to `DIR/W1.jsonl` (with a
//! `-N` suffix when `--events` is not the default, as the script does);
//! DIR defaults to `target/bench-data` of this crate.  `-o -` writes to
//! stdout.

#[path = "../benches/support/workloads.rs"]
mod workloads;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use workloads::{Workload, DEFAULT_EVENTS, DEFAULT_SEED};

const USAGE: &str = "usage: gen_workload W1|W2|W3|W4|W5|all [--events N] \
                     [--seed S] [-o FILE] [--out-dir DIR]";

struct Args {
    workloads: Vec<Workload>,
    events: usize,
    seed: u64,
    output: Option<String>,
    out_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut workloads = None;
    let mut events = DEFAULT_EVENTS;
    let mut seed = DEFAULT_SEED;
    let mut output = None;
    // Anchored to the crate root so that the default does not depend on
    // the directory cargo is run from.
    let mut out_dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/bench-data"
    ));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // Accept both "--flag value" and "--flag=value".
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => {
                (f.to_owned(), Some(v.into()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--events" => {
                let v = value("--events")?;
                events = v.parse().map_err(|_| format!("bad --events {v}"))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                seed = v.parse().map_err(|_| format!("bad --seed {v}"))?;
            }
            "-o" | "--output" => output = Some(value("--output")?),
            "--out-dir" => out_dir = PathBuf::from(value("--out-dir")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ if workloads.is_none() && !flag.starts_with('-') => {
                workloads = Some(if flag == "all" {
                    Workload::ALL.to_vec()
                } else {
                    vec![Workload::parse(&flag)
                        .ok_or_else(|| format!("unknown workload {flag}"))?]
                });
            }
            _ => return Err(format!("unexpected argument {arg}\n{USAGE}")),
        }
    }
    let workloads = workloads.ok_or_else(|| USAGE.to_owned())?;
    Ok(Args { workloads, events, seed, output, out_dir })
}

fn run(args: &Args) -> io::Result<()> {
    for &w in &args.workloads {
        let start = Instant::now();
        let path = match &args.output {
            Some(o) if args.workloads.len() == 1 => PathBuf::from(o),
            _ => {
                fs::create_dir_all(&args.out_dir)?;
                let suffix = if args.events == DEFAULT_EVENTS {
                    String::new()
                } else {
                    format!("-{}", args.events)
                };
                args.out_dir.join(format!("{}{suffix}.jsonl", w.name()))
            }
        };
        if path.as_os_str() == "-" {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            workloads::generate(w, args.events, args.seed, &mut out)?;
            out.flush()?;
            continue;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::new(File::create(&path)?);
        workloads::generate(w, args.events, args.seed, &mut out)?;
        out.flush()?;
        eprintln!(
            "{}: {} events -> {} ({:.2} s)",
            w.name(),
            args.events,
            path.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_workload: {e}");
            ExitCode::FAILURE
        }
    }
}
