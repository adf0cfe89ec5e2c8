//! The team's WeCom group robot (群机器人): each new ticket is also posted to the group as
//! a markdown brief. A robot may post 20 messages a minute; past that, the briefs waiting
//! are combined into one message (split at the 4,096-byte markdown limit) sent when the
//! window allows, and a refusal for the limit (45009) keeps them for after the window.
//! The webhook's key is a secret: only the host is ever logged or shown.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::outbound::{fit, reason_label};
use super::window::SendWindow;
use crate::channels::tencent::{ApiError, Client};
use crate::desk::Ticket;

/// The robot's limit: messages it may post in `WINDOW`.
pub const PER_MINUTE: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(60);

/// A markdown message's content holds at most 4,096 bytes.
pub const MAX_MARKDOWN_BYTES: usize = 4096;

/// The robot's answer when the group's limit is reached.
pub const RATE_LIMITED: i64 = 45009;

/// A network failure is tried again this many times (a window apart) before the notices
/// are given up with a warning; a refusal other than 45009 (a wrong key, say) is not.
const TRANSPORT_RETRIES: u32 = 3;

/// How much of the investor's question a brief quotes: alone, and in a combined message
/// (where twenty briefs must fit 4,096 bytes).
const QUESTION_BYTES: usize = 600;
const QUESTION_BYTES_COMBINED: usize = 150;

/// What the group is told of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub ticket: u64,
    /// Where the investor wrote: `web`, `telegram`, `wechat`.
    pub channel: String,
    pub question: String,
    pub reason: String,
}

impl Notice {
    pub fn of(ticket: &Ticket) -> Notice {
        let channel = ticket
            .conversation
            .split_once(':')
            .map_or(ticket.conversation.as_str(), |(c, _)| c);
        Notice {
            ticket: ticket.id,
            channel: channel.to_string(),
            question: ticket.brief.question.clone(),
            reason: ticket.brief.reason.clone(),
        }
    }
}

/// Where the webhook lives, without its key: the only part that may be logged.
pub fn host(webhook: &str) -> String {
    reqwest::Url::parse(webhook)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "<unreadable url>".into())
}

/// The webhook as Debug output shows it: the host, the key hidden.
pub fn redacted(webhook: &str) -> String {
    format!("{} (key redacted)", host(webhook))
}

/// Posts new tickets to the group robot; cheap to call, the posting is a task of its own.
pub struct Robot {
    tx: mpsc::UnboundedSender<Notice>,
    queued: Arc<AtomicUsize>,
    host: String,
}

impl std::fmt::Debug for Robot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Robot")
            .field("host", &self.host)
            .field("queued", &self.queued())
            .finish()
    }
}

