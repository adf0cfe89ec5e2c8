//! The user dictionary and synonym groups read from `corpus/dict/`.

use std::fs;
use std::path::Path;

use super::names::{PLACES_FILE, PlacesFile};
use crate::error::SourceError;

/// One user-dictionary word. `freq: None` lets jieba pick a frequency that makes it stick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWord {
    pub word: String,
    pub freq: Option<usize>,
    pub tag: Option<String>,
}

/// Everything the analyzer needs besides jieba's embedded dictionary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dictionary {
    pub words: Vec<UserWord>,
    /// Each group: canonical form first, then its synonyms, as written in the file.
    pub synonym_groups: Vec<Vec<String>>,
    /// The office's own places (`places.txt`), added to the built-in gazetteer.
    pub places: PlacesFile,
}

pub const USER_DICT_FILE: &str = "user.dict";
pub const SYNONYMS_FILE: &str = "synonyms.txt";

impl Dictionary {
    /// Reads `user.dict`, `synonyms.txt` and `places.txt` from `dir`; a missing file is an
    /// empty one.
    pub fn load(dir: &Path) -> Result<Dictionary, SourceError> {
        let read = |name: &str| -> Result<String, SourceError> {
            let path = dir.join(name);
            match fs::read(&path) {
                Ok(bytes) => String::from_utf8(bytes)
                    .map_err(|e| SourceError::new(&path, 0, format!("not UTF-8 text: {e}"))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) => Err(SourceError::new(&path, 0, e.to_string())),
            }
        };
        let words = read(USER_DICT_FILE)?;
        let synonyms = read(SYNONYMS_FILE)?;
        let places = read(PLACES_FILE)?;
        let mut d = Dictionary::parse_words(&words, dir.join(USER_DICT_FILE))?
            .with_synonyms_text(&synonyms, dir.join(SYNONYMS_FILE))?;
        d.places = PlacesFile::parse(&places, dir.join(PLACES_FILE))?;
        Ok(d)
    }

    /// Parses user-dictionary lines `word [freq] [tag]`; `#` starts a comment.
    pub fn parse_words(text: &str, path: impl AsRef<Path>) -> Result<Dictionary, SourceError> {
        let mut words = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let word = parts.next().unwrap_or_default().to_string();
            let freq = match parts.next() {
                None => None,
                Some(f) => Some(f.parse::<usize>().map_err(|_| {
                    SourceError::new(&path, i + 1, format!("frequency {f:?} is not a number"))
                })?),
            };
            let tag = parts.next().map(str::to_string);
            if parts.next().is_some() {
                return Err(SourceError::new(
                    &path,
                    i + 1,
                    "expected `word [freq] [tag]`, found more fields",
                ));
            }
            words.push(UserWord { word, freq, tag });
        }
        Ok(Dictionary {
            words,
            ..Dictionary::default()
        })
    }

    /// Adds synonym groups, one per line, words separated by `=`.
    pub fn with_synonyms_text(
        mut self,
        text: &str,
        path: impl AsRef<Path>,
    ) -> Result<Dictionary, SourceError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let group: Vec<String> = line
                .split('=')
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect();
            if group.len() < 2 {
                return Err(SourceError::new(
                    &path,
                    i + 1,
                    "a synonym group needs two or more words separated by `=`",
                ));
            }
            self.synonym_groups.push(group);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_with_and_without_frequency() {
        let d = Dictionary::parse_words("# c\n新吴区 20000 ns\n专精特新\n", "u.dict").unwrap();
        assert_eq!(d.words.len(), 2);
        assert_eq!(d.words[0].freq, Some(20000));
        assert_eq!(d.words[0].tag.as_deref(), Some("ns"));
        assert_eq!(d.words[1].freq, None);
    }

    #[test]
    fn bad_frequency_names_file_and_line() {
        let e = Dictionary::parse_words("新吴区 1\n梁溪区 lots\n", "dict/user.dict").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("dict/user.dict:2:"), "{e}");
    }

    #[test]
    fn synonym_group_needs_two_words() {
        let e = Dictionary::default()
            .with_synonyms_text("高企 = 高新技术企业\n外企\n", "syn.txt")
            .unwrap_err();
        assert_eq!(e.line, 2);
    }
}
