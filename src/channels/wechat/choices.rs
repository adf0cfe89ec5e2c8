//! Replies that answer the bot's last message rather than ask something new: WeChat has
//! no buttons in a plain text chat, so a clarify question is answered with its number and
//! an answer is rated with 👍 / 👎 (or 有用 / 没用, +1 / -1).

use crate::answer::Kind;
use crate::desk::{Author, Message, Vote};

/// What an investor's text means, read against the conversation so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The number of one of the last clarify question's options: ask its title.
    Option(String),
    /// A rating of the bot's last answer (the stored message's seq).
    Rating { seq: u64, vote: Vote },
    /// Anything else: a question of its own.
    Text,
}

fn vote_of(text: &str) -> Option<Vote> {
    match text {
        "👍" | "👍🏻" | "👍🏼" | "👍🏽" | "👍🏾" | "👍🏿" | "+1" | "有用" | "有帮助" | "赞" | "useful"
        | "helpful" => Some(Vote::Up),
        "👎" | "👎🏻" | "👎🏼" | "👎🏽" | "👎🏾" | "👎🏿" | "-1" | "没用" | "无用" | "没帮助"
        | "not useful" | "unhelpful" => Some(Vote::Down),
        _ => None,
    }
}

/// A number from 1 to 9, half- or full-width.
fn number_of(text: &str) -> Option<usize> {
    let mut chars = text.chars();
    let (c, None) = (chars.next()?, chars.next()) else {
        return None;
    };
    let digit = match c {
        '1'..='9' => c as u32 - '0' as u32,
        '１'..='９' => c as u32 - '０' as u32,
        _ => return None,
    };
    Some(digit as usize)
}

/// Reads `text` against `messages` (the conversation, oldest first): a number picks an
/// option of the bot's latest message when that was a clarify question; a rating rates
/// the bot's latest message when that was an answer with sources.
pub fn read(text: &str, messages: &[Message]) -> Choice {
    let text = text.trim().to_lowercase();
    let Some(last_bot) = messages
        .iter()
        .rev()
        .find(|m| matches!(m.author, Author::Bot))
    else {
        return Choice::Text;
    };
    let Some(reply) = &last_bot.reply else {
        return Choice::Text;
    };
    if let Some(n) = number_of(&text)
        && reply.kind == Kind::Clarify
        && let Some(option) = reply.options.get(n - 1)
    {
        return Choice::Option(option.title.clone());
    }
    if let Some(vote) = vote_of(&text)
        && reply.kind == Kind::Answer
        && !reply.sources.is_empty()
    {
        return Choice::Rating {
            seq: last_bot.seq,
            vote,
        };
    }
    Choice::Text
}

/// The line under an answer that tells the investor how to rate it.
pub fn rating_hint(zh: bool) -> &'static str {
    if zh {
        "回复 👍 或 👎 评价这条回答"
    } else {
        "Reply 👍 or 👎 to rate this answer"
    }
}

/// What the bot says to a rating (in both languages: a thumb has none).
pub fn thanks() -> &'static str {
    "谢谢您的反馈！Thank you for the feedback!"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{ClarifyOption, Reply, Source};

    fn bot(seq: u64, kind: Kind, options: &[&str], sourced: bool) -> Message {
        let source = Source {
            id: "faq-1".into(),
            passage: String::new(),
            title: String::new(),
            issuer: String::new(),
            doc_no: String::new(),
            issued: None,
            url: String::new(),
            in_force: true,
            score: 1.0,
            disagrees: None,
        };
        let reply = Reply {
            question: String::new(),
            kind,
            text: String::new(),
            confidence: 0.9,
            reason: None,
            sources: if sourced { vec![source] } else { Vec::new() },
            options: options
                .iter()
                .enumerate()
                .map(|(i, t)| ClarifyOption {
                    id: format!("o{i}"),
                    title: t.to_string(),
                })
                .collect(),
        };
        Message {
            seq,
            at: 0,
            author: Author::Bot,
            text: String::new(),
            reply: Some(reply),
            feedback: None,
        }
    }

    fn investor(seq: u64, text: &str) -> Message {
        Message {
            seq,
            at: 0,
            author: Author::Investor,
            text: text.into(),
            reply: None,
            feedback: None,
        }
    }

    #[test]
    fn a_number_picks_an_option_of_the_last_clarify_question_only() {
        let asked = [
            investor(1, "租金补贴"),
            bot(2, Kind::Clarify, &["怎么申请", "怎么计算"], false),
        ];
        assert_eq!(read("2", &asked), Choice::Option("怎么计算".into()));
        assert_eq!(read(" １ ", &asked), Choice::Option("怎么申请".into()));
        assert_eq!(read("3", &asked), Choice::Text, "no third option");
        assert_eq!(read("12", &asked), Choice::Text);
        // After an answer a number is a question of its own.
        let answered = [asked[0].clone(), bot(2, Kind::Answer, &[], true)];
        assert_eq!(read("2", &answered), Choice::Text);
        assert_eq!(read("1", &[]), Choice::Text);
    }

    #[test]
    fn a_thumb_rates_the_last_answer_with_sources() {
        let answered = [investor(1, "高企税率"), bot(2, Kind::Answer, &[], true)];
        assert_eq!(
            read("👍", &answered),
            Choice::Rating {
                seq: 2,
                vote: Vote::Up
            }
        );
        assert_eq!(
            read("没用", &answered),
            Choice::Rating {
                seq: 2,
                vote: Vote::Down
            }
        );
        // Small talk has no sources: a thumb there is just a message.
        let greeted = [investor(1, "你好"), bot(2, Kind::Answer, &[], false)];
        assert_eq!(read("👍", &greeted), Choice::Text);
        assert_eq!(read("👍 但是还有问题", &answered), Choice::Text);
    }
}
