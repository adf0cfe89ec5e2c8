//! Reading `corpus/` from disk into typed records; every error names its file and line.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::model::{Corpus, Faq, Policy};
use super::passages;
use crate::error::{SourceError, line_of};
use crate::text::{Dictionary, Lang};

pub const POLICIES_DIR: &str = "policies";
pub const FAQS_DIR: &str = "faqs";
pub const DICT_DIR: &str = "dict";

/// Loads a whole corpus directory. Returns every error found (not just the first), so an
/// admin fixes them in one pass.
pub fn load(dir: &Path) -> Result<Corpus, Vec<SourceError>> {
    if !dir.is_dir() {
        return Err(vec![SourceError::new(dir, 0, "corpus directory not found")]);
    }
    let mut errors = Vec::new();
    let dictionary = Dictionary::load(&dir.join(DICT_DIR)).unwrap_or_else(|e| {
        errors.push(e);
        Dictionary::default()
    });

    let mut policies = Vec::new();
    for path in files_with_ext(
        &dir.join(POLICIES_DIR),
        &["md", "markdown", "txt"],
        &mut errors,
    ) {
        match read_text(&path).and_then(|text| parse_policy(&text, &path)) {
            Ok(p) => policies.push(p),
            Err(e) => errors.push(e),
        }
    }
    let mut faqs = Vec::new();
    for path in files_with_ext(&dir.join(FAQS_DIR), &["toml"], &mut errors) {
        match read_text(&path).and_then(|text| parse_faqs(&text, &path)) {
            Ok(mut f) => faqs.append(&mut f),
            Err(e) => errors.push(e),
        }
    }
    check_references(&policies, &faqs, &mut errors);
    if errors.is_empty() {
        Ok(Corpus {
            policies,
            faqs,
            dictionary,
        })
    } else {
        Err(errors)
    }
}

fn files_with_ext(dir: &Path, exts: &[&str], errors: &mut Vec<SourceError>) -> Vec<PathBuf> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            errors.push(SourceError::new(dir, 0, e.to_string()));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.')
                && !name.eq_ignore_ascii_case("README.md")
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    files
}

fn read_text(path: &Path) -> Result<String, SourceError> {
    let bytes = fs::read(path).map_err(|e| SourceError::new(path, 0, e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = line_of(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        SourceError::new(path, line, "not UTF-8 text (binary file?)")
    })?;
    if text.contains('\0') {
        let at = text.find('\0').unwrap_or(0);
        return Err(SourceError::new(
            path,
            line_of(&text, at),
            "contains a NUL byte (binary file?)",
        ));
    }
    Ok(text.strip_prefix('\u{FEFF}').unwrap_or(&text).to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    doc_no: String,
    #[serde(default)]
    issued: Option<toml::Value>,
    #[serde(default)]
    effective: Option<toml::Value>,
    #[serde(default)]
    expires: Option<toml::Value>,
    #[serde(default)]
    region: String,
    #[serde(default)]
    industries: Vec<String>,
    #[serde(default)]
    url: String,
    #[serde(default)]
    lang: Option<String>,
}

/// Parses one policy file: `+++` TOML front matter, then Markdown split into passages.
pub fn parse_policy(text: &str, path: &Path) -> Result<Policy, SourceError> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim() != "+++" {
        return Err(SourceError::new(
            path,
            1,
            "a policy file starts with a `+++` line, then TOML front matter, then `+++`",
        ));
    }
    let front_start = first.len();
    let mut offset = front_start;
    let mut front_end = None;
    for line in lines {
        if line.trim() == "+++" {
            front_end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((front_end, body_start)) = front_end else {
        return Err(SourceError::new(
            path,
            1,
            "front matter is not closed by a `+++` line",
        ));
    };
    let front = &text[front_start..front_end];
    let fm: FrontMatter = toml::from_str(front).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        SourceError::new(
            path,
            line_of(front, at) + 1,
            format!("front matter: {}", e.message()),
        )
    })?;
    let field_line = |key: &str| {
        front
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| i + 2)
            .unwrap_or(1)
    };
    let date = |key: &str, v: &Option<toml::Value>| -> Result<Option<NaiveDate>, SourceError> {
        parse_date(v).map_err(|m| SourceError::new(path, field_line(key), format!("{key}: {m}")))
    };
    check_id(&fm.id).map_err(|m| SourceError::new(path, field_line("id"), m))?;
    if fm.title.trim().is_empty() {
        return Err(SourceError::new(
            path,
            field_line("title"),
            "title is empty",
        ));
    }
    let body = &text[body_start..];
    let body_first_line = line_of(text, body_start);
    let passages = passages::split(body, body_first_line);
    if passages.is_empty() {
        return Err(SourceError::new(
            path,
            body_first_line,
            "the document has no text after its front matter",
        ));
    }
    Ok(Policy {
        issued: date("issued", &fm.issued)?,
        effective: date("effective", &fm.effective)?,
        expires: date("expires", &fm.expires)?,
        id: fm.id,
        title: fm.title.trim().to_string(),
        issuer: fm.issuer,
        doc_no: fm.doc_no,
        region: fm.region,
        industries: fm.industries,
        url: fm.url,
        lang: fm.lang.as_deref().map(Lang::parse).unwrap_or(Lang::Zh),
        passages,
        path: path.to_path_buf(),
    })
}

