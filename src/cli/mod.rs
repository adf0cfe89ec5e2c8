//! Terminal front-ends of the engine: `reindex`, `ask`, `chat`, `eval`. They format; all
//! decisions happen in the library.

pub mod serve;
pub mod staff;
pub mod store_copy;

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

mod eval_report;
pub use eval_report::{Criteria, eval};

use std::io::{BufRead, Write};
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::answer::{Kind, Reply};
use crate::config::Config;
use crate::engine::{self, Engine, EngineError};

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