impl Robot {
    /// Starts posting to `webhook`, at most `limit` messages per `window` (the robot's own
    /// limit is `PER_MINUTE` per `WINDOW`; tests use a small one). `console_url` is the
    /// link each brief ends with. A webhook that is not an http(s) URL is refused at start,
    /// without echoing it (it holds the key). Must be called within the runtime.
    pub fn start(
        webhook: &str,
        console_url: Option<String>,
        limit: usize,
        window: Duration,
    ) -> Result<Arc<Robot>, String> {
        let url = reqwest::Url::parse(webhook.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or("robot_webhook is not an http(s) URL")?;
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let poster = Poster {
            client: Client::new("wecom robot"),
            url: url.to_string(),
            console_url: console_url.filter(|u| !u.trim().is_empty()),
        };
        tokio::spawn(deliver(
            poster,
            rx,
            queued.clone(),
            SendWindow::new(limit, window),
        ));
        Ok(Arc::new(Robot {
            tx,
            queued,
            host: host(webhook),
        }))
    }

    /// Queues the brief of `ticket` for the group.
    pub fn notify(&self, ticket: &Ticket) {
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(Notice::of(ticket)).is_err() {
            // The task is gone only if the runtime is shutting down.
            self.queued.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(
                ticket = ticket.id,
                "wecom robot notice not sent: the sender has stopped"
            );
        }
    }

    /// Notices handed in and not yet posted (or given up).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// The webhook's host (what the log names).
    pub fn host(&self) -> &str {
        &self.host
    }
}

struct Poster {
    client: Client,
    url: String,
    console_url: Option<String>,
}

impl Poster {
    /// Posts `content` as a markdown message. Errors never carry the URL (`checked`).
    async fn post(&self, content: &str) -> Result<(), ApiError> {
        let body = serde_json::json!({ "msgtype": "markdown", "markdown": { "content": content } });
        let request = self.client.http().post(&self.url).json(&body);
        self.client.checked(request).await.map(|_| ())
    }
}

/// Posts the notices in order, never more than the window allows: one alone while the
/// window has room for each, combined when more are waiting than it has room for.
async fn deliver(
    poster: Poster,
    mut rx: mpsc::UnboundedReceiver<Notice>,
    queued: Arc<AtomicUsize>,
    mut window: SendWindow,
) {
    let console = poster.console_url.as_deref();
    let mut pending: VecDeque<Notice> = VecDeque::new();
    let mut failures = 0;
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(n) => pending.push_back(n),
                None => return,
            }
        }
        while let Ok(n) = rx.try_recv() {
            pending.push_back(n);
        }
        let wait = window.wait(Instant::now());
        if !wait.is_zero() {
            tracing::warn!(
                queued = pending.len(),
                wait_ms = wait.as_millis() as u64,
                "wecom robot limit ({} per {}s) reached: the new-ticket notices waiting go combined when it allows",
                window.limit(),
                window.window().as_secs()
            );
            tokio::time::sleep(wait).await;
            // What arrived meanwhile joins the batch.
            continue;
        }
        let room = window.room(Instant::now());
        let take = if pending.len() <= room {
            1
        } else {
            fitting(pending.make_contiguous(), console)
        };
        let batch: Vec<&Notice> = pending.range(..take).collect();
        let content = render(&batch, console);
        let result = poster.post(&content).await;
        window.record(Instant::now());
        let give_up = match result {
            Ok(()) => true,
            Err(e) if e.code() == Some(RATE_LIMITED) => {
                // The group's limit is reached (another instance, or a restart, posted
                // what this window never saw): keep the batch for after a whole window.
                tracing::warn!(queued = pending.len(), error = %e, "wecom robot refused for its limit; the notices are kept and retried after the window");
                window.fill(Instant::now());
                false
            }
            Err(e) if e.code().is_none() && failures < TRANSPORT_RETRIES => {
                failures += 1;
                tracing::warn!(queued = pending.len(), error = %e, attempt = failures, "wecom robot unreachable; retried after the window");
                window.fill(Instant::now());
                false
            }
            Err(e) => {
                let tickets: Vec<u64> = batch.iter().map(|n| n.ticket).collect();
                tracing::warn!(?tickets, error = %e, "wecom robot notices not delivered; given up");
                true
            }
        };
        if give_up {
            failures = 0;
            pending.drain(..take);
            queued.fetch_sub(take, Ordering::SeqCst);
        }
    }
}

/// How many of the first `notices` fit in one combined message (at least one: a single
/// line always does, its question cut to fit).
fn fitting(notices: &[Notice], console: Option<&str>) -> usize {
    let fixed = header(notices.len()).len() + footer(console).len();
    let mut used = fixed;
    let mut n = 0;
    for notice in notices {
        used += line(notice).len() + 1;
        if used > MAX_MARKDOWN_BYTES && n > 0 {
            break;
        }
        n += 1;
    }
    n
}

fn header(count: usize) -> String {
    format!("**{count} 个新工单**")
}

fn footer(console: Option<&str>) -> String {
    console.map_or(String::new(), |url| format!("\n[在控制台处理]({url})"))
}

