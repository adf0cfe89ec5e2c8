//! Calibration: fits the decision to the corpus it is built from, with questions the corpus
//! asks of itself (`probes`), so that an office that imports its own documents gets
//! confidence weights and thresholds without tuning anything. `reindex` stores the result
//! with the generation; `[decision]` in the config overrides it.

mod probes;

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::answer::{self, Thresholds};
use crate::corpus::Corpus;
use crate::error::{SourceError, line_of};
use crate::eval::{self, Table};
use crate::search::{self, Evidence, SearchError, SearchOptions};
use crate::text::{Analyzer, detect_lang};

/// The file in a generation's directory that holds its calibration.
pub const CALIBRATION_FILE: &str = "decision.json";
/// A corpus's own decision, refined from labelled questions (`eval --sweep`, `eval --fit`):
/// `[decision]` and optionally `[search]`, in this file beside `policies/` and `faqs/`.
/// It takes the place of the automatic calibration; a config's `[decision]` still wins.
pub const CORPUS_DECISION_FILE: &str = "decision.toml";

/// What the probes asked for: at most this share of known answers answered wrong...
const MAX_WRONG_PCT: f64 = 3.0;
/// ...and at least this share of unanswerable probes handed off.
const MIN_HANDOFF_PCT: f64 = 90.0;
/// Fewer known or unanswerable probes than this fit noise: the built-in decision serves.
const MIN_PROBES: usize = 50;
/// When no thresholds meet both, the looser pair tried next.
const RELAXED: (f64, f64) = (5.0, 80.0);

/// The decision a generation is answered with: fitted to the corpus by its probes, or
/// taken from the corpus's `decision.toml` (then `probes` is `None`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub thresholds: Thresholds,
    /// The retrieval evidence that ranked the probes' answers first most often (or the
    /// config's `[search]`, which then decides).
    #[serde(default)]
    pub search: SearchOptions,
    /// What the probes showed, when the decision was fitted to them.
    #[serde(flatten)]
    pub probes: Option<ProbeReport>,
}

/// The evidence for a fitted decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Probes whose answer the corpus holds, and those whose records were left out.
    pub known: usize,
    pub unanswerable: usize,
    /// Share of known probes whose answer ranks first.
    pub recall_at_1: f64,
    /// Cross-validated separation AUC of the fitted weights on the probes.
    pub cross_validated_auc: [f64; 2],
    /// The same AUC of the built-in weights, and whether the fitted ones were kept.
    pub builtin_auc: f64,
    pub fitted_weights: bool,
    /// The probes' decision table at the chosen thresholds.
    pub table: Table,
    /// Whether the chosen thresholds meet the strict targets (else the relaxed ones).
    pub strict: bool,
}

/// The corpus's `decision.toml`, when it has one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusDecision {
    pub decision: Option<Thresholds>,
    pub search: Option<SearchOptions>,
}

impl CorpusDecision {
    /// Reads `decision.toml` in `corpus_dir`; a mistake names the file and line.
    pub fn read(corpus_dir: &Path) -> Result<CorpusDecision, SourceError> {
        let path = corpus_dir.join(CORPUS_DECISION_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CorpusDecision::default());
            }
            Err(e) => return Err(SourceError::new(&path, 0, e.to_string())),
        };
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
            SourceError::new(&path, line, e.message().to_string())
        })
    }

    /// The file's decision, when it gives one: it then takes the place of calibration.
    pub fn calibration(&self) -> Option<Calibration> {
        Some(Calibration {
            thresholds: self.decision?,
            search: self.search.unwrap_or_default(),
            probes: None,
        })
    }
}

