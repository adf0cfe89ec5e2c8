//! Opening a built generation for searching, with the tokenizer registered again (tantivy
//! does not store tokenizers in the index).

use std::path::{Path, PathBuf};

use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, ReloadPolicy, TERMINATED, TantivyDocument, Term,
};

use super::Meta;
use super::SearchError;
use super::coverage::KeyTerms;
use super::generation::{BuildSummary, current_generation, read_summary};
use super::schema::KIND_FAQ;
use super::schema::{Fields, fields_of};
use crate::text::{
    Analyzer, BIGRAM_TOKENIZER_NAME, BigramTokenizer, Dictionary, Gazetteer, Homophones,
    JiebaTokenizer, Lang, TOKENIZER_NAME,
};

/// One opened, immutable index generation.
pub struct Generation {
    pub name: String,
    pub dir: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub analyzer: Analyzer,
    pub dictionary: Dictionary,
    /// The places questions and records must agree on (built-in plus the corpus's own).
    pub gazetteer: Gazetteer,
    /// The corpus's Chinese words by sound, built on the first question with a word no
    /// record contains (most questions never need it).
    homophones: std::sync::OnceLock<Homophones>,
    /// Each FAQ's counterparts in the other language (`same_as`), by document, built on
    /// first use (see `twins`).
    twins: std::sync::OnceLock<std::collections::HashMap<DocAddress, Vec<(DocAddress, Lang)>>>,
    /// Each record's key text (`coverage::key_recall`) as its terms with their IDF, by
    /// record id: the same records come back question after question, and cutting and
    /// looking up their titles was a good part of each one's cost.
    pub(super) key_terms: std::sync::Mutex<std::collections::HashMap<String, KeyTerms>>,
    /// Spelling corrections already worked out (`retrieve::spelling_fix`), by word: the
    /// same typos and the same unknown words come back, and an English word costs a few
    /// hundred lookups the first time.
    pub(super) spelling_memo:
        std::sync::Mutex<std::collections::HashMap<String, Option<(String, u64)>>>,
    pub summary: Option<BuildSummary>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("name", &self.name)
            .finish()
    }
}

impl Generation {
    /// Assembles an opened index with what querying it needs.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn assemble(
        name: String,
        dir: PathBuf,
        index: Index,
        reader: IndexReader,
        fields: Fields,
        analyzer: Analyzer,
        dictionary: Dictionary,
        summary: Option<BuildSummary>,
    ) -> Generation {
        let gazetteer = Gazetteer::new(&dictionary.places);
        Generation {
            name,
            dir,
            index,
            reader,
            fields,
            analyzer,
            dictionary,
            gazetteer,
            homophones: Default::default(),
            twins: Default::default(),
            key_terms: Default::default(),
            spelling_memo: Default::default(),
            summary,
        }
    }

    /// The corpus's Chinese words by sound (see `text::Homophones`).
    pub fn homophones(&self) -> &Homophones {
        self.homophones.get_or_init(|| {
            let searcher = self.reader.searcher();
            let mut words: std::collections::HashMap<String, u64> = Default::default();
            for segment in searcher.segment_readers() {
                let Ok(inverted) = segment.inverted_index(self.fields.all) else {
                    continue;
                };
                let Ok(mut stream) = inverted.terms().stream() else {
                    continue;
                };
                while stream.advance() {
                    // Two to four Han characters are 6 to 12 bytes of UTF-8.
                    if !(6..=12).contains(&stream.key().len()) {
                        continue;
                    }
                    if let Ok(word) = std::str::from_utf8(stream.key()) {
                        *words.entry(word.to_string()).or_default() +=
                            u64::from(stream.value().doc_freq);
                    }
                }
            }
            Homophones::new(words)
        })
    }

    /// The documents that give the same answer as `doc` in another language: one FAQ
    /// written in Chinese and in English (`same_as`). What an investor's mixed Chinese and
    /// English question asks may be in either text; both are one answer.
    pub fn twins(&self, doc: DocAddress) -> &[(DocAddress, Lang)] {
        let map = self.twins.get_or_init(|| {
            let searcher = self.reader.searcher();
            let mut groups: std::collections::HashMap<String, Vec<(DocAddress, Lang)>> =
                Default::default();
            for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                let Ok(store) = segment.get_store_reader(1) else {
                    continue;
                };
                // Only FAQs have counterparts: their ids come from the `kind` postings, so
                // a corpus of 150,000 law passages reads no document here.
                let term = Term::from_field_text(self.fields.kind, KIND_FAQ);
                let Some(Ok(Some(mut faqs))) = segment
                    .inverted_index(self.fields.kind)
                    .ok()
                    .map(|i| i.read_postings(&term, IndexRecordOption::Basic))
                else {
                    continue;
                };
                let mut doc_id = faqs.doc();
                while doc_id != TERMINATED {
                    let this = doc_id;
                    doc_id = faqs.advance();
                    if segment.alive_bitset().is_some_and(|a| a.is_deleted(this)) {
                        continue;
                    }
                    let Ok(doc) = store.get::<TantivyDocument>(this) else {
                        continue;
                    };
                    let meta = doc
                        .get_first(self.fields.meta)
                        .and_then(|v| v.as_str())
                        .map(Meta::from_json)
                        .unwrap_or_default();
                    if !meta.group.is_empty() {
                        let lang = Lang::parse(
                            doc.get_first(self.fields.lang)
                                .and_then(|v| v.as_str())
                                .unwrap_or(""),
                        );
                        groups
                            .entry(meta.group)
                            .or_default()
                            .push((DocAddress::new(ord as u32, this), lang));
                    }
                }
            }
            let mut twins = std::collections::HashMap::new();
            for docs in groups.values().filter(|d| d.len() > 1) {
                for &(d, _) in docs {
                    twins.insert(d, docs.iter().copied().filter(|&(o, _)| o != d).collect());
                }
            }
            twins
        });
        map.get(&doc).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Opens whatever `CURRENT` names under `root`; `None` when no generation was built.
    /// `reuse` is an analyzer already loaded with a dictionary: kept when the generation's
    /// dictionary is the same, which saves ~130 ms of jieba start-up per switch.
    pub fn open_current(
        root: &Path,
        reuse: Option<(&Dictionary, &Analyzer)>,
    ) -> Result<Option<Generation>, SearchError> {
        match current_generation(root) {
            None => Ok(None),
            Some((name, dir)) => Generation::open(name, dir, reuse).map(Some),
        }
    }

    pub fn open(
        name: String,
        dir: PathBuf,
        reuse: Option<(&Dictionary, &Analyzer)>,
    ) -> Result<Generation, SearchError> {
        let dictionary = Dictionary::load(&dir.join("dict")).map_err(SearchError::Dictionary)?;
        let analyzer = match reuse {
            Some((d, a)) if *d == dictionary => a.clone(),
            _ => Analyzer::new(&dictionary),
        };
        let index = Index::open_in_dir(&dir)?;
        index
            .tokenizers()
            .register(TOKENIZER_NAME, JiebaTokenizer::new(analyzer.clone()));
        index
            .tokenizers()
            .register(BIGRAM_TOKENIZER_NAME, BigramTokenizer);
        let fields = fields_of(&index.schema())?;
        // The generation never changes once built, so the reader never needs reloading.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let summary = read_summary(&dir);
        Ok(Generation::assemble(
            name, dir, index, reader, fields, analyzer, dictionary, summary,
        ))
    }
}
