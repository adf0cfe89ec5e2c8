//! Properties over what users and admins can send, checked on arbitrary input (proptest):
//! normalisation and the tokenizer, query building and the decision (a whole `ask`), the
//! corpus parser, and `import`. None may panic; each either works or says what is wrong.
//! The same functions have cargo-fuzz targets in `fuzz/` for long runs.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use super::{engine_for, shipped_corpus};

/// Text an investor might type, weighted towards what breaks parsers: query syntax,
/// control characters, emoji, mixed scripts, long runs.
fn investor_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "高新技术企业",
        "税率",
        "多少",
        "外资",
        "无锡",
        "新吴区",
        "深圳",
        "2024年",
        "家计扣除",
        "WFOE",
        "hnte",
        "helth",
        "AND",
        "OR",
        "NOT",
        "\"",
        ":",
        "*",
        "(",
        ")",
        "[",
        "]",
        "^",
        "~",
        "\\",
        "+",
        "-",
        "?",
        "？",
        "，",
        "。",
        " ",
        "\n",
        "\t",
        "\u{0}",
        "\u{7}",
        "\u{200b}",
        "\u{feff}",
        "😀",
        "👍🏽",
        "註冊",
        "ＷＦＯＥ",
        "１２３",
        "é",
        "ß",
        "İ",
        "\u{202e}",
    ]);
    prop_oneof![
        3 => prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat()),
        1 => any::<String>(),
        1 => "\\PC{0,400}",
    ]
}

fn engine() -> &'static xiaoer::engine::Engine {
    static ENGINE: OnceLock<(tempfile::TempDir, xiaoer::engine::Engine)> = OnceLock::new();
    &ENGINE.get_or_init(|| engine_for(&shipped_corpus())).1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn normalising_is_total_and_idempotent(text in investor_text()) {
        let once = xiaoer::text::normalize(&text);
        prop_assert_eq!(xiaoer::text::normalize(&once), once);
    }

    #[test]
    fn the_tokenizer_gives_non_empty_terms_inside_the_text(text in investor_text()) {
        let analyzer = engine().generation().analyzer.clone();
        let normalized = xiaoer::text::normalize(&text);
        for term in analyzer.terms(&text) {
            prop_assert!(!term.text.is_empty());
            prop_assert!(term.from <= term.to && term.to <= normalized.len());
        }
    }

    #[test]
    fn any_question_gets_a_reply_with_a_confidence_in_range(text in investor_text()) {
        let reply = engine().ask(&text);
        prop_assert!((0.0..=1.0).contains(&reply.confidence), "{}", reply.confidence);
        prop_assert!(!reply.text.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn corpus_files_parse_or_name_their_line(
        front in prop::collection::vec(prop::sample::select(vec![
            "id = \"p1\"", "title = \"标题\"", "issuer = \"x\"", "issued = 2020-01-01",
            "issued = \"not a date\"", "effective = 2020-13-45", "url = 3", "[x]", "= =",
            "title = \"\"\"", "\u{0}", "",
        ]), 0..8),
        body in investor_text(),
        fence in prop::sample::select(vec!["+++", "---", "", "++"]),
    ) {
        let text = format!("{fence}\n{}\n{fence}\n{body}", front.join("\n"));
        if let Err(e) = xiaoer::corpus::parse_policy(&text, Path::new("policies/p.md")) {
            prop_assert!(e.line <= text.lines().count() + 1, "{e}");
        }
        let faqs = format!("[[faq]]\n{}\n{body}", front.join("\n"));
        if let Err(e) = xiaoer::corpus::parse_faqs(&faqs, Path::new("faqs/f.toml")) {
            prop_assert!(e.line <= faqs.lines().count() + 1, "{e}");
        }
    }

    #[test]
    fn passages_cover_the_body(body in investor_text()) {
        for p in xiaoer::corpus::split_passages(&body, 1) {
            prop_assert!(p.line >= 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn import_takes_any_bytes_without_panicking(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2048),
            investor_text().prop_map(String::into_bytes),
            "(问题|question|答案|answer|[,\"\n\r;\t]|[a-z高企]{1,8}){0,60}".prop_map(String::into_bytes),
        ],
        ext in prop::sample::select(vec!["csv", "jsonl", "xlsx", "txt", "md"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("input.{ext}"));
        std::fs::write(&file, &bytes).unwrap();
        // Either corpus files or an error that says what is wrong; never a panic.
        if let Err(e) = xiaoer::corpus::import::import_files(&[file], &dir.path().join("out")) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
