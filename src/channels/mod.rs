//! Channels: thin adapters that translate between a transport and the desk. They deliver;
//! they decide nothing.

pub mod telegram;
pub mod tencent;
pub mod web;
pub mod wechat;
pub mod wecom;

use crate::desk::{Author, Message};

/// What of a conversation's `messages` (read after `known`, the last seq a channel
/// delivered) goes to the investor: commissioners' replies, marked as theirs, and system
/// notes. The first time a conversation is seen (`known` is `None`) only what came after
/// the latest investor or bot message counts, so a restart does not resend old replies.
/// Returns the texts and the seq delivery has now reached.
pub fn to_investor(messages: &[Message], known: Option<u64>) -> (Vec<String>, u64) {
    let start = known.unwrap_or_else(|| {
        messages
            .iter()
            .rev()
            .find(|m| matches!(m.author, Author::Investor | Author::Bot))
            .map(|m| m.seq)
            .unwrap_or(0)
    });
    let texts = messages
        .iter()
        .filter(|m| m.seq > start)
        .filter_map(|m| match &m.author {
            Author::Staff { .. } => Some(format!("【招商护商专员】{}", m.text)),
            Author::System => Some(m.text.clone()),
            _ => None,
        })
        .collect();
    let reached = messages.last().map_or(start, |m| m.seq.max(start));
    (texts, reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, author: Author, text: &str) -> Message {
        Message {
            seq,
            at: 0,
            author,
            text: text.into(),
            reply: None,
            feedback: None,
        }
    }

    #[test]
    fn only_replies_after_the_last_delivery_go_to_the_investor() {
        let staff = || Author::Staff {
            name: "alice".into(),
        };
        let messages = [
            message(1, staff(), "old reply"),
            message(2, Author::Investor, "转人工"),
            message(3, Author::Bot, "已为您转接"),
            message(4, staff(), "您好"),
            message(5, Author::System, "专员已离开"),
        ];
        // First sight: nothing from before the latest investor or bot message.
        let (texts, reached) = to_investor(&messages, None);
        assert_eq!(texts, ["【招商护商专员】您好", "专员已离开"]);
        assert_eq!(reached, 5);
        // After a delivery up to 4, only what followed.
        assert_eq!(
            to_investor(&messages[4..], Some(4)),
            (vec!["专员已离开".to_string()], 5)
        );
        assert_eq!(to_investor(&[], Some(7)), (Vec::new(), 7));
    }
}
