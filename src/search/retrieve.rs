//! Retrieval: analyse the question into concepts (with typo corrections, `spelling.rs`),
//! build a `BooleanQuery` of `TermQuery`s in code (user text is never parsed as query
//! syntax), search, re-rank by coverage (`coverage.rs`) and by the names that must agree,
//! and read the best records.

use std::collections::HashSet;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use super::SearchError;
use super::coverage::{Coverage, idf, key_recall, measure_coverage};
use super::meta::Meta;
use super::open::Generation;
use super::retrieval::{Retrieval, focus_of, story_of};
use super::schema::KIND_FAQ;
use super::spelling::spelling_fix;
use crate::text::{Lang, NameConflict, is_single_han};

/// One thing the question asks about: a term, or a synonym group (any variant counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    pub variants: Vec<String>,
    /// Part-of-speech weight (see `Analyzer::term_weights`), times `idf` in coverage.
    pub weight: f32,
    /// A proper name: a hit lacking it is probably about another place or body.
    pub proper: bool,
    /// Documents (records) containing any variant.
    pub df: u64,
    pub idf: f32,
    /// The corpus word this question word was taken for (`spelling_fix`): no record
    /// contains the word as typed.
    pub corrected: Option<String>,
}

/// One retrieved record (a FAQ entry or a policy passage) with its evidence.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: String,
    pub is_faq: bool,
    pub lang: Lang,
    pub title: String,
    pub heading: String,
    pub body: String,
    pub meta: Meta,
    pub score: f32,
    /// IDF-weighted share of the question's concepts found anywhere in the record.
    pub coverage: f32,
    /// The same share counted in the record's key fields only: a FAQ's question and its
    /// alternatives, a passage's title and heading.
    pub key_coverage: f32,
    /// Which concepts (by index in `Retrieval::concepts`) the record lacks...
    pub missing: Vec<usize>,
    /// ...and which its key fields lack.
    pub missing_from_key: Vec<usize>,
    /// The other direction: the IDF-weighted share of the record's own question (a FAQ's
    /// question, a passage's heading) that the investor's words contain. A long question
    /// that first tells the investor's story covers little of itself with any record, but
    /// the record it is really asking still finds nearly all its words in it.
    pub key_recall: f32,
    /// A place or year the question names that the record disagrees on
    /// (`Gazetteer::conflict`): evidence that it is about another city or another year.
    pub conflict: Option<NameConflict>,
    /// The question asks for steps and the record, a FAQ, answers a yes-or-no question
    /// (`text::wrong_kind`).
    pub wrong_kind: bool,
}

impl Hit {
    /// What the record disagrees with the question on, in words, if anything.
    pub fn disagreement(&self) -> Option<String> {
        match (&self.conflict, self.wrong_kind) {
            (Some(c), _) => Some(c.to_string()),
            (None, true) => Some("a yes-or-no answer to a how-to question".to_string()),
            (None, false) => None,
        }
    }

    /// What the record is one of: a policy's passages share its id; a FAQ and its
    /// counterparts in other languages (`same_as`) share one group. Candidates are
    /// counted per answer, so one answer in two languages is not its own runner-up.
    pub fn answer_key(&self) -> &str {
        if self.meta.group.is_empty() {
            &self.id
        } else {
            &self.meta.group
        }
    }
}

/// Field boosts: a match in what a record is *about* (a FAQ's question, a passage's
/// heading) says more than a match somewhere in its text.
/// Tuned on tests/eval (Recall@1 0.82 with 1/1/1/1, 0.85 with these).
const BOOSTS: [(FieldRole, f32); 4] = [
    (FieldRole::Title, 3.0),
    (FieldRole::Alternatives, 3.0),
    (FieldRole::Heading, 1.5),
    (FieldRole::Body, 0.5),
];

#[derive(Clone, Copy)]
enum FieldRole {
    Title,
    Alternatives,
    Heading,
    Body,
}

