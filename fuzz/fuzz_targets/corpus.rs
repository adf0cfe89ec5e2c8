//! The corpus parser: policy front matter and passages, FAQ files, dictionary files.
//! Errors must name a line inside the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count() + 1;
    if let Err(e) = xiaoer::corpus::parse_policy(text, Path::new("p.md")) {
        assert!(e.line <= lines, "{e}");
    }
    if let Err(e) = xiaoer::corpus::parse_faqs(text, Path::new("f.toml")) {
        assert!(e.line <= lines, "{e}");
    }
    let _ = xiaoer::corpus::split_passages(text, 1);
    let _ = xiaoer::text::Dictionary::parse_words(text, "user.dict");
    let _ = xiaoer::text::Dictionary::default().with_synonyms_text(text, "synonyms.txt");
    let _ = xiaoer::text::PlacesFile::parse(text, "places.txt");
});
