//! Normalisation and the tokenizer on arbitrary text: no panic, terms inside the text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xiaoer::text::{Analyzer, Dictionary};

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        let dict = Dictionary::load(std::path::Path::new("../corpus/dict")).unwrap_or_default();
        Analyzer::new(&dict)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let normalized = xiaoer::text::normalize(&text);
    assert_eq!(xiaoer::text::normalize(&normalized), normalized);
    for term in analyzer().terms(&text) {
        assert!(!term.text.is_empty());
        assert!(term.from <= term.to && term.to <= normalized.len());
    }
    let _ = analyzer().term_weights(&text);
    let _ = xiaoer::text::focus_clause(&text);
    let _ = xiaoer::text::one_letter_slips(&text);
});
