//! Terminal front-ends of the engine: `reindex`, `ask`, `chat`, `eval`. They format; all
//! decisions happen in the library.

pub mod serve;
pub mod staff;

/// `println!` that ends the program quietly when stdout is closed (`xiaoer eval … | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

use std::io::{BufRead, Write};
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::answer::{Kind, Reply};
use crate::config::Config;
use crate::engine::{self, Engine, EngineError};
use crate::eval;

/// A progress bar for index builds, drawn on stderr (hidden when it is not a terminal).
pub fn progress_bar() -> (ProgressBar, impl FnMut(usize, usize)) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} records ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("indexing");
    let b = bar.clone();
    (bar, move |done: usize, total: usize| {
        b.set_length(total as u64);
        b.set_position(done as u64);
    })
}

pub fn reindex(config: &Config) -> Result<()> {
    let (bar, mut progress) = progress_bar();
    let started = Instant::now();
    let result = engine::reindex(config, &mut progress);
    bar.finish_and_clear();
    match result {
        Ok(s) => {
            out!(
                "re-indexed {}: {} documents, {} passages, {} FAQs in {:.2}s, 0 errors",
                s.generation,
                s.documents,
                s.passages,
                s.faqs,
                started.elapsed().as_secs_f64()
            );
            match &s.calibration {
                Some(c) => out!("{c}"),
                None if config.decision.is_some() => out!("decision: [decision] from the config"),
                None => out!("decision: built-in defaults (the corpus is too small to calibrate)"),
            }
            out!("now serving {}", config.index.join(&s.generation).display());
            Ok(())
        }
        Err(EngineError::Corpus(errors)) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            anyhow::bail!(
                "re-index failed with {} error(s) in {}; the previous index keeps serving",
                errors.len(),
                config.corpus.display()
            )
        }
        Err(e) => {
            Err(anyhow::anyhow!(e).context("re-index failed; the previous index keeps serving"))
        }
    }
}

/// Opens the engine, building the index first on a fresh machine.
pub fn open_engine(config: &Config) -> Result<Engine> {
    let (bar, mut progress) = progress_bar();
    let engine = Engine::open_or_build(config.clone(), &mut progress);
    bar.finish_and_clear();
    Ok(engine?)
}

pub fn ask_one(engine: &Engine, question: &str, json: bool) -> Result<()> {
    let reply = engine.ask(question);
    if json {
        out!("{}", serde_json::to_string(&reply)?);
    } else {
        print!("{}", render(&reply));
    }
    Ok(())
}

/// `ask --json -`: one question per line in, one JSON object per line out.
pub fn ask_lines(engine: &Engine, input: impl BufRead, json: bool) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in input.lines() {
        let line = match line {
            Ok(l) => l,
            // A line that is not UTF-8 is answered as what it is: unreadable.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => String::new(),
            Err(e) => return Err(e.into()),
        };
        let reply = engine.ask(&line);
        if json {
            writeln!(out, "{}", serde_json::to_string(&reply)?)?;
        } else {
            write!(out, "{}", render(&reply))?;
        }
        out.flush()?;
    }
    Ok(())
}

/// A reply for a person at a terminal.
pub fn render(reply: &Reply) -> String {
    let zh = crate::text::detect_lang(&reply.question) == crate::text::Lang::Zh;
    let mut s = String::new();
    let kind = match reply.kind {
        Kind::Answer => "answer",
        Kind::Clarify => "clarify",
        Kind::Handoff => "handoff",
    };
    s.push_str(&format!(
        "[{kind}{}] confidence {:.2}\n",
        reply
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default(),
        reply.confidence
    ));
    s.push_str(&reply.text);
    s.push('\n');
    let shown: Vec<_> = match reply.kind {
        Kind::Answer => reply
            .sources
            .iter()
            .take(if reply.sources.is_empty() { 0 } else { 1 })
            .collect(),
        _ => reply.sources.iter().take(3).collect(),
    };
    if !shown.is_empty() {
        s.push_str(if zh {
            if reply.kind == Kind::Answer {
                "\n来源：\n"
            } else {
                "\n我找到的相关内容：\n"
            }
        } else if reply.kind == Kind::Answer {
            "\nSource:\n"
        } else {
            "\nWhat I found:\n"
        });
        for src in shown {
            s.push_str(&format!("  - {} [{}]", src.citation(zh), src.id));
            if !src.url.is_empty() {
                s.push_str(&format!(" {}", src.url));
            }
            s.push('\n');
        }
    }
    s.push('\n');
    s
}

