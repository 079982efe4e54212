//! SSH brute-force detection on a real OpenSSH server log.
//!
//! ```text
//! cargo run --release --example ssh_brute_force [-- LOG [--year YEAR]]
//! ```
//!
//! Reads `data/loghub-openssh/OpenSSH_2k.log` (2,000 lines of a lab
//! server's sshd log from loghub, real attacks from the internet) or the
//! log given as the first argument, parses each syslog line into a typed
//! [`SshEvent`], keys the stream by source IP and runs three patterns over
//! it at once (fan-out, one pass over the input):
//!
//! * `brute_force`: [`BRUTE_FORCE_FAILURES`] failed passwords from one IP
//!   within [`BRUTE_FORCE_WINDOW`]. Skipping past the last event makes
//!   each alert cover its own failures, so a long attack reports once per
//!   threshold crossing instead of once per overlapping window. Its
//!   timed-out partial matches are the failures that never reached the
//!   threshold: reported as *sub-threshold bursts* (slow or short tries).
//! * `user_scan`: [`USER_SCAN_USERS`] different non-existent user names
//!   from one IP within [`USER_SCAN_WINDOW`] (account enumeration); an
//!   iterative condition compares each name with those already taken.
//! * `break_in`: [`BREAK_IN_FAILURES`] failed passwords, then an accepted
//!   login from the same IP within [`BREAK_IN_WINDOW`]: a brute force
//!   that worked, the alert to wake someone up for.
//!
//! Lines that cannot be parsed are counted and listed at the end, never
//! dropped silently. sshd messages that no rule uses (PAM chatter,
//! reverse-DNS warnings, ...) are counted too.
//!
//! Syslog's `message repeated N times: [ MSG ]` stands for N more copies
//! of MSG that sshd really logged (here: five more failed passwords); they
//! are expanded into N events, as a detector that counts attempts must.
//! The `cepflow` command line maps one line to one event and cannot do
//! that, which is the one difference between this example and
//! `examples/specs/ssh_brute_force.json` (see `docs/cli.md`).
//!
//! The items are public so that `tests/example_ssh.rs` runs exactly this
//! logic.

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cepflow::handler::{process, OutputTag, Process};
use cepflow::runtime::{Pipeline, Watermarks};
use cepflow::{Match, Pattern, PatternError, SkipStrategy};
use chrono::{DateTime, Month, NaiveDate};
use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;

/// The bundled log, relative to the crate root.
pub const DEFAULT_LOG: &str = "data/loghub-openssh/OpenSSH_2k.log";

/// The year of the log. Classic syslog lines carry no year and loghub does
/// not state it, so this is an assumption. The bundled log is all from
/// December 10, so the year only moves the absolute timestamps, never what
/// is detected (a log spanning New Year would need more than a constant).
/// Times are taken as UTC: the log has no zone either.
pub const YEAR: i32 = 2016;

/// How far a line may be out of order. Syslog writes lines in order, but
/// merged or forwarded logs drift by a few seconds; the price is that
/// results wait that long for the watermark.
pub const OUT_OF_ORDERNESS: Duration = Duration::from_secs(5);

/// `brute_force`: this many failed passwords ...
pub const BRUTE_FORCE_FAILURES: u32 = 5;
/// ... within this window (first to last failure, exclusive). Five in a
/// minute is more than a person mistyping a password; the busy bots in
/// the bundled log fail every 2 to 6 seconds.
pub const BRUTE_FORCE_WINDOW: Duration = Duration::from_secs(60);

/// `user_scan`: this many different non-existent user names ...
pub const USER_SCAN_USERS: u32 = 3;
/// ... within this window.
pub const USER_SCAN_WINDOW: Duration = Duration::from_secs(60);

/// `break_in`: this many failed passwords, then an accepted login ...
pub const BREAK_IN_FAILURES: u32 = 3;
/// ... all within this window.
pub const BREAK_IN_WINDOW: Duration = Duration::from_secs(10 * 60);

/// A timed-out `brute_force` partial match is reported as a sub-threshold
/// burst only from this many failures on: one failed password is a typo.
pub const MIN_BURST_FAILURES: usize = 2;

// ---------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------