fn parse_date(v: &Option<toml::Value>) -> Result<Option<NaiveDate>, String> {
    let s = match v {
        None => return Ok(None),
        Some(toml::Value::String(s)) => s.trim().to_string(),
        Some(toml::Value::Datetime(d)) => d.to_string(),
        Some(other) => return Err(format!("expected a date YYYY-MM-DD, found {other}")),
    };
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{s:?} is not a date YYYY-MM-DD"))
}

fn check_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        Err("id is empty".into())
    } else if id
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '\\')
    {
        Err(format!("id {id:?} must not contain spaces or slashes"))
    } else {
        Ok(())
    }
}

#[derive(Deserialize)]
struct FaqFile {
    #[serde(default)]
    faq: Vec<FaqEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqEntry {
    id: Spanned<String>,
    question: String,
    #[serde(default)]
    alternatives: Vec<String>,
    answer: String,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    same_as: Option<String>,
    #[serde(default)]
    declines: bool,
}

/// Parses one FAQ file: an array of `[[faq]]` tables.
pub fn parse_faqs(text: &str, path: &Path) -> Result<Vec<Faq>, SourceError> {
    let file: FaqFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        SourceError::new(path, line_of(text, at), e.message().to_string())
    })?;
    let mut out = Vec::with_capacity(file.faq.len());
    for entry in file.faq {
        let line = line_of(text, entry.id.span().start);
        let id = entry.id.into_inner();
        check_id(&id).map_err(|m| SourceError::new(path, line, m))?;
        if entry.question.trim().is_empty() {
            return Err(SourceError::new(
                path,
                line,
                format!("FAQ {id}: question is empty"),
            ));
        }
        if entry.answer.trim().is_empty() {
            return Err(SourceError::new(
                path,
                line,
                format!("FAQ {id}: answer is empty"),
            ));
        }
        let lang = entry
            .lang
            .as_deref()
            .map(Lang::parse)
            .unwrap_or_else(|| crate::text::detect_lang(&entry.question));
        out.push(Faq {
            id,
            question: entry.question.trim().to_string(),
            alternatives: entry.alternatives,
            answer: entry.answer.trim().to_string(),
            sources: entry.sources,
            tags: entry.tags,
            lang,
            same_as: entry.same_as.filter(|s| !s.trim().is_empty()),
            declines: entry.declines,
            path: path.to_path_buf(),
            line,
        });
    }
    Ok(out)
}

