//! The Telegram channel (teloxide): investors chat privately with the bot; commissioners
//! work in a staff group where each ticket arrives with its brief and a Claim button and a
//! reply to it answers the investor; configured admins can /reindex and /stats. It runs
//! against the same desk as the web, so either side can handle the other's tickets.

mod config;
mod send;
pub mod text;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ThreadId, User,
};
use tokio::sync::broadcast::error::RecvError;

pub use config::TelegramConfig;
pub use send::{SendError, send_text, with_retry};

use crate::answer::{Kind, Reply};
use crate::desk::{Author, Desk, DeskError, InvestorInfo, Vote};

pub const CHANNEL: &str = "telegram";

/// What the handlers share.
pub struct TgContext {
    pub desk: Arc<Desk>,
    pub config: TelegramConfig,
    /// Forum topic (thread root message id) → ticket, for forum staff groups.
    topics: std::sync::Mutex<HashMap<i32, u64>>,
}

/// The bot for `config`, pointed at its Bot API base URL when one is set.
pub fn bot(config: &TelegramConfig) -> Result<Bot> {
    let token = config.token.clone().context("no Telegram bot token")?;
    let mut bot = Bot::new(token);
    if let Some(url) = &config.api_url {
        bot = bot.set_api_url(url.parse().context("telegram.api_url is not a URL")?);
    }
    Ok(bot)
}

/// Runs the bot until the process stops: the update dispatcher plus the task that delivers
/// desk events (new tickets, commissioners' replies) to Telegram.
pub async fn run(bot: Bot, desk: Arc<Desk>, config: TelegramConfig) -> Result<()> {
    let ctx = Arc::new(TgContext {
        desk,
        config,
        topics: Default::default(),
    });
    tokio::spawn(outbound(bot.clone(), ctx.clone()));
    let mut dispatcher = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![ctx.clone()])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text(
            "telegram handler failed",
        ))
        .build();
    if ctx.config.mode == "webhook" {
        let url = ctx
            .config
            .webhook_url
            .as_deref()
            .context("telegram.webhook_url is required in webhook mode")?
            .parse()
            .context("telegram.webhook_url is not a URL")?;
        let listen = ctx
            .config
            .webhook_listen
            .as_deref()
            .unwrap_or("127.0.0.1:8443")
            .parse()
            .context("telegram.webhook_listen is not HOST:PORT")?;
        let listener = teloxide::update_listeners::webhooks::axum(
            bot,
            teloxide::update_listeners::webhooks::Options::new(listen, url),
        )
        .await
        .context("starting the Telegram webhook")?;
        dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("webhook"))
            .await;
    } else {
        dispatcher.dispatch().await;
    }
    Ok(())
}

/// One handler tree: messages (private chats, the staff group) and button presses.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

fn conversation_id(chat: ChatId) -> String {
    format!("{CHANNEL}:{}", chat.0)
}

fn staff_name(user: &User) -> String {
    match &user.username {
        Some(u) => format!("tg:{u}"),
        None => format!("tg:{}", user.id.0),
    }
}

fn is_zh(user: Option<&User>) -> bool {
    user.and_then(|u| u.language_code.as_deref())
        .is_none_or(|l| l.to_ascii_lowercase().starts_with("zh"))
}

/// `/cmd@botname args` → ("/cmd", "args").
fn command(text: &str) -> Option<(String, &str)> {
    let text = text.trim();
    if !text.starts_with('/') {
        return None;
    }
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = head.split('@').next().unwrap_or(head).to_ascii_lowercase();
    Some((name, rest.trim()))
}

fn is_admin(ctx: &TgContext, user: Option<&User>) -> bool {
    user.is_some_and(|u| ctx.config.admins.contains(&u.id.0))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    Ok(tokio::task::spawn_blocking(f).await?)
}

async fn on_message(bot: Bot, msg: Message, ctx: Arc<TgContext>) -> Result<()> {
    let Some(text) = msg.text().map(str::to_string) else {
        return Ok(());
    };
    let cmd = command(&text);
    if let Some((name, _)) = &cmd
        && matches!(name.as_str(), "/reindex" | "/stats")
    {
        return admin_command(&bot, &msg, &ctx, name).await;
    }
    if ctx.config.staff_group == Some(msg.chat.id.0) {
        return staff_message(&bot, &msg, &ctx, &text, cmd).await;
    }
    if msg.chat.is_private() {
        return investor_message(&bot, &msg, &ctx, &text, cmd).await;
    }
    Ok(())
}

