//! Calibration at re-index: a corpus without a decision of its own gets one fitted from
//! questions it asks of itself; the corpus's `decision.toml` and the config's `[decision]`
//! take precedence, in that order.

use xiaoer::calibrate::{CORPUS_DECISION_FILE, Calibration};
use xiaoer::config::Config;
use xiaoer::engine::Engine;

use super::*;

/// A copy of the shipped corpus without its refined decision.
fn shipped_without_decision() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let corpus = dir.path().join("corpus");
    copy_dir(&shipped_corpus(), &corpus);
    fs::remove_file(corpus.join(CORPUS_DECISION_FILE)).unwrap();
    (dir, corpus)
}

#[test]
fn reindex_calibrates_a_corpus_that_has_no_decision_of_its_own() {
    let (_c, corpus) = shipped_without_decision();
    let (_dir, engine) = engine_for(&corpus);
    let stored = Calibration::read(&engine.generation().dir).expect("decision.json");
    assert!(engine.calibrated());
    assert_eq!(engine.thresholds(), stored.thresholds);
    let probes = stored
        .probes
        .expect("fitted to probes, not read from a file");
    // Every FAQ with an alternative asks one question of the index that lacks it.
    assert!(probes.known >= 300, "{} known probes", probes.known);
    assert!(probes.unanswerable >= 100);
    // The probes' own decision table meets the targets it was chosen for.
    assert!(probes.table.wrong_pct() <= 3.0, "{probes:?}");
    assert!(probes.table.out_handled_pct() >= 90.0, "{probes:?}");
    assert!(probes.recall_at_1 > 0.5, "{probes:?}");
}

#[test]
fn the_corpus_decision_file_then_the_config_take_precedence() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    let stored = Calibration::read(&engine.generation().dir).unwrap();
    assert!(stored.probes.is_none(), "read from the corpus's file");
    let file = fs::read_to_string(shipped_corpus().join(CORPUS_DECISION_FILE)).unwrap();
    assert!(file.contains(&format!("answer = {:.2}", engine.thresholds().answer)));

    let dir = TempDir::new().unwrap();
    let config = Config::parse(
        "[decision]\nanswer = 0.91\n",
        std::path::Path::new("x.toml"),
    )
    .unwrap();
    let config = Config {
        corpus: shipped_corpus(),
        index: dir.path().join("index"),
        ..config
    };
    let engine = Engine::open_or_build(config, &mut |_, _| {}).unwrap();
    assert_eq!(engine.thresholds().answer, 0.91);
    assert!(!engine.calibrated());
}

#[test]
fn a_small_corpus_keeps_the_built_in_decision() {
    let (_dir, engine) = engine_for(&tiny_corpus());
    assert!(Calibration::read(&engine.generation().dir).is_none());
    assert_eq!(engine.thresholds(), xiaoer::answer::Thresholds::default());
}

#[test]
fn a_malformed_decision_file_names_file_and_line_and_nothing_switches() {
    let (_dir, corpus) = editable_tiny_corpus();
    let (_idx, engine) = engine_for(&corpus);
    let before = engine.generation().name.clone();
    fs::write(
        corpus.join(CORPUS_DECISION_FILE),
        "[decision]\nanswer = \"high\"\n",
    )
    .unwrap();
    let err = engine.reindex(&mut |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("decision.toml:2"), "{err}");
    assert_eq!(engine.generation().name, before);
}
