//! The `ssh_brute_force` example on the bundled OpenSSH log: its own code
//! through the library, and the same rules through `cepflow run --lines`.
//!
//! The expected numbers were checked against the log itself, e.g.
//! `grep -c ']: Failed password'` (518 lines, plus two "message repeated 5
//! times" lines), `grep -c ']: Invalid user'` (113) and, for the alerts, a
//! plain sliding-window count (below) that needs no automaton.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde_json::Value;

// The example's main and printing are not used here.
#[allow(dead_code)]
#[path = "../examples/ssh_brute_force.rs"]
mod ssh_brute_force;

use ssh_brute_force::{
    detect, Findings, Kind, LogParser, Rule, BRUTE_FORCE_FAILURES,
    BRUTE_FORCE_WINDOW, YEAR,
};

/// The `--lines` regex of `docs/cli.md`: one named group per field.
const LINES: &str = concat!(
    r"^(?P<ts>\w{3} +\d+ \d{2}:\d{2}:\d{2}) (?P<host>\S+) ",
    r"sshd\[(?P<pid>\d+)\]: ",
    r"(?P<kind>Failed password|Invalid user|Accepted \w+)(?: for)? ",
    r"(?:invalid user )?(?P<user>.*) from (?P<ip>\S+?)(?: port \d+ ssh2)?$",
);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn log_path() -> PathBuf {
    root().join(ssh_brute_force::DEFAULT_LOG)
}

fn findings() -> Findings {
    let log = std::fs::read_to_string(log_path()).expect("bundled log");
    detect(&log, YEAR).expect("the example's rules build and run")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP address")
}

/// Milliseconds of a December 10 time of the bundled log.
fn dec10(h: u32, m: u32, s: u32) -> i64 {
    NaiveDate::from_ymd_opt(YEAR, 12, 10)
        .and_then(|d| d.and_hms_opt(h, m, s))
        .expect("a valid time")
        .and_utc()
        .timestamp_millis()
}

/// An alert as comparable data: rule, source, event timestamps.
type Key = (String, String, Vec<i64>);

fn key_of(alert: &ssh_brute_force::Alert) -> Key {
    (
        alert.rule.name().to_owned(),
        alert.ip.to_string(),
        alert.events.iter().map(|e| e.ts).collect(),
    )
}

#[test]
fn example_reads_every_line_of_the_log() {
    let s = findings().stats;
    assert_eq!(s.lines, 2000);
    assert!(s.unparsed.is_empty(), "{:?}", s.unparsed);
    let kind = |k| s.events.get(&k).copied().unwrap_or(0);
    // 518 lines, and 2 lines "message repeated 5 times: [ Failed password
    // ...]" standing for 5 more each.
    assert_eq!(kind(Kind::FailedPassword), 518 + 2 * 5);
    assert_eq!(s.repeated, 10);
    assert_eq!(kind(Kind::InvalidUser), 113);
    assert_eq!(kind(Kind::Accepted), 1);
    // "Received disconnect" (with or without "error: ") and "Connection
    // closed by".
    assert_eq!(kind(Kind::Disconnect), 502);
    // Everything else: 2000 - 518 - 2 - 113 - 1 - 502.
    assert_eq!(s.other, 864);
    assert_eq!(s.hosts, ["LabSZ"]);
    assert_eq!(s.failed_passwords[&ip("183.62.140.253")], 286);
    assert_eq!(s.late, 0);
}