impl Calibration {
    /// One line for `reindex` and the logs.
    pub fn describe(&self) -> String {
        let d = &self.thresholds;
        let Some(p) = &self.probes else {
            return format!(
                "decision from the corpus's {CORPUS_DECISION_FILE}: answer at {:.2}, coverage ≥ {:.2}, evidence {:?}",
                d.answer, d.min_coverage, self.search.evidence
            );
        };
        let t = &p.table;
        format!(
            "calibrated on {} known and {} unanswerable probes (Recall@1 {:.3}): answer at {:.2}, \
             coverage ≥ {:.2}, evidence {:?}; {} weights (AUC fitted {:.3}/{:.3}, built-in {:.3}); probes answered right {:.1}%, wrong {:.1}%, unanswerable handed off {:.1}%{}",
            p.known,
            p.unanswerable,
            p.recall_at_1,
            d.answer,
            d.min_coverage,
            self.search.evidence,
            if p.fitted_weights {
                "fitted"
            } else {
                "built-in"
            },
            p.cross_validated_auc[0],
            p.cross_validated_auc[1],
            p.builtin_auc,
            t.right_pct(),
            t.wrong_pct(),
            t.out_handled_pct(),
            if p.strict { "" } else { " (relaxed targets)" }
        )
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The calibration stored in a generation's directory, if any (a generation built
    /// before calibration existed, or of a corpus too small to calibrate, has none).
    pub fn read(dir: &Path) -> Option<Calibration> {
        let bytes = std::fs::read(dir.join(CALIBRATION_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The retrieval settings calibration chooses between: words and bigrams together (the
/// shipped corpus's best) or bigrams alone (long plain-text notices' best).
fn search_choices() -> [SearchOptions; 2] {
    [
        SearchOptions::default(),
        SearchOptions {
            evidence: Evidence::Bigrams,
            ..SearchOptions::default()
        },
    ]
}

/// Fits the decision to `corpus`; `None` when the corpus is too small to ask itself
/// enough questions, or no thresholds meet even the relaxed targets. With `fixed`
/// retrieval settings (the config's `[search]`), only those are tried.
pub fn calibrate(
    corpus: &Corpus,
    fixed: Option<SearchOptions>,
    today: NaiveDate,
) -> Result<Option<Calibration>, SearchError> {
    let analyzer = Analyzer::new(&corpus.dictionary);
    let halves: Vec<(probes::Half, search::Generation)> = probes::halves(corpus)
        .into_iter()
        .filter(|h| !h.questions.is_empty())
        .map(|h| search::build_in_ram(&h.corpus, &analyzer).map(|g| (h, g)))
        .collect::<Result<_, _>>()?;
    let choices: Vec<SearchOptions> = match fixed {
        Some(o) => vec![o],
        None => search_choices().to_vec(),
    };
    let mut best: Option<(SearchOptions, Vec<eval::Scored>, usize)> = None;
    for options in choices {
        let scored = ask_probes(&halves, &options)?;
        let first = scored.iter().filter(|s| s.rank == Some(1)).count();
        if best.as_ref().is_none_or(|(_, _, f)| first > *f) {
            best = Some((options, scored, first));
        }
    }
    let Some((search, scored, first)) = best else {
        return Ok(None);
    };
    let known = scored.iter().filter(|s| s.question.in_scope()).count();
    if known < MIN_PROBES || scored.len() - known < MIN_PROBES {
        return Ok(None);
    }
    let Some(fit) = eval::fit(
        &scored,
        eval::Negatives::OutOfScope,
        &Thresholds::default().weights,
        today,
    ) else {
        return Ok(None);
    };
    // The fitted weights only where they separate the probes better (cross-validated)
    // than the built-in ones do: on a corpus like the shipped one, whose hand-set weights
    // were tuned on real questions, a fit to self-made questions can be the worse guess.
    let builtin_auc = fit.configured_auc;
    let fitted_auc = (fit.cross_validated_auc[0] + fit.cross_validated_auc[1]) / 2.0;
    let fitted = fitted_auc > builtin_auc;
    let base = Thresholds {
        weights: if fitted {
            fit.weights
        } else {
            Thresholds::default().weights
        },
        ..Thresholds::default()
    };
    let rows = eval::sweep(&scored, &base, today);
    let (chosen, strict) = match eval::recommend(&rows, MAX_WRONG_PCT, MIN_HANDOFF_PCT, 100.0) {
        Some(row) => (row, true),
        None => match eval::recommend(&rows, RELAXED.0, RELAXED.1, 100.0) {
            Some(row) => (row, false),
            None => return Ok(None),
        },
    };
    Ok(Some(Calibration {
        thresholds: chosen.thresholds,
        search,
        probes: Some(ProbeReport {
            known,
            unanswerable: scored.len() - known,
            recall_at_1: first as f64 / known.max(1) as f64,
            cross_validated_auc: fit.cross_validated_auc,
            builtin_auc,
            fitted_weights: fitted,
            table: chosen.table,
            strict,
        }),
    }))
}

/// Every half's probes asked of that half's corpus, without the negatives that are
/// answerable after all (see `probes::Half::answers`).
fn ask_probes(
    halves: &[(probes::Half, search::Generation)],
    options: &SearchOptions,
) -> Result<Vec<eval::Scored>, SearchError> {
    let mut scored = Vec::new();
    for (half, generation) in halves {
        let half_scored = eval::score_with(&half.questions, |q| {
            search::retrieve(
                generation,
                q,
                detect_lang(q),
                search::RETRIEVE_LIMIT,
                options,
            )
        })?;
        for (s, answers) in half_scored.into_iter().zip(&half.answers) {
            let still_answered = !s.question.in_scope()
                && answer::candidates(&s.retrieval.hits)
                    .first()
                    .is_some_and(|&i| answers.contains(&s.retrieval.hits[i].id));
            if !still_answered {
                scored.push(s);
            }
        }
    }
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corpus_decision_file_overrides_thresholds_and_search_and_says_so() {
        let file: CorpusDecision =
            toml::from_str("[decision]\nanswer = 0.8\n[search]\nevidence = \"bigrams\"\n").unwrap();
        let c = file.calibration().unwrap();
        assert_eq!(c.thresholds.answer, 0.8);
        assert_eq!(c.thresholds.clarify, Thresholds::default().clarify);
        assert_eq!(c.search.evidence, Evidence::Bigrams);
        assert!(c.probes.is_none());
        assert!(
            c.describe()
                .starts_with("decision from the corpus's decision.toml")
        );
        assert!(CorpusDecision::default().calibration().is_none());
    }

    #[test]
    fn a_bad_corpus_decision_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CORPUS_DECISION_FILE),
            "[decision]\nanswer = 0.8\nanwser = 1\n",
        )
        .unwrap();
        let e = CorpusDecision::read(dir.path()).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(CorpusDecision::read(&dir.path().join("none")).is_ok());
    }
}