/// What an sshd line says, for the messages the rules use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `Failed password for [invalid user] USER from IP port N ssh2`.
    FailedPassword,
    /// `Invalid user USER from IP`: the account does not exist.
    InvalidUser,
    /// `Accepted METHOD for USER from IP port N ssh2`.
    Accepted,
    /// `Received disconnect from IP: ...` or `Connection closed by IP`.
    Disconnect,
}

/// One sshd message that names its source IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshEvent {
    /// Milliseconds since the epoch (see [`YEAR`]).
    pub ts: i64,
    /// Line number in the log (1-based), to find the line again.
    pub line: usize,
    /// The syslog host name.
    pub host: String,
    /// sshd's process id: one per connection.
    pub pid: u32,
    /// What happened.
    pub kind: Kind,
    /// The user name tried, if the message names one. sshd logs it as the
    /// client sent it, so it may be empty or contain spaces.
    pub user: Option<String>,
    /// The client's address: the key of the stream.
    pub ip: IpAddr,
}

/// A parsed line: its event and how many times sshd logged it (more than
/// one for syslog's `message repeated N times`).
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The event.
    pub event: SshEvent,
    /// How many events the line stands for.
    pub copies: usize,
}

/// A line that is not an sshd syslog line we can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unparsed {
    /// Line number (1-based).
    pub line: usize,
    /// Why it was not read.
    pub reason: &'static str,
    /// The line itself.
    pub text: String,
}

/// The messages the rules use, one regex each, tried as one regex set.
/// `user` and `ip` are named per pattern (a set keeps group names apart).
const MESSAGES: &[(Kind, &str)] = &[
    (
        Kind::FailedPassword,
        concat!(
            r"^Failed password for (?:invalid user )?(?P<user>.*) ",
            r"from (?P<ip>\S+) port \d+ ssh2$",
        ),
    ),
    (
        Kind::InvalidUser,
        r"^Invalid user (?P<user>.*) from (?P<ip>\S+?)(?: port \d+)?$",
    ),
    (
        Kind::Accepted,
        concat!(
            r"^Accepted \S+ for (?P<user>.*) ",
            r"from (?P<ip>\S+) port \d+ ssh2(?:: .*)?$",
        ),
    ),
    // The lazy `\S+?` stops before ": 11: Bye Bye", also after an IPv6
    // address.
    (
        Kind::Disconnect,
        concat!(
            r"^(?:error: )?Received disconnect ",
            r"from (?P<ip>\S+?)(?: port \d+)?: \d+: ",
        ),
    ),
    (
        Kind::Disconnect,
        r"^Connection closed by (?P<ip>\S+?)(?: port \d+)?(?: \[preauth\])?$",
    ),
];

/// Reads sshd syslog lines: `Mon DD HH:MM:SS host sshd[pid]: message`.
#[derive(Debug)]
pub struct LogParser {
    header: Regex,
    repeated: Regex,
    messages: Regex,
    /// Reused for every line, so parsing allocates only the event's own
    /// strings.
    header_caps: Captures,
    repeated_caps: Captures,
    message_caps: Captures,
    year: i32,
}

impl LogParser {
    /// A parser for a log of `year` (syslog lines have none).
    ///
    /// # Errors
    ///
    /// Only if a built-in regex is invalid (a bug).
    pub fn new(year: i32) -> Result<Self, Box<dyn Error>> {
        let header = Regex::new(concat!(
            r"^(?P<month>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) ",
            r"(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2}) ",
            r"(?P<host>\S+) sshd\[(?P<pid>\d+)\]: (?P<msg>.*)$",
        ))?;
        let repeated = Regex::new(
            r"^message repeated (?P<n>\d+) times: \[ (?P<msg>.*)\]$",
        )?;
        let messages = Regex::new_many(
            &MESSAGES.iter().map(|&(_, re)| re).collect::<Vec<_>>(),
        )?;
        Ok(Self {
            header_caps: header.create_captures(),
            repeated_caps: repeated.create_captures(),
            message_caps: messages.create_captures(),
            header,
            repeated,
            messages,
            year,
        })
    }

