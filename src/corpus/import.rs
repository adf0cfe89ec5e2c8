//! `xiaoer import`: turn what an office already has (FAQ spreadsheets, policy texts,
//! JSON Lines of documents) into corpus files. The format comes from the extension.

use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::SourceError;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub policies: usize,
    pub faqs: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}: unsupported file type (use .csv, .xlsx, .txt, .md or .jsonl)")]
    Unsupported(PathBuf),
}

pub fn import_files(files: &[PathBuf], into: &Path) -> Result<ImportSummary, ImportError> {
    let mut total = ImportSummary::default();
    for file in files {
        let ext = file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let s = match ext.as_str() {
            "csv" => write_faqs(file, read_csv(file)?, into)?,
            "xlsx" | "xlsm" | "xls" | "ods" => write_faqs(file, read_sheet(file)?, into)?,
            "txt" | "md" | "markdown" => import_text(file, into)?,
            "jsonl" => import_jsonl(file, into)?,
            _ => return Err(ImportError::Unsupported(file.clone())),
        };
        total.policies += s.policies;
        total.faqs += s.faqs;
    }
    Ok(total)
}

/// One FAQ row: id, question, alternatives, answer, tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct FaqRow {
    id: String,
    question: String,
    alternatives: Vec<String>,
    answer: String,
    sources: Vec<String>,
    tags: Vec<String>,
}

fn split_list(s: &str, seps: &[char]) -> Vec<String> {
    s.split(|c| seps.contains(&c))
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Builds FAQ rows from a header and records; `line_of(i)` gives the file line of record i.
fn rows_from_table(
    path: &Path,
    header: &[String],
    records: Vec<Vec<String>>,
    line_of: impl Fn(usize) -> usize,
) -> Result<Vec<FaqRow>, SourceError> {
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(q), Some(a)) = (col("question"), col("answer")) else {
        return Err(SourceError::new(
            path,
            1,
            "the header must name the columns id, question, alternatives, answer, tags",
        ));
    };
    let (id, alts, tags) = (col("id"), col("alternatives"), col("tags"));
    let stem = sanitize_id(&path.file_stem().unwrap_or_default().to_string_lossy());
    let mut out = Vec::new();
    for (i, rec) in records.into_iter().enumerate() {
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let row = FaqRow {
            id: Some(get(id))
                .filter(|s| !s.is_empty())
                .map(|s| sanitize_id(&s))
                .unwrap_or_else(|| format!("{stem}-{:04}", i + 1)),
            question: get(Some(q)),
            alternatives: split_list(&get(alts), &['|', '\n', '；', ';']),
            answer: get(Some(a)),
            sources: Vec::new(),
            tags: split_list(&get(tags), &['|', ',', '，', ';', '；']),
        };
        if row.question.is_empty() || row.answer.is_empty() {
            return Err(SourceError::new(
                path,
                line_of(i),
                "a FAQ row needs both a question and an answer",
            ));
        }
        out.push(row);
    }
    Ok(out)
}

fn read_csv(path: &Path) -> Result<Vec<FaqRow>, SourceError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| SourceError::new(path, 0, e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| SourceError::new(path, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{FEFF}').to_string())
        .collect();
    let mut records = Vec::new();
    let mut lines = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            SourceError::new(path, line, e.to_string())
        })?;
        lines.push(rec.position().map(|p| p.line() as usize).unwrap_or(0));
        records.push(rec.iter().map(str::to_string).collect());
    }
    rows_from_table(path, &header, records, |i| lines[i])
}

fn read_sheet(path: &Path) -> Result<Vec<FaqRow>, SourceError> {
    use calamine::{Reader, open_workbook_auto};
    let mut book =
        open_workbook_auto(path).map_err(|e| SourceError::new(path, 0, e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| SourceError::new(path, 0, "the workbook has no sheet"))?
        .map_err(|e| SourceError::new(path, 0, e.to_string()))?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| SourceError::new(path, 1, "the sheet is empty"))?
        .iter()
        .map(|c| c.to_string())
        .collect();
    let records: Vec<Vec<String>> = rows
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    // Row 1 is the header, so record i sits on row i + 2.
    rows_from_table(path, &header, records, |i| i + 2)
}