/// A terminal conversation; a number answers the last clarify question.
pub fn chat(engine: &Engine) -> Result<()> {
    let stdin = std::io::stdin();
    let mut last: Option<Reply> = None;
    out!("xiaoer — 投资服务助手。输入问题，回车发送；输入“转人工”联系专员；Ctrl-D 退出。");
    loop {
        print!("> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            out!();
            return Ok(());
        }
        let line = line.trim_end_matches(['\n', '\r']);
        let chosen = last.as_ref().and_then(|r| {
            let n: usize = line.trim().parse().ok()?;
            r.options.get(n.checked_sub(1)?).map(|o| o.title.clone())
        });
        let question = chosen.as_deref().unwrap_or(line);
        let reply = engine.ask(question);
        print!("{}", render(&reply));
        last = Some(reply);
    }
}

/// What `eval --sweep` recommends thresholds for.
#[derive(Debug, Clone, Copy)]
pub struct Criteria {
    pub max_wrong: f64,
    pub min_handoff: f64,
    pub max_oos_answered: f64,
}

pub fn eval(
    engine: &Engine,
    path: &std::path::Path,
    sweep: bool,
    json: bool,
    details: bool,
    fit: bool,
    criteria: Criteria,
) -> Result<()> {
    let questions = eval::load(path)?;
    let scored = eval::score_all(engine, &questions)?;
    let today = engine::today();
    let thresholds = engine.thresholds();
    if details {
        print_details(&scored, &thresholds, today);
    }
    let report = eval::report(&scored, &thresholds, today);
    if json {
        // With --sweep or --fit, one object with the report and what they add.
        let value = if sweep || fit {
            let mut value = serde_json::json!({ "report": report });
            if sweep {
                let rows: Vec<serde_json::Value> = eval::sweep(&scored, &thresholds, today)
                    .iter()
                    .map(|r| serde_json::json!({"thresholds": r.thresholds, "table": r.table}))
                    .collect();
                value["sweep"] = serde_json::Value::from(rows);
            }
            if fit {
                value["fit"] = serde_json::to_value(eval::fit(
                    &scored,
                    eval::Negatives::AlsoWrongFirst,
                    &thresholds.weights,
                    today,
                ))?;
            }
            value
        } else {
            serde_json::to_value(&report)?
        };
        out!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    } else {
        print_report(&report, &thresholds, engine.calibrated());
    }
    if fit {
        print_fit(
            eval::fit(
                &scored,
                eval::Negatives::AlsoWrongFirst,
                &thresholds.weights,
                today,
            )
            .as_ref(),
        );
    }
    if sweep {
        let rows = eval::sweep(&scored, &thresholds, today);
        out!("\nthreshold sweep (clarify = answer - 0.10):");
        out!("min_cov answer | in: right  wrong  clarify handoff | out: answered clarify handled");
        for r in &rows {
            let t = &r.table;
            out!(
                "  {:.2}   {:.2}  |     {:5.1}% {:5.1}% {:5.1}%  {:5.1}%  |      {:5.1}%   {:5.1}%  {:5.1}%",
                r.thresholds.min_coverage,
                r.thresholds.answer,
                t.right_pct(),
                t.wrong_pct(),
                Pct(t.clarified, t.in_scope),
                Pct(t.handed_off, t.in_scope),
                t.out_answered_pct(),
                Pct(t.out_clarified, t.out_of_scope),
                t.out_handled_pct(),
            );
        }
        let c = criteria;
        match eval::recommend(&rows, c.max_wrong, c.min_handoff, c.max_oos_answered) {
            Some(r) => out!(
                "\nrecommended (most right answers with wrong <= {}%, out-of-scope handed off or declined >= {}%, out-of-scope answered <= {}%):\n[decision]\nanswer = {:.2}\nclarify = {:.2}\nmin_coverage = {:.2}\n# right {:.1}%, wrong {:.1}%, out-of-scope handed off or declined {:.1}%, answered {:.1}%",
                c.max_wrong,
                c.min_handoff,
                c.max_oos_answered,
                r.thresholds.answer,
                r.thresholds.clarify,
                r.thresholds.min_coverage,
                r.table.right_pct(),
                r.table.wrong_pct(),
                r.table.out_handled_pct(),
                r.table.out_answered_pct()
            ),
            None => out!("\nno threshold in the sweep meets those targets"),
        }
    }
    Ok(())
}