#[test]
fn example_alerts_on_the_bundled_log() {
    let f = findings();
    assert_eq!(f.of(Rule::BruteForce).count(), 97);
    assert_eq!(f.of(Rule::UserScan).count(), 22);
    // The one accepted login (fztu from 119.137.62.142) follows no
    // failure from that address.
    assert_eq!(f.of(Rule::BreakIn).count(), 0);
    assert_eq!(f.stats.matches, 97 + 22);

    // 183.62.140.253: 286 failed passwords at most 12 s apart, so 57
    // alerts of 5 (one failure left over).
    let top = ip("183.62.140.253");
    let brute = |ip| f.of(Rule::BruteForce).filter(|a| a.ip == ip).count();
    assert_eq!(brute(top), 57);
    assert_eq!(brute(ip("187.141.143.180")), 16);

    for a in f.of(Rule::BruteForce) {
        assert_eq!(a.events.len(), BRUTE_FORCE_FAILURES as usize);
        assert!(a.events.iter().all(|e| e.kind == Kind::FailedPassword));
        assert!(a.events.iter().all(|e| e.ip == a.ip));
        assert!(a.last_ts() - a.first_ts() < 60_000);
    }
    for a in f.of(Rule::UserScan) {
        assert_eq!(a.users().len(), 3, "{a:?}");
    }

    // The first alert: lines 29-30, "Failed password for root from
    // 5.36.59.76" and "message repeated 5 times" of it 13 s later.
    let first = &f.alerts[0];
    assert_eq!(first.rule, Rule::BruteForce);
    assert_eq!(first.ip, ip("5.36.59.76"));
    assert_eq!(
        (first.first_ts(), first.last_ts()),
        (dec10(7, 13, 43), dec10(7, 13, 56))
    );

    // 5.188.10.180 tries " 0101", 0 and 1234 within 18 s (lines 185-198).
    let scan = f.of(Rule::UserScan).next().expect("a user scan");
    assert_eq!(scan.ip, ip("5.188.10.180"));
    assert_eq!(scan.users(), [" 0101", "0", "1234"]);
    assert_eq!(scan.first_ts(), dec10(8, 24, 32));
}

/// `brute_force` without an automaton: per source, the first run of
/// `BRUTE_FORCE_FAILURES` consecutive failures that fits in the window,
/// then on after its last one (skip past last event).
fn sliding_window_alerts(log: &str) -> BTreeSet<Key> {
    let mut parser = LogParser::new(YEAR).expect("parser");
    let mut failures: BTreeMap<IpAddr, Vec<i64>> = BTreeMap::new();
    for (i, line) in log.lines().enumerate() {
        if let Ok(Some(p)) = parser.parse(i + 1, line) {
            if p.event.kind == Kind::FailedPassword {
                let ts = failures.entry(p.event.ip).or_default();
                ts.extend(std::iter::repeat_n(p.event.ts, p.copies));
            }
        }
    }
    let n = BRUTE_FORCE_FAILURES as usize;
    let window = BRUTE_FORCE_WINDOW.as_millis() as i64;
    let mut out = BTreeSet::new();
    for (ip, ts) in failures {
        let mut i = 0;
        while i + n <= ts.len() {
            if ts[i + n - 1] - ts[i] < window {
                let burst = ts[i..i + n].to_vec();
                out.insert(("brute_force".to_owned(), ip.to_string(), burst));
                i += n;
            } else {
                i += 1;
            }
        }
    }
    out
}

#[test]
fn brute_force_agrees_with_a_sliding_window() {
    let log = std::fs::read_to_string(log_path()).expect("bundled log");
    let engine: BTreeSet<Key> =
        findings().of(Rule::BruteForce).map(key_of).collect();
    assert_eq!(engine, sliding_window_alerts(&log));
}

#[test]
fn sub_threshold_bursts_are_reported_once() {
    let f = findings();
    assert_eq!(f.stats.timeouts, 43);
    let bursts: Vec<(String, usize)> =
        f.bursts.iter().map(|b| (b.ip.to_string(), b.events.len())).collect();
    assert_eq!(
        bursts,
        [
            ("123.235.32.19".to_owned(), 2),
            ("195.154.37.122".to_owned(), 2),
            ("5.188.10.180".to_owned(), 3),
            ("103.207.39.212".to_owned(), 3),
            ("185.190.58.151".to_owned(), 4),
            ("185.190.58.151".to_owned(), 3),
            ("103.207.39.16".to_owned(), 3),
            ("104.192.3.34".to_owned(), 2),
        ]
    );
    // No burst shares a failure with an alert.
    let alerted: BTreeSet<usize> = f
        .alerts
        .iter()
        .flat_map(|a| a.events.iter().map(|e| e.line))
        .collect();
    assert!(f
        .bursts
        .iter()
        .flat_map(|b| &b.events)
        .all(|e| !alerted.contains(&e.line)));
}

