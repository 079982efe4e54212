//! The benchmark workloads as typed Rust events and typed patterns: what
//! a Rust user of the DSL would write (no JSON on the timed path).

#![allow(dead_code)]

use std::time::Duration;

use cepflow::{Pattern, SkipStrategy};
use serde::Deserialize;

use super::workloads::{generate_lines, Workload, DEFAULT_SEED};

/// How many events the benches use: `CEPFLOW_BENCH_EVENTS`, default 1M.
pub fn event_count() -> usize {
    std::env::var("CEPFLOW_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginKind {
    Fail,
    Success,
    Logout,
}

/// A W1/W4 event.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: u32,
    pub ts: i64,
    pub kind: LoginKind,
    pub ip: u32,
}

/// A W2 event.
#[derive(Clone, Debug)]
pub struct Txn {
    pub card: u32,
    pub ts: i64,
    pub amount: f64,
}

/// A W3 event.
#[derive(Clone, Debug)]
pub struct Tick {
    pub symbol: u32,
    pub ts: i64,
    pub price: f64,
    pub volume: u32,
}

#[derive(Deserialize)]
struct RawLogin {
    user: String,
    ts: i64,
    #[serde(rename = "type")]
    kind: String,
    ip: String,
}

#[derive(Deserialize)]
struct RawTxn {
    card: String,
    ts: i64,
    amount: f64,
}

#[derive(Deserialize)]
struct RawTick {
    symbol: String,
    ts: i64,
    price: f64,
    volume: u32,
}

fn digits(s: &str) -> u32 {
    s.bytes().filter(u8::is_ascii_digit).fold(0u32, |n, b| {
        n.wrapping_mul(10).wrapping_add(u32::from(b - b'0'))
    })
}

fn ip(s: &str) -> u32 {
    s.split('.').fold(0u32, |n, p| (n << 8) | p.parse::<u32>().unwrap_or(0))
}

pub fn logins(n: usize) -> Vec<Login> {
    generate_lines(Workload::W1, n, DEFAULT_SEED)
        .iter()
        .map(|l| {
            let r: RawLogin = serde_json::from_str(l).expect("W1 line");
            Login {
                user: digits(&r.user),
                ts: r.ts,
                kind: match r.kind.as_str() {
                    "fail" => LoginKind::Fail,
                    "success" => LoginKind::Success,
                    _ => LoginKind::Logout,
                },
                ip: ip(&r.ip),
            }
        })
        .collect()
}

pub fn txns(n: usize) -> Vec<Txn> {
    generate_lines(Workload::W2, n, DEFAULT_SEED)
        .iter()
        .map(|l| {
            let r: RawTxn = serde_json::from_str(l).expect("W2 line");
            Txn { card: digits(&r.card), ts: r.ts, amount: r.amount }
        })
        .collect()
}

pub fn ticks(n: usize) -> Vec<Tick> {
    generate_lines(Workload::W3, n, DEFAULT_SEED)
        .iter()
        .map(|l| {
            let r: RawTick = serde_json::from_str(l).expect("W3 line");
            Tick {
                symbol: digits(&r.symbol),
                ts: r.ts,
                price: r.price,
                volume: r.volume,
            }
        })
        .collect()
}

/// W1 `brute_force`.
pub fn brute_force() -> Pattern<Login> {
    Pattern::begin("fail")
        .when(|e: &Login| e.kind == LoginKind::Fail)
        .times(3)
        .followed_by("success")
        .when(|e: &Login| e.kind == LoginKind::Success)
        .within(Duration::from_secs(60))
        .skip(SkipStrategy::SkipPastLastEvent)
        .build()
        .expect("W1 pattern")
}

/// W2 `card_fraud`.
pub fn card_fraud() -> Pattern<Txn> {
    Pattern::begin("small")
        .when(|e: &Txn| e.amount < 1.0)
        .followed_by("large")
        .when(|e: &Txn| e.amount > 500.0)
        .within(Duration::from_secs(600))
        .build()
        .expect("W2 pattern")
}

/// W3 `rally`: iterative conditions over the partial match.
pub fn rally() -> Pattern<Tick> {
    let p = Pattern::begin("start")
        .when(|e: &Tick| e.volume >= 1000)
        .followed_by_any("rise")
        .when_iterative(|e: &Tick, ctx| {
            let Some(start) = ctx.first("start") else { return false };
            e.price > start.price
                && ctx.last("rise").is_none_or(|last| e.price > last.price)
        })
        .one_or_more()
        .followed_by("end")
        .when_iterative(|e: &Tick, ctx| {
            e.volume >= 1000
                && ctx.last("rise").is_some_and(|last| e.price > last.price)
        })
        .within(Duration::from_secs(5));
    p.build().expect("W3 pattern")
}

/// W4: the ten patterns of the fan-out workload.
pub fn w4_patterns() -> Vec<Pattern<Login>> {
    use LoginKind::*;
    let is = |k: LoginKind| move |e: &Login| e.kind == k;
    let secs = Duration::from_secs;
    let past = SkipStrategy::SkipPastLastEvent;
    vec![
        Ok(brute_force()),
        Pattern::begin("fail")
            .when(is(Fail))
            .next("success")
            .when(is(Success))
            .within(secs(10))
            .build(),
        Pattern::begin("fail")
            .when(is(Fail))
            .times(5)
            .within(secs(300))
            .skip(past.clone())
            .build(),
        Pattern::begin("login")
            .when(is(Success))
            .followed_by("other")
            .when_iterative(|e: &Login, ctx| {
                e.kind == Success
                    && ctx.first("login").is_some_and(|l| l.ip != e.ip)
            })
            .within(secs(1800))
            .skip(past.clone())
            .build(),
        Pattern::begin("login")
            .when(is(Success))
            .next("logout")
            .when(is(Logout))
            .within(secs(5))
            .build(),
        Pattern::begin("login")
            .when(is(Success))
            .not_followed_by("logout")
            .when(is(Logout))
            .followed_by("again")
            .when(is(Success))
            .within(secs(600))
            .skip(past.clone())
            .build(),
        Pattern::begin("fails")
            .when(is(Fail))
            .one_or_more()
            .consecutive()
            .next("success")
            .when(is(Success))
            .within(secs(60))
            .skip(past.clone())
            .build(),
        Pattern::begin("fail")
            .when(is(Fail))
            .followed_by("logout")
            .when(is(Logout))
            .within(secs(120))
            .build(),
        Pattern::begin("fails")
            .when(is(Fail))
            .times(2)
            .consecutive()
            .followed_by_any("success")
            .when(is(Success))
            .within(secs(30))
            .build(),
        Pattern::begin("out")
            .when(is(Logout))
            .followed_by("fail")
            .when_iterative(|e: &Login, ctx| {
                e.kind == Fail
                    && ctx.first("out").is_some_and(|o| o.ip != e.ip)
            })
            .within(secs(60))
            .skip(past)
            .build(),
    ]
    .into_iter()
    .map(|p| p.expect("W4 pattern"))
    .collect()
}
