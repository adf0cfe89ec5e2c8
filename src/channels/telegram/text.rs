//! Formatting for Telegram: plain text (no parse mode, so nothing an investor or a policy
//! says can break the markup), split under Telegram's 4,096-character limit at sentence
//! boundaries.

use crate::answer::{Kind, Reply};
use crate::desk::Ticket;

/// Telegram's limit is 4,096 UTF-16 code units; stay safely below it.
pub const MAX_MESSAGE: usize = 4000;

/// Splits `text` into pieces of at most `max` UTF-16 units, preferring sentence ends, then
/// line ends, then any character.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while utf16_len(rest) > max {
        let mut cut = 0; // byte index of the last good break within the limit
        let mut hard = 0; // byte index where the limit is reached
        let mut units = 0;
        for (i, c) in rest.char_indices() {
            units += c.len_utf16();
            if units > max {
                break;
            }
            hard = i + c.len_utf8();
            if matches!(c, '。' | '！' | '？' | '；' | '\n' | '.' | '!' | '?') {
                cut = hard;
            }
        }
        let at = if cut > 0 { cut } else { hard.max(1) };
        out.push(rest[..at].trim().to_string());
        rest = rest[at..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The reply text with its sources, as an investor reads it in Telegram.
pub fn reply_text(reply: &Reply, zh: bool) -> String {
    let mut s = reply.text.clone();
    let shown: Vec<_> = match reply.kind {
        Kind::Answer => reply.sources.iter().take(1).collect(),
        Kind::Handoff if reply.reason.as_deref() != Some("waiting") => {
            reply.sources.iter().take(3).collect()
        }
        _ => Vec::new(),
    };
    if !shown.is_empty() {
        s.push_str(match (reply.kind, zh) {
            (Kind::Answer, true) => "\n\n来源：",
            (Kind::Answer, false) => "\n\nSource:",
            (_, true) => "\n\n我找到的相关内容：",
            (_, false) => "\n\nWhat I found:",
        });
        for src in shown {
            s.push_str(&format!("\n· {}", src.citation(zh)));
            if !src.url.is_empty() {
                s.push_str(&format!("\n  {}", src.url));
            }
        }
    }
    s
}

/// The case brief posted to the staff group; `#id` in it lets a reply find its ticket.
pub fn brief_text(t: &Ticket, channel: &str) -> String {
    let b = &t.brief;
    let mut s = format!(
        "工单 #{} · {} · 原因 {}（置信度 {:.2}）\n",
        t.id, channel, b.reason, b.confidence
    );
    let inv = &b.investor;
    let known: Vec<&str> = [&inv.name, &inv.company, &inv.industry, &inv.district]
        .into_iter()
        .filter_map(|x| x.as_deref())
        .collect();
    if !known.is_empty() {
        s.push_str(&format!("投资者：{}\n", known.join(" · ")));
    }
    if let Some(r) = &t.region {
        s.push_str(&format!("区域：{r}  "));
    }
    if let Some(i) = &t.industry {
        s.push_str(&format!("行业：{i}"));
    }
    if t.region.is_some() || t.industry.is_some() {
        s.push('\n');
    }
    for line in &b.before {
        s.push_str(&format!(
            "  {}: {}\n",
            line.from,
            line.text.chars().take(200).collect::<String>()
        ));
    }
    s.push_str(&format!("问题：{}\n", b.question));
    for f in b.found.iter().take(3) {
        s.push_str(&format!("找到：《{}》[{}] {:.1}", f.title, f.id, f.score));
        if let Some(d) = &f.disagrees {
            s.push_str(&format!("（不符：{d}）"));
        }
        s.push('\n');
    }
    s.push_str("回复本消息即可答复投资者；/release /handback /close");
    s
}

/// The ticket number in a brief (`工单 #12 …`), for replies and commands.
pub fn ticket_id_in(text: &str) -> Option<u64> {
    let start = text.find('#')? + 1;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_at_sentences_under_the_limit() {
        let text = "这是一个句子。".repeat(1000);
        let parts = split(&text, MAX_MESSAGE);
        assert!(parts.len() >= 2);
        assert!(parts.iter().all(|p| utf16_len(p) <= MAX_MESSAGE));
        assert!(parts[0].ends_with('。'));
        assert_eq!(parts.concat(), text.trim());
    }

    #[test]
    fn text_without_breaks_is_cut_anyway() {
        let parts = split(&"a".repeat(9000), MAX_MESSAGE);
        assert_eq!(parts.len(), 3);
        assert_eq!(split("short", MAX_MESSAGE), vec!["short".to_string()]);
        // Emoji count as two UTF-16 units.
        assert!(
            split(&"🙂".repeat(3000), MAX_MESSAGE)
                .iter()
                .all(|p| utf16_len(p) <= MAX_MESSAGE)
        );
    }

    #[test]
    fn finds_the_ticket_number() {
        assert_eq!(ticket_id_in("工单 #42 · telegram"), Some(42));
        assert_eq!(ticket_id_in("no number"), None);
    }
}