async fn admin_command(bot: &Bot, msg: &Message, ctx: &Arc<TgContext>, name: &str) -> Result<()> {
    let zh = is_zh(msg.from.as_ref());
    if !is_admin(ctx, msg.from.as_ref()) {
        let no = if zh {
            "仅管理员可以使用此命令。"
        } else {
            "Only admins can use this command."
        };
        send_or_note(bot, ctx, msg.chat.id, no, None, None).await;
        return Ok(());
    }
    let desk = ctx.desk.clone();
    let text = if name == "/reindex" {
        blocking(move || match desk.engine().reindex(&mut |_, _| {}) {
            Ok(s) => format!(
                "re-indexed {}: {} documents, {} passages, {} FAQs in {} ms",
                s.generation, s.documents, s.passages, s.faqs, s.millis
            ),
            Err(e) => format!("re-index failed; the previous index keeps serving.\n{e}"),
        })
        .await?
    } else {
        blocking(move || match desk.stats() {
            Ok(s) => format!(
                "questions {}, answered {}, clarified {}, handed off {}; tickets {} ({} open); median first reply {}; 👍 {} 👎 {}",
                s.questions, s.answered, s.clarified, s.handed_off, s.tickets, s.tickets_open,
                s.median_first_reply_secs.map(|x| format!("{x:.0} s")).unwrap_or_else(|| "—".into()),
                s.thumbs_up, s.thumbs_down
            ),
            Err(e) => format!("stats failed: {e}"),
        })
        .await?
    };
    send_or_note(bot, ctx, msg.chat.id, &text, None, None).await;
    Ok(())
}

/// Sends; a blocked user closes their conversation; other failures are logged.
async fn send_or_note(
    bot: &Bot,
    ctx: &Arc<TgContext>,
    chat: ChatId,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
    reply_to: Option<MessageId>,
) -> Option<Vec<Message>> {
    send_in_thread(bot, ctx, chat, text, keyboard, reply_to, None).await
}

/// As `send_or_note`, inside a forum topic when `thread` is given.
async fn send_in_thread(
    bot: &Bot,
    ctx: &Arc<TgContext>,
    chat: ChatId,
    text: &str,
    keyboard: Option<InlineKeyboardMarkup>,
    reply_to: Option<MessageId>,
    thread: Option<ThreadId>,
) -> Option<Vec<Message>> {
    match send_text(bot, chat, text, keyboard, reply_to, thread).await {
        Ok(m) => Some(m),
        Err(SendError::Blocked) => {
            let desk = ctx.desk.clone();
            let conv = conversation_id(chat);
            let _ = blocking(move || desk.investor_gone(&conv)).await;
            tracing::info!(chat = chat.0, "user blocked the bot; conversation closed");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, chat = chat.0, "telegram send failed");
            None
        }
    }
}

fn investor_info(user: Option<&User>) -> InvestorInfo {
    InvestorInfo {
        name: user.map(|u| u.full_name()),
        language: user.and_then(|u| u.language_code.clone()),
        ..InvestorInfo::default()
    }
}

