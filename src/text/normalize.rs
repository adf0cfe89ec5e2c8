//! Text normalisation applied before tokenizing, identically at index and query time.

use std::borrow::Cow;

use super::script::Script;

/// Folds full-width letters and digits to half width, the ideographic space to a space,
/// traditional Chinese characters to simplified ones, lowercases, and turns control
/// characters into spaces, so that `ＡＢＣ１２３`, `abc123` and `ABC123` index and match as
/// the same word, and so do `註冊` and `注册`. Full-width punctuation stays (it separates
/// words either way and is never a term).
pub fn normalize(text: &str) -> String {
    normalize_cow(text).into_owned()
}

/// `normalize`, borrowing the text when nothing in it needs folding (most passages).
pub fn normalize_cow(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    if normalize_into(text, &mut out) {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Writes the normalised text into `out` (cleared first) and returns true, or returns
/// false, leaving `out` empty, when the text is already normalised. For callers that
/// reuse one buffer across texts.
pub fn normalize_into(text: &str, out: &mut String) -> bool {
    out.clear();
    let bytes = text.as_bytes();
    let script = Script::get();
    // Copy unchanged runs in bulk and decode only at the kinds of byte that may start a
    // character needing a fold. A Han character is looked up in one bit table, then
    // skipped whole.
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Lead bytes E3–E9: the CJK Unified Ideographs that are the bulk of a Chinese
        // text, Extension A, CJK punctuation and the ideographic space. Valid UTF-8, so
        // two continuation bytes follow. One table test each, without decoding.
        if (0xE3..=0xE9).contains(&b) {
            let (b1, b2) = (bytes[i + 1], bytes[i + 2]);
            if let Some(folded) = script.simplified_utf8(b, b1, b2) {
                splice(
                    out,
                    &text[run_start..i],
                    folded.encode_utf8(&mut [0; 4]),
                    text.len(),
                );
                run_start = i + 3;
            } else if (b, b1, b2) == (0xE3, 0x80, 0x80) {
                splice(out, &text[run_start..i], " ", text.len());
                run_start = i + 3;
            }
            i += 3;
            continue;
        }
        if !MAY_FOLD[b as usize] || !needs_decoding(bytes, i) {
            i += 1;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        if let Some(folded) = fold(ch) {
            splice(out, &text[run_start..i], &folded, text.len());
            run_start = i + ch.len_utf8();
        }
        i += ch.len_utf8();
    }
    // Every fold appends at least one byte, so an empty `out` means nothing folded.
    let folded_any = !out.is_empty();
    if folded_any {
        out.push_str(&text[run_start..]);
    }
    folded_any
}

/// Appends the unchanged run before a folded character, then the character's folded form;
/// the first time, makes room for the whole text.
fn splice(out: &mut String, unchanged: &str, folded: &str, text_len: usize) {
    if out.is_empty() {
        out.reserve(text_len);
    }
    out.push_str(unchanged);
    out.push_str(folded);
}

/// Bytes other than the Han lead bytes E3–E9 (looked at first) that may start a
/// character that folds: ASCII upper case and controls, the lead bytes of Latin-1 to
/// Cyrillic (upper case, C1 controls) and of the full-width forms (EF). Continuation
/// bytes (80–BF) never start a character.
const MAY_FOLD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'A'..=b'Z' | 0x00..=0x1F | 0x7F | 0xC2..=0xD4 | 0xEF);
        b += 1;
    }
    table
};

/// For lead byte EF, whether the character is one that folds: full-width digits and
/// letters (U+FF10–19, FF21–3A, FF41–5A). Full-width punctuation, by far the most
/// common, is left alone: it is dropped anyway.
#[inline]
fn needs_decoding(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        0xEF => matches!(
            (bytes.get(i + 1), bytes.get(i + 2)),
            (Some(0xBC), Some(0x90..=0x99 | 0xA1..=0xBA)) | (Some(0xBD), Some(0x81..=0x9A))
        ),
        _ => true,
    }
}

/// The folded form of a character, or `None` when it stays as it is.
fn fold(ch: char) -> Option<String> {
    let folded = match ch {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
        '\u{3000}' => ' ',
        c if c.is_control() => ' ',
        c => c,
    };
    if folded.is_ascii() {
        let lower = folded.to_ascii_lowercase();
        (lower != ch).then(|| lower.to_string())
    } else if folded.is_uppercase() {
        Some(folded.to_lowercase().collect())
    } else {
        None
    }
}

/// The language a reply should be written in, judged from the question itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Lang {
        if code.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// Chinese when the text has any Han characters worth counting (an investor writing
/// mostly Chinese with English terms mixed in still wants Chinese back), English otherwise.
pub fn detect_lang(text: &str) -> Lang {
    let han = text.chars().filter(|c| is_han(*c)).count();
    let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if han == 0 && latin > 0 || han * 4 < latin {
        Lang::En
    } else {
        Lang::Zh
    }
}

pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_and_case() {
        assert_eq!(normalize("ＷＦＯＥ　注册１２３"), "wfoe 注册123");
        assert_eq!(normalize("R&D Super-Deduction"), "r&d super-deduction");
    }

    #[test]
    fn text_needing_no_fold_is_borrowed() {
        assert!(matches!(
            normalize_cow("高企税率 15%，r&d"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(normalize_cow("高企Ｒ"), Cow::Owned(_)));
        assert_eq!(normalize("Ä Ω ＺＺ"), "ä ω zz");
    }

    #[test]
    fn traditional_characters_fold_to_simplified_keeping_offsets() {
        let traditional = "外資企業在無錫註冊公司，稅率15%；轉人工";
        let folded = normalize(traditional);
        assert_eq!(folded, "外资企业在无锡注册公司，税率15%；转人工");
        assert_eq!(folded.len(), traditional.len());
        // Mixed with the other folds, and at the very end of the text.
        assert_eq!(normalize("ＨＮＴＥ高新技術　發"), "hnte高新技术 发");
        assert!(matches!(normalize_cow("高新技术企业"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_reused_buffer_reports_each_text_on_its_own() {
        let mut buffer = String::new();
        assert!(normalize_into("註冊ＡＢ", &mut buffer));
        assert_eq!(buffer, "注册ab");
        assert!(!normalize_into("注册ab", &mut buffer));
        assert!(buffer.is_empty());
        assert!(normalize_into("X", &mut buffer));
        assert_eq!(buffer, "x");
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(normalize("a\u{0}b\u{7}c\r\n"), "a b c  ");
    }

    #[test]
    fn language_of_a_question() {
        assert_eq!(detect_lang("高企税率是多少"), Lang::Zh);
        assert_eq!(detect_lang("What is the HNTE tax rate?"), Lang::En);
        assert_eq!(detect_lang("WFOE注册要多久"), Lang::Zh);
        assert_eq!(detect_lang("🙂"), Lang::Zh);
    }
}
