//! Index generations: build a new one under `index/<generation>/`, check it, then switch the
//! `CURRENT` pointer atomically. A failed or killed build never touches what is serving.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tantivy::{Index, ReloadPolicy, TantivyDocument, doc};

use super::SearchError;
use super::meta::Meta;
use super::open::Generation;
use super::schema::{self, KIND_FAQ, KIND_PASSAGE};
use crate::corpus::{Corpus, Policy};
use crate::text::{
    Analyzer, BIGRAM_TOKENIZER_NAME, BigramTokenizer, JiebaTokenizer, TOKENIZER_NAME, dict,
};

pub const CURRENT_FILE: &str = "CURRENT";
const BUILDING_SUFFIX: &str = ".building";
const LOCK_FILE: &str = ".reindex.lock";
const SUMMARY_FILE: &str = "summary.json";
/// Generations kept besides the current one, for processes that have not switched yet.
const KEEP_PREVIOUS: usize = 1;
const WRITER_MEMORY: usize = 200_000_000;

/// The text analysis an index's terms were made with. Bump it whenever normalisation or
/// tokenization changes the terms, so that an index built before is rebuilt rather than
/// queried with terms it does not hold. 2: traditional characters fold to simplified.
/// 3: capitals of Armenian, Georgian, Latin Extended Additional (Vietnamese) and Greek
/// Extended are lowercased too.
pub const ANALYSIS_VERSION: u32 = 3;

/// What a build produced; printed by `reindex` and stored beside the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildSummary {
    pub generation: String,
    pub documents: usize,
    pub passages: usize,
    pub faqs: usize,
    pub millis: u128,
    /// `ANALYSIS_VERSION` at build time; builds from before it was recorded read as 1.
    #[serde(default = "first_analysis")]
    pub analysis: u32,
    /// How the decision was calibrated to this corpus (`calibrate`), when it was.
    #[serde(default)]
    pub calibration: Option<String>,
}

fn first_analysis() -> u32 {
    1
}

impl BuildSummary {
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.millis as u64)
    }
}