async fn investor_message(
    bot: &Bot,
    msg: &Message,
    ctx: &Arc<TgContext>,
    text: &str,
    cmd: Option<(String, &str)>,
) -> Result<()> {
    let zh = is_zh(msg.from.as_ref());
    let chat = msg.chat.id;
    let question = match cmd.as_ref().map(|(n, _)| n.as_str()) {
        Some("/start") | Some("/help") => {
            let hello = if zh {
                "您好！我是投资服务助手小二，可以解答企业开办、外资、税收、用地、人才、签证等政策问题，并注明出处。需要人工服务请发送 /human 或“转人工”，撤回请发送 /cancel。"
            } else {
                "Hello! I'm xiaoer, the investment-service assistant. Ask about company set-up, foreign investment, tax, land, talent or visas; I cite my sources. Send /human to talk to a commissioner, /cancel to withdraw."
            };
            send_or_note(bot, ctx, chat, hello, None, None).await;
            return Ok(());
        }
        Some("/cancel") => {
            let desk = ctx.desk.clone();
            let conv = conversation_id(chat);
            let cancelled = blocking(move || desk.cancel(&conv)).await?;
            // A cancelled ticket adds a system note that `outbound` delivers.
            if !matches!(cancelled, Ok(Some(_))) {
                let none = if zh {
                    "目前没有需要撤回的人工请求。"
                } else {
                    "There is no request for a person to withdraw."
                };
                send_or_note(bot, ctx, chat, none, None, None).await;
            }
            return Ok(());
        }
        Some("/human") => "转人工".to_string(),
        Some(_) => text.trim_start_matches('/').to_string(),
        None => text.to_string(),
    };
    ask(bot, ctx, chat, &question, msg.from.as_ref()).await
}

/// Puts an investor's text through the desk and sends the bot's reply, if it has one.
async fn ask(
    bot: &Bot,
    ctx: &Arc<TgContext>,
    chat: ChatId,
    question: &str,
    user: Option<&User>,
) -> Result<()> {
    // "typing…" while the desk searches and stores.
    let _ = bot.send_chat_action(chat, ChatAction::Typing).await;
    let desk = ctx.desk.clone();
    let info = investor_info(user);
    let chat_key = chat.0.to_string();
    let q = question.to_string();
    let inbound = blocking(move || desk.investor_message(CHANNEL, &chat_key, &q, &info)).await?;
    let inbound = match inbound {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "desk failed on a Telegram message");
            let sorry =
                "抱歉，系统暂时出错，请稍后再试。Sorry, something went wrong; please try again.";
            send_or_note(bot, ctx, chat, sorry, None, None).await;
            return Ok(());
        }
    };
    let Some(reply) = inbound.reply else {
        return Ok(()); // a commissioner owns the chat: the bot stays silent
    };
    let zh = crate::text::detect_lang(question) == crate::text::Lang::Zh;
    let keyboard = keyboard_for(&reply, inbound.reply_seq, zh);
    send_or_note(
        bot,
        ctx,
        chat,
        &text::reply_text(&reply, zh),
        keyboard,
        None,
    )
    .await;
    Ok(())
}

fn keyboard_for(reply: &Reply, seq: Option<u64>, zh: bool) -> Option<InlineKeyboardMarkup> {
    match reply.kind {
        Kind::Clarify if !reply.options.is_empty() => Some(InlineKeyboardMarkup::new(
            reply
                .options
                .iter()
                .map(|o| {
                    let label: String = o.title.chars().take(60).collect();
                    // Callback data is limited to 64 bytes: carry the id, not the title.
                    let data: String = format!("opt:{}", o.id).chars().take(60).collect();
                    vec![InlineKeyboardButton::callback(label, data)]
                })
                .collect::<Vec<_>>(),
        )),
        Kind::Answer if !reply.sources.is_empty() => seq.map(|seq| {
            InlineKeyboardMarkup::new(vec![vec![
                InlineKeyboardButton::callback("👍", format!("vote:up:{seq}")),
                InlineKeyboardButton::callback("👎", format!("vote:down:{seq}")),
            ]])
        }),
        Kind::Handoff if reply.reason.as_deref() != Some("waiting") => {
            let label = if zh {
                "撤回人工请求"
            } else {
                "Withdraw request"
            };
            Some(InlineKeyboardMarkup::new(vec![vec![
                InlineKeyboardButton::callback(label, "cancel"),
            ]]))
        }
        _ => None,
    }
}

