//! Typo tolerance at query time: which corpus word a question word that no record
//! contains was probably meant to be (`text::Homophones`, `text::one_letter_slips`),
//! checked against the index and remembered per generation.

use tantivy::{Searcher, Term};

use super::SearchError;
use super::open::Generation;

/// The corpus word a question word no record contains was probably meant to be, with the
/// number of records containing it: a homophone for Chinese, one slipped letter for English.
pub(super) fn spelling_fix(
    generation: &Generation,
    searcher: &Searcher,
    word: &str,
) -> Result<Option<(String, u64)>, SearchError> {
    let memo = || {
        generation
            .spelling_memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    };
    if let Some(known) = memo().get(word) {
        return Ok(known.clone());
    }
    let fix = find_spelling_fix(generation, searcher, word)?;
    let mut m = memo();
    if m.len() >= SPELLING_MEMO_LIMIT {
        m.clear();
    }
    m.insert(word.to_string(), fix.clone());
    Ok(fix)
}

/// Words whose correction is remembered at most (then the memo starts afresh).
const SPELLING_MEMO_LIMIT: usize = 20_000;

fn find_spelling_fix(
    generation: &Generation,
    searcher: &Searcher,
    word: &str,
) -> Result<Option<(String, u64)>, SearchError> {
    let all = generation.fields.all;
    if word.chars().any(crate::text::is_han) {
        if !generation.analyzer.is_rare_word(word) {
            return Ok(None);
        }
        let Some(fix) = generation.homophones().correct(word) else {
            return Ok(None);
        };
        let df = searcher.doc_freq(&Term::from_field_text(all, fix))?;
        return Ok((df > 0).then(|| (fix.to_string(), df)));
    }
    let mut best: Option<(String, u64)> = None;
    for slip in crate::text::one_letter_slips(word) {
        let stem = generation.analyzer.stem(&slip);
        let df = searcher.doc_freq(&Term::from_field_text(all, &stem))?;
        if df > best.as_ref().map_or(0, |b| b.1) {
            best = Some((stem, df));
        }
    }
    Ok(best)
}
