//! Quality measurement: Recall@1, MRR@10 and the decision table on evaluation questions,
//! and a sweep of the decision thresholds over the same retrievals.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::answer::{self, Decision, HandoffReason, Thresholds};
use crate::engine::{Engine, EngineError};
use crate::error::SourceError;
use crate::search::Retrieval;

mod fit;
mod question;
pub use fit::{Fit, Negatives, fit};
pub use question::EvalQuestion;

/// Reads one JSON Lines file, or every `*.jsonl` in a directory.
pub fn load(path: &Path) -> Result<Vec<EvalQuestion>, SourceError> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut f: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|e| SourceError::new(path, 0, e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        f.sort();
        f
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for file in files {
        let text =
            fs::read_to_string(&file).map_err(|e| SourceError::new(&file, 0, e.to_string()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| SourceError::new(&file, i + 1, e.to_string()))?;
            let q = EvalQuestion::from_json(v).map_err(|e| SourceError::new(&file, i + 1, e))?;
            out.push(q);
        }
    }
    Ok(out)
}

/// What the bot did with one question, before thresholds are applied.
pub struct Scored {
    pub question: EvalQuestion,
    pub retrieval: Retrieval,
    /// Small talk or a request for a person: decided without the thresholds.
    pub fixed: Option<Decision>,
    /// 1-based rank of the first expected id among distinct candidate ids (top 10).
    pub rank: Option<usize>,
}

pub fn score_all(engine: &Engine, questions: &[EvalQuestion]) -> Result<Vec<Scored>, EngineError> {
    score_with(questions, |q| Ok(engine.retrieve(q)?.1))
}