async fn on_callback(bot: Bot, q: CallbackQuery, ctx: Arc<TgContext>) -> Result<()> {
    let data = q.data.clone().unwrap_or_default();
    let chat = q.message.as_ref().map(|m| m.chat().id);
    let answer = |text: Option<String>, alert: bool| {
        let bot = bot.clone();
        let id = q.id.clone();
        async move {
            let mut req = bot.answer_callback_query(id);
            if let Some(t) = text {
                req = req.text(t).show_alert(alert);
            }
            let _ = with_retry(|| req.clone().send()).await;
        }
    };
    if let Some(ticket) = data
        .strip_prefix("claim:")
        .and_then(|t| t.parse::<u64>().ok())
    {
        let desk = ctx.desk.clone();
        let who = staff_name(&q.from);
        let w = who.clone();
        let result = blocking(move || desk.claim(ticket, &w)).await?;
        match result {
            Ok(_) => {
                answer(Some(format!("已认领工单 #{ticket}")), false).await;
                if let Some(chat) = chat {
                    let note =
                        format!("工单 #{ticket} 已由 {who} 认领。回复工单消息即可答复投资者。");
                    let reply_to = q.message.as_ref().map(|m| m.id());
                    send_or_note(&bot, &ctx, chat, &note, None, reply_to).await;
                }
            }
            Err(DeskError::AlreadyClaimed { by, .. }) => {
                answer(Some(format!("工单 #{ticket} 已由 {by} 认领")), true).await
            }
            Err(e) => answer(Some(e.to_string()), true).await,
        }
        return Ok(());
    }
    let Some(chat) = chat else {
        answer(None, false).await;
        return Ok(());
    };
    let conv = conversation_id(chat);
    if let Some(rest) = data.strip_prefix("vote:") {
        let (vote, seq) = rest.split_once(':').unwrap_or(("", ""));
        let vote = if vote == "up" { Vote::Up } else { Vote::Down };
        if let Ok(seq) = seq.parse::<u64>() {
            let desk = ctx.desk.clone();
            let _ = blocking(move || desk.feedback(&conv, seq, vote)).await?;
        }
        answer(Some("谢谢反馈 / thanks for the feedback".into()), false).await;
    } else if let Some(id) = data.strip_prefix("opt:") {
        answer(None, false).await;
        // The option's title, from the clarify reply it belongs to.
        let desk = ctx.desk.clone();
        let id = id.to_string();
        let title = blocking(move || {
            desk.messages(&conv, 0).ok().and_then(|ms| {
                ms.iter().rev().find_map(|m| {
                    m.reply.as_ref().and_then(|r| {
                        r.options
                            .iter()
                            .find(|o| o.id == id)
                            .map(|o| o.title.clone())
                    })
                })
            })
        })
        .await?;
        if let Some(title) = title {
            ask(&bot, &ctx, chat, &title, Some(&q.from)).await?;
        }
    } else if data == "cancel" {
        answer(None, false).await;
        let desk = ctx.desk.clone();
        let _ = blocking(move || desk.cancel(&conv)).await?;
    } else {
        answer(None, false).await;
    }
    Ok(())
}

async fn staff_message(
    bot: &Bot,
    msg: &Message,
    ctx: &Arc<TgContext>,
    text: &str,
    cmd: Option<(String, &str)>,
) -> Result<()> {
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    let who = staff_name(user);
    // Which ticket: the brief this message replies to, or the forum topic it is in.
    let topic_ticket = msg.thread_id.and_then(|t| {
        ctx.topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&t.0.0)
            .copied()
    });
    let replied_ticket = msg
        .reply_to_message()
        .and_then(|m| {
            m.text()
                .map(str::to_string)
                .or_else(|| m.forum_topic_created().map(|c| c.name.clone()))
        })
        .and_then(|t| text::ticket_id_in(&t))
        .or(topic_ticket);
    let desk = ctx.desk.clone();
    let outcome: Option<Result<String, DeskError>> = match cmd {
        Some((name, arg)) => {
            let ticket = arg
                .trim_start_matches('#')
                .parse::<u64>()
                .ok()
                .or(replied_ticket);
            match (name.as_str(), ticket) {
                ("/release" | "/handback" | "/close", None) => Some(Ok(
                    "请回复工单消息，或写出工单号，例如 /close 12".to_string(),
                )),
                ("/release", Some(t)) => Some(
                    blocking(move || {
                        desk.release(t, &who)
                            .map(|_| format!("工单 #{t} 已退回队列"))
                    })
                    .await?,
                ),
                ("/handback", Some(t)) => Some(
                    blocking(move || {
                        desk.handback(t, &who)
                            .map(|_| format!("工单 #{t} 已交还小二"))
                    })
                    .await?,
                ),
                ("/close", Some(t)) => Some(
                    blocking(move || desk.close(t, &who).map(|_| format!("工单 #{t} 已结束")))
                        .await?,
                ),
                _ => None,
            }
        }
        None => match replied_ticket {
            // A reply to a ticket's message answers the investor.
            Some(t) => {
                let text = text.to_string();
                Some(blocking(move || desk.reply(t, &who, &text).map(|_| String::new())).await?)
            }
            None => None,
        },
    };
    match outcome {
        Some(Ok(note)) if !note.is_empty() => {
            send_or_note(bot, ctx, msg.chat.id, &note, None, Some(msg.id)).await;
        }
        Some(Err(e)) => {
            send_or_note(
                bot,
                ctx,
                msg.chat.id,
                &format!("未完成：{e}"),
                None,
                Some(msg.id),
            )
            .await;
        }
        _ => {}
    }
    Ok(())
}

