//! Figures for the admin page: questions and what became of them, time to a person's first
//! reply, feedback; and the questions the bot could not answer, grouped by wording.

use serde::Serialize;

use super::model::{Author, Message, Vote};
use super::{Desk, DeskError};
use crate::answer::Kind;
use crate::store::{Table, decode};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub conversations: usize,
    pub questions: usize,
    pub answered: usize,
    pub clarified: usize,
    pub handed_off: usize,
    pub tickets: usize,
    pub tickets_open: usize,
    /// Median seconds from a hand-off to a commissioner's first reply.
    pub median_first_reply_secs: Option<f64>,
    pub thumbs_up: usize,
    pub thumbs_down: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnansweredItem {
    pub conversation: String,
    pub seq: u64,
    pub question: String,
    /// `handoff:<reason>` or `thumbs_down`.
    pub why: String,
    /// The commissioner's first reply after it, if any.
    pub staff_reply: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnansweredGroup {
    /// The first wording seen; the others are in `items`.
    pub question: String,
    pub count: usize,
    pub items: Vec<UnansweredItem>,
}

impl Desk {
    fn all_messages(&self) -> Result<Vec<(String, Message)>, DeskError> {
        let rows = self.store().scan_prefix(Table::Messages, b"")?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let conv_end = k.iter().position(|b| *b == 0).unwrap_or(k.len());
            let conv = String::from_utf8_lossy(&k[..conv_end]).into_owned();
            out.push((conv, decode::<Message>(Table::Messages, &v)?));
        }
        Ok(out)
    }

    pub fn stats(&self) -> Result<Stats, DeskError> {
        let mut s = Stats::default();
        let mut conversations = std::collections::HashSet::new();
        for (conv, m) in self.all_messages()? {
            conversations.insert(conv);
            if m.author == Author::Bot
                && let Some(r) = &m.reply
            {
                let small_talk = r.sources.is_empty() && r.kind == Kind::Answer;
                if r.reason.as_deref() == Some("waiting") || small_talk {
                    continue;
                }
                s.questions += 1;
                match r.kind {
                    Kind::Answer => s.answered += 1,
                    Kind::Clarify => s.clarified += 1,
                    Kind::Handoff => s.handed_off += 1,
                }
            }
            match m.feedback {
                Some(Vote::Up) => s.thumbs_up += 1,
                Some(Vote::Down) => s.thumbs_down += 1,
                None => {}
            }
        }
        s.conversations = conversations.len();
        let tickets = self.all_tickets()?;
        s.tickets = tickets.len();
        s.tickets_open = tickets.iter().filter(|t| t.is_open()).count();
        let mut waits: Vec<f64> = tickets
            .iter()
            .filter_map(|t| t.first_reply_at.map(|r| (r - t.opened_at) as f64 / 1000.0))
            .collect();
        waits.sort_by(f64::total_cmp);
        s.median_first_reply_secs = match waits.len() {
            0 => None,
            n if n % 2 == 1 => Some(waits[n / 2]),
            n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2.0),
        };
        Ok(s)
    }

    /// Hand-offs the bot decided (not requests for a person) and 👎 answers, grouped by
    /// similar wording (shared analysed terms), most frequent first.
    pub fn unanswered(&self) -> Result<Vec<UnansweredGroup>, DeskError> {
        let messages = self.all_messages()?;
        let mut items = Vec::new();
        for (i, (conv, m)) in messages.iter().enumerate() {
            let Some(r) = &m.reply else { continue };
            if m.author != Author::Bot {
                continue;
            }
            let why = match (r.kind, r.reason.as_deref(), m.feedback) {
                (_, _, Some(Vote::Down)) => "thumbs_down".to_string(),
                (Kind::Handoff, Some(reason), _)
                    if reason != "asked_for_person" && reason != "waiting" =>
                {
                    format!("handoff:{reason}")
                }
                _ => continue,
            };
            let staff_reply = messages[i + 1..]
                .iter()
                .take_while(|(c, _)| c == conv)
                .find_map(|(_, later)| match &later.author {
                    Author::Staff { .. } => Some(later.text.clone()),
                    _ => None,
                });
            items.push(UnansweredItem {
                conversation: conv.clone(),
                seq: m.seq,
                question: r.question.clone(),
                why,
                staff_reply,
            });
        }
        let analyzer = self.engine().generation().analyzer.clone();
        let mut groups: Vec<(std::collections::HashSet<String>, UnansweredGroup)> = Vec::new();
        for item in items {
            let terms: std::collections::HashSet<String> = analyzer
                .distinct_terms(&item.question)
                .into_iter()
                .collect();
            let similar = groups.iter_mut().find(|(g, _)| jaccard(g, &terms) >= 0.5);
            match similar {
                Some((_, group)) => {
                    group.count += 1;
                    group.items.push(item);
                }
                None => groups.push((
                    terms,
                    UnansweredGroup {
                        question: item.question.clone(),
                        count: 1,
                        items: vec![item],
                    },
                )),
            }
        }
        let mut out: Vec<UnansweredGroup> = groups.into_iter().map(|(_, g)| g).collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.count));
        Ok(out)
    }
}

fn jaccard(a: &std::collections::HashSet<String>, b: &std::collections::HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}
