//! Flink's answers, case by case, through the library's spec runner:
//! the cases translated from Flink CEP's own tests, the oracle's
//! hand-written cases and behaviour probes, and every disagreement with
//! the real Flink that random differential testing found (fixed since).

use crate::common::{check_all, testdata};

#[test]
fn flink_itcase_conformance_cases_agree() {
    check_all(&testdata().join("conformance"), 101);
}

#[test]
fn oracle_hand_written_cases_agree() {
    check_all(&testdata().join("oracle/cases"), 7);
}

#[test]
fn oracle_behaviour_probes_agree() {
    check_all(&testdata().join("oracle/probes"), 40);
}

#[test]
fn differential_regressions_agree() {
    check_all(&testdata().join("regressions"), 5);
}
