//! Speed of the answering core: a whole `ask` on the shipped corpus and on the PRC laws
//! corpus split into articles, tokenizer throughput against bare jieba-rs, re-index time
//! and start-up time. Run with `cargo bench --bench ask`; the laws part needs
//! ../shared/data/cn_laws_corpus beside the repository and is skipped without it.

use std::fs;
use std::hint::black_box;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tempfile::TempDir;
use xiaoer::config::Config;
use xiaoer::engine::Engine;
use xiaoer::text::Analyzer;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn laws_file() -> PathBuf {
    root().join("../shared/data/cn_laws_corpus/laws.jsonl.gz")
}

/// Whether the benchmark filter given on the command line (`cargo bench --bench ask --
/// FILTER`) selects `name`. The figures this file prints itself (percentiles, the laws
/// re-index) are not criterion benchmarks, so criterion's filter does not skip them:
/// this does, so that `-- ask/shipped` does not also spend seconds indexing the laws.
fn selected(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_none_or(|filter| name.contains(&filter))
}

fn engine(corpus: &Path, index: &Path) -> Engine {
    let config = Config {
        corpus: corpus.to_path_buf(),
        index: index.to_path_buf(),
        ..Config::default()
    };
    Engine::open_or_build(config, &mut |_, _| {}).expect("index builds")
}

fn eval_questions() -> Vec<String> {
    xiaoer::eval::load(&root().join("tests/eval"))
        .expect("eval questions")
        .into_iter()
        .map(|q| q.q)
        .collect()
}

/// Writes the laws corpus as policy files (one per law; articles become passages).
fn laws_corpus(dir: &Path) -> Option<usize> {
    let file = fs::File::open(laws_file()).ok()?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let policies = dir.join("policies");
    fs::create_dir_all(&policies).ok()?;
    let mut n = 0;
    for line in reader.lines() {
        let v: serde_json::Value = serde_json::from_str(&line.ok()?).ok()?;
        let id = v["id"].as_str()?;
        let title = v["title"].as_str().unwrap_or(id).replace('"', "'");
        let text = v["text"].as_str()?;
        let body = text.split("<!-- INFO END -->").last().unwrap_or(text);
        if body.trim().is_empty() {
            continue; // a few entries hold only a title
        }
        let front = format!(
            "+++\nid = \"{id}\"\ntitle = \"{}\"\nissued = \"{}\"\nlang = \"zh\"\n+++\n",
            title.replace('\\', ""),
            v["date"].as_str().unwrap_or("")
        );
        fs::write(policies.join(format!("{id}.md")), front + body).ok()?;
        n += 1;
    }
    Some(n)
}

/// Individual latencies, for p50/p99 (criterion reports means of batches).
fn percentiles(engine: &Engine, questions: &[String], label: &str) {
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..3 {
        for q in questions {
            let t = Instant::now();
            black_box(engine.ask(q));
            times.push(t.elapsed());
        }
    }
    times.sort();
    let p = |x: f64| times[((times.len() as f64 * x) as usize).min(times.len() - 1)];
    println!(
        "{label}: {} asks, p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        times.len(),
        p(0.50),
        p(0.90),
        p(0.99),
        times[times.len() - 1]
    );
}

