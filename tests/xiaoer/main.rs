//! Integration tests: the shipped corpus, the command line, re-indexing, and quality
//! targets. One test binary; small helpers at the top.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

mod browser;
mod calibration;
mod cli;
mod crash;
mod desk_contract;
mod desk_flow;
mod flood;
mod full_disk;
mod instances;
mod properties;
mod quality;
mod reindex;
mod shared_database;
mod store_contract;
mod store_copy;
mod stores;
mod telegram;
mod telegram_fake;
mod web;
mod web_accounts;
mod web_limits;
mod web_staff;
mod wechat;
mod wechat_crash;
mod wechat_fake;
mod wechat_serve;
mod wecom;
mod wecom_fake;
mod wecom_robot;
pub use stores::{Backend, Scratch, TestDatabase, admin_sql, desk_on, store_on};
use xiaoer::answer::Kind;
use xiaoer::config::Config;
use xiaoer::engine::Engine;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shipped_corpus() -> PathBuf {
    root().join("corpus")
}

pub fn tiny_corpus() -> PathBuf {
    root().join("tests/fixtures/tiny")
}

/// An engine over `corpus` with its index in a fresh temporary directory.
pub fn engine_for(corpus: &Path) -> (TempDir, Engine) {
    let dir = TempDir::new().unwrap();
    let engine = engine_in(corpus, &dir.path().join("index"));
    (dir, engine)
}

/// An engine over `corpus` with its index built in `index`.
pub fn engine_in(corpus: &Path, index: &Path) -> Engine {
    let config = Config {
        corpus: corpus.to_path_buf(),
        index: index.to_path_buf(),
        ..Config::default()
    };
    Engine::open_or_build(config, &mut |_, _| {}).expect("index builds")
}

/// A copy of the tiny corpus that a test may edit: (its temporary directory, the corpus).
pub fn editable_tiny_corpus() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let corpus = dir.path().join("corpus");
    copy_dir(&tiny_corpus(), &corpus);
    (dir, corpus)
}

/// The keys of a reply as `ask --json` and the web chat give it: other tools read them.
pub const REPLY_KEYS: [&str; 7] = [
    "question",
    "kind",
    "text",
    "confidence",
    "reason",
    "sources",
    "options",
];

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// server running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET `url` with a bearer token from a running `serve`, as JSON.
pub async fn get_json(url: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn xiaoer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xiaoer"))
}

/// Runs `xiaoer` with `stdin`, returning (success, stdout, stderr).
pub fn run(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = xiaoer()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `xiaoer --corpus CORPUS --index INDEX ARGS...` with `stdin`.
pub fn run_on(corpus: &Path, index: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut all = vec![
        "--corpus",
        corpus.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all, stdin)
}

/// A desk over `corpus` with its store and index in a fresh temporary directory, open
/// around the clock (tests of office hours set their own).
pub fn desk_for(corpus: &Path) -> (TempDir, std::sync::Arc<xiaoer::desk::Desk>) {
    let (scratch, desk) = desk_on(Backend::Sled, corpus);
    (scratch.dir, desk)
}

pub fn always_open() -> xiaoer::desk::DeskConfig {
    xiaoer::desk::DeskConfig {
        office_hours: xiaoer::desk::OfficeHours {
            days: vec![1, 2, 3, 4, 5, 6, 7],
            open: "00:00".into(),
            close: "23:59".into(),
            utc_offset_hours: 0,
        },
        ..Default::default()
    }
}

// ---- the decision ----

#[test]
fn answers_a_faq_word_for_word_with_its_source() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    let reply = engine.ask("高新技术企业的企业所得税税率是多少？");
    assert_eq!(reply.kind, Kind::Answer, "{reply:#?}");
    let corpus = xiaoer::corpus::load(&shipped_corpus()).unwrap();
    let faq = corpus
        .faqs
        .iter()
        .find(|f| f.id == reply.sources[0].id)
        .expect("a FAQ");
    assert_eq!(reply.text, faq.answer);
    assert!(reply.text.contains("15%"));
    assert!(reply.sources[0].in_force);
    assert!(!reply.sources[0].title.is_empty());
}

