//! Text normalisation applied before tokenizing, identically at index and query time.

/// Folds full-width ASCII forms to half width, the ideographic space to a space, lowercases,
/// and turns control characters into spaces, so that `ＡＢＣ１２３`, `abc123` and `ABC123`
/// index and match as the same word.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Copy runs of characters that need no change in one go; most Chinese text is one
    // long run broken only by the odd full-width or upper-case character.
    let mut run_start = 0;
    for (at, ch) in text.char_indices() {
        if !needs_folding(ch) {
            continue;
        }
        out.push_str(&text[run_start..at]);
        run_start = at + ch.len_utf8();
        let folded = match ch {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
            '\u{3000}' => ' ',
            c if c.is_control() => ' ',
            c => c,
        };
        if folded.is_ascii() {
            out.push(folded.to_ascii_lowercase());
        } else {
            out.extend(folded.to_lowercase());
        }
    }
    out.push_str(&text[run_start..]);
    out
}

fn needs_folding(ch: char) -> bool {
    if ch.is_ascii() {
        ch.is_ascii_uppercase() || ch.is_ascii_control()
    } else if is_han(ch) {
        false
    } else {
        matches!(ch, '\u{FF01}'..='\u{FF5E}' | '\u{3000}') || ch.is_control() || ch.is_uppercase()
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