/// Files (name, bytes) a build adds to its generation besides the index.
pub type ExtraFiles = Vec<(&'static str, Vec<u8>)>;

/// Builds a new generation from `corpus` and makes it current. `progress(done, total)` is
/// called as documents are added. After the index is built, `extra()` makes files that are
/// written into the generation before it is switched to, so they serve together with its
/// index (the corpus's calibrated decision); an error there abandons the build.
pub fn build_and_switch(
    corpus: &Corpus,
    index_root: &Path,
    progress: &mut dyn FnMut(usize, usize),
    extra: &mut dyn FnMut() -> Result<ExtraFiles, SearchError>,
) -> Result<BuildSummary, SearchError> {
    let started = Instant::now();
    fs::create_dir_all(index_root).map_err(|e| SearchError::io(index_root, e))?;
    let lock_path = index_root.join(LOCK_FILE);
    let lock = File::create(&lock_path).map_err(|e| SearchError::io(&lock_path, e))?;
    lock.try_lock().map_err(|_| SearchError::ReindexRunning)?;
    remove_stale_builds(index_root);

    let name = new_generation_name(index_root);
    let building = index_root.join(format!("{name}{BUILDING_SUFFIX}"));
    fs::create_dir_all(&building).map_err(|e| SearchError::io(&building, e))?;
    let result = build_into(corpus, &building, &name, progress, started).and_then(|s| {
        for (file, bytes) in extra()? {
            write_synced(&building.join(file), &bytes)?;
        }
        Ok(s)
    });
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    let final_dir = index_root.join(&name);
    fs::rename(&building, &final_dir).map_err(|e| SearchError::io(&final_dir, e))?;
    sync_dir(index_root);
    switch_current(index_root, &name)?;
    remove_old_generations(index_root, &name);
    drop(lock);
    Ok(summary)
}

fn build_into(
    corpus: &Corpus,
    dir: &Path,
    name: &str,
    progress: &mut dyn FnMut(usize, usize),
    started: Instant,
) -> Result<BuildSummary, SearchError> {
    // The dictionary travels with the index: querying must analyse text exactly as
    // indexing did, even after an admin edits corpus/dict/.
    let dict_dir = dir.join("dict");
    fs::create_dir_all(&dict_dir).map_err(|e| SearchError::io(&dict_dir, e))?;
    write_dictionary(corpus, &dict_dir)?;

    let analyzer = Analyzer::new(&corpus.dictionary);
    let (schema, f) = schema::build();
    let index = Index::create_in_dir(dir, schema)?;
    let total = write_records(&index, &analyzer, f, corpus, progress)?;

    let summary = BuildSummary {
        generation: name.to_string(),
        documents: corpus.policies.len(),
        passages: corpus.passage_count(),
        faqs: corpus.faqs.len(),
        millis: started.elapsed().as_millis(),
        analysis: ANALYSIS_VERSION,
        calibration: None,
    };
    verify(&index, total)?;
    let summary_path = dir.join(SUMMARY_FILE);
    write_synced(
        &summary_path,
        serde_json::to_string_pretty(&summary)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(summary)
}

/// Adds every FAQ and passage of `corpus` to `index` and commits; returns how many.
fn write_records(
    index: &Index,
    analyzer: &Analyzer,
    f: schema::Fields,
    corpus: &Corpus,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<usize, SearchError> {
    index
        .tokenizers()
        .register(TOKENIZER_NAME, JiebaTokenizer::new(analyzer.clone()));
    index
        .tokenizers()
        .register(BIGRAM_TOKENIZER_NAME, BigramTokenizer);
    let mut writer = index.writer::<TantivyDocument>(WRITER_MEMORY)?;

    let total = corpus.faqs.len() + corpus.passage_count();
    let mut done = 0;
    for faq in &corpus.faqs {
        let cited: Vec<&Policy> = faq
            .sources
            .iter()
            .filter_map(|id| corpus.policy(id))
            .collect();
        let meta = Meta::for_faq(faq, &cited);
        let alternatives = faq.alternatives.join("\n");
        let all = [
            faq.question.as_str(),
            &alternatives,
            &faq.answer,
            &faq.tags.join(" "),
        ]
        .join("\n");
        writer.add_document(doc!(
            f.id => faq.id.as_str(),
            f.kind => KIND_FAQ,
            f.lang => faq.lang.as_str(),
            f.title => faq.question.as_str(),
            f.heading => "",
            f.alternatives => alternatives,
            f.body => faq.answer.as_str(),
            f.bigrams => format!("{q}\n{a}\n{q}\n{a}\n{}", faq.answer, q = faq.question, a = alternatives),
            f.all => all,
            f.meta => meta.to_json(),
        ))?;
        done += 1;
        if done % 512 == 0 {
            progress(done, total);
        }
    }
    for policy in &corpus.policies {
        for (i, passage) in policy.passages.iter().enumerate() {
            let meta = Meta::for_passage(policy, i);
            let all = [
                policy.title.as_str(),
                &passage.heading,
                &passage.text,
                &policy.issuer,
                &policy.doc_no,
                &policy.region,
            ]
            .join("\n");
            writer.add_document(doc!(
                f.id => policy.id.as_str(),
                f.kind => KIND_PASSAGE,
                f.lang => policy.lang.as_str(),
                f.title => policy.title.as_str(),
                f.heading => passage.heading.as_str(),
                f.alternatives => "",
                f.body => passage.text.as_str(),
                f.bigrams => format!("{}\n{}\n{}", policy.title, passage.heading, passage.text),
                f.all => all,
                f.meta => meta.to_json(),
            ))?;
            done += 1;
            if done % 512 == 0 {
                progress(done, total);
            }
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    progress(total, total);
    Ok(total)
}

/// An index of `corpus` held in memory, for questions asked of a corpus that is never
/// served (calibration's corpora with records left out).
pub fn build_in_ram(corpus: &Corpus, analyzer: &Analyzer) -> Result<Generation, SearchError> {
    let (schema, fields) = schema::build();
    let index = Index::create_in_ram(schema);
    write_records(&index, analyzer, fields, corpus, &mut |_, _| {})?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(Generation::assemble(
        "in-ram".to_string(),
        PathBuf::new(),
        index,
        reader,
        fields,
        analyzer.clone(),
        corpus.dictionary.clone(),
        None,
    ))
}

/// A new generation must hold every record before it may serve.
fn verify(index: &Index, expected: usize) -> Result<(), SearchError> {
    let reader = index.reader()?;
    let found = reader.searcher().num_docs() as usize;
    if found != expected {
        return Err(SearchError::Verify(format!(
            "built index holds {found} records, expected {expected}"
        )));
    }
    Ok(())
}

fn write_dictionary(corpus: &Corpus, dir: &Path) -> Result<(), SearchError> {
    let mut words = String::new();
    for w in &corpus.dictionary.words {
        words.push_str(&w.word);
        if let Some(f) = w.freq {
            words.push_str(&format!(" {f}"));
            if let Some(t) = &w.tag {
                words.push_str(&format!(" {t}"));
            }
        }
        words.push('\n');
    }
    let synonyms: String = corpus
        .dictionary
        .synonym_groups
        .iter()
        .map(|g| g.join(" = ") + "\n")
        .collect();
    write_synced(&dir.join(dict::USER_DICT_FILE), words.as_bytes())?;
    write_synced(&dir.join(dict::SYNONYMS_FILE), synonyms.as_bytes())?;
    let places = corpus.dictionary.places.to_text();
    write_synced(&dir.join(crate::text::PLACES_FILE), places.as_bytes())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SearchError> {
    let mut f = File::create(path).map_err(|e| SearchError::io(path, e))?;
    f.write_all(bytes).map_err(|e| SearchError::io(path, e))?;
    f.sync_all().map_err(|e| SearchError::io(path, e))
}

/// Points `CURRENT` at `name`: write a temporary file, sync it, rename it over the old
/// pointer (atomic on POSIX), sync the directory.
fn switch_current(root: &Path, name: &str) -> Result<(), SearchError> {
    let tmp = root.join(format!("{CURRENT_FILE}.tmp"));
    write_synced(&tmp, format!("{name}\n").as_bytes())?;
    let current = root.join(CURRENT_FILE);
    fs::rename(&tmp, &current).map_err(|e| SearchError::io(&current, e))?;
    sync_dir(root);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The generation `CURRENT` names, if it names a usable directory.
pub fn current_generation(root: &Path) -> Option<(String, PathBuf)> {
    let name = fs::read_to_string(root.join(CURRENT_FILE)).ok()?;
    let name = name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    let dir = root.join(name);
    dir.join("meta.json")
        .is_file()
        .then(|| (name.to_string(), dir))
}

pub fn read_summary(dir: &Path) -> Option<BuildSummary> {
    serde_json::from_slice(&fs::read(dir.join(SUMMARY_FILE)).ok()?).ok()
}

fn new_generation_name(root: &Path) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut n = 0;
    loop {
        let name = format!("gen-{millis:014}-{n}");
        if !root.join(&name).exists() && !root.join(format!("{name}{BUILDING_SUFFIX}")).exists() {
            return name;
        }
        n += 1;
    }
}

fn generation_dirs(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    names.sort();
    names
}

/// Builds left behind by a crash or kill; safe to remove while we hold the reindex lock.
fn remove_stale_builds(root: &Path) {
    for name in generation_dirs(root) {
        if name.ends_with(BUILDING_SUFFIX) {
            let _ = fs::remove_dir_all(root.join(name));
        }
    }
}

fn remove_old_generations(root: &Path, current: &str) {
    let older: Vec<String> = generation_dirs(root)
        .into_iter()
        .filter(|n| !n.ends_with(BUILDING_SUFFIX) && n.as_str() < current)
        .collect();
    let remove = older.len().saturating_sub(KEEP_PREVIOUS);
    for name in &older[..remove] {
        let _ = fs::remove_dir_all(root.join(name));
    }
}