/// One ticket as a line of a combined message.
fn line(n: &Notice) -> String {
    format!(
        "> #{} · {}：{}（{}）",
        n.ticket,
        channel_label(&n.channel),
        plain(&fit(&n.question, QUESTION_BYTES_COMBINED)),
        reason_label(&n.reason)
    )
}

/// The markdown for `batch`: one brief, or a combined list.
fn render(batch: &[&Notice], console: Option<&str>) -> String {
    let body = match batch {
        [n] => format!(
            "**新工单** #{} · {}\n> 问题：{}\n> 原因：{}",
            n.ticket,
            channel_label(&n.channel),
            plain(&fit(&n.question, QUESTION_BYTES)),
            reason_label(&n.reason),
        ),
        _ => {
            let mut text = header(batch.len());
            for n in batch {
                text.push('\n');
                text.push_str(&line(n));
            }
            text
        }
    };
    let text = format!("{body}{}", footer(console));
    // A very long console URL could still overflow; the robot would refuse the message.
    fit(&text, MAX_MARKDOWN_BYTES)
}

/// The investor's words as plain text: markdown marks and line breaks taken out, so a
/// question cannot become a link, a heading or formatting in the staff group.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '[' => '［',
            ']' => '］',
            '<' => '＜',
            '>' => '＞',
            '*' => '＊',
            '`' => '｀',
            '#' => '＃',
            '_' => '＿',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

fn channel_label(channel: &str) -> &str {
    match channel {
        "web" => "网页",
        "telegram" => "Telegram",
        "wechat" => "微信",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(ticket: u64, question: &str) -> Notice {
        Notice {
            ticket,
            channel: "wechat".into(),
            question: question.into(),
            reason: "asked_for_person".into(),
        }
    }

    #[test]
    fn a_brief_names_ticket_channel_question_and_link_and_the_question_stays_plain() {
        let n = notice(12, "[点我](http://evil) **急**\n# 标题");
        let text = render(&[&n], Some("https://x/staff"));
        assert!(text.starts_with("**新工单** #12 · 微信"), "{text}");
        assert!(text.contains("投资者要求人工"), "{text}");
        assert!(text.ends_with("[在控制台处理](https://x/staff)"), "{text}");
        assert!(!text.contains("[点我]") && !text.contains("**急"), "{text}");
        assert_eq!(text.matches('\n').count(), 3, "{text}");
        assert!(!render(&[&n], None).contains("控制台处理"));
    }

    #[test]
    fn a_combined_message_stays_under_the_markdown_limit_and_splits_when_it_must() {
        let many: Vec<Notice> = (1..=60).map(|i| notice(i, &"厂房".repeat(200))).collect();
        let first = fitting(&many, Some("https://x/staff"));
        assert!((2..60).contains(&first), "{first}");
        let batch: Vec<&Notice> = many[..first].iter().collect();
        let text = render(&batch, Some("https://x/staff"));
        assert!(text.len() <= MAX_MARKDOWN_BYTES, "{}", text.len());
        assert!(text.starts_with(&format!("**{first} 个新工单**")), "{text}");
        assert!(text.contains("> #1 · 微信：") && text.contains(&format!("> #{first} ·")));
        assert_eq!(fitting(&many[..3], None), 3);
        // Even a single line longer than the limit goes alone, cut.
        let huge = [notice(1, &"厂".repeat(5000))];
        assert_eq!(fitting(&huge, None), 1);
        assert!(render(&[&huge[0]], None).len() <= MAX_MARKDOWN_BYTES);
    }

    #[test]
    fn only_the_host_of_the_webhook_is_shown() {
        let url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY";
        assert_eq!(host(url), "qyapi.weixin.qq.com");
        assert!(!redacted(url).contains("SECRET"));
        assert_eq!(host("not a url?key=SECRET"), "<unreadable url>");
    }
}