/// Which evidence ranks records: jieba words, character bigrams, or both (the default;
/// the others exist to measure what each contributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    #[default]
    Both,
    Jieba,
    Bigrams,
}

/// Retrieval settings (`[search]` in the config): per corpus, like the decision thresholds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchOptions {
    pub evidence: Evidence,
    /// Weight of each shared character bigram. 1.5 suits the shipped corpus (Recall@1 0.85
    /// without bigrams, 0.90 with); ncp_policy_qa, long plain-text notices, wants more.
    pub bigram_boost: f32,
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions {
            evidence: Evidence::Both,
            bigram_boost: 1.5,
        }
    }
}

/// A record that disagrees on a place or year the question names ranks below those that
/// do not: of two records about a subsidy, the one about the city asked about comes first.
const CONFLICT_RANK_FACTOR: f32 = 0.7;

/// A record in the other language than the question is still shown, but ranks lower.
const OTHER_LANGUAGE_FACTOR: f32 = 0.8;

pub fn retrieve(
    generation: &Generation,
    question: &str,
    lang: Lang,
    limit: usize,
    options: &SearchOptions,
) -> Result<Retrieval, SearchError> {
    let evidence = options.evidence;
    let searcher = generation.reader.searcher();
    let f = generation.fields;
    let num_docs = searcher.num_docs();
    let concepts = concepts_of(generation, &searcher, question, num_docs)?;
    let focus = focus_of(generation, question, &concepts);
    let story = story_of(generation, question, &concepts);
    let names = generation
        .gazetteer
        .asked(question, crate::text::focus_clause(question));

    let field_of = |role: FieldRole| match role {
        FieldRole::Title => f.title,
        FieldRole::Alternatives => f.alternatives,
        FieldRole::Heading => f.heading,
        FieldRole::Body => f.body,
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let words = if evidence == Evidence::Bigrams {
        &[][..]
    } else {
        &concepts[..]
    };
    for concept in words.iter().filter(|c| c.df > 0) {
        // Single Han characters (税, 地) match almost anything; let them count for less.
        let weight = if concept.variants.iter().all(|v| is_single_han(v)) {
            0.5
        } else {
            1.0
        };
        for variant in &concept.variants {
            for (role, boost) in BOOSTS {
                let field = field_of(role);
                let term = Term::from_field_text(field, variant);
                let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(q), boost * weight)),
                ));
            }
        }
    }
    // Bigram evidence only strengthens a question that has some word-level match; alone it
    // would let any two shared characters pull in a record.
    let any_word_matches = concepts.iter().any(|c| c.df > 0);
    if evidence != Evidence::Jieba && any_word_matches {
        let mut seen = HashSet::new();
        for bg in crate::text::bigrams(question) {
            if !seen.insert(bg.clone()) {
                continue;
            }
            let term = Term::from_field_text(f.bigrams, &bg);
            let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), options.bigram_boost)),
            ));
        }
    }
    if clauses.is_empty() {
        return Ok(Retrieval {
            concepts,
            focus,
            story,
            names,
            hits: Vec::new(),
            num_docs,
        });
    }
    let query = BooleanQuery::new(clauses);
    let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;

    let evidence = measure_coverage(generation, &searcher, &concepts, &top)?;
    // Re-rank by evidence BM25 does not see: a record lacking the question's weightiest
    // words is unlikely to answer it, however often it repeats the others.
    let mut ranked: Vec<(f32, DocAddress, Coverage)> = top
        .iter()
        .zip(evidence)
        .map(|((score, address), e)| (score * (0.5 + e.coverage), *address, e))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Only the best few are read from the document store (the costly part of a search).
    ranked.truncate(LOADED);
    let mut hits = Vec::with_capacity(ranked.len());
    for (score, address, e) in ranked {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let hit_lang = Lang::parse(&text(f.lang));
        let score = if hit_lang == lang {
            score
        } else {
            score * OTHER_LANGUAGE_FACTOR
        };
        hits.push(Hit {
            id: text(f.id),
            is_faq: text(f.kind) == KIND_FAQ,
            lang: hit_lang,
            title: text(f.title),
            heading: text(f.heading),
            body: text(f.body),
            meta: Meta::from_json(&text(f.meta)),
            score,
            coverage: e.coverage,
            key_coverage: e.key_coverage,
            missing: e.missing,
            missing_from_key: e.missing_from_key,
            key_recall: 0.0,
            conflict: None,
            wrong_kind: false,
        });
    }
    let asked: HashSet<&str> = concepts
        .iter()
        .flat_map(|c| c.variants.iter().map(String::as_str))
        .collect();
    for hit in hits.iter_mut() {
        hit.key_recall = key_recall(generation, &searcher, &asked, hit, num_docs)?;
        if hit.is_faq && crate::text::wrong_kind(crate::text::focus_clause(question), &hit.title) {
            hit.wrong_kind = true;
        }
        if !names.is_empty() {
            let record = format!("{}\n{}\n{}", hit.title, hit.heading, hit.body);
            hit.conflict = generation.gazetteer.conflict(&names, &record);
            if hit.conflict.is_some() {
                hit.score *= CONFLICT_RANK_FACTOR;
            }
        }
    }
    // Equal scores (duplicate notices are common) are ordered by id, not by where the
    // index happened to put the records, so every build of one corpus answers alike.
    // "Equal" to a thousandth: summing the same terms in another segment layout changes
    // the last bits of a score.
    let tie_key = |score: f32| (f64::from(score) * 1000.0).round() as i64;
    hits.sort_by(|a, b| {
        tie_key(b.score)
            .cmp(&tie_key(a.score))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(Retrieval {
        concepts,
        focus,
        story,
        names,
        hits,
        num_docs,
    })
}

/// Records read in full after re-ranking: enough for sources, margins and clarify options.
const LOADED: usize = 12;

fn concepts_of(
    generation: &Generation,
    searcher: &Searcher,
    question: &str,
    num_docs: u64,
) -> Result<Vec<Concept>, SearchError> {
    let synonyms = generation.analyzer.synonyms();
    let mut seen_groups = HashSet::new();
    let mut seen_terms = HashSet::new();
    let mut concepts = Vec::new();
    let weights = generation.analyzer.term_weights(question);
    for term in generation.analyzer.distinct_terms(question) {
        let info = weights.get(&term).copied();
        let mut weight = info.map(|i| i.weight).unwrap_or(1.0);
        if crate::text::is_asking_word(&term, |w| generation.analyzer.stem(w)) {
            weight *= crate::text::ASKING_WORD_WEIGHT;
        }
        // jieba tags every English word `eng`; its part of speech comes from word lists.
        if let Some(w) = crate::text::english_weight(&term, |w| generation.analyzer.stem(w)) {
            weight *= w;
        }
        let proper = info.is_some_and(|i| i.proper);
        let mut variants = match synonyms.group_of(&term) {
            Some(g) if seen_groups.insert(g) => synonyms.variants(g).to_vec(),
            Some(_) => continue,
            None => vec![term],
        };
        if !variants.iter().any(|v| seen_terms.insert(v.clone())) {
            continue;
        }
        // The most common variant approximates how many records the group matches.
        let mut df = 0;
        for v in &variants {
            df = df.max(searcher.doc_freq(&Term::from_field_text(generation.fields.all, v))?);
        }
        let mut corrected = None;
        let fix = if df == 0 {
            spelling_fix(generation, searcher, &variants[0])?
        } else {
            None
        };
        if let Some((fix, fix_df)) = fix {
            // "district … districs": the slip of a word the question already asks for adds
            // nothing, and kept as an unknown word it would count as something no record has.
            if !seen_terms.insert(fix.clone()) {
                continue;
            }
            variants.push(fix.clone());
            df = fix_df;
            corrected = Some(fix);
        }
        concepts.push(Concept {
            variants,
            weight,
            proper,
            df,
            idf: idf(df, num_docs),
            corrected,
        });
    }
    Ok(concepts)
}