fn print_fit(fit: Option<&eval::Fit>) {
    let Some(f) = fit else {
        out!(
            "\nnothing to fit: the file needs both answered-right questions and ones not to answer"
        );
        return;
    };
    let w = &f.weights;
    out!(
        "\nconfidence weights fitted on {} right answers against {} questions not to answer ({} of them in scope with a wrong record first)\nAUC (right answers against those): configured weights {:.3}; fitted, cross-validated (alternate questions in two halves, each scored by weights fitted on the other) {:.3} / {:.3}; fitted on all {:.3}\n[decision.weights]\nbias = {:.4}\ncoverage = {:.4}\nkey_coverage = {:.4}\nscore_ratio = {:.4}\nmargin = {:.4}\nraw_margin = {:.4}\nkey_recall = {:.4}\nfocus_coverage = {:.4}\nanswering_key_coverage = {:.4}\n# thresholds change with the weights: run --sweep again with these in the config",
        f.positives,
        f.negatives,
        f.wrong_first,
        f.configured_auc,
        f.cross_validated_auc[0],
        f.cross_validated_auc[1],
        f.in_sample_auc,
        w.bias,
        w.coverage,
        w.key_coverage,
        w.score_ratio,
        w.margin,
        w.raw_margin,
        w.key_recall,
        w.focus_coverage,
        w.answering_key_coverage
    );
}

struct Pct(usize, usize);

impl std::fmt::Display for Pct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = if self.1 == 0 {
            0.0
        } else {
            100.0 * self.0 as f64 / self.1 as f64
        };
        std::fmt::Display::fmt(&v, f)
    }
}

fn print_report(r: &eval::Report, t: &crate::answer::Thresholds, calibrated: bool) {
    let tb = &r.table;
    out!(
        "thresholds ({}): answer {:.2}, clarify {:.2}, min_coverage {:.2}",
        if calibrated {
            "calibrated"
        } else {
            "configured"
        },
        t.answer,
        t.clarify,
        t.min_coverage
    );
    out!(
        "in scope ({}): Recall@1 {:.3}  Recall@5 {:.3}  MRR@10 {:.3}",
        tb.in_scope,
        r.recall_at_1,
        r.recall_at_5,
        r.mrr_at_10
    );
    out!(
        "  answered right {} ({:.1}%), answered wrong {} ({:.1}%), clarified {} ({} with the right option), handed off {}, declined (no verified figure) {}",
        tb.right,
        tb.right_pct(),
        tb.wrong,
        tb.wrong_pct(),
        tb.clarified,
        tb.clarified_with_right_option,
        tb.handed_off,
        tb.declined
    );
    out!(
        "out of scope ({}): answered {} ({:.1}%), clarified {}, handed off {}, declined (no verified figure) {}: handed off or declined {:.1}%",
        tb.out_of_scope,
        tb.out_answered,
        tb.out_answered_pct(),
        tb.out_clarified,
        tb.out_handed_off,
        tb.out_declined,
        tb.out_handled_pct()
    );
    out!(
        "separation AUC (right answers vs out of scope): {:.3}",
        r.separation_auc
    );
    for (name, groups) in [("style", &r.by_style), ("language", &r.by_lang)] {
        if groups.is_empty() {
            continue;
        }
        out!("per {name}:  in: n  right  wrong  clarify handoff | out: n  answered handled");
        for (label, t) in groups {
            out!(
                "  {label:11} {:4} {:5.1}% {:5.1}% {:5.1}%  {:5.1}%  | {:4}   {:5.1}%   {:5.1}%",
                t.in_scope,
                t.right_pct(),
                t.wrong_pct(),
                Pct(t.clarified, t.in_scope),
                Pct(t.handed_off, t.in_scope),
                t.out_of_scope,
                t.out_answered_pct(),
                t.out_handled_pct(),
            );
        }
    }
    if let Some(x) = r.answer_in_cited_passage {
        out!("gold answer span in the cited passage: {x:.3}");
    }
    if let Some(x) = r.known_wrong_answers {
        out!(
            "answers citing a record marked as a different intent: {:.1}%",
            100.0 * x
        );
    }
}

