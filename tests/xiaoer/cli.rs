//! The command line as an admin or a tool uses it: `ask --json` lines, `chat`, `reindex`, `import`.

use std::fs;
use std::path::Path;

use tempfile::TempDir;

use super::*;

/// `xiaoer ask --json -` on the shipped corpus (index in `dir`): one JSON value per line.
fn ask_json(dir: &Path, stdin: &str) -> Vec<serde_json::Value> {
    let index = dir.join("index");
    let corpus = shipped_corpus();
    let (ok, out, err) = run(
        &[
            "--corpus",
            corpus.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "ask",
            "--json",
            "-",
        ],
        stdin,
    );
    assert!(ok, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ask_json_lines_keep_their_shape() {
    let dir = TempDir::new().unwrap();
    let index = dir.path().join("index");
    let lines = ask_json(
        dir.path(),
        "高企税率是多少\n明天天气怎么样\n转人工\n\"AND:*(\n",
    );
    assert_eq!(lines.len(), 4);
    for v in &lines {
        for key in REPLY_KEYS {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        let c = v["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        for s in v["sources"].as_array().unwrap() {
            for key in [
                "id", "passage", "title", "issuer", "doc_no", "issued", "url", "in_force", "score",
            ] {
                assert!(s.get(key).is_some(), "missing source.{key}");
            }
        }
    }
    assert_eq!(lines[0]["kind"], "answer");
    assert_eq!(lines[1]["kind"], "handoff");
    assert!(
        !lines[1]["sources"].as_array().unwrap().is_empty() || lines[1]["reason"] == "no_match"
    );
    assert_eq!(lines[2]["reason"], "asked_for_person");
    // The index was built on first use.
    assert!(index.join("CURRENT").is_file());
}

#[test]
fn chat_holds_a_conversation_in_the_terminal() {
    let dir = TempDir::new().unwrap();
    let index = dir.path().join("index");
    let tiny = tiny_corpus();
    let (ok, out, err) = run_on(
        &tiny,
        &index,
        &["chat"],
        "你好\n人才公寓租金补贴\n1\n转人工\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("您好"), "{out}");
    assert!(out.contains("[clarify"), "{out}");
    assert!(
        out.contains("测试答案"),
        "choosing option 1 answers it: {out}"
    );
    assert!(out.contains("asked_for_person"), "{out}");
}

#[test]
fn reindex_prints_a_summary() {
    let dir = TempDir::new().unwrap();
    let index = dir.path().join("index");
    let tiny = tiny_corpus();
    let (ok, out, err) = run_on(&tiny, &index, &["reindex"], "");
    assert!(ok, "{err}");
    assert!(out.contains("2 documents, 3 passages, 3 FAQs"), "{out}");
}

#[test]
fn import_brings_office_files_into_a_working_corpus() {
    let dir = TempDir::new().unwrap();
    let csv = dir.path().join("office-faq.csv");
    fs::write(&csv, "id,question,alternatives,answer,tags\nwx-1,停车位怎么申请,停车证|车位申请,到园区物业申请停车证。,园区\n").unwrap();
    let txt = dir.path().join("rent-notice.txt");
    fs::write(
        &txt,
        "关于减免园区租金的通知\n一、对入驻企业减免三个月租金。\n二、申请截止时间为年底。\n",
    )
    .unwrap();
    let jsonl = dir.path().join("docs.jsonl");
    fs::write(&jsonl, "{\"docid\": \"d42\", \"text\": \"关于延期缴纳社保的通知\\n企业可以申请延期缴纳社会保险费。\"}\n").unwrap();
    let corpus = dir.path().join("corpus");
    let (ok, out, err) = run(
        &[
            "import",
            csv.to_str().unwrap(),
            txt.to_str().unwrap(),
            jsonl.to_str().unwrap(),
            "--into",
            corpus.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("2 policy documents and 1 FAQs"), "{out}");
    let (_idx, engine) = engine_for(&corpus);
    assert_eq!(engine.ask("停车证怎么申请").sources[0].id, "wx-1");
    assert_eq!(engine.ask("社保能延期缴纳吗").sources[0].id, "d42");
}

#[test]
fn eval_fit_prints_weights_that_reproduce_its_separation() {
    let dir = TempDir::new().unwrap();
    let index = dir.path().join("index");
    let corpus = shipped_corpus();
    let eval_dir = root().join("tests/eval");
    let base = [
        "--corpus",
        corpus.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
    ];
    let (ok, out, err) = run(
        &[&base[..], &["eval", "--fit", eval_dir.to_str().unwrap()]].concat(),
        "",
    );
    assert!(ok, "{err}");
    let fitted_auc: f64 = out
        .lines()
        .find_map(|l| l.split("fitted on all ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no in-sample AUC in:\n{out}"));
    let table: String = out
        .lines()
        .skip_while(|l| *l != "[decision.weights]")
        .take_while(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(table.contains("focus_coverage = "), "{out}");
    // The printed table is a config: evaluating with it separates as the fit said.
    let config = dir.path().join("fitted.toml");
    fs::write(&config, &table).unwrap();
    let (ok, out, err) = run(
        &[
            &["--config", config.to_str().unwrap()][..],
            &base[..],
            &["eval", "--fit", "--json", eval_dir.to_str().unwrap()],
        ]
        .concat(),
        "",
    );
    assert!(ok, "{err}");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let auc = value["fit"]["configured_auc"].as_f64().unwrap();
    assert!((auc - fitted_auc).abs() < 0.01, "{auc} vs {fitted_auc}");
    // Records ranked first in place of the right one are among the negatives.
    assert!(
        value["fit"]["wrong_first"].as_u64().unwrap() > 0,
        "{}",
        value["fit"]
    );
}

#[test]
fn ask_reads_homophone_typos_and_doubts_records_about_another_city() {
    let dir = TempDir::new().unwrap();
    let lines = ask_json(
        dir.path(),
        "研发费用加计扣除比例是多少\n研发费用家计扣除比例是多少\n无锡对新认定的高新技术企业奖励多少钱\n深圳对新认定的高新技术企业奖励多少钱\n",
    );
    let first_source = |v: &serde_json::Value| v["sources"][0]["id"].as_str().unwrap().to_string();
    // 家计 (a homophone of 加计) is read as the corpus word: the same answer as spelled right.
    assert_eq!(lines[0]["kind"], "answer", "{}", lines[0]);
    assert_eq!(lines[1]["kind"], "answer", "{}", lines[1]);
    assert_eq!(first_source(&lines[1]), first_source(&lines[0]));
    // The same question about Shenzhen finds the same records, but they are about Wuxi:
    // confidence halves, the investor goes to a person, and the brief says why.
    let (wuxi, shenzhen) = (&lines[2], &lines[3]);
    assert_eq!(shenzhen["kind"], "handoff", "{shenzhen}");
    let c = |v: &serde_json::Value| v["confidence"].as_f64().unwrap();
    assert!(c(shenzhen) <= c(wuxi) * 0.5 + 1e-3, "{wuxi} {shenzhen}");
    assert_eq!(
        shenzhen["sources"][0]["disagrees"], "place 深圳",
        "{shenzhen}"
    );
    assert!(wuxi["sources"][0].get("disagrees").is_none(), "{wuxi}");
}

/// `xiaoer staff ARGS` on `dir/data` (index in `dir/index`) with `stdin`.
fn staff(dir: &Path, corpus: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let (data, index) = (dir.join("data"), dir.join("index"));
    let mut all = vec![
        "--data",
        data.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--corpus",
        corpus.to_str().unwrap(),
        "staff",
    ];
    all.extend_from_slice(args);
    run(&all, stdin)
}

/// A desk on `dir/data`, to check what the commands stored.
fn desk_on(dir: &Path, corpus: &Path) -> (TempDir, xiaoer::desk::Desk) {
    let store = xiaoer::store::SledStore::open(&dir.join("data")).unwrap();
    let (index_dir, engine) = super::engine_for(corpus);
    let desk = xiaoer::desk::Desk::new(std::sync::Arc::new(engine), store, super::always_open());
    (index_dir, desk)
}

#[test]
fn staff_passwords_come_from_standard_input() {
    let dir = TempDir::new().unwrap();
    let corpus = super::tiny_corpus();
    let sh = |args: &[&str], stdin: &str| staff(dir.path(), &corpus, args, stdin);
    let (ok, out, err) = sh(
        &["add", "dave", "--role", "commissioner", "--password-stdin"],
        "a good long password\n",
    );
    assert!(ok, "{err}");
    assert!(
        !out.contains("a good long password"),
        "the password is never echoed"
    );
    let (ok, _, err) = sh(&["password", "dave"], "short\n");
    assert!(!ok && err.contains("10 to 256"), "{err}");
    let (ok, _, err) = sh(&["password", "nobody"], "another long password\n");
    assert!(!ok && err.contains("nobody"), "{err}");
    let (ok, out, err) = sh(&["password", "dave"], "another long password\n");
    assert!(ok && out.contains("password set for dave"), "{err}");
    let (_index, desk) = desk_on(dir.path(), &corpus);
    assert!(
        desk.sign_in("dave", "another long password")
            .unwrap()
            .is_some()
    );
    assert!(
        desk.sign_in("dave", "a good long password")
            .unwrap()
            .is_none(),
        "replaced"
    );
}

#[test]
fn staff_accounts_are_listed_disabled_enabled_and_rotated_from_the_cli() {
    let dir = TempDir::new().unwrap();
    let corpus = super::tiny_corpus();
    let sh = |args: &[&str]| staff(dir.path(), &corpus, args, "");
    let (ok, out, err) = sh(&["add", "erin", "--role", "commissioner"]);
    assert!(ok, "{err}");
    let old = out.lines().last().unwrap().trim().to_string();
    let (ok, out, _) = sh(&["disable", "erin"]);
    assert!(ok && out.contains("disabled"));
    let (ok, out, _) = sh(&["list"]);
    assert!(ok && out.contains("erin\tCommissioner\tdisabled"), "{out}");
    assert!(!out.contains(&old));
    let (ok, _, _) = sh(&["enable", "erin"]);
    assert!(ok);
    let (ok, out, err) = sh(&["rotate", "erin"]);
    assert!(ok, "{err}");
    let new = out.lines().last().unwrap().trim().to_string();
    assert_ne!(new, old);
    let (_index, desk) = desk_on(dir.path(), &corpus);
    assert!(
        desk.authenticate(&old).unwrap().is_none(),
        "the old token is dead"
    );
    assert!(desk.authenticate(&new).unwrap().is_some());
}

#[test]
fn staff_accounts_are_tied_to_wecom_users_from_the_cli() {
    let dir = TempDir::new().unwrap();
    let corpus = super::tiny_corpus();
    let sh = |args: &[&str]| staff(dir.path(), &corpus, args, "");
    let (ok, _, err) = sh(&[
        "add",
        "gina",
        "--role",
        "commissioner",
        "--regions",
        "新吴区",
        "--wecom",
        "gina.w",
    ]);
    assert!(ok, "{err}");
    // A UserID WeCom would not issue, or one already taken: refused, no account made.
    let (ok, _, err) = sh(&["add", "hal", "--role", "commissioner", "--wecom", "bad id"]);
    assert!(!ok && err.contains("WeCom UserID"), "{err}");
    let (ok, _, err) = sh(&["add", "hal", "--role", "commissioner", "--wecom", "GINA.w"]);
    assert!(!ok && err.contains("already belongs to gina"), "{err}");
    let (ok, _, err) = sh(&["add", "hal", "--role", "commissioner"]);
    assert!(ok, "{err}");
    let (ok, out, err) = sh(&["wecom", "hal", "hal.w"]);
    assert!(ok && out.contains("hal is WeCom user hal.w"), "{err}");
    let (ok, out, _) = sh(&["list"]);
    assert!(ok && out.contains("\twecom:gina.w"), "{out}");
    assert!(out.contains("\twecom:hal.w"), "{out}");
    let (ok, _, _) = sh(&["wecom", "hal"]);
    assert!(ok);
    let (_index, desk) = desk_on(dir.path(), &corpus);
    let gina = desk.staff_by_wecom_user("gina.w").unwrap().unwrap();
    assert_eq!(
        (gina.name.as_str(), gina.regions.as_slice()),
        ("gina", &["新吴区".to_string()][..])
    );
    assert!(desk.staff_by_wecom_user("hal.w").unwrap().is_none());
}

#[tokio::test]
async fn staff_commands_work_while_serve_runs() {
    let dir = TempDir::new().unwrap();
    let corpus = super::tiny_corpus();
    let (data, index) = (dir.path().join("data"), dir.path().join("index"));
    let (mut server, url) = super::crash::start_server(&data, &index, &corpus, &[]);
    let sh = |args: &[&str], stdin: &str| staff(dir.path(), &corpus, args, stdin);
    // The running server holds the store; the command goes through its admin socket.
    let (ok, out, err) = sh(
        &["add", "frank", "--role", "admin", "--password-stdin"],
        "a long enough password\n",
    );
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().trim().to_string();
    let me = |token: String| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{url}/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        me(token.clone()).await,
        200,
        "the running server knows the new account"
    );
    let (ok, out, _) = sh(&["list"], "");
    assert!(
        ok && out.contains("frank\tAdmin\tactive\tpassword"),
        "{out}"
    );
    let (ok, _, err) = sh(&["disable", "frank"], "");
    assert!(ok, "{err}");
    assert_eq!(me(token.clone()).await, 401, "disabled at once");
    let (ok, _, err) = sh(&["disable", "nobody"], "");
    assert!(
        !ok && err.contains("nobody"),
        "errors come back through the socket: {err}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_faq_that_declines_answers_with_its_reason_and_eval_counts_it_declined() {
    let dir = TempDir::new().unwrap();
    let lines = ask_json(dir.path(), "无锡工业用水价格和污水处理费是多少？\n");
    assert_eq!(lines[0]["kind"], "answer", "{}", lines[0]);
    assert_eq!(lines[0]["reason"], "no_verified_figure", "{}", lines[0]);
    assert_eq!(lines[0]["sources"][0]["id"], "faq-loc-065", "{}", lines[0]);

    // Out of scope, the decline serves as a hand-off; in scope it is neither right nor wrong.
    let questions = dir.path().join("declines.jsonl");
    fs::write(
        &questions,
        "{\"q\": \"无锡工业用水价格和污水处理费是多少？\", \"expect\": []}\n{\"q\": \"无锡工业用水价格和污水处理费是多少？\", \"keys\": [\"3.5元\"]}\n",
    )
    .unwrap();
    let corpus = shipped_corpus();
    let index = dir.path().join("index");
    let (ok, out, err) = run(
        &[
            "--corpus",
            corpus.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "eval",
            "--json",
            questions.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{err}");
    let table = &serde_json::from_str::<serde_json::Value>(&out).unwrap()["table"];
    assert_eq!(table["out_declined"], 1, "{table}");
    assert_eq!(table["out_answered"], 0, "{table}");
    assert_eq!(table["declined"], 1, "{table}");
    assert_eq!(table["wrong"], 0, "{table}");
}