    /// Parses line number `line_no`. `Ok(None)`: an sshd message no rule
    /// uses.
    ///
    /// # Errors
    ///
    /// [`Unparsed`] for a line that is not an sshd syslog line, or whose
    /// date does not exist.
    pub fn parse(
        &mut self,
        line_no: usize,
        line: &str,
    ) -> Result<Option<Parsed>, Unparsed> {
        let unparsed =
            |reason| Unparsed { line: line_no, reason, text: line.to_owned() };
        self.header.captures(line, &mut self.header_caps);
        let caps = &self.header_caps;
        let (Some(ts), Some(host), Some(pid), Some(mut msg)) = (
            syslog_time(caps, line, self.year),
            group(caps, line, "host"),
            group(caps, line, "pid").and_then(|p| p.parse().ok()),
            group(caps, line, "msg"),
        ) else {
            return Err(unparsed(if caps.is_match() {
                "bad date or pid"
            } else {
                "not an sshd syslog line"
            }));
        };

        // "message repeated 5 times: [ MSG ]" follows a line with MSG and
        // stands for five more of them.
        let mut copies = 1;
        self.repeated.captures(msg, &mut self.repeated_caps);
        if let (Some(n), Some(inner)) = (
            group(&self.repeated_caps, msg, "n").and_then(|n| n.parse().ok()),
            group(&self.repeated_caps, msg, "msg"),
        ) {
            copies = n;
            msg = inner;
        }

        self.messages.captures(msg, &mut self.message_caps);
        let caps = &self.message_caps;
        let Some(pattern) = caps.pattern() else { return Ok(None) };
        // A message naming a host name instead of an address has no key.
        let Some(ip) = group(caps, msg, "ip").and_then(|ip| ip.parse().ok())
        else {
            return Ok(None);
        };
        let event = SshEvent {
            ts,
            line: line_no,
            host: host.to_owned(),
            pid,
            kind: MESSAGES[pattern.as_usize()].0,
            user: group(caps, msg, "user").map(str::to_owned),
            ip,
        };
        Ok(Some(Parsed { event, copies }))
    }
}

/// The text of a named group, if the regex matched and the group took
/// part.
fn group<'h>(
    caps: &Captures,
    haystack: &'h str,
    name: &str,
) -> Option<&'h str> {
    caps.get_group_by_name(name).map(|span| &haystack[span])
}

/// The header's date and time in milliseconds, in `year`, as UTC.
fn syslog_time(caps: &Captures, line: &str, year: i32) -> Option<i64> {
    let number = |name| group(caps, line, name)?.parse::<u32>().ok();
    let month = group(caps, line, "month")?.parse::<Month>().ok()?;
    let date = NaiveDate::from_ymd_opt(
        year,
        month.number_from_month(),
        number("day")?,
    )?;
    let time = date.and_hms_opt(number("h")?, number("m")?, number("s")?)?;
    Some(time.and_utc().timestamp_millis())
}

// ---------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------

/// The detection rules, named as the patterns in
/// `examples/specs/ssh_brute_force.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Many failed passwords in a short time.
    BruteForce,
    /// Many non-existent user names in a short time.
    UserScan,
    /// Failed passwords, then a successful login.
    BreakIn,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 3] =
        [Rule::BruteForce, Rule::UserScan, Rule::BreakIn];

    /// The pattern's name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::BruteForce => "brute_force",
            Rule::UserScan => "user_scan",
            Rule::BreakIn => "break_in",
        }
    }

    /// The rule's pattern.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] if the pattern breaks one of Flink's rules (a
    /// bug here).
    pub fn pattern(self) -> Result<Pattern<SshEvent>, PatternError> {
        match self {
            Rule::BruteForce => Pattern::begin("fail")
                .when(|e: &SshEvent| e.kind == Kind::FailedPassword)
                .times(BRUTE_FORCE_FAILURES)
                .within(BRUTE_FORCE_WINDOW)
                .skip(SkipStrategy::SkipPastLastEvent)
                .build(),
            Rule::UserScan => Pattern::begin("scan")
                // Iterative: a name counts only if this partial match has
                // not taken it yet (bots retry the same name).
                .when_iterative(|e: &SshEvent, ctx| {
                    e.kind == Kind::InvalidUser
                        && ctx
                            .events_rev("scan")
                            .all(|seen| seen.user != e.user)
                })
                .times(USER_SCAN_USERS)
                .within(USER_SCAN_WINDOW)
                .skip(SkipStrategy::SkipPastLastEvent)
                .build(),
            Rule::BreakIn => Pattern::begin("fail")
                .when(|e: &SshEvent| e.kind == Kind::FailedPassword)
                .times(BREAK_IN_FAILURES)
                // Relaxed contiguity: disconnects and new connections in
                // between do not break the chain.
                .followed_by("login")
                .when(|e: &SshEvent| e.kind == Kind::Accepted)
                .within(BREAK_IN_WINDOW)
                .skip(SkipStrategy::SkipPastLastEvent)
                .build(),
        }
    }

    /// One line describing what the rule looks for.
    pub fn describe(self) -> String {
        let secs = |d: Duration| d.as_secs();
        match self {
            Rule::BruteForce => format!(
                "{BRUTE_FORCE_FAILURES} failed passwords within {} s",
                secs(BRUTE_FORCE_WINDOW)
            ),
            Rule::UserScan => format!(
                "{USER_SCAN_USERS} different unknown users within {} s",
                secs(USER_SCAN_WINDOW)
            ),
            Rule::BreakIn => format!(
                "{BREAK_IN_FAILURES} failed passwords, then a login, \
                 within {} s",
                secs(BREAK_IN_WINDOW)
            ),
        }
    }
}

