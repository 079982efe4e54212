//! The `cepflow` binary: the contract's behaviour seen from outside
//! (standard output, standard error, exit status).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{case_dirs, multiset, testdata};

fn cepflow(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cepflow"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cepflow");
    // The binary may exit before reading its input (an invalid spec, or
    // events from a file): a closed pipe is not a failure.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("cepflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_spec(spec: &str, events: &str, extra: &[&str]) -> Output {
    let path = write_temp(&format!("spec-{:x}.json", fxhash(spec)), spec);
    let mut args = vec!["run", "--spec", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    cepflow(&args, events)
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_conformance_case_agrees_through_the_binary() {
    let dirs = case_dirs(&testdata().join("conformance"));
    assert!(dirs.len() >= 100);
    let dirs: Vec<_> = dirs
        .into_iter()
        .chain(case_dirs(&testdata().join("oracle/cases")))
        .collect();
    check_cases_through_the_binary(&dirs, &[]);
}

/// With the keys split over three threads, the lines are the same (as a
/// multiset: lines of different keys interleave as the threads go).
#[test]
fn every_case_agrees_on_three_threads() {
    let dirs: Vec<_> =
        ["conformance", "oracle/cases", "oracle/probes", "regressions"]
            .iter()
            .flat_map(|d| case_dirs(&testdata().join(d)))
            .collect();
    assert!(dirs.len() >= 150);
    check_cases_through_the_binary(&dirs, &["--threads", "3"]);
}

fn check_cases_through_the_binary(
    dirs: &[std::path::PathBuf],
    extra: &[&str],
) {
    let mut failures = Vec::new();
    for dir in dirs {
        let spec = dir.join("spec.json");
        let events =
            std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
        let mut args =
            vec!["run", "--spec", spec.to_str().unwrap(), "--events", "-"];
        args.extend_from_slice(extra);
        let out = cepflow(&args, &events);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if dir.join("rejected.txt").exists() {
            if out.status.code() != Some(2) {
                failures.push(format!(
                    "{name}: exit {:?}, want 2",
                    out.status.code()
                ));
            }
            continue;
        }
        let expected =
            std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{name}: exit {:?}: {}",
                out.status.code(),
                stderr(&out)
            ));
        } else if multiset(&stdout(&out)) != multiset(&expected) {
            failures.push(format!("{name}: output differs"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn events_from_a_file_or_standard_input_give_the_same_output() {
    let dir = testdata().join("oracle/cases/login_brute_force");
    let spec = dir.join("spec.json");
    let events_path = dir.join("events.jsonl");
    let events = std::fs::read_to_string(&events_path).unwrap();
    let a = cepflow(
        &[
            "run",
            "--spec",
            spec.to_str().unwrap(),
            "--events",
            events_path.to_str().unwrap(),
        ],
        "",
    );
    let b = cepflow(&["run", "--spec", spec.to_str().unwrap()], &events);
    assert!(a.status.success() && b.status.success());
    assert_eq!(multiset(&stdout(&a)), multiset(&stdout(&b)));
    assert!(!stdout(&a).is_empty());
    // The summary goes to standard error, never to standard output.
    assert!(stderr(&a).contains("matches"), "{}", stderr(&a));
}

const GOOD: &str = r#"{"key":"user","time":{"field":"ts"},"patterns":[
  {"name":"p","stages":[{"name":"a","where":"x == 1"},
                        {"name":"b","connect":"followed_by","where":"x == 2"}]}]}"#;

/// Each kind of invalid spec: exit status 2 before any event is read, and
/// a message that names where.
#[test]
fn invalid_specs_exit_2_with_a_message_that_names_where() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("bad JSON", r#"{"patterns": ["#, &["bad JSON"]),
        (
            "unknown top-level field",
            r#"{"patterns":[],"extra":1}"#,
            &["extra"],
        ),
        (
            "unknown stage field",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a","wher":"x"}]}]}"#,
            &["patterns[0].stages[0]", "wher"],
        ),
        (
            "duplicate JSON key",
            r#"{"patterns":[{"name":"p","name":"q","stages":[{"name":"a"}]}]}"#,
            &["duplicate"],
        ),
        (
            "unknown stage in an expression",
            r#"{"patterns":[{"name":"p","stages":[{"name":"fail","where":"count(fial) < 3"}]}]}"#,
            &["pattern \"p\"", "stage \"fail\"", "where", "column 7", "fial"],
        ),
        (
            "bad regex",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a","where":"matches(s, \"[\")"}]}]}"#,
            &["pattern \"p\"", "stage \"a\"", "column"],
        ),
        (
            "expression syntax",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a","where":"x == == 1"}]}]}"#,
            &["stage \"a\"", "column 6"],
        ),
        (
            "a quantifier Flink rejects",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a","greedy":true}]}]}"#,
            &["stage \"a\"", "greedy"],
        ),
        (
            "until without a loop",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a","times":3,"until":"x"}]}]}"#,
            &["stage \"a\"", "until"],
        ),
        (
            "missing connect",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a"},{"name":"b"}]}]}"#,
            &["stage \"b\"", "connect"],
        ),
        (
            "connect on the first stage",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a","connect":"next"}]}]}"#,
            &["stage \"a\"", "connect"],
        ),
        (
            "duplicate stage names",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a"},{"name":"a","connect":"next"}]}]}"#,
            &["stage \"a\"", "duplicate"],
        ),
        (
            "duplicate pattern names",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a"}]},{"name":"p","stages":[{"name":"a"}]}]}"#,
            &["pattern \"p\"", "duplicate"],
        ),
        (
            "trailing not_followed_by without window",
            r#"{"patterns":[{"name":"p","stages":[{"name":"a"},{"name":"n","connect":"not_followed_by"}]}]}"#,
            &["stage \"n\"", "within"],
        ),
        (
            "skip to a group",
            r#"{"patterns":[{"name":"p","skip":{"skip_to_first":"g"},"stages":[{"name":"g","group":[{"name":"a"}]}]}]}"#,
            &["pattern \"p\"", "\"g\""],
        ),
        (
            "negative out-of-orderness",
            r#"{"time":{"field":"ts","out_of_orderness_ms":-1},"patterns":[{"name":"p","stages":[{"name":"a"}]}]}"#,
            &["out_of_orderness"],
        ),
        ("no patterns", r#"{"patterns":[]}"#, &["patterns"]),
    ];
    for (what, spec, needles) in cases {
        // The events would be fine; none may be read.
        let out = run_spec(spec, "{\"user\":1,\"x\":1,\"ts\":1}\n", &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(stdout(&out).is_empty(), "{what}: no output");
        for n in *needles {
            assert!(err.contains(n), "{what}: {n:?} not in {err}");
        }
    }
}

