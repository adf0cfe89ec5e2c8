//! How much a record and the question hold of each other: the share of the question's
//! concepts a hit contains (in all its text and in its key fields), measured by seeking
//! postings to the hit's document, and the share of the hit's own question the investor's
//! words contain (`Hit::key_recall`).

use std::collections::{BTreeMap, HashSet};

use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocId, DocSet, Searcher, Term};

use super::SearchError;
use super::open::Generation;
use super::retrieve::{Concept, Hit};
use crate::text::{Lang, is_han};

/// What a record covers of the question (see `Hit`).
#[derive(Default)]
pub(super) struct Coverage {
    pub(super) coverage: f32,
    pub(super) key_coverage: f32,
    pub(super) missing: Vec<usize>,
    pub(super) missing_from_key: Vec<usize>,
}

/// BM25's IDF. A term no record contains gets the highest weight: a question about
/// something the corpus never mentions should not look covered.
pub(super) fn idf(df: u64, n: u64) -> f32 {
    let (df, n) = (df as f32, n.max(1) as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// How much of `hit`'s key text (see `Hit::key_recall`) the question's terms hold.
pub(super) fn key_recall(
    generation: &Generation,
    searcher: &Searcher,
    asked: &HashSet<&str>,
    hit: &Hit,
    num_docs: u64,
) -> Result<f32, SearchError> {
    let terms = key_terms(generation, searcher, hit, num_docs)?;
    let (mut total, mut covered) = (0.0f32, 0.0f32);
    for (term, w) in terms.iter() {
        total += w;
        if asked.contains(term.as_str()) {
            covered += w;
        }
    }
    Ok(if total > 0.0 { covered / total } else { 0.0 })
}

/// A record's key text as its terms, each with its IDF.
pub(super) type KeyTerms = std::sync::Arc<[(String, f32)]>;

/// `hit`'s key text as terms with their IDF, from the generation's memo when it holds
/// them (a generation never changes, so neither do they).
fn key_terms(
    generation: &Generation,
    searcher: &Searcher,
    hit: &Hit,
    num_docs: u64,
) -> Result<KeyTerms, SearchError> {
    let memo = || {
        generation
            .key_terms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    };
    if let Some(known) = memo().get(&hit.id) {
        return Ok(known.clone());
    }
    // A passage's title is its whole document's; what the passage is about is its heading.
    let key = if hit.is_faq || hit.heading.is_empty() {
        &hit.title
    } else {
        &hit.heading
    };
    let mut terms = Vec::new();
    for term in generation.analyzer.distinct_terms(key) {
        let df = searcher.doc_freq(&Term::from_field_text(generation.fields.all, &term))?;
        terms.push((term, idf(df, num_docs)));
    }
    let terms: KeyTerms = terms.into();
    let mut m = memo();
    // A large corpus (150,000 law articles) must not grow the memo without end.
    if m.len() >= KEY_TERMS_LIMIT {
        m.clear();
    }
    m.insert(hit.id.clone(), terms.clone());
    Ok(terms)
}

/// Records whose key terms are remembered at most (then the memo starts afresh).
const KEY_TERMS_LIMIT: usize = 20_000;

/// For each hit, which concepts it contains (in `all`, and in its key fields), by seeking
/// the concept's postings to the hit's document.
pub(super) fn measure_coverage(
    generation: &Generation,
    searcher: &Searcher,
    concepts: &[Concept],
    top: &[(f32, DocAddress)],
) -> Result<Vec<Coverage>, SearchError> {
    let mut out: Vec<Coverage> = top.iter().map(|_| Coverage::default()).collect();
    let total: f32 = concepts.iter().map(|c| c.idf * c.weight).sum();
    if total <= 0.0 {
        return Ok(out);
    }
    // Hit positions grouped by segment, in ascending doc order (postings only seek forward),
    // with each hit's counterparts in the other language (`Generation::twins`): one answer,
    // written twice. A Chinese word of a mixed question may be in a FAQ's Chinese text
    // while the hit is its English one (and the other way round): the word was asked in
    // the language of the counterpart, so the counterpart's holding it counts. Only in
    // that language: the counterpart is a translation, not more evidence for the same
    // words. So there are two views, each the hits plus their counterparts in one
    // language, and a concept is looked up once, in the view of its own script.
    let (mut with_zh, mut with_en) = (Positions::new(), Positions::new());
    for (i, (_, addr)) in top.iter().enumerate() {
        for view in [&mut with_zh, &mut with_en] {
            view.entry(addr.segment_ord)
                .or_default()
                .push((addr.doc_id, i));
        }
        for &(twin, lang) in generation.twins(*addr) {
            let view = if lang == Lang::Zh {
                &mut with_zh
            } else {
                &mut with_en
            };
            view.entry(twin.segment_ord)
                .or_default()
                .push((twin.doc_id, i));
        }
    }
    for docs in with_zh.values_mut().chain(with_en.values_mut()) {
        docs.sort_unstable();
    }
    let f = generation.fields;
    let n = top.len();
    for (ci, concept) in concepts.iter().enumerate() {
        if concept.df == 0 {
            for e in out.iter_mut() {
                e.missing.push(ci);
                e.missing_from_key.push(ci);
            }
            continue;
        }
        let view = if concept.variants.iter().any(|v| v.chars().any(is_han)) {
            &with_zh
        } else {
            &with_en
        };
        let in_all = present(searcher, f.all, &concept.variants, view, n)?;
        let mut in_key = vec![false; n];
        for field in [f.title, f.alternatives, f.heading] {
            let p = present(searcher, field, &concept.variants, view, n)?;
            for (k, v) in in_key.iter_mut().zip(p) {
                *k |= v;
            }
        }
        let w = concept.idf * concept.weight;
        for (i, e) in out.iter_mut().enumerate() {
            if in_all[i] {
                e.coverage += w;
            } else {
                e.missing.push(ci);
            }
            if in_key[i] {
                e.key_coverage += w;
            } else {
                e.missing_from_key.push(ci);
            }
        }
    }
    for e in out.iter_mut() {
        e.coverage /= total;
        e.key_coverage /= total;
    }
    Ok(out)
}

/// Documents to look up, grouped by segment, each with the index of the hit it counts for.
type Positions = BTreeMap<u32, Vec<(DocId, usize)>>;

fn present(
    searcher: &Searcher,
    field: Field,
    variants: &[String],
    by_segment: &Positions,
    n: usize,
) -> Result<Vec<bool>, SearchError> {
    let mut out = vec![false; n];
    for (&segment, docs) in by_segment {
        let inverted = searcher.segment_reader(segment).inverted_index(field)?;
        for v in variants {
            let term = Term::from_field_text(field, v);
            let Some(mut postings) = inverted
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(|e| SearchError::io(std::path::Path::new("index"), e))?
            else {
                continue;
            };
            for &(doc, i) in docs {
                // `seek` may only move forward: a list already past `doc` lacks it.
                let current = postings.doc();
                if current == doc || (current < doc && postings.seek(doc) == doc) {
                    out[i] = true;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::corpus::{Corpus, Faq};
    use crate::search::{SearchOptions, build_in_ram, retrieve};
    use crate::text::Lang;
    use crate::text::{Analyzer, Dictionary};

    fn faq(id: &str, question: &str, answer: &str, lang: Lang, same_as: Option<&str>) -> Faq {
        Faq {
            id: id.into(),
            question: question.into(),
            alternatives: Vec::new(),
            answer: answer.into(),
            sources: Vec::new(),
            tags: Vec::new(),
            lang,
            same_as: same_as.map(Into::into),
            declines: false,
            path: "faqs.toml".into(),
            line: 1,
        }
    }

    #[test]
    fn a_word_in_the_other_language_text_of_the_same_faq_counts_as_covered() {
        let corpus = Corpus {
            policies: Vec::new(),
            faqs: vec![
                faq(
                    "zh",
                    "外商独资企业的章程由谁签字？",
                    "章程由全体股东签字。",
                    Lang::Zh,
                    None,
                ),
                faq(
                    "en",
                    "Who signs the articles of association of a WFOE?",
                    "All shareholders sign the articles of association.",
                    Lang::En,
                    Some("zh"),
                ),
                faq(
                    "other",
                    "How long does a WFOE business licence take?",
                    "About three working days.",
                    Lang::En,
                    None,
                ),
            ],
            dictionary: Dictionary::default(),
        };
        let analyzer = Analyzer::new(&corpus.dictionary);
        let generation = build_in_ram(&corpus, &analyzer).unwrap();
        let question = "WFOE 的 articles of association 要谁签字";
        let r = retrieve(
            &generation,
            question,
            Lang::En,
            10,
            &SearchOptions::default(),
        )
        .unwrap();
        let en = r
            .hits
            .iter()
            .find(|h| h.id == "en")
            .expect("the English FAQ is found");
        // 签字 is only in the Chinese text; the English FAQ gives the same answer.
        assert!(en.coverage > 0.99, "coverage {}", en.coverage);
        let other = r.hits.iter().find(|h| h.id == "other");
        assert!(other.is_none_or(|h| h.coverage < 0.6));
    }
}