fn write_faqs(source: &Path, rows: Vec<FaqRow>, into: &Path) -> Result<ImportSummary, SourceError> {
    #[derive(Serialize)]
    struct File {
        faq: Vec<Entry>,
    }
    #[derive(Serialize)]
    struct Entry {
        id: String,
        question: String,
        alternatives: Vec<String>,
        answer: String,
        sources: Vec<String>,
        tags: Vec<String>,
        lang: String,
    }
    let n = rows.len();
    let file = File {
        faq: rows
            .into_iter()
            .map(|r| Entry {
                lang: crate::text::detect_lang(&r.question).as_str().to_string(),
                id: r.id,
                question: r.question,
                alternatives: r.alternatives,
                answer: r.answer,
                sources: r.sources,
                tags: r.tags,
            })
            .collect(),
    };
    let dir = into.join(super::FAQS_DIR);
    let stem = sanitize_id(&source.file_stem().unwrap_or_default().to_string_lossy());
    let out = dir.join(format!("{stem}.toml"));
    let text = toml::to_string(&file).map_err(|e| SourceError::new(&out, 0, e.to_string()))?;
    write(&out, &text)?;
    Ok(ImportSummary {
        policies: 0,
        faqs: n,
    })
}

#[derive(Serialize)]
struct Front<'a> {
    id: &'a str,
    title: &'a str,
    issuer: &'a str,
    doc_no: &'a str,
    issued: &'a str,
    effective: &'a str,
    expires: &'a str,
    region: &'a str,
    industries: Vec<String>,
    url: &'a str,
    lang: &'a str,
}

fn policy_file(id: &str, text: &str) -> String {
    let title: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(id)
        .trim_start_matches('#')
        .trim()
        .chars()
        .take(80)
        .collect();
    let front = Front {
        id,
        title: &title,
        issuer: "",
        doc_no: "",
        issued: "",
        effective: "",
        expires: "",
        region: "",
        industries: Vec::new(),
        url: "",
        lang: crate::text::detect_lang(text).as_str(),
    };
    format!(
        "+++\n{}+++\n\n{}\n",
        toml::to_string(&front).unwrap_or_default(),
        text.trim()
    )
}

fn import_text(path: &Path, into: &Path) -> Result<ImportSummary, SourceError> {
    let text = fs::read_to_string(path)
        .map_err(|e| SourceError::new(path, 0, format!("cannot read as UTF-8 text: {e}")))?;
    let id = sanitize_id(&path.file_stem().unwrap_or_default().to_string_lossy());
    let out = into.join(super::POLICIES_DIR).join(format!("{id}.md"));
    if text.trim_start().starts_with("+++") {
        // Already a corpus file: check it, then copy it as it is.
        super::parse_policy(&text, path)?;
        write(&out, &text)?;
    } else {
        if text.trim().is_empty() {
            return Err(SourceError::new(path, 1, "the document is empty"));
        }
        write(&out, &policy_file(&id, &text))?;
    }
    Ok(ImportSummary {
        policies: 1,
        faqs: 0,
    })
}

/// JSON Lines: `{"docid", "text"}` lines are policy documents; `{"faq_id", "question"}`
/// lines (a question-only FAQ list, as in bq_faq) are FAQs whose answer is the question.
fn import_jsonl(path: &Path, into: &Path) -> Result<ImportSummary, SourceError> {
    let first = fs::read_to_string(path)
        .map_err(|e| SourceError::new(path, 0, e.to_string()))?
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    if first.contains("\"faq_id\"") {
        return import_faq_jsonl(path, into);
    }
    #[derive(serde::Deserialize)]
    struct Doc {
        docid: serde_json::Value,
        text: String,
    }
    let file = fs::File::open(path).map_err(|e| SourceError::new(path, 0, e.to_string()))?;
    let mut n = 0;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| SourceError::new(path, i + 1, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let doc: Doc = serde_json::from_str(&line).map_err(|e| {
            SourceError::new(
                path,
                i + 1,
                format!("expected {{\"docid\", \"text\"}}: {e}"),
            )
        })?;
        let docid = match doc.docid {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let id = sanitize_id(&docid);
        if id.is_empty() || doc.text.trim().is_empty() {
            return Err(SourceError::new(path, i + 1, "empty docid or text"));
        }
        let out = into.join(super::POLICIES_DIR).join(format!("{id}.md"));
        write(&out, &policy_file(&id, &doc.text))?;
        n += 1;
    }
    Ok(ImportSummary {
        policies: n,
        faqs: 0,
    })
}

fn import_faq_jsonl(path: &Path, into: &Path) -> Result<ImportSummary, SourceError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        faq_id: String,
        question: String,
        #[serde(default)]
        answer: Option<String>,
    }
    let text = fs::read_to_string(path).map_err(|e| SourceError::new(path, 0, e.to_string()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(line).map_err(|e| {
            SourceError::new(
                path,
                i + 1,
                format!("expected {{\"faq_id\", \"question\"}}: {e}"),
            )
        })?;
        if e.question.trim().is_empty() {
            return Err(SourceError::new(path, i + 1, "empty question"));
        }
        rows.push(FaqRow {
            id: sanitize_id(&e.faq_id),
            answer: e.answer.unwrap_or_else(|| e.question.clone()),
            question: e.question,
            ..FaqRow::default()
        });
    }
    write_faqs(path, rows, into)
}

