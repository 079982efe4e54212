//! `cepflow bench`: load every event first, then time only the engine.

use std::process::ExitCode;
use std::time::Instant;

use cepflow::spec::{
    ParallelSpecRunner, Prepared, RunError, SpecRunner, Summary,
};

use crate::args::BenchArgs;

pub fn bench(a: &BenchArgs) -> ExitCode {
    // The spec first, so a bad spec is reported before the events are
    // read; each repetition needs a fresh runner, so later ones reload it.
    let mut first_spec = match crate::load_spec(&a.spec) {
        Ok(s) => Some(s),
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(&a.events) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cepflow: cannot read events {}: {e}", a.events);
            return ExitCode::from(2);
        }
    };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..a.repeat.max(1) {
        let spec = match first_spec
            .take()
            .map_or_else(|| crate::load_spec(&a.spec), Ok)
        {
            Ok(s) => s,
            Err(code) => return code,
        };
        // One runner reads the events, the timed one runs them (on its
        // threads, made before timing).
        let runner = ParallelSpecRunner::counting(spec.clone(), a.threads);
        let mut reader = SpecRunner::counting(spec);
        let mut prepared = Vec::new();
        // Read as `cepflow run` reads: events share the text of their
        // piece of the input.
        let mut line_no = 0u64;
        let read = crate::input::for_each_shared_line(
            &text,
            crate::PIECE,
            |shared, range| {
                line_no += 1;
                if !shared[range.clone()].trim().is_empty() {
                    match reader.prepare_in(line_no, shared, range) {
                        Ok(p) => prepared.push(p),
                        Err(e) => eprintln!("{e}"),
                    }
                }
                Ok::<(), std::convert::Infallible>(())
            },
        );
        let Ok(()) = read;
        let n = prepared.len();
        let start = Instant::now();
        let summary = match timed(runner, prepared) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cepflow: {e}");
                return ExitCode::from(1);
            }
        };
        let secs = start.elapsed().as_secs_f64();
        times.push(secs);
        last = Some((n, summary));
    }
    let Some((n, summary)) = last else { return ExitCode::from(1) };
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let c = summary.counters;
    // Each pattern's matches, so a fan-out's rules can be checked one by
    // one against their expected counts.
    let patterns = summary
        .patterns
        .iter()
        .map(|p| {
            let name = serde_json::to_string(&p.name).unwrap_or_default();
            format!("{name}:{}", p.counters.matches)
        })
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "{{\"events\":{n},\"threads\":{},\"seconds\":{median:.4},\"events_per_sec\":{:.0},\"matches\":{},\"timeouts\":{},\"late\":{},\"peak_partial_matches\":{},\"peak_rss_mb\":{:.1},\"pattern_matches\":{{{patterns}}}}}",
        a.threads.max(1),
        n as f64 / median,
        c.matches,
        c.timeouts,
        c.late,
        c.peak_partial_matches,
        peak_rss_mb()
    );
    ExitCode::SUCCESS
}

/// The timed part: every prepared event through the runner, then the
/// end of the input. Not inlined, so that profilers can tell it apart
/// from loading.
#[inline(never)]
fn timed(
    mut runner: ParallelSpecRunner<std::io::Sink>,
    prepared: Vec<Prepared>,
) -> Result<Summary, RunError> {
    for p in prepared {
        runner.push_prepared(p)?;
    }
    Ok(runner.finish(false)?.0)
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mb() -> f64 {
    let status =
        std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| {
            v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