fn bench_shipped(c: &mut Criterion) {
    let dir = TempDir::new().unwrap();
    let index = dir.path().join("index");
    let engine = engine(&root().join("corpus"), &index);
    let questions = eval_questions();
    if selected("ask/shipped") {
        percentiles(&engine, &questions, "ask/shipped");
    }
    let mut i = 0;
    c.bench_function("ask/shipped", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            black_box(engine.ask(&questions[i]))
        })
    });

    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.bench_function("open engine (dictionary + index)", |b| {
        b.iter(|| {
            let config = Config {
                index: index.clone(),
                ..Config::default()
            };
            black_box(Engine::open(config).unwrap())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("reindex");
    g.sample_size(10);
    g.bench_function("shipped corpus", |b| {
        b.iter(|| engine.reindex(&mut |_, _| {}).unwrap())
    });
    g.finish();
}

fn bench_tokenizer(c: &mut Criterion) {
    let corpus = xiaoer::corpus::load(&root().join("corpus")).unwrap();
    let passages: Vec<&str> = corpus
        .policies
        .iter()
        .flat_map(|p| p.passages.iter().map(|x| x.text.as_str()))
        .chain(corpus.faqs.iter().map(|f| f.answer.as_str()))
        .collect();
    let text = passages.join("\n");
    let analyzer = xiaoer::text::Analyzer::new(&corpus.dictionary);
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("bare jieba-rs cut_for_search", |b| {
        b.iter(|| black_box(analyzer.jieba().cut_for_search(&text, true).len()))
    });
    // What indexing runs: tantivy's `PostingsWriter::index_text` hands every term of a
    // boxed token stream to a sink through `TokenStream::process`.
    g.bench_function("xiaoer tokenizer (tantivy TokenStream)", |b| {
        let mut tokenizer = xiaoer::text::JiebaTokenizer::new(analyzer.clone());
        b.iter(|| black_box(tokenize(&mut tokenizer, &text, Pull::Process)))
    });
    g.finish();
    // The two benchmarks above run seconds apart, and this VM's speed drifts between
    // them by more than the difference measured; the ratio comes from pairs instead.
    // Besides the whole text: each passage on its own (as indexing sees them), and the
    // text's Chinese and English parts apart, since the two cost jieba and us
    // differently.
    let chinese: String = text
        .chars()
        .filter(|c| !c.is_ascii_alphanumeric())
        .collect();
    let english: String = text.chars().filter(char::is_ascii).collect();
    let whole = [text.as_str()];
    let (process, advance) = (Pull::Process, Pull::Advance);
    paired(c, &analyzer, "whole text", &whole, process, Expect::Slower);
    let label = "passage by passage";
    paired(c, &analyzer, label, &passages, process, Expect::Slower);
    paired(
        c,
        &analyzer,
        "Chinese part",
        &[&chinese],
        process,
        Expect::Slower,
    );
    paired(
        c,
        &analyzer,
        "English part",
        &[&english],
        process,
        Expect::Faster,
    );
    let label = "whole text, advance()";
    paired(c, &analyzer, label, &whole, advance, Expect::Slower);
}

/// How the tokens are taken from the stream: as tantivy's indexer does, or one
/// `advance()` call at a time, as a query parser or a token filter would.
#[derive(Clone, Copy)]
enum Pull {
    Process,
    Advance,
}

/// Tokenizes `text` and returns the total length of its terms.
fn tokenize(tokenizer: &mut xiaoer::text::JiebaTokenizer, text: &str, pull: Pull) -> usize {
    use tantivy::tokenizer::{TokenStream, Tokenizer};
    let mut stream = tokenizer.token_stream(text);
    let mut n = 0;
    match pull {
        Pull::Process => {
            let boxed: &mut dyn TokenStream = &mut stream;
            boxed.process(&mut |token| n += token.text.len());
        }
        Pull::Advance => {
            while stream.advance() {
                n += stream.token().text.len();
            }
        }
    }
    n
}

/// Which way `paired` measures the difference.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Our tokenizer takes longer: criterion times its extra time.
    Slower,
    /// Our tokenizer is faster (English): criterion times the time it saves.
    Faster,
}

/// Criterion's view of the ratio, robust to the VM's drift: every iteration tokenizes
/// `texts` with bare jieba-rs and then with our tokenizer, and criterion reports the
/// difference per round (with its confidence interval) in the direction `expect` says.
/// A sample whose sign is the other way counts as zero, which would bias the difference
/// up; the ratio printed after, over all rounds (warm-up included), has no such clipping.
fn paired(
    c: &mut Criterion,
    analyzer: &Analyzer,
    label: &str,
    texts: &[&str],
    pull: Pull,
    expect: Expect,
) {
    let faster = expect == Expect::Faster;
    let mut tokenizer = xiaoer::text::JiebaTokenizer::new(analyzer.clone());
    let (mut bare_total, mut ours_total) = (Duration::ZERO, Duration::ZERO);
    let mut g = c.benchmark_group("tokenize/paired");
    g.sample_size(20);
    let id = if faster {
        format!("time xiaoer saves against bare jieba-rs, {label}")
    } else {
        format!("xiaoer's extra time over bare jieba-rs, {label}")
    };
    g.bench_function(id, |b| {
        b.iter_custom(|rounds| {
            let (mut bare, mut ours) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..rounds {
                let started = Instant::now();
                for text in texts {
                    black_box(analyzer.jieba().cut_for_search(text, true).len());
                }
                bare += started.elapsed();
                let started = Instant::now();
                for text in texts {
                    black_box(tokenize(&mut tokenizer, text, pull));
                }
                ours += started.elapsed();
            }
            bare_total += bare;
            ours_total += ours;
            if faster {
                bare.saturating_sub(ours)
            } else {
                ours.saturating_sub(bare)
            }
        })
    });
    g.finish();
    if !bare_total.is_zero() {
        println!(
            "tokenize/paired, {label}, {} KB: xiaoer / bare jieba-rs over all rounds {:+.1}%",
            texts.iter().map(|t| t.len()).sum::<usize>() / 1000,
            (ours_total.as_secs_f64() / bare_total.as_secs_f64() - 1.0) * 100.0
        );
    }
}

fn bench_laws(c: &mut Criterion) {
    if !selected("ask/laws") && !selected("reindex/laws") {
        return;
    }
    let dir = TempDir::new().unwrap();
    let corpus = dir.path().join("corpus");
    let Some(n) = laws_corpus(&corpus) else {
        println!(
            "laws corpus not found at {}; skipped",
            laws_file().display()
        );
        return;
    };
    let started = Instant::now();
    let config = xiaoer::config::Config {
        corpus: corpus.clone(),
        index: dir.path().join("index"),
        ..Default::default()
    };
    let summary = xiaoer::engine::reindex(&config, &mut |_, _| {}).expect("laws corpus indexes");
    println!(
        "reindex/laws: {n} laws, {} passages in {:.1}s",
        summary.passages,
        started.elapsed().as_secs_f64()
    );
    let engine = engine(&corpus, &dir.path().join("index"));
    let mut questions = eval_questions();
    questions.extend(
        [
            "有限责任公司股东认缴出资的期限是多久",
            "劳动合同解除时经济补偿怎么计算",
            "外国人在中国工作需要办理什么许可",
            "企业所得税的税率是多少",
            "个人所得税专项附加扣除有哪些",
            "行政复议的申请期限",
        ]
        .map(String::from),
    );
    percentiles(&engine, &questions, "ask/laws");
    let mut i = 0;
    c.bench_function("ask/laws", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            black_box(engine.ask(&questions[i]))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = bench_shipped, bench_tokenizer, bench_laws
}
criterion_main!(benches);