#[test]
fn english_question_gets_an_english_reply() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    let reply = engine.ask("What is the HNTE corporate income tax rate?");
    assert_eq!(reply.kind, Kind::Answer, "{reply:#?}");
    assert!(
        reply.sources[0].id.starts_with("faq-en-"),
        "{:?}",
        reply.sources[0].id
    );
    let handoff = engine.ask("Who will win the football world cup?");
    assert_eq!(handoff.kind, Kind::Handoff);
    assert!(handoff.text.contains("commissioner"), "{}", handoff.text);
}

#[test]
fn traditional_chinese_questions_get_the_answers_simplified_ones_do() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    // Our own evaluation questions as an investor from Taiwan or Hong Kong would type them.
    for (traditional, simplified) in [
        (
            "現在規範外商投資的基本法律是哪部，哪天開始實施的",
            "现在规范外商投资的基本法律是哪部，哪天开始实施的",
        ),
        (
            "BVI公司持股，背後老闆是外國人，這種算不算外資企業啊",
            "BVI公司持股，背后老板是外国人，这种算不算外资企业啊",
        ),
        (
            "申報專精特新對營收和研發投入具體要多少",
            "申报专精特新对营收和研发投入具体要多少",
        ),
        (
            "我們打算收購一家無錫本地企業70%股權，除了工商變更還要過什麼審查",
            "我们打算收购一家无锡本地企业70%股权，除了工商变更还要过什么审查",
        ),
        (
            "享受了15%稅率以後，研發加計那塊是不是就不能再用了",
            "享受了15%税率以后，研发加计那块是不是就不能再用了",
        ),
        (
            "從零開始在無錫搞個WFOE，流程大概一步步怎麼走",
            "从零开始在无锡搞个WFOE，流程大概一步步怎么走",
        ),
        (
            "我們的德國工程師工資能匯回德國嗎",
            "我们的德国工程师工资能汇回德国吗",
        ),
        (
            "租樓上廠房要查哪些參數，怕設備太重樓板撐不住",
            "租楼上厂房要查哪些参数，怕设备太重楼板撑不住",
        ),
        (
            "拿地後資金沒到位晚開工一年，地會不會被政府收回去",
            "拿地后资金没到位晚开工一年，地会不会被政府收回去",
        ),
        (
            "德資企業比如博世西門子在無錫集中在哪個區",
            "德资企业比如博世西门子在无锡集中在哪个区",
        ),
        ("外國人來華工作許可怎麼辦理", "外国人来华工作许可怎么办理"),
        (
            "高新技術企業的所得稅稅率是多少",
            "高新技术企业的所得税税率是多少",
        ),
    ] {
        let t = engine.ask(traditional);
        let s = engine.ask(simplified);
        assert_eq!(
            (t.kind, t.sources.first().map(|x| &x.id)),
            (s.kind, s.sources.first().map(|x| &x.id)),
            "{traditional}"
        );
        assert_eq!(t.text, s.text, "{traditional}");
    }
    let person = engine.ask("我要轉人工");
    assert_eq!(person.reason.as_deref(), Some("asked_for_person"));

    // And the other way round: a corpus written in traditional characters answers a
    // question typed in simplified ones.
    let (_dir, corpus) = editable_tiny_corpus();
    fs::write(
        corpus.join("faqs/traditional.toml"),
        r#"[[faq]]
id = "tiny-faq-licence-lost"
question = "營業執照遺失了怎麼補辦？"
alternatives = ["營業執照丟了如何補領"]
answer = "向登記機關申請補領營業執照（測試答案）。"
sources = ["tiny-tax"]
lang = "zh"
"#,
    )
    .unwrap();
    let (_index, engine) = engine_for(&corpus);
    let reply = engine.ask("营业执照遗失了怎么补办");
    assert_eq!(reply.kind, Kind::Answer, "{reply:#?}");
    assert_eq!(reply.sources[0].id, "tiny-faq-licence-lost");
    assert!(
        reply.text.contains("營業執照"),
        "quoted as written: {}",
        reply.text
    );
}

#[test]
fn out_of_scope_questions_are_handed_off_with_what_was_found() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    for q in [
        "明天无锡会下雨吗",
        "苏州工业园区的人才补贴是多少",
        "房东不退押金怎么办",
    ] {
        let reply = engine.ask(q);
        assert_eq!(reply.kind, Kind::Handoff, "{q}: {reply:#?}");
        assert!(reply.reason.is_some());
        assert!(reply.confidence < engine.thresholds().answer);
    }
}