/// A rule's (partial) match: what a security person reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The rule that fired.
    pub rule: Rule,
    /// The source.
    pub ip: IpAddr,
    /// The events the rule took, in match order.
    pub events: Vec<SshEvent>,
}

impl Alert {
    fn new(rule: Rule, ip: IpAddr, m: &Match<'_, SshEvent>) -> Self {
        // Cloning is fine: a match is a handful of events, and the alert
        // must outlive the engine's buffer it borrows from.
        Self { rule, ip, events: m.iter().map(|(_, e)| e.clone()).collect() }
    }

    /// Timestamp of the first event.
    pub fn first_ts(&self) -> i64 {
        self.events.first().map_or(0, |e| e.ts)
    }

    /// Timestamp of the last event.
    pub fn last_ts(&self) -> i64 {
        self.events.last().map_or(0, |e| e.ts)
    }

    /// The attempts: failed passwords or unknown-user messages.
    pub fn attempts(&self) -> impl Iterator<Item = &SshEvent> {
        self.events.iter().filter(|e| e.kind != Kind::Accepted)
    }

    /// The user names tried, each once, in order.
    pub fn users(&self) -> Vec<&str> {
        let mut users: Vec<&str> = Vec::new();
        for user in self.attempts().filter_map(|e| e.user.as_deref()) {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        users
    }

    /// Distinct TCP connections (sshd processes) the attempts came over.
    pub fn connections(&self) -> usize {
        self.attempts().map(|e| e.pid).collect::<HashSet<_>>().len()
    }

    /// One line: time span, rule, source and what happened.
    pub fn to_line(&self) -> String {
        let n = self.attempts().count();
        let users = quote_users(&self.users());
        let what = match self.rule {
            Rule::BruteForce => {
                let c = self.connections();
                let s = if c == 1 { "" } else { "s" };
                format!(
                    "{n} failed passwords for {users} over {c} connection{s}"
                )
            }
            Rule::UserScan => format!("{n} unknown users: {users}"),
            Rule::BreakIn => {
                let login =
                    self.events.iter().find(|e| e.kind == Kind::Accepted);
                let who = login.and_then(|e| e.user.as_deref()).unwrap_or("?");
                format!(
                    "{n} failed passwords for {users}, then LOGIN as {who}"
                )
            }
        };
        let (first, last) = match (self.events.first(), self.events.last()) {
            (Some(f), Some(l)) => (f.line, l.line),
            _ => (0, 0),
        };
        format!(
            "{}  {:<11}  {:<15}  {what} (lines {first}-{last})",
            span(self.first_ts(), self.last_ts()),
            self.rule.name(),
            self.ip,
        )
    }
}

// ---------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------

/// Counters of one run, for the summary.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Lines read.
    pub lines: usize,
    /// Lines that are not sshd syslog lines (or have an impossible date).
    pub unparsed: Vec<Unparsed>,
    /// sshd messages no rule uses (PAM, reverse DNS, ...).
    pub other: usize,
    /// Events given to the engine, by kind (repeats expanded).
    pub events: HashMap<Kind, usize>,
    /// Events that came from `message repeated N times` lines.
    pub repeated: usize,
    /// Failed passwords per source, alerted or not.
    pub failed_passwords: HashMap<IpAddr, usize>,
    /// Host names seen.
    pub hosts: Vec<String>,
    /// Events at or below the watermark (they take part in no match).
    pub late: u64,
    /// Their line numbers.
    pub late_lines: Vec<usize>,
    /// Matches emitted by the engine (all patterns).
    pub matches: u64,
    /// Partial matches that timed out (all patterns).
    pub timeouts: u64,
    /// Most partial matches alive at once.
    pub peak_partial_matches: u64,
}