pub fn import(files: &[std::path::PathBuf], into: &std::path::Path) -> Result<()> {
    let summary = crate::corpus::import::import_files(files, into)?;
    out!(
        "imported {} policy documents and {} FAQs into {}",
        summary.policies,
        summary.faqs,
        into.display()
    );
    Ok(())
}

/// The question's words the first record lacks, with each one's share of the question's
/// weight (what coverage lost), heaviest first: "深圳:0.31,补贴:0.12".
fn missing_terms(r: &crate::search::Retrieval, first: Option<usize>) -> String {
    let Some(hit) = first.map(|i| &r.hits[i]) else {
        return "-".to_string();
    };
    let total = r.total_idf();
    let mut lost: Vec<(f32, &str)> = hit
        .missing
        .iter()
        .map(|&c| {
            let concept = &r.concepts[c];
            (
                concept.idf * concept.weight / total.max(f32::EPSILON),
                concept.variants[0].as_str(),
            )
        })
        .collect();
    lost.sort_by(|a, b| b.0.total_cmp(&a.0));
    if lost.is_empty() {
        return "-".to_string();
    }
    lost.iter()
        .map(|(share, term)| format!("{term}:{share:.2}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One line per question: what was expected, what came first, and the features.
fn print_details(scored: &[eval::Scored], t: &crate::answer::Thresholds, today: chrono::NaiveDate) {
    use crate::answer::Decision;
    for s in scored {
        let d = eval::decide_one(s, t, today);
        let kind = match d {
            Decision::Answer { .. } => "answer",
            Decision::Clarify { .. } => "clarify",
            Decision::Handoff { .. } => "handoff",
        };
        let cands = crate::answer::candidates(&s.retrieval.hits);
        let (top, f, conflict) = match cands.first() {
            Some(_) => {
                let hit = &s.retrieval.hits[cands[0]];
                (
                    hit.id.as_str(),
                    crate::answer::features(&s.retrieval, &cands, 0),
                    hit.conflict
                        .as_ref()
                        .map_or("-".to_string(), |c| c.to_string()),
                )
            }
            None => ("-", crate::answer::Features::default(), "-".to_string()),
        };
        let verdict = match (s.question.in_scope(), s.rank) {
            (false, _) => "OOS",
            (true, Some(1)) => "HIT",
            (true, _) => "MISS",
        };
        let fixes: Vec<String> = s
            .retrieval
            .concepts
            .iter()
            .filter_map(|c| Some(format!("{}>{}", c.variants[0], c.corrected.as_ref()?)))
            .collect();
        let fixes = if fixes.is_empty() {
            "-".to_string()
        } else {
            fixes.join(",")
        };
        let missing = missing_terms(&s.retrieval, cands.first().copied());
        out!(
            "{verdict:4} {kind:7} conf {:.2} cov {:.2} key {:.2} akey {:.2} recall {:.2} focus {:.2} ratio {:.2} margin {:.2} conflict {conflict} typos {fixes} missing {missing} top {top} expect {} rank {:?} | {}",
            d.confidence(),
            f.coverage,
            f.key_coverage,
            f.answering_key_coverage,
            f.key_recall,
            f.focus_coverage,
            f.score_ratio,
            f.margin,
            s.question.expect.join(","),
            s.rank,
            s.question.q
        );
    }
}