#[test]
fn expression_errors_show_a_caret_under_the_column() {
    let spec = r#"{"patterns":[{"name":"p","stages":[{"name":"fail","where":"type == \"fail\" && count(fial) < 3"}]}]}"#;
    let err = stderr(&run_spec(spec, "", &[]));
    let lines: Vec<&str> = err.lines().collect();
    let at = lines.iter().position(|l| l.contains("count(fial)")).expect(&err);
    let caret = lines[at + 1];
    let column = lines[at].find("fial").unwrap();
    assert_eq!(caret.find('^'), Some(column), "{err}");
}

/// Each kind of bad line: reported with its number and skipped; the run
/// goes on and the summary counts it; `--strict` stops at the first.
#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let events = [
        r#"{"user":"u","x":1,"ts":10}"#,
        r#"not json"#,
        r#"[1,2]"#,
        r#"{"x":2,"ts":11}"#,
        r#"{"user":"u","x":2}"#,
        r#"{"user":"u","x":2,"ts":1.5}"#,
        r#"{"user":"u","x":2,"ts":"yesterday"}"#,
        "",
        r#"{"user":"u","x":2,"ts":12}"#,
    ]
    .join("\n");
    let out = run_spec(GOOD, &events, &[]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    for n in 2..=7 {
        assert!(err.contains(&format!("line {n}: ")), "line {n} in {err}");
    }
    assert!(!err.contains("line 8:") && !err.contains("line 9:"), "{err}");
    assert!(err.contains("6 invalid"), "{err}");
    assert_eq!(stdout(&out).lines().count(), 1, "the match still comes");

    let strict = run_spec(GOOD, &events, &["--strict"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(stderr(&strict).contains("line 2: "));
    assert!(stdout(&strict).is_empty());
}

#[test]
fn late_events_are_output_once_and_key_null_is_a_partition() {
    let spec = r#"{"key":"k","time":{"field":"ts","out_of_orderness_ms":0},"patterns":[
      {"name":"p","stages":[{"name":"a","where":"x == 1"},{"name":"b","connect":"next","where":"x == 2"}]},
      {"name":"q","stages":[{"name":"a","where":"x == 1"}]}]}"#;
    let events = [
        r#"{"k":null,"x":1,"ts":5}"#,
        r#"{"k":null,"x":2,"ts":6}"#,
        r#"{"k":1,"x":1,"ts":7}"#,
        r#"{"k":1.0,"x":2,"ts":8}"#,
        r#"{"k":1,"x":2,"ts":3}"#,
    ]
    .join("\n");
    let out = stdout(&run_spec(spec, &events, &[]));
    let lines = multiset(&out);
    let late: Vec<_> =
        lines.iter().filter(|l| l.contains("\"late\"")).collect();
    assert_eq!(late.len(), 1, "{out}");
    // null is a key of its own; 1 and 1.0 are different keys.
    assert!(lines.iter().any(
        |l| l.contains("\"pattern\":\"p\"") && l.contains("\"key\":null")
    ));
    assert!(!lines
        .iter()
        .any(|l| l.contains("\"pattern\":\"p\"") && l.contains("\"key\":1")));
}