/// What a run found.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// Alerts of all rules, by time of their first event.
    pub alerts: Vec<Alert>,
    /// `brute_force` partial matches that timed out below the threshold,
    /// one per burst (see [`sub_threshold_bursts`]).
    pub bursts: Vec<Alert>,
    /// Counters.
    pub stats: Stats,
}

impl Findings {
    /// The alerts of one rule.
    pub fn of(&self, rule: Rule) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(move |a| a.rule == rule)
    }
}

/// Runs the three rules over `log`, a whole sshd syslog text.
///
/// # Errors
///
/// Only for a bug: an invalid built-in regex or pattern, or a skip
/// strategy error (these rules do not ask for throw-on-miss).
pub fn detect(log: &str, year: i32) -> Result<Findings, Box<dyn Error>> {
    let mut parser = LogParser::new(year)?;
    let mut stats = Stats::default();

    // Parsing happens lazily, as the pipeline pulls events: one pass, and
    // no event list in memory.
    let events = log
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            stats.lines += 1;
            match parser.parse(i + 1, line) {
                Ok(Some(parsed)) => {
                    let e = &parsed.event;
                    *stats.events.entry(e.kind).or_default() += parsed.copies;
                    if parsed.copies > 1 {
                        stats.repeated += parsed.copies;
                    }
                    if e.kind == Kind::FailedPassword {
                        *stats.failed_passwords.entry(e.ip).or_default() +=
                            parsed.copies;
                    }
                    if !stats.hosts.contains(&e.host) {
                        stats.hosts.push(e.host.clone());
                    }
                    Some(parsed)
                }
                Ok(None) => {
                    stats.other += 1;
                    None
                }
                Err(unparsed) => {
                    stats.unparsed.push(unparsed);
                    None
                }
            }
        })
        .flat_map(|p| std::iter::repeat_n(p.event, p.copies));

    // Handlers write to typed side outputs; the report hands them back.
    let alerts: OutputTag<Alert> = OutputTag::new("alerts");
    let timeouts: OutputTag<Alert> = OutputTag::new("brute_force_timeouts");
    let mut keyed = Pipeline::from_iter(events)
        .event_time(
            |e: &SshEvent| e.ts,
            Watermarks::bounded_out_of_orderness(OUT_OF_ORDERNESS),
        )
        .key_by(|e: &SshEvent| e.ip);
    for rule in Rule::ALL {
        let mut handler = alert_to(&alerts, rule);
        if rule == Rule::BruteForce {
            let tag = timeouts.clone();
            handler = handler.on_timeout(move |m, ctx| {
                ctx.output(&tag, Alert::new(rule, *ctx.key(), m));
            });
        }
        keyed = keyed.pattern(&rule.pattern()?, handler);
    }
    let mut report = keyed.run()?;

    let counters = report.counters();
    stats.late = counters.late;
    stats.late_lines = report.late().iter().map(|e| e.line).collect();
    stats.matches = counters.matches;
    stats.timeouts = counters.timeouts;
    stats.peak_partial_matches = counters.peak_partial_matches;

    // Matches come out when the watermark releases them, key after key;
    // a reader wants them by time.
    let mut alerts = report.side_output(&alerts);
    alerts.sort_by_key(|a| (a.first_ts(), a.ip, a.rule));
    let bursts = sub_threshold_bursts(report.side_output(&timeouts), &alerts);
    Ok(Findings { alerts, bursts, stats })
}

