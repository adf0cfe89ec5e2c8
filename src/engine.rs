//! The answering engine: the current index generation plus the decision. It follows
//! `index/CURRENT`, so a re-index by any process switches it over without a restart.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::answer::{self, Decision, HandoffReason, Kind, Reply, Thresholds};
use crate::calibrate::{self, CALIBRATION_FILE, Calibration, CorpusDecision};
use crate::config::Config;
use crate::corpus;
use crate::error::SourceError;
use crate::search::{self, BuildSummary, Generation, Retrieval, SearchError, SearchOptions};
use crate::text::{Lang, detect_lang};

/// How often `ask` looks at `CURRENT` for a new generation.
const RELOAD_CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{}", format_corpus_errors(.0))]
    Corpus(Vec<SourceError>),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("no index in {0}: run `xiaoer reindex` first")]
    NoIndex(String),
}

fn format_corpus_errors(errors: &[SourceError]) -> String {
    let mut s = format!("corpus has {} error(s):", errors.len());
    for e in errors {
        s.push_str(&format!("\n  {e}"));
    }
    s
}

pub struct Engine {
    config: Config,
    current: RwLock<Serving>,
    last_check: Mutex<Instant>,
}

/// The generation serving and the decision it is answered with; switched together.
#[derive(Clone)]
struct Serving {
    generation: Arc<Generation>,
    thresholds: Thresholds,
    search: SearchOptions,
    calibrated: bool,
}

impl Serving {
    /// `[decision]` from the config when it has one, else the generation's calibration,
    /// else the built-in defaults.
    fn new(config: &Config, g: Generation) -> Serving {
        let calibration = Calibration::read(&g.dir);
        Serving {
            search: config
                .search
                .or(calibration.as_ref().map(|c| c.search))
                .unwrap_or_default(),
            thresholds: config
                .decision
                .or(calibration.as_ref().map(|c| c.thresholds))
                .unwrap_or_default(),
            calibrated: config.decision.is_none() && calibration.is_some(),
            generation: Arc::new(g),
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("generation", &self.generation().name)
            .finish()
    }
}

impl Engine {
    /// Opens the current generation; fails when none has been built.
    pub fn open(config: Config) -> Result<Engine, EngineError> {
        match Generation::open_current(&config.index, None)? {
            Some(g) => Ok(Engine::with_generation(config, g)),
            None => Err(EngineError::NoIndex(config.index.display().to_string())),
        }
    }

