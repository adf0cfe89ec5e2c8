//! `xiaoer eval`: the report, the threshold sweep, the weight fit and the per-question
//! details, as text or JSON. The measuring itself is `crate::eval`'s.

use anyhow::Result;

use crate::engine::{self, Engine};
use crate::eval;
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