#[test]
fn break_in_and_parsing_on_a_made_up_log() {
    // The bundled log has no successful brute force, so make one up, with
    // the line shapes the parser must also take: a repeat, IPv6, noise.
    let log = "\
Dec 10 09:00:00 gw sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2
Dec 10 09:00:01 gw sshd[1]: message repeated 2 times: [ Failed password for root from 10.0.0.1 port 1 ssh2]
Dec 10 09:00:02 gw sshd[1]: Received disconnect from 10.0.0.1: 11: Bye Bye [preauth]
Dec 10 09:00:03 gw sshd[2]: Invalid user bob from 2001:db8::1 port 22
Dec 10 09:00:04 gw CRON[3]: pam_unix(cron:session): session opened
Dec 10 09:00:05 gw sshd[4]: Invalid user eve from 2001:db8::1
Dec 10 09:00:09 gw sshd[5]: Accepted password for admin from 10.0.0.1 port 4 ssh2
Dec 10 09:00:09 gw sshd[5]: pam_unix(sshd:session): session opened for user admin
Feb 30 09:00:10 gw sshd[6]: Invalid user x from 10.0.0.3
";
    let f = detect(log, YEAR).expect("runs");
    let s = &f.stats;
    assert_eq!(s.lines, 9);
    let unparsed: Vec<usize> = s.unparsed.iter().map(|u| u.line).collect();
    assert_eq!(unparsed, [5, 9], "CRON is no sshd line; Feb 30 no date");
    assert_eq!(s.other, 1);
    assert_eq!(s.events[&Kind::FailedPassword], 3);
    assert_eq!(s.events[&Kind::InvalidUser], 2);
    assert_eq!(s.events[&Kind::Disconnect], 1);

    assert_eq!(f.alerts.len(), 1, "{:?}", f.alerts);
    let a = &f.alerts[0];
    assert_eq!((a.rule, a.ip), (Rule::BreakIn, ip("10.0.0.1")));
    assert_eq!(a.events.len(), 4);
    assert!(a.to_line().contains("then LOGIN as admin"), "{}", a.to_line());
    // Two different users from 2001:db8::1 stay below the scan's three.
    assert!(f.of(Rule::UserScan).next().is_none());
}

#[test]
fn cli_with_lines_finds_the_same_alerts() {
    let spec = root().join("examples/specs/ssh_brute_force.json");
    let out = Command::new(env!("CARGO_BIN_EXE_cepflow"))
        .arg("run")
        .arg("--spec")
        .arg(&spec)
        .arg("--events")
        .arg(log_path())
        .args(["--lines", LINES, "--time-format", "%b %d %H:%M:%S"])
        .args(["--year", &YEAR.to_string()])
        .output()
        .expect("cepflow runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The 632 lines the regex matches become events, none invalid; the
    // other 1,368 of the 2,000 are reported as skipped.
    assert!(
        stderr.contains(
            "2000 lines, 0 invalid, 1368 not matching --lines skipped, 0 late"
        ),
        "{stderr}"
    );

    let mut cli = BTreeSet::new();
    let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("bad output line {line:?}: {e}"));
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        *kinds.entry((text("kind"), text("pattern"))).or_default() += 1;
        if v["kind"] == "match" {
            let events = v["events"].as_object().expect("events");
            let mut ts: Vec<i64> = events
                .values()
                .flat_map(|stage| stage.as_array().expect("a list"))
                .map(|e| e["ts"].as_i64().expect("ts in ms"))
                .collect();
            ts.sort_unstable();
            cli.insert((text("pattern"), text("key"), ts));
        }
    }
    let count = |kind: &str, pattern: &str| {
        kinds.get(&(kind.to_owned(), pattern.to_owned())).copied().unwrap_or(0)
    };
    assert_eq!(count("match", "brute_force"), 95);
    assert_eq!(count("match", "user_scan"), 22);
    assert_eq!(count("match", "break_in"), 0);
    assert_eq!(count("timeout", "brute_force"), 43);
    assert_eq!(count("late", ""), 0);

    // The example finds the same alerts, plus the two that only syslog's
    // "message repeated 5 times" lines reveal: one line, one event in the
    // CLI, which thus sees two failures from each of these sources.
    let lib: BTreeSet<Key> = findings().alerts.iter().map(key_of).collect();
    assert!(cli.is_subset(&lib), "{:?}", cli.difference(&lib));
    let only_lib: Vec<&str> =
        lib.difference(&cli).map(|(_, ip, _)| ip.as_str()).collect();
    assert_eq!(only_lib, ["106.5.5.195", "5.36.59.76"]);
}

#[test]
fn cli_doc_shows_the_tested_command() {
    let doc = std::fs::read_to_string(root().join("docs/cli.md"))
        .expect("docs/cli.md");
    assert!(doc.contains(LINES), "docs/cli.md lost the --lines regex");
    assert!(doc.contains("examples/specs/ssh_brute_force.json"));
}