/// A handler sending each match of `rule` to `tag` as an [`Alert`].
fn alert_to(tag: &OutputTag<Alert>, rule: Rule) -> Process<SshEvent, IpAddr> {
    let tag = tag.clone();
    process(move |m, ctx| ctx.output(&tag, Alert::new(rule, *ctx.key(), m)))
}

/// Turns `brute_force` timeouts into one report per sub-threshold burst.
///
/// Every failed password starts a partial match of its own, so a burst of
/// three failures times out three times, as `[f1 f2 f3]`, `[f2 f3]` and
/// `[f3]`. Keep the longest (the first to start) and drop the others, as
/// well as any that shares a failure with an alert (the tail or lead-in
/// of a real attack) or has fewer than [`MIN_BURST_FAILURES`] failures.
pub fn sub_threshold_bursts(
    mut timeouts: Vec<Alert>,
    alerts: &[Alert],
) -> Vec<Alert> {
    let mut seen: HashSet<(IpAddr, usize)> = alerts
        .iter()
        .flat_map(|a| a.events.iter().map(move |e| (a.ip, e.line)))
        .collect();
    timeouts.sort_by_key(|t| {
        (t.first_ts(), t.ip, std::cmp::Reverse(t.events.len()))
    });
    let mut bursts = Vec::new();
    for t in timeouts {
        let fresh = t.events.iter().all(|e| !seen.contains(&(t.ip, e.line)));
        seen.extend(t.events.iter().map(|e| (t.ip, e.line)));
        if fresh && t.events.len() >= MIN_BURST_FAILURES {
            bursts.push(t);
        }
    }
    bursts
}

// ---------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------

/// `Dec 10 07:27:50-07:28:01`, or one time when both are equal.
fn span(first: i64, last: i64) -> String {
    let fmt = |ts: i64, f: &str| {
        DateTime::from_timestamp_millis(ts)
            .map_or_else(|| ts.to_string(), |t| t.format(f).to_string())
    };
    let start = fmt(first, "%b %d %H:%M:%S");
    if first == last {
        format!("{start:<24}")
    } else if last - first < 24 * 3600 * 1000 {
        format!("{start}-{}", fmt(last, "%H:%M:%S"))
    } else {
        format!("{start}-{}", fmt(last, "%b %d %H:%M:%S"))
    }
}

/// User names as a list, quoted when they would be hard to read.
fn quote_users(users: &[&str]) -> String {
    const SHOWN: usize = 6;
    let mut out = String::new();
    for (i, user) in users.iter().take(SHOWN).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if user.is_empty()
            || user.contains(|c: char| c.is_whitespace() || c == ',')
        {
            let _ = write!(out, "{user:?}");
        } else {
            out.push_str(user);
        }
    }
    if users.len() > SHOWN {
        let _ = write!(out, " and {} more", users.len() - SHOWN);
    }
    out
}

/// Prints the findings: alerts, sub-threshold bursts, top sources,
/// summary.
pub fn print_report(path: &Path, year: i32, f: &Findings) {
    println!("SSH brute-force detection on {} (year {year})", path.display());
    println!();
    println!("Rules, keyed by source IP:");
    for rule in Rule::ALL {
        println!("  {:<11}  {}", rule.name(), rule.describe());
    }

    println!();
    println!("Alerts ({}):", f.alerts.len());
    for alert in &f.alerts {
        println!("  {}", alert.to_line());
    }

    println!();
    println!(
        "Sub-threshold bursts ({}): {MIN_BURST_FAILURES}+ failed passwords \
         that never reached {BRUTE_FORCE_FAILURES} within {} s",
        f.bursts.len(),
        BRUTE_FORCE_WINDOW.as_secs()
    );
    for burst in &f.bursts {
        println!(
            "  {}  {:<15}  {} failed passwords for {}",
            span(burst.first_ts(), burst.last_ts()),
            burst.ip,
            burst.events.len(),
            quote_users(&burst.users()),
        );
    }

    print_top_sources(f);
    print_summary(f);
}