#[test]
fn asking_for_a_person_hands_off_at_once() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    for q in ["转人工", "我要找专员", "talk to a human please"] {
        let reply = engine.ask(q);
        assert_eq!(reply.kind, Kind::Handoff, "{q}");
        assert_eq!(reply.reason.as_deref(), Some("asked_for_person"));
    }
    // A question *about* commissioners is answered, not escalated.
    let about = engine.ask("招商护商专员是做什么的？");
    assert_ne!(about.reason.as_deref(), Some("asked_for_person"));
}

#[test]
fn greetings_thanks_and_empty_input_get_canned_replies() {
    let (_dir, engine) = engine_for(&tiny_corpus());
    for (q, reason) in [
        ("你好", "greeting"),
        ("谢谢！", "thanks"),
        ("", "empty"),
        ("🙂", "empty"),
        ("hello", "greeting"),
    ] {
        let reply = engine.ask(q);
        assert_eq!(reply.reason.as_deref(), Some(reason), "{q:?}");
        assert!(reply.sources.is_empty());
    }
    assert!(engine.ask("hello").text.starts_with("Hello"));
}

#[test]
fn close_calls_are_clarified_with_options() {
    let (_dir, engine) = engine_for(&tiny_corpus());
    let reply = engine.ask("人才公寓租金补贴");
    assert_eq!(reply.kind, Kind::Clarify, "{reply:#?}");
    let ids: Vec<&str> = reply.options.iter().map(|o| o.id.as_str()).collect();
    assert!((2..=4).contains(&ids.len()));
    assert!(
        ids.contains(&"tiny-faq-rent-a") && ids.contains(&"tiny-faq-rent-b"),
        "{ids:?}"
    );
}

#[test]
fn expired_policies_are_never_cited_as_in_force() {
    let (_dir, engine) = engine_for(&tiny_corpus());
    let reply = engine.ask("新建公共停车场每个泊位补贴多少");
    assert_eq!(reply.kind, Kind::Handoff, "{reply:#?}");
    assert_eq!(reply.reason.as_deref(), Some("expired_only"));
    let src = reply
        .sources
        .iter()
        .find(|s| s.id == "tiny-expired")
        .expect("found it");
    assert!(!src.in_force);
}

#[test]
fn policy_passages_are_quoted_with_their_citation() {
    let (_dir, engine) = engine_for(&tiny_corpus());
    let reply = engine.ask("小型微利企业应纳税所得额不超过三百万元的部分实际税负");
    assert_eq!(reply.kind, Kind::Answer, "{reply:#?}");
    assert_eq!(reply.sources[0].id, "tiny-tax");
    assert_eq!(reply.sources[0].doc_no, "测试〔2024〕1号");
    assert!(reply.text.contains("《测试税收办法》"), "{}", reply.text);
    assert!(reply.text.contains("三百万元"));
}

#[test]
fn query_syntax_and_hostile_input_never_fail() {
    let (_dir, engine) = engine_for(&shipped_corpus());
    let huge = "税".repeat(200_000);
    let inputs = [
        "\"",
        ":",
        "AND",
        "*",
        "(",
        ")",
        "高企 AND 税率",
        "title:高企",
        "税率^3",
        "\"高企\" OR (外资 AND",
        "+-!~[]{}\\/",
        "a\u{0}b\u{7}c",
        "\u{202E}反转",
        "🚀🚀🚀 高企？？？",
        "NOT",
        "*:*",
        "||&&",
        &huge,
        "SELECT * FROM users;--",
        "<script>alert(1)</script>",
    ];
    for q in inputs {
        let reply = engine.ask(q);
        assert!((0.0..=1.0).contains(&reply.confidence), "{q:?}");
        assert!(!reply.text.is_empty(), "{q:?}");
        let json = serde_json::to_string(&reply).unwrap();
        assert!(json.len() < 200_000, "reply echoes a huge question");
    }
    assert_eq!(engine.ask(&huge).reason.as_deref(), Some("too_long"));
}