/// The spec-format.md examples, as written.
#[test]
fn spec_format_examples_run_as_written() {
    // The PATTERN and STAGE examples of spec-format.md, in the top-level
    // example (key "user", time "ts").
    let stage_example = r#"{
      "name": "fail", "connect": "followed_by",
      "where": "type == \"fail\" && count(fail) < 5",
      "until": "type == \"reset\"", "times": 3, "optional": false,
      "greedy": false, "consecutive": false, "allow_combinations": false }"#;
    let spec = |stage: &str| {
        format!(
            r#"{{"key": "user", "time": {{ "field": "ts", "out_of_orderness_ms": 0 }},
            "patterns": [{{ "name": "brute_force", "skip": "skip_past_last_event",
              "within_ms": 60000, "within_type": "first_and_last", "timeouts": true,
              "stages": [ {{"name": "start", "where": "type == \"start\""}}, {stage} ] }}] }}"#
        )
    };
    // As written, the STAGE example combines `until` with `times`, which
    // Flink rejects ("The until condition is only applicable to looping
    // states."): exit status 2, naming the stage.
    let out = run_spec(&spec(stage_example), "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("stage \"fail\""), "{}", stderr(&out));
    // With a loop instead of times it runs: three fails after a start.
    let looping =
        stage_example.replace(r#""times": 3"#, r#""times_or_more": 3"#);
    let events = [
        r#"{"user":"alice","type":"start","ts":1000}"#,
        r#"{"user":"alice","type":"fail","ts":1001}"#,
        r#"{"user":"alice","type":"fail","ts":1002}"#,
        r#"{"user":"alice","type":"fail","ts":1003}"#,
        r#"{"user":"bob","type":"start","ts":1004}"#,
    ]
    .join("\n");
    let out = run_spec(&spec(&looping), &events, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let m = lines.iter().find(|l| l["kind"] == "match").expect(&text);
    assert_eq!(m["pattern"], "brute_force");
    assert_eq!(m["key"], "alice");
    assert_eq!(m["events"]["fail"].as_array().unwrap().len(), 3);
    // bob's start times out at the end of input, at 1004 + 60000.
    let t = lines.iter().find(|l| l["kind"] == "timeout").expect(&text);
    assert_eq!(t["key"], "bob");
    assert_eq!(t["timestamp"], 61_004);
}

#[test]
fn check_prints_the_nfa_and_bench_reports_throughput() {
    let path = write_temp("check.json", GOOD);
    let out = cepflow(&["check", "--spec", path.to_str().unwrap()], "");
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("pattern \"p\"") && text.contains("$endState$"),
        "{text}"
    );
    // Each edge shows the spec's own condition text, negated on the
    // ignore edge of a followed_by stage.
    assert!(text.contains("if x == 1\n"), "{text}");
    assert!(text.contains("if x == 2\n"), "{text}");
    assert!(text.contains("if !(x == 2)\n"), "{text}");
    let events = write_temp(
        "bench.jsonl",
        "{\"user\":1,\"x\":1,\"ts\":1}\n{\"user\":1,\"x\":2,\"ts\":2}\n",
    );
    let out = cepflow(
        &[
            "bench",
            "--spec",
            path.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let v: serde_json::Value =
        serde_json::from_str(text.lines().last().unwrap()).expect(&text);
    assert_eq!(v["matches"], 1);
    assert_eq!(v["events"], 2);
    assert_eq!(v["threads"], 1);
    assert_eq!(v["pattern_matches"], serde_json::json!({"p": 1}));
    let _ = Path::new(".");
}

/// `bench --threads` splits the keys over threads and counts the same.
#[test]
fn bench_on_threads_counts_what_one_thread_counts() {
    let spec = r#"{"key":"user","time":{"field":"ts"},"patterns":[
      {"name":"p","within_ms":5,"timeouts":true,
       "stages":[{"name":"a","where":"x == 1"},
                 {"name":"b","connect":"followed_by","where":"x == 2"}]}]}"#;
    let spec = write_temp("bench_threads.json", spec);
    // Users 0..40, each: x=1 then x=2 (a match), then a lone x=1 whose
    // window runs out at the end.
    let events: String = (0..40)
        .flat_map(|u| {
            (0..3).map(move |i| {
                let x = [1, 2, 1][i];
                format!("{{\"user\":{u},\"x\":{x},\"ts\":{}}}\n", u * 3 + i)
            })
        })
        .collect();
    let events = write_temp("bench_threads.jsonl", &events);
    let run = |threads: &str| {
        let out = cepflow(
            &[
                "bench",
                "--spec",
                spec.to_str().unwrap(),
                "--events",
                events.to_str().unwrap(),
                "--threads",
                threads,
                "--repeat",
                "1",
            ],
            "",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let v: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap()).expect(&text);
        v
    };
    let (one, three) = (run("1"), run("3"));
    assert_eq!(three["threads"], 3);
    for field in ["events", "matches", "timeouts", "late", "pattern_matches"] {
        assert_eq!(one[field], three[field], "{field}");
    }
    assert_eq!(one["matches"], 40);
    assert_eq!(one["timeouts"], 40);
}