/// Sources with the most alerts: who to block first.
fn print_top_sources(f: &Findings) {
    const TOP: usize = 10;
    let mut by_ip: HashMap<IpAddr, Vec<&Alert>> = HashMap::new();
    for alert in &f.alerts {
        by_ip.entry(alert.ip).or_default().push(alert);
    }
    let mut top: Vec<(IpAddr, Vec<&Alert>)> = by_ip.into_iter().collect();
    top.sort_by_key(|(ip, alerts)| (std::cmp::Reverse(alerts.len()), *ip));

    println!();
    println!("Top sources ({} with alerts):", top.len());
    println!(
        "  {:<15}  {:>11}  {:>9}  {:>8}  {:>9}  alerts from-to",
        "source", "brute_force", "user_scan", "break_in", "failed pw"
    );
    for (ip, alerts) in top.iter().take(TOP) {
        let count = |rule| alerts.iter().filter(|a| a.rule == rule).count();
        let failed = f.stats.failed_passwords.get(ip).copied().unwrap_or(0);
        let first = alerts.iter().map(|a| a.first_ts()).min().unwrap_or(0);
        let last = alerts.iter().map(|a| a.last_ts()).max().unwrap_or(0);
        println!(
            "  {ip:<15}  {:>11}  {:>9}  {:>8}  {failed:>9}  {}",
            count(Rule::BruteForce),
            count(Rule::UserScan),
            count(Rule::BreakIn),
            span(first, last),
        );
    }
}

fn print_summary(f: &Findings) {
    let s = &f.stats;
    let kind = |k| s.events.get(&k).copied().unwrap_or(0);
    let events: usize = s.events.values().sum();
    println!();
    println!("Summary:");
    println!("  lines read            {:>6}", s.lines);
    println!(
        "  unparsed lines        {:>6}{}",
        s.unparsed.len(),
        if s.unparsed.is_empty() { "" } else { "  (listed below)" }
    );
    println!(
        "  sshd messages unused  {:>6}  (PAM, reverse DNS, ...)",
        s.other
    );
    println!(
        "  events                {events:>6}  (failed password {}, \
         invalid user {}, accepted {}, disconnect {}; \
         {} from \"message repeated\" lines)",
        kind(Kind::FailedPassword),
        kind(Kind::InvalidUser),
        kind(Kind::Accepted),
        kind(Kind::Disconnect),
        s.repeated,
    );
    println!(
        "  hosts                 {:>6}  ({})",
        s.hosts.len(),
        s.hosts.join(", ")
    );
    println!(
        "  late events           {:>6}{}",
        s.late,
        line_list(&s.late_lines)
    );
    for rule in Rule::ALL {
        println!("  matches {:<13} {:>6}", rule.name(), f.of(rule).count());
    }
    println!(
        "  timeouts              {:>6}  (brute_force partial matches; \
         {} sub-threshold bursts)",
        s.timeouts,
        f.bursts.len()
    );
    println!("  peak partial matches  {:>6}", s.peak_partial_matches);
    for u in &s.unparsed {
        println!("  line {}: {}: {}", u.line, u.reason, u.text);
    }
}

/// `  (lines 4, 9)`: where to look, for the first few.
fn line_list(lines: &[usize]) -> String {
    const SHOWN: usize = 10;
    if lines.is_empty() {
        return String::new();
    }
    let shown: Vec<String> =
        lines.iter().take(SHOWN).map(usize::to_string).collect();
    let more = if lines.len() > SHOWN { ", ..." } else { "" };
    format!("  (lines {}{more})", shown.join(", "))
}

/// `[LOG] [--year YEAR]`.
fn parse_args() -> Result<(PathBuf, i32), String> {
    let mut path = None;
    let mut year = YEAR;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--year" => {
                let value = args.next().ok_or("--year needs a value")?;
                year = value
                    .parse()
                    .map_err(|e| format!("--year {value}: {e}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: ssh_brute_force [LOG] [--year YEAR]".to_owned()
                )
            }
            _ if arg.starts_with('-') => {
                return Err(format!("unknown option {arg:?}"))
            }
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let path = path.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_LOG)
    });
    Ok((path, year))
}

fn main() -> ExitCode {
    let (path, year) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("ssh_brute_force: {message}");
            return ExitCode::from(2);
        }
    };
    // Attackers choose the user names sshd logs; do not fail on bad UTF-8.
    let log = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("ssh_brute_force: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    match detect(&log, year) {
        Ok(findings) => {
            print_report(&path, year, &findings);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ssh_brute_force: {e}");
            ExitCode::FAILURE
        }
    }
}
