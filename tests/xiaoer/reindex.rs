//! Re-indexing: a malformed file names its line and the old index keeps serving; re-index
//! under queries, from another process, and killed with SIGKILL.

use std::fs;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use xiaoer::answer::Kind;
use xiaoer::config::Config;
use xiaoer::engine::Engine;

use super::*;

#[test]
fn a_malformed_corpus_file_names_file_and_line_and_the_old_index_keeps_serving() {
    let (_dir, corpus) = editable_tiny_corpus();
    let (_idx, engine) = engine_for(&corpus);
    let before = engine.generation().name.clone();

    let bad = corpus.join("policies/tiny-tax.md");
    let text = fs::read_to_string(&bad)
        .unwrap()
        .replace("issued = \"2024-01-01\"", "issued = \"2024-13-01\"");
    fs::write(&bad, text).unwrap();
    let err = engine.reindex(&mut |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("tiny-tax.md:6"), "{err}");
    assert_eq!(engine.generation().name, before);
    assert_eq!(engine.ask("高新技术企业税率").kind, Kind::Answer);

    // Through the CLI too: non-zero exit, file and line on stderr.
    let faqs = corpus.join("faqs/tiny.toml");
    fs::write(
        &bad,
        fs::read_to_string(tiny_corpus().join("policies/tiny-tax.md")).unwrap(),
    )
    .unwrap();
    fs::write(&faqs, "[[faq]]\nid = \"x\"\nquestion = \"q\"\nanswer = \"a\"\n\n[[faq]]\nid = \"x\"\nquestion = \"q2\"\nanswer = \"a2\"\n").unwrap();
    let index = engine.config().index.clone();
    let (ok, _, err) = run_on(&corpus, &index, &["reindex"], "");
    assert!(!ok);
    assert!(err.contains("tiny.toml:7"), "{err}");
    assert!(err.contains("previous index keeps serving"), "{err}");
    assert_eq!(
        xiaoer::search::current_generation(&index).unwrap().0,
        before
    );
}

#[test]
fn reindex_while_queries_run_switches_without_failures() {
    let (_dir, corpus) = editable_tiny_corpus();
    let (_idx, engine) = engine_for(&corpus);
    let engine = Arc::new(engine);
    let first = engine.generation().name.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let askers: Vec<_> = (0..2)
        .map(|_| {
            let (engine, stop, answered) = (engine.clone(), stop.clone(), answered.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let reply = engine.ask("高新技术企业税率是多少");
                    assert_eq!(reply.kind, Kind::Answer);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for round in 0..3 {
        // Each round changes the corpus a little; the new answer must appear.
        let faqs = corpus.join("faqs/tiny.toml");
        let text = fs::read_to_string(&faqs)
            .unwrap()
            .replace("测试答案A", &format!("测试答案A{round}"));
        fs::write(&faqs, text).unwrap();
        engine.reindex(&mut |_, _| {}).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for a in askers {
        a.join().unwrap();
    }
    assert!(answered.load(Ordering::Relaxed) > 0);
    assert_ne!(engine.generation().name, first);
    assert!(
        engine
            .ask("人才公寓租金补贴怎么申请？")
            .text
            .contains("测试答案A2")
    );
}

#[test]
fn another_process_reindexing_is_picked_up_without_restart() {
    let (_dir, corpus) = editable_tiny_corpus();
    let (_idx, engine) = engine_for(&corpus);
    let index = engine.config().index.clone();
    let faqs = corpus.join("faqs/tiny.toml");
    fs::write(
        &faqs,
        fs::read_to_string(&faqs)
            .unwrap()
            .replace("测试答案B", "新版答案B"),
    )
    .unwrap();
    let (ok, _, err) = run_on(&corpus, &index, &["reindex"], "");
    assert!(ok, "{err}");
    assert!(engine.reload().unwrap());
    assert!(
        engine
            .ask("人才公寓租金补贴怎么计算？")
            .text
            .contains("新版答案B")
    );
}

#[test]
fn a_killed_reindex_leaves_the_previous_generation_serving() {
    let (dir, corpus) = editable_tiny_corpus();
    // Enough documents that the build is still running when it is killed.
    let body = "第一条 企业可以申请研发费用补贴，具体办法由主管部门另行规定。\n".repeat(400);
    for i in 0..300 {
        fs::write(
            corpus.join(format!("policies/bulk-{i}.md")),
            format!("+++\nid = \"bulk-{i}\"\ntitle = \"批量文件{i}\"\n+++\n{body}"),
        )
        .unwrap();
    }
    let index = dir.path().join("index");
    let tiny = tiny_corpus();
    let (ok, _, err) = run_on(&tiny, &index, &["reindex"], "");
    assert!(ok, "{err}");
    let before = xiaoer::search::current_generation(&index).unwrap().0;

    let mut child = xiaoer()
        .args([
            "--corpus",
            corpus.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "reindex",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the build has started writing, then kill -9.
    let started = std::time::Instant::now();
    while !fs::read_dir(&index).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".building")
    }) {
        assert!(started.elapsed().as_secs() < 60, "build never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(
        xiaoer::search::current_generation(&index).unwrap().0,
        before
    );
    let config = Config {
        corpus: tiny.clone(),
        index: index.clone(),
        ..Config::default()
    };
    let engine = Engine::open(config).unwrap();
    assert_eq!(engine.ask("高新技术企业税率").kind, Kind::Answer);
    // The next re-index cleans up what the killed one left.
    engine.reindex(&mut |_, _| {}).unwrap();
    let leftovers = fs::read_dir(&index)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".building")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn an_index_made_by_an_older_text_analysis_is_rebuilt_on_open() {
    let (_dir, corpus) = editable_tiny_corpus();
    let (_idx, engine) = engine_for(&corpus);
    let config = engine.config().clone();
    let (old, old_dir) = xiaoer::search::current_generation(&config.index).unwrap();
    drop(engine);
    let summary = xiaoer::search::read_summary(&old_dir).unwrap();
    assert_eq!(summary.analysis, xiaoer::search::ANALYSIS_VERSION);

    // A summary written before the analysis was recorded, as an older xiaoer left it.
    let mut older: serde_json::Value =
        serde_json::from_slice(&fs::read(old_dir.join("summary.json")).unwrap()).unwrap();
    older.as_object_mut().unwrap().remove("analysis");
    fs::write(old_dir.join("summary.json"), older.to_string()).unwrap();
    assert_eq!(xiaoer::search::read_summary(&old_dir).unwrap().analysis, 1);

    let engine = Engine::open_or_build(config.clone(), &mut |_, _| {}).unwrap();
    let rebuilt = engine.generation().name.clone();
    assert_ne!(rebuilt, old);
    assert_eq!(engine.ask("高新技术企业税率").kind, Kind::Answer);
    drop(engine);

    // Opening again leaves a current build alone.
    let engine = Engine::open_or_build(config.clone(), &mut |_, _| {}).unwrap();
    assert_eq!(engine.generation().name, rebuilt);
    drop(engine);

    // An outdated index whose corpus no longer builds still serves: better the older
    // terms than no answers at all.
    let (_, dir_now) = xiaoer::search::current_generation(&config.index).unwrap();
    fs::write(dir_now.join("summary.json"), older.to_string()).unwrap();
    fs::write(corpus.join("faqs/broken.toml"), "[[faq]\n").unwrap();
    let engine = Engine::open_or_build(config, &mut |_, _| {}).unwrap();
    assert_eq!(engine.generation().name, rebuilt);
    assert_eq!(engine.ask("高新技术企业税率").kind, Kind::Answer);
}