/// Ids become file names: keep letters, digits, `-`, `_`, `.`; replace the rest.
fn sanitize_id(s: &str) -> String {
    let id: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    id.trim_matches(['-', '.']).to_string()
}

fn write(path: &Path, text: &str) -> Result<(), SourceError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| SourceError::new(dir, 0, e.to_string()))?;
    }
    fs::write(path, text).map_err(|e| SourceError::new(path, 0, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_a_faq_file_that_loads() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("office.csv");
        fs::write(
            &csv,
            "id,question,alternatives,answer,tags\nq1,如何注册公司,怎么开公司|注册流程,到政务服务中心办理。,企业开办\n,外资企业年报什么时候报,年报时间,每年1月1日至6月30日。,年报\n",
        )
        .unwrap();
        let corpus = dir.path().join("corpus");
        let s = import_files(&[csv], &corpus).unwrap();
        assert_eq!(s.faqs, 2);
        let text = fs::read_to_string(corpus.join("faqs/office.toml")).unwrap();
        let faqs = crate::corpus::parse_faqs(&text, Path::new("office.toml")).unwrap();
        assert_eq!(faqs[0].alternatives, ["怎么开公司", "注册流程"]);
        assert_eq!(faqs[1].id, "office-0002");
    }

    #[test]
    fn csv_row_without_answer_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("bad.csv");
        fs::write(
            &csv,
            "id,question,alternatives,answer,tags\nq1,问题,,答案,\nq2,只有问题,,,\n",
        )
        .unwrap();
        let e = import_files(&[csv], &dir.path().join("c")).unwrap_err();
        assert!(e.to_string().contains("bad.csv:3"), "{e}");
    }

    #[test]
    fn xlsx_sheets_import_like_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("office.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let rows = [
            ["id", "question", "alternatives", "answer", "tags"],
            [
                "x1",
                "人才公寓怎么申请",
                "人才房申请|公寓申请",
                "向区人才办申请。",
                "人才",
            ],
            ["x2", "", "", "没有问题的行", ""],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
        book.save(&path).unwrap();
        let e = import_files(std::slice::from_ref(&path), &dir.path().join("c")).unwrap_err();
        assert!(e.to_string().contains("office.xlsx:3"), "{e}");
        // Without the bad row it imports.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows[..2].iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
        book.save(&path).unwrap();
        let s = import_files(&[path], &dir.path().join("c")).unwrap();
        assert_eq!(s.faqs, 1);
        let text = fs::read_to_string(dir.path().join("c/faqs/office.toml")).unwrap();
        let faqs = crate::corpus::parse_faqs(&text, Path::new("office.toml")).unwrap();
        assert_eq!(faqs[0].alternatives, ["人才房申请", "公寓申请"]);
    }

    #[test]
    fn jsonl_documents_keep_their_docid() {
        let dir = tempfile::tempdir().unwrap();
        let jl = dir.path().join("docs.jsonl");
        fs::write(
            &jl,
            "{\"docid\": \"abc123\", \"text\": \"关于减免租金的通知\\n一、减免三个月租金。\"}\n",
        )
        .unwrap();
        let corpus = dir.path().join("c");
        import_files(&[jl], &corpus).unwrap();
        let text = fs::read_to_string(corpus.join("policies/abc123.md")).unwrap();
        let p = crate::corpus::parse_policy(&text, Path::new("abc123.md")).unwrap();
        assert_eq!(p.id, "abc123");
        assert_eq!(p.title, "关于减免租金的通知");
    }
}