/// Ids unique across the corpus; FAQ sources name existing policies; `same_as` names an
/// existing FAQ that is itself no one's counterpart (one level, so a group is one id).
fn check_references(policies: &[Policy], faqs: &[Faq], errors: &mut Vec<SourceError>) {
    let mut seen: HashMap<&str, (&Path, usize)> = HashMap::new();
    for p in policies {
        if let Some((other, line)) = seen.insert(&p.id, (&p.path, 1)) {
            errors.push(SourceError::new(
                &p.path,
                1,
                format!(
                    "id {:?} is already used in {}:{line}",
                    p.id,
                    other.display()
                ),
            ));
        }
    }
    for f in faqs {
        if let Some((other, line)) = seen.insert(&f.id, (&f.path, f.line)) {
            errors.push(SourceError::new(
                &f.path,
                f.line,
                format!(
                    "id {:?} is already used in {}:{line}",
                    f.id,
                    other.display()
                ),
            ));
        }
        for s in &f.sources {
            if !policies.iter().any(|p| &p.id == s) {
                errors.push(SourceError::new(
                    &f.path,
                    f.line,
                    format!("FAQ {}: source {s:?} is not a policy id in policies/", f.id),
                ));
            }
        }
    }
    for f in faqs {
        let Some(target) = &f.same_as else { continue };
        let problem = match faqs.iter().find(|o| &o.id == target) {
            None => Some(format!("FAQ {}: same_as {target:?} is not a FAQ id", f.id)),
            Some(o) if o.id == f.id => Some(format!("FAQ {}: same_as names itself", f.id)),
            Some(o) if o.same_as.is_some() => Some(format!(
                "FAQ {}: same_as {target:?} is itself the counterpart of another FAQ; name that one",
                f.id
            )),
            Some(_) => None,
        };
        if let Some(m) = problem {
            errors.push(SourceError::new(&f.path, f.line, m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "+++\nid = \"p1\"\ntitle = \"测试办法\"\nissuer = \"某局\"\ndoc_no = \"某〔2024〕1号\"\nissued = \"2024-01-02\"\neffective = \"2024-02-01\"\nexpires = \"\"\nregion = \"无锡市\"\nindustries = [\"all\"]\nurl = \"https://example.org\"\nlang = \"zh\"\n+++\n# 测试办法\n\n## 第一条\n内容一。\n";

    #[test]
    fn parses_a_policy() {
        let p = parse_policy(POLICY, Path::new("p1.md")).unwrap();
        assert_eq!(p.id, "p1");
        assert_eq!(p.issued, NaiveDate::from_ymd_opt(2024, 1, 2));
        assert_eq!(p.expires, None);
        assert_eq!(p.passages.len(), 1);
        assert_eq!(p.passages[0].line, 16);
    }

    #[test]
    fn a_bad_date_names_its_line() {
        let text = POLICY.replace("2024-01-02", "2024-13-40");
        let e = parse_policy(&text, Path::new("corpus/policies/p1.md")).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.to_string().contains("issued"), "{e}");
    }

    #[test]
    fn broken_toml_names_its_line() {
        let text = POLICY.replace("region = \"无锡市\"", "region = \"无锡市");
        let e = parse_policy(&text, Path::new("p1.md")).unwrap_err();
        assert_eq!(e.line, 9, "{e}");
    }

    #[test]
    fn unclosed_front_matter() {
        let e = parse_policy("+++\nid = \"x\"\n", Path::new("x.md")).unwrap_err();
        assert!(e.message.contains("not closed"));
    }

    #[test]
    fn faq_errors_name_the_entry_line() {
        let text = "[[faq]]\nid = \"a\"\nquestion = \"q\"\nanswer = \"x\"\n\n[[faq]]\nid = \"b\"\nquestion = \"q2\"\nanswer = \"\"\n";
        let e = parse_faqs(text, Path::new("f.toml")).unwrap_err();
        assert_eq!(e.line, 7, "{e}");
    }

    #[test]
    fn same_as_must_name_a_faq() {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        let faqs = dir.path().join("faqs");
        std::fs::create_dir_all(&policies).unwrap();
        std::fs::create_dir_all(&faqs).unwrap();
        std::fs::write(policies.join("p1.md"), POLICY).unwrap();
        let faq = |id: &str, same_as: &str| {
            format!(
                "[[faq]]\nid = \"{id}\"\nquestion = \"q {id}\"\nanswer = \"x\"\nsources = [\"p1\"]\nsame_as = \"{same_as}\"\n\n"
            )
        };
        std::fs::write(faqs.join("f.toml"), faq("a", "") + &faq("b", "a")).unwrap();
        let corpus = load(dir.path()).unwrap();
        assert_eq!(corpus.faqs[1].same_as.as_deref(), Some("a"));
        std::fs::write(faqs.join("f.toml"), faq("a", "") + &faq("b", "zz")).unwrap();
        let e = load(dir.path()).unwrap_err()[0].to_string();
        assert!(e.contains("same_as \"zz\""), "{e}");
    }

    #[test]
    fn faq_unknown_field_is_an_error() {
        let text = "[[faq]]\nid = \"a\"\nquestion = \"q\"\nanswer = \"x\"\nanwser = \"typo\"\n";
        let e = parse_faqs(text, Path::new("f.toml")).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }
}