/// Opens a forum topic for a ticket and remembers which ticket it belongs to.
async fn open_topic(
    bot: &Bot,
    ctx: &Arc<TgContext>,
    group: i64,
    t: &crate::desk::Ticket,
) -> Option<ThreadId> {
    let name: String = format!("工单 #{} {}", t.id, t.brief.question)
        .chars()
        .take(120)
        .collect();
    match with_retry(|| bot.create_forum_topic(ChatId(group), name.clone()).send()).await {
        Ok(topic) => {
            ctx.topics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(topic.thread_id.0.0, t.id);
            Some(topic.thread_id)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not open a forum topic; posting in the group");
            None
        }
    }
}

/// Delivers desk events to Telegram: new tickets (from any channel) to the staff group with
/// a Claim button; commissioners' replies and system notes to Telegram investors.
async fn outbound(bot: Bot, ctx: Arc<TgContext>) {
    let mut events = ctx.desk.subscribe();
    // Last message seq delivered per conversation (in memory: after a restart, delivery
    // resumes after the investor's or bot's latest message).
    let mut delivered: HashMap<String, u64> = HashMap::new();
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "telegram delivery lagged behind desk events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if event.kind == "ticket_opened"
            && let (Some(group), Some(ticket)) = (ctx.config.staff_group, event.ticket)
        {
            let desk = ctx.desk.clone();
            if let Ok(Ok(t)) = blocking(move || desk.ticket(ticket)).await {
                let channel = event
                    .conversation
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_string();
                let kb = InlineKeyboardMarkup::new(vec![vec![InlineKeyboardButton::callback(
                    "认领 / Claim",
                    format!("claim:{}", t.id),
                )]]);
                // In a forum group each ticket gets its own topic.
                let thread = if ctx.config.staff_group_forum {
                    open_topic(&bot, &ctx, group, &t).await
                } else {
                    None
                };
                let brief = text::brief_text(&t, &channel);
                send_in_thread(&bot, &ctx, ChatId(group), &brief, Some(kb), None, thread).await;
            }
        }
        let Some(chat) = event
            .conversation
            .strip_prefix(&format!("{CHANNEL}:"))
            .and_then(|c| c.parse::<i64>().ok())
        else {
            continue;
        };
        let desk = ctx.desk.clone();
        let conv = event.conversation.clone();
        let Ok(Ok(messages)) = blocking(move || desk.messages(&conv, 0)).await else {
            continue;
        };
        let start = *delivered
            .entry(event.conversation.clone())
            .or_insert_with(|| {
                messages
                    .iter()
                    .rev()
                    .find(|m| matches!(m.author, Author::Investor | Author::Bot))
                    .map(|m| m.seq)
                    .unwrap_or(0)
            });
        for m in messages.iter().filter(|m| m.seq > start) {
            let text = match &m.author {
                Author::Staff { .. } => format!("【招商护商专员】{}", m.text),
                Author::System => m.text.clone(),
                _ => continue,
            };
            send_or_note(&bot, &ctx, ChatId(chat), &text, None, None).await;
        }
        if let Some(last) = messages.last() {
            delivered.insert(event.conversation.clone(), last.seq.max(start));
        }
    }
}