/// With several patterns, the summary says how often each one fired.
#[test]
fn the_summary_counts_each_pattern_of_a_fan_out() {
    let spec = r#"{"key":"user","time":{"field":"ts"},"patterns":[
      {"name":"one then two","within_ms":5,
       "stages":[{"name":"a","where":"x == 1"},
                 {"name":"b","connect":"followed_by","where":"x == 2"}]},
      {"name":"twos","stages":[{"name":"t","where":"x == 2"}]},
      {"name":"threes","stages":[{"name":"t","where":"x == 3"}]}]}"#;
    let events = "{\"user\":1,\"x\":1,\"ts\":1}\n{\"user\":1,\"x\":2,\"ts\":2}\n\
                  {\"user\":2,\"x\":2,\"ts\":3}\n{\"user\":2,\"x\":1,\"ts\":4}\n";
    let out = run_spec(spec, events, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for line in [
        "pattern \"one then two\": 1 matches, 0 timeouts",
        "pattern \"twos\": 2 matches, 0 timeouts",
        "pattern \"threes\": 0 matches, 0 timeouts",
    ] {
        assert!(err.contains(line), "{line:?} in {err}");
    }
    assert_eq!(stdout(&out).lines().count(), 3);
    // One pattern: the totals say it all.
    let one = run_spec(GOOD, events, &[]);
    assert!(!stderr(&one).contains("pattern \""), "{}", stderr(&one));
}