    /// Opens the current generation, building one from the corpus first when there is none
    /// (what `ask`, `chat` and `serve` do on a fresh machine) or when it was made by an
    /// older text analysis (after an upgrade).
    pub fn open_or_build(
        config: Config,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Engine, EngineError> {
        match search::current_generation(&config.index) {
            None => {
                reindex(&config, progress)?;
            }
            Some((name, dir)) => {
                let built_with = search::read_summary(&dir).map_or(1, |s| s.analysis);
                if built_with != search::ANALYSIS_VERSION {
                    // Its terms were made by another analysis: rebuild. Should the corpus
                    // not build now, the old generation serves, as after any failed build.
                    tracing::info!(generation = %name, built_with, "index made by an older text analysis; re-indexing");
                    if let Err(e) = reindex(&config, progress) {
                        tracing::warn!(error = %e, "re-index failed; serving the older index");
                    }
                }
            }
        }
        Engine::open(config)
    }

    fn with_generation(config: Config, g: Generation) -> Engine {
        Engine {
            current: RwLock::new(Serving::new(&config, g)),
            config,
            last_check: Mutex::new(Instant::now()),
        }
    }

    fn serving(&self) -> Serving {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The decision thresholds and weights questions are answered with now.
    pub fn thresholds(&self) -> Thresholds {
        self.serving().thresholds
    }

    /// Whether they come from the serving generation's calibration.
    pub fn calibrated(&self) -> bool {
        self.serving().calibrated
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn generation(&self) -> Arc<Generation> {
        self.serving().generation
    }

    /// Re-reads the corpus, builds a new generation and switches to it. On any error the
    /// old generation keeps serving.
    pub fn reindex(
        &self,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<BuildSummary, EngineError> {
        let summary = reindex(&self.config, progress)?;
        self.reload()?;
        Ok(summary)
    }

    /// Switches to the generation `CURRENT` names if it is not the one serving.
    pub fn reload(&self) -> Result<bool, EngineError> {
        let Some((name, dir)) = search::current_generation(&self.config.index) else {
            return Ok(false);
        };
        let old = self.generation();
        if old.name == name {
            return Ok(false);
        }
        let g = Generation::open(name, dir, Some((&old.dictionary, &old.analyzer)))?;
        tracing::info!(generation = %g.name, "switched to new index generation");
        let serving = Serving::new(&self.config, g);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = serving;
        Ok(true)
    }

    fn maybe_reload(&self) {
        {
            let mut last = self.last_check.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < RELOAD_CHECK_EVERY {
                return;
            }
            *last = Instant::now();
        }
        if let Err(e) = self.reload() {
            tracing::warn!(error = %e, "new index generation could not be opened; still serving the old one");
        }
    }

    /// Retrieval only (for `eval`, which replays decisions across thresholds).
    pub fn retrieve(&self, question: &str) -> Result<(Lang, Retrieval), EngineError> {
        let lang = detect_lang(question);
        Ok((lang, self.retrieve_in(question, lang)?))
    }

    fn retrieve_in(&self, question: &str, lang: Lang) -> Result<Retrieval, EngineError> {
        self.maybe_reload();
        let g = self.generation();
        Ok(search::retrieve(
            &g,
            question,
            lang,
            search::RETRIEVE_LIMIT,
            &self.serving().search,
        )?)
    }

    /// Answers one question. Never fails: an internal error becomes a hand-off.
    pub fn ask(&self, question: &str) -> Reply {
        self.ask_on(question, today())
    }

    pub fn ask_on(&self, question: &str, today: NaiveDate) -> Reply {
        let lang = detect_lang(question);
        if let Some(kind) = answer::classify_smalltalk(question) {
            return answer::reply::smalltalk(question, kind, lang);
        }
        if question.chars().count() > self.config.max_question_chars {
            return too_long(question, lang, self.config.max_question_chars);
        }
        let retrieval = match self.retrieve_in(question, lang) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "search failed; handing off");
                Retrieval::default()
            }
        };
        let decision = if answer::wants_person(question) {
            Decision::Handoff {
                reason: HandoffReason::AskedForPerson,
                confidence: 1.0,
            }
        } else {
            answer::decide(&retrieval, &self.thresholds(), today)
        };
        answer::compose(question, lang, &retrieval, &decision, today)
    }
}

fn too_long(question: &str, lang: Lang, max: usize) -> Reply {
    let text = match lang {
        Lang::Zh => format!(
            "您的消息过长（超过 {max} 字）。请把问题精简为一两句话再发送，或发送“转人工”联系专员。"
        ),
        Lang::En => format!(
            "Your message is too long (over {max} characters). Please shorten it to one or two sentences, or send \"human\" to reach a commissioner."
        ),
    };
    Reply {
        question: question.chars().take(200).collect(),
        kind: Kind::Clarify,
        text,
        confidence: 0.0,
        reason: Some("too_long".to_string()),
        sources: Vec::new(),
        options: Vec::new(),
    }
}

pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Parses the corpus, calibrates the decision to it (see `calibrate`) unless the config or
/// the corpus's `decision.toml` gives one, and builds a new generation holding both;
/// nothing switches on error.
pub fn reindex(
    config: &Config,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BuildSummary, EngineError> {
    let corpus = corpus::load(&config.corpus).map_err(EngineError::Corpus)?;
    let own = CorpusDecision::read(&config.corpus).map_err(|e| EngineError::Corpus(vec![e]))?;
    // The corpus's own decision needs no calibration (nor does the config's, which would
    // override it anyway). Calibrating runs after the index is built, inside the build: a
    // kill meanwhile leaves only a `.building` directory, removed by the next build.
    let mut calibration: Option<Calibration> = None;
    let mut decide = || -> Result<search::ExtraFiles, SearchError> {
        calibration = if config.decision.is_some() {
            None
        } else if let Some(own) = own.calibration() {
            Some(own)
        } else {
            calibrate::calibrate(&corpus, config.search.or(own.search), today())?
        };
        Ok(calibration
            .iter()
            .map(|c| (CALIBRATION_FILE, c.to_json()))
            .collect())
    };
    let mut summary = search::build_and_switch(&corpus, &config.index, progress, &mut decide)?;
    summary.calibration = calibration.map(|c| c.describe());
    Ok(summary)
}