/// Scores questions with any retrieval (the engine's, or a calibration index's).
pub fn score_with<E>(
    questions: &[EvalQuestion],
    mut retrieve: impl FnMut(&str) -> Result<Retrieval, E>,
) -> Result<Vec<Scored>, E> {
    let mut out = Vec::with_capacity(questions.len());
    for q in questions {
        let retrieval = retrieve(&q.q)?;
        let fixed = if answer::classify_smalltalk(&q.q).is_some() {
            Some(Decision::Answer {
                hit: usize::MAX,
                confidence: 1.0,
            })
        } else if answer::wants_person(&q.q) {
            Some(Decision::Handoff {
                reason: HandoffReason::AskedForPerson,
                confidence: 1.0,
            })
        } else {
            None
        };
        let rank = answer::candidates(&retrieval.hits)
            .into_iter()
            .take(10)
            .position(|i| q.accepts(&retrieval.hits[i]))
            .map(|p| p + 1);
        out.push(Scored {
            question: q.clone(),
            retrieval,
            fixed,
            rank,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Table {
    pub in_scope: usize,
    pub right: usize,
    pub wrong: usize,
    pub clarified: usize,
    pub clarified_with_right_option: usize,
    pub handed_off: usize,
    /// Answered with a FAQ that declines (`Faq::declines`) and that the question's label
    /// does not name: neither right nor wrong.
    #[serde(default)]
    pub declined: usize,
    pub out_of_scope: usize,
    /// Out-of-scope questions answered with a record that states something (not counting
    /// honest declines).
    pub out_answered: usize,
    pub out_clarified: usize,
    pub out_handed_off: usize,
    /// Out-of-scope questions answered with a FAQ that declines: "no verified figure" and
    /// a commissioner offered, which serves them as well as a hand-off.
    #[serde(default)]
    pub out_declined: usize,
}

impl Table {
    fn pct(n: usize, d: usize) -> f64 {
        if d == 0 {
            0.0
        } else {
            100.0 * n as f64 / d as f64
        }
    }
    pub fn wrong_pct(&self) -> f64 {
        Table::pct(self.wrong, self.in_scope)
    }
    pub fn right_pct(&self) -> f64 {
        Table::pct(self.right, self.in_scope)
    }
    pub fn out_handed_off_pct(&self) -> f64 {
        Table::pct(self.out_handed_off, self.out_of_scope)
    }
    /// Out-of-scope questions handed off or honestly declined: what the targets count.
    pub fn out_handled_pct(&self) -> f64 {
        Table::pct(self.out_handed_off + self.out_declined, self.out_of_scope)
    }
    pub fn out_answered_pct(&self) -> f64 {
        Table::pct(self.out_answered, self.out_of_scope)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub recall_at_1: f64,
    /// Share of in-scope questions with a gold answer whose best passage contains it
    /// (whitespace ignored); `None` when the data has no answers.
    pub answer_in_cited_passage: Option<f64>,
    /// Share of answers that cite a record a person marked as a different intent.
    pub known_wrong_answers: Option<f64>,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    /// Area under the curve separating right answers (in scope) from out-of-scope
    /// questions by confidence: 1.0 = every right answer is surer than every OOS question.
    pub separation_auc: f64,
    pub table: Table,
    /// The decision table per labelled question style (empty when none is labelled).
    pub by_style: BTreeMap<String, Table>,
    /// The decision table per labelled language.
    pub by_lang: BTreeMap<String, Table>,
}

pub fn decide_one(s: &Scored, t: &Thresholds, today: NaiveDate) -> Decision {
    s.fixed
        .clone()
        .unwrap_or_else(|| answer::decide(&s.retrieval, t, today))
}

pub fn table(scored: &[Scored], t: &Thresholds, today: NaiveDate) -> Table {
    let decisions: Vec<Decision> = scored.iter().map(|s| decide_one(s, t, today)).collect();
    table_of(scored, &decisions)
}

/// The decision table of decisions already taken, one per question.
fn table_of(scored: &[Scored], decisions: &[Decision]) -> Table {
    let refs: Vec<&Scored> = scored.iter().collect();
    table_of_refs(&refs, decisions)
}

fn table_of_refs(scored: &[&Scored], decisions: &[Decision]) -> Table {
    let mut tb = Table::default();
    for (s, d) in scored.iter().zip(decisions) {
        let expected = |i: usize| {
            s.retrieval
                .hits
                .get(i)
                .is_some_and(|h| s.question.accepts(h))
        };
        let declines = |i: usize| s.retrieval.hits.get(i).is_some_and(|h| h.meta.declines);
        if s.question.in_scope() {
            tb.in_scope += 1;
            match d {
                // A declining FAQ the question's label names is the right answer to it.
                Decision::Answer { hit, .. } if expected(*hit) => tb.right += 1,
                Decision::Answer { hit, .. } if declines(*hit) => tb.declined += 1,
                Decision::Answer { .. } => tb.wrong += 1,
                Decision::Clarify { hits, .. } => {
                    tb.clarified += 1;
                    if hits.iter().any(|&h| expected(h)) {
                        tb.clarified_with_right_option += 1;
                    }
                }
                Decision::Handoff { .. } => tb.handed_off += 1,
            }
        } else {
            tb.out_of_scope += 1;
            match d {
                Decision::Answer { hit, .. } if declines(*hit) => tb.out_declined += 1,
                Decision::Answer { .. } => tb.out_answered += 1,
                Decision::Clarify { .. } => tb.out_clarified += 1,
                Decision::Handoff { .. } => tb.out_handed_off += 1,
            }
        }
    }
    tb
}

pub fn report(scored: &[Scored], t: &Thresholds, today: NaiveDate) -> Report {
    let inscope: Vec<&Scored> = scored.iter().filter(|s| s.question.in_scope()).collect();
    let n = inscope.len().max(1) as f64;
    let recall_at = |k: usize| {
        inscope
            .iter()
            .filter(|s| s.rank.is_some_and(|r| r <= k))
            .count() as f64
            / n
    };
    let mrr = inscope
        .iter()
        .map(|s| s.rank.map(|r| 1.0 / r as f64).unwrap_or(0.0))
        .sum::<f64>()
        / n;
    // Positives: in-scope questions whose top candidate is right; negatives: out of scope.
    let decisions: Vec<Decision> = scored.iter().map(|s| decide_one(s, t, today)).collect();
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for (s, d) in scored.iter().zip(&decisions) {
        let conf = d.confidence();
        if s.question.in_scope() {
            if s.rank == Some(1) {
                pos.push(conf);
            }
        } else {
            neg.push(conf);
        }
    }
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let with_answer: Vec<&&Scored> = inscope
        .iter()
        .filter(|s| s.question.answer.is_some())
        .collect();
    let answer_in_cited_passage = (!with_answer.is_empty()).then(|| {
        with_answer
            .iter()
            .filter(|s| {
                let gold = squash(s.question.answer.as_deref().unwrap_or(""));
                s.retrieval
                    .hits
                    .first()
                    .is_some_and(|h| squash(&h.body).contains(&gold))
            })
            .count() as f64
            / with_answer.len() as f64
    });
    let has_known_wrong = scored.iter().any(|s| !s.question.known_wrong.is_empty());
    let known_wrong_answers = has_known_wrong.then(|| {
        let mut answers = 0;
        let mut wrong = 0;
        for (s, d) in scored.iter().zip(&decisions) {
            if let Decision::Answer { hit, .. } = d
                && s.question.in_scope()
                && let Some(h) = s.retrieval.hits.get(*hit)
            {
                answers += 1;
                if s.question.known_wrong.contains(&h.id) {
                    wrong += 1;
                }
            }
        }
        if answers == 0 {
            0.0
        } else {
            wrong as f64 / answers as f64
        }
    });
    Report {
        recall_at_1: recall_at(1),
        answer_in_cited_passage,
        known_wrong_answers,
        recall_at_5: recall_at(5),
        mrr_at_10: mrr,
        separation_auc: auc(&pos, &neg),
        table: table_of(scored, &decisions),
        by_style: tables_by(scored, &decisions, |q| q.style.as_deref()),
        by_lang: tables_by(scored, &decisions, |q| q.lang.as_deref()),
    }
}

/// One decision table per value of a question label; questions without it are left out.
fn tables_by(
    scored: &[Scored],
    decisions: &[Decision],
    label: impl Fn(&EvalQuestion) -> Option<&str>,
) -> BTreeMap<String, Table> {
    let mut groups: BTreeMap<String, (Vec<&Scored>, Vec<Decision>)> = BTreeMap::new();
    for (s, d) in scored.iter().zip(decisions) {
        if let Some(l) = label(&s.question) {
            let g = groups.entry(l.to_string()).or_default();
            g.0.push(s);
            g.1.push(d.clone());
        }
    }
    groups
        .into_iter()
        .map(|(k, (ss, ds))| (k, table_of_refs(&ss, &ds)))
        .collect()
}

fn auc(pos: &[f32], neg: &[f32]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return 0.0;
    }
    let mut wins = 0.0;
    for p in pos {
        for q in neg {
            wins += if p > q {
                1.0
            } else if p == q {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()) as f64
}

/// One row of a threshold sweep.
pub struct SweepRow {
    pub thresholds: Thresholds,
    pub table: Table,
}

/// Replays the decision across a grid of thresholds.
pub fn sweep(scored: &[Scored], base: &Thresholds, today: NaiveDate) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    // Low coverage gates too: a fitted confidence that weighs the record's own question
    // (`key_recall`) may answer a long question whose words the record only partly holds.
    for min_cov in [0.0f32, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7] {
        for step in 0..=35 {
            let answer = 0.30 + 0.02 * step as f32;
            let t = Thresholds {
                answer,
                clarify: (answer - 0.1).max(0.0),
                min_coverage: min_cov,
                ..*base
            };
            rows.push(SweepRow {
                table: table(scored, &t, today),
                thresholds: t,
            });
        }
    }
    rows
}

/// The sweep row with the most right answers among those meeting the targets (wrong
/// ≤ `max_wrong_pct` of in-scope, ≥ `min_out_handoff_pct` of out-of-scope handed off).
pub fn recommend(
    rows: &[SweepRow],
    max_wrong_pct: f64,
    min_out_handoff_pct: f64,
    max_out_answered_pct: f64,
) -> Option<&SweepRow> {
    rows.iter()
        .filter(|r| {
            r.table.wrong_pct() <= max_wrong_pct
                && r.table.out_handled_pct() >= min_out_handoff_pct
                && r.table.out_answered_pct() <= max_out_answered_pct
        })
        .max_by(|a, b| {
            a.table
                .right
                .cmp(&b.table.right)
                .then(b.table.wrong.cmp(&a.table.wrong))
        })
}
