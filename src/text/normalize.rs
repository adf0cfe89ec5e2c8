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
    // Copy unchanged runs in bulk and decode only the characters that may fold.
    let mut run_start = 0;
    let mut i = 0;
    loop {
        i = skip_unchanged(bytes, i, script);
        let Some(&b) = bytes.get(i) else { break };
        if b.is_ascii_uppercase() {
            // Lowercase the rest of the ASCII run with it, in one pass: English has
            // capitals every few words (acronyms, sentence starts), and a splice for
            // each would cost more than the copy.
            let end = bytes[i..]
                .iter()
                .position(|b| !b.is_ascii() || b.is_ascii_control())
                .map_or(bytes.len(), |n| i + n);
            splice(out, &text[run_start..i], "", text.len());
            let from = out.len();
            out.push_str(&text[i..end]);
            out[from..].make_ascii_lowercase();
            (run_start, i) = (end, end);
            continue;
        }
        let mut buf = [0; 4];
        let decoded;
        let (folded, len): (&str, usize) = if (0xE3..=0xE9).contains(&b) {
            let (b1, b2) = (bytes[i + 1], bytes[i + 2]);
            let c = match script.simplified_utf8(b, b1, b2) {
                Some(simplified) => simplified,
                None if (b, b1, b2) == (0xE3, 0x80, 0x80) => ' ',
                // `skip_unchanged` stops at no other; were it to, it stays as it is.
                None => text[i..].chars().next().unwrap_or(' '),
            };
            (c.encode_utf8(&mut buf), 3)
        } else if b.is_ascii() {
            // A control character.
            (" ", 1)
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            decoded = fold(ch).unwrap_or_default();
            (&decoded, ch.len_utf8())
        };
        if !folded.is_empty() {
            splice(out, &text[run_start..i], folded, text.len());
            run_start = i + len;
        }
        i += len;
    }
    // Every fold appends at least one byte, so an empty `out` means nothing folded.
    let folded_any = !out.is_empty();
    if folded_any {
        out.push_str(&text[run_start..]);
    }
    folded_any
}

/// The first character at or after byte `from` that may fold (or the text's end). Runs
/// over every byte of every text, so a Han character costs one bit test, without
/// decoding: lead bytes E3–E9 start the CJK Unified Ideographs that are the bulk of a
/// Chinese text, Extension A, CJK punctuation and the ideographic space U+3000.
#[inline(always)]
fn skip_unchanged(bytes: &[u8], from: usize, script: &Script) -> usize {
    let mut rest = &bytes[from..];
    loop {
        match *rest {
            [b0 @ 0xE3..=0xE9, b1, b2, ref tail @ ..] => {
                if script.is_traditional_utf8(b0, b1, b2) || (b0, b1, b2) == (0xE3, 0x80, 0x80) {
                    break;
                }
                rest = tail;
            }
            // The full-width forms: only letters and digits fold. Full-width
            // punctuation, by far the most common, is left alone: it is dropped anyway.
            [0xEF, b1, b2, ref tail @ ..] => {
                if is_full_width_alphanumeric(b1, b2) {
                    break;
                }
                rest = tail;
            }
            [b, ref tail @ ..] => {
                if MAY_FOLD[usize::from(b)] {
                    break;
                }
                rest = tail;
            }
            [] => break,
        }
    }
    bytes.len() - rest.len()
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

/// Bytes other than the lead bytes E3–E9 and EF (looked at first) that may start a
/// character that folds: ASCII upper case and controls, the lead bytes of Latin-1 to
/// Armenian (upper case, C1 controls), and E1, which starts Georgian, Latin Extended
/// Additional (Vietnamese: Ấ, Ệ) and Greek Extended. Continuation bytes (80–BF) never
/// start a character. E2 (general punctuation, letter-like symbols) is left out: its
/// quotes and dashes are common in Chinese text, and its few capitals (Ⅻ, Ⓐ) rare.
const MAY_FOLD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'A'..=b'Z' | 0x00..=0x1F | 0x7F | 0xC2..=0xD5 | 0xE1);
        b += 1;
    }
    table
};

/// Whether the full-width form `EF b1 b2` is a letter or digit (U+FF10–19, FF21–3A,
/// FF41–5A).
#[inline(always)]
fn is_full_width_alphanumeric(b1: u8, b2: u8) -> bool {
    matches!((b1, b2), (0xBC, 0x90..=0x99 | 0xA1..=0xBA) | (0xBD, 0x81..=0x9A))
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
        // Vietnamese capitals (Latin Extended Additional) and Armenian past U+053F.
        assert_eq!(normalize("ẤN ĐỘ Ệ ԱՖ"), "ấn độ ệ աֆ");
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
    fn the_scan_folds_what_a_character_by_character_fold_does() {
        // `skip_unchanged` skips bytes without decoding; a plain per-character fold
        // must give the same text, on every kind of character next to every other.
        let script = Script::get();
        let by_character = |text: &str| -> String {
            text.chars()
                .map(|c| match *c.encode_utf8(&mut [0; 4]).as_bytes() {
                    [b0, b1, b2]
                        if c == '\u{3000}' || script.simplified_utf8(b0, b1, b2).is_some() =>
                    {
                        script
                            .simplified_utf8(b0, b1, b2)
                            .unwrap_or(' ')
                            .to_string()
                    }
                    // Full-width punctuation stays (see `is_full_width_alphanumeric`).
                    _ if ('\u{FF01}'..='\u{FF5E}').contains(&c) && !c.is_alphanumeric() => {
                        c.to_string()
                    }
                    _ => fold(c).unwrap_or_else(|| c.to_string()),
                })
                .collect()
        };
        let kinds = [
            "註", "注", "　", "，", "。", "Ａ", "ａ", "１", "A", "a", "\n", "Ä", "Ω", "é", "𠀀",
            "🙂", "㐀", " ", "Ấ", "ệ", "Ֆ",
        ];
        for a in kinds {
            for b in kinds {
                for c in kinds {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(normalize(&text), by_character(&text), "{text:?}");
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = crate::corpus::load(&root.join("corpus")).unwrap();
        for faq in &corpus.faqs {
            assert_eq!(normalize(&faq.answer), by_character(&faq.answer));
        }
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
