//! Splitting a policy body into citable passages: Markdown headings, articles (第X条),
//! numbered items in plain text, and long runs cut at sentence ends.

use super::model::Passage;

/// Passages longer than this (in characters) are cut at sentence ends.
const MAX_PASSAGE_CHARS: usize = 700;

/// Splits `body` (the text after the front matter) whose first line is line `first_line`.
/// Markdown headings always start a passage. Articles (第X条) start one too. In a document
/// with neither, top-level numbered items (一、 / （一）) do. A heading with no text of its
/// own (a chapter title) is carried into the next passage's heading.
pub fn split(body: &str, first_line: usize) -> Vec<Passage> {
    let lines: Vec<&str> = body.lines().collect();
    let has_headings = lines.iter().any(|l| heading_text(l).is_some());
    let has_articles = lines.iter().any(|l| article_heading(l).is_some());
    let use_items = !has_headings && !has_articles;

    let mut out = Vec::new();
    let mut carried = String::new();
    let mut current: Option<(String, String, usize)> = None;
    let flush = |cur: &mut Option<(String, String, usize)>,
                 carried: &mut String,
                 out: &mut Vec<Passage>| {
        if let Some((heading, text, line)) = cur.take() {
            let text = text.trim().to_string();
            if text.is_empty() {
                if !heading.is_empty() {
                    if !carried.is_empty() {
                        carried.push_str(" / ");
                    }
                    carried.push_str(&heading);
                }
            } else {
                let heading = if carried.is_empty() {
                    heading
                } else {
                    let h = format!("{carried} / {heading}");
                    carried.clear();
                    h
                };
                push_capped(out, heading, text, line);
            }
        }
    };

    for (i, raw) in lines.iter().enumerate() {
        let line_no = first_line + i;
        let line = raw.trim();
        if line.starts_with("# ") && !line.starts_with("## ") {
            // The document title: already in the front matter.
            continue;
        }
        if let Some(h) = heading_text(line) {
            flush(&mut current, &mut carried, &mut out);
            current = Some((h.to_string(), String::new(), line_no));
            continue;
        }
        let starts_article = has_articles && article_heading(line).is_some();
        let starts_item = use_items && item_marker(line);
        if starts_article || starts_item {
            let keep_heading = current
                .as_ref()
                .is_some_and(|(_, text, _)| text.trim().is_empty());
            if !keep_heading {
                flush(&mut current, &mut carried, &mut out);
            }
            let heading = if starts_article {
                article_heading(line).unwrap_or_default().to_string()
            } else {
                String::new()
            };
            match current.as_mut() {
                Some((h, text, _)) if keep_heading => {
                    if !heading.is_empty() {
                        if !h.is_empty() {
                            h.push_str(" / ");
                        }
                        h.push_str(&heading);
                    }
                    text.push_str(line);
                    text.push('\n');
                }
                _ => current = Some((heading, format!("{line}\n"), line_no)),
            }
            continue;
        }
        match current.as_mut() {
            Some((_, text, _)) => {
                text.push_str(line);
                text.push('\n');
            }
            None if !line.is_empty() => {
                current = Some((String::new(), format!("{line}\n"), line_no));
            }
            None => {}
        }
    }
    flush(&mut current, &mut carried, &mut out);
    out
}

fn heading_text(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if (2..=6).contains(&hashes) {
        let rest = trimmed[hashes..].trim();
        (!rest.is_empty()).then_some(rest)
    } else {
        None
    }
}

/// `第十二条` at the start of a line (up to 8 numerals between 第 and 条).
fn article_heading(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('第')?;
    let mut end = '第'.len_utf8();
    for (n, c) in rest.chars().enumerate() {
        if c == '条' && n > 0 {
            return Some(&line[..end + c.len_utf8()]);
        }
        if n >= 8 || !is_numeral(c) {
            return None;
        }
        end += c.len_utf8();
    }
    None
}

fn is_numeral(c: char) -> bool {
    c.is_ascii_digit() || "零〇一二三四五六七八九十百千两".contains(c)
}

/// `一、` or `（一）` / `(一)` at the start of a line.
fn item_marker(line: &str) -> bool {
    let chinese_numbered = {
        let n = line.chars().take_while(|c| is_numeral(*c)).count();
        n > 0 && n <= 3 && line.chars().nth(n) == Some('、')
    };
    let bracketed = ['（', '('].iter().any(|open| {
        line.strip_prefix(*open).is_some_and(|rest| {
            let n = rest.chars().take_while(|c| is_numeral(*c)).count();
            n > 0 && n <= 3 && matches!(rest.chars().nth(n), Some('）') | Some(')'))
        })
    });
    chinese_numbered || bracketed
}

/// Adds a passage, cutting one that is too long at sentence ends.
fn push_capped(out: &mut Vec<Passage>, heading: String, text: String, line: usize) {
    if text.chars().count() <= MAX_PASSAGE_CHARS {
        out.push(Passage {
            heading,
            text,
            line,
        });
        return;
    }
    let mut piece = String::new();
    let mut piece_chars = 0;
    for ch in text.chars() {
        piece.push(ch);
        piece_chars += 1;
        let sentence_end = matches!(ch, '。' | '！' | '？' | '；' | '\n' | '.' | '!' | '?');
        if (sentence_end && piece_chars >= MAX_PASSAGE_CHARS / 2)
            || piece_chars >= MAX_PASSAGE_CHARS * 2
        {
            out.push(Passage {
                heading: heading.clone(),
                text: piece.trim().to_string(),
                line,
            });
            piece.clear();
            piece_chars = 0;
        }
    }
    if !piece.trim().is_empty() {
        out.push(Passage {
            heading,
            text: piece.trim().to_string(),
            line,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_headings_make_passages_with_lines() {
        let body = "# 标题\n\n## 第一条 目的\n为了……\n\n## 第二条 范围\n本办法适用……\n";
        let p = split(body, 10);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].heading, "第一条 目的");
        assert_eq!(p[0].line, 12);
        assert_eq!(p[1].text, "本办法适用……");
    }

    #[test]
    fn articles_split_a_law_and_chapters_carry_over() {
        let body = "## 第一章 总则\n第一条 为了规范。\n第二条 本法适用于。\n";
        let p = split(body, 1);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].heading, "第一章 总则 / 第一条");
        assert_eq!(p[1].heading, "第二条");
    }

    #[test]
    fn plain_text_splits_at_numbered_items() {
        let body = "关于支持企业的通知\n一、减免房租。\n二、延期缴纳社保。\n（一）具体办法。\n";
        let p = split(body, 1);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[2].text.starts_with("二、"));
    }

    #[test]
    fn long_text_is_cut_at_sentences() {
        let body = "甲。".repeat(600);
        let p = split(&body, 1);
        assert!(p.len() >= 2);
        assert!(
            p.iter()
                .all(|x| x.text.chars().count() <= MAX_PASSAGE_CHARS * 2)
        );
    }
}