/// `--lines` turns groups that look like numbers into numbers, except
/// those named in `--text-groups` (a user called "1234" stays a string,
/// so `user == "1234"` holds).
#[test]
fn text_groups_keep_numeric_looking_fields_as_strings() {
    let spec = r#"{"key":"user","time":{"field":"ts"},"patterns":[
      {"name":"p","stages":[{"name":"a","where":"user == \"1234\""}]}]}"#;
    let lines = "ts=5 user=1234\nts=6 user=abc\n";
    let regex = r"ts=(?P<ts>\d+) user=(?P<user>\S+)";
    let plain = run_spec(spec, lines, &["--lines", regex]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(stdout(&plain), "", "1234 was read as a number");

    let kept =
        run_spec(spec, lines, &["--lines", regex, "--text-groups", "user"]);
    assert!(kept.status.success(), "{}", stderr(&kept));
    let out = stdout(&kept);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).expect("one match line");
    assert_eq!(v["kind"], "match");
    assert_eq!(v["events"]["a"][0]["user"], "1234");
    assert_eq!(v["events"]["a"][0]["ts"], 5, "other groups still numbers");

    let wrong =
        run_spec(spec, lines, &["--lines", regex, "--text-groups", "nope"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("\"nope\""), "{}", stderr(&wrong));
}

/// A match held back by an earlier partial match that never ends: Flink
/// never emits it; `--flush-held` does at end of input, on any number of
/// threads.
#[test]
fn flush_held_releases_held_matches_on_one_thread_and_on_three() {
    let spec = r#"{"key":"k","time":{"field":"ts"},"patterns":[
      {"name":"p","skip":"skip_past_last_event","stages":[
        {"name":"a","where":"t == \"a\""},
        {"name":"b","connect":"followed_by","where":"t == \"b\" && v > first(a.v)"}]}]}"#;
    // Per key: a(5) starts a run b=3 cannot complete; a(1) starts one it
    // completes, held back behind the first.
    let events: String = (1..=4)
        .flat_map(|k| {
            [("a", 5), ("a", 1), ("b", 3)].into_iter().enumerate().map(
                move |(i, (t, v))| {
                    format!(
                        "{{\"k\":{k},\"t\":\"{t}\",\"v\":{v},\"ts\":{}}}\n",
                        k * 10 + i as i32
                    )
                },
            )
        })
        .collect();
    let mut outputs = Vec::new();
    for threads in ["1", "3"] {
        let held = run_spec(spec, &events, &["--threads", threads]);
        assert!(held.status.success(), "{}", stderr(&held));
        assert_eq!(stdout(&held), "", "Flink holds them back");
        let flushed =
            run_spec(spec, &events, &["--threads", threads, "--flush-held"]);
        assert!(flushed.status.success(), "{}", stderr(&flushed));
        let lines = multiset(&stdout(&flushed));
        assert_eq!(lines.len(), 4, "{lines:?}");
        outputs.push(lines);
    }
    assert_eq!(outputs[0], outputs[1]);
}
