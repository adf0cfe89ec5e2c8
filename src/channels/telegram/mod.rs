//! The Telegram channel (teloxide): investors chat privately with the bot; commissioners
//! work in a staff group where each ticket arrives with its brief and a Claim button and a
//! reply to it answers the investor; configured admins can /reindex and /stats. It runs
//! against the same desk as the web, so either side can handle the other's tickets.

mod config;
mod investor;
mod outbound;
mod send;
mod staff;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ThreadId, User,
};
use tokio::sync::broadcast::error::RecvError;

pub use config::TelegramConfig;
use investor::{investor_message, on_callback};
use outbound::outbound;
pub use send::{SendError, send_text, with_retry};
use staff::{admin_command, staff_message};

use crate::answer::{Kind, Reply};
use crate::desk::{Desk, DeskError, InvestorInfo, Vote};

pub const CHANNEL: &str = "telegram";

/// What the handlers share.
pub struct TgContext {
    pub desk: Arc<Desk>,
    pub config: TelegramConfig,
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
/// desk events (new tickets, commissioners' replies) to Telegram. Webhooks run on every
/// instance (the balancer spreads them); long polling on one instance at a time, the one
/// holding the store's `telegram-polling` lease, since the Bot API serves getUpdates to
/// one caller only.
pub async fn run(bot: Bot, desk: Arc<Desk>, config: TelegramConfig) -> Result<()> {
    let ctx = Arc::new(TgContext { desk, config });
    if ctx.config.mode == "webhook" {
        tokio::spawn(outbound(bot.clone(), ctx.clone()));
        return run_webhook(bot, ctx).await;
    }
    loop {
        let desk = ctx.desk.clone();
        let lease = match blocking(move || desk.store().try_lead(POLLING_ROLE)).await? {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tracing::debug!("another instance polls Telegram");
                tokio::time::sleep(LEAD_RETRY).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether another instance polls Telegram");
                tokio::time::sleep(LEAD_RETRY).await;
                continue;
            }
        };
        tracing::info!("this instance polls Telegram");
        let delivering = tokio::spawn(outbound(bot.clone(), ctx.clone()));
        let mut dispatcher = dispatcher(&bot, &ctx);
        let token = dispatcher.shutdown_token();
        let watch = tokio::spawn(async move {
            while lease.held() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tracing::warn!("lost the Telegram polling lease; another instance may poll now");
            loop {
                match token.shutdown() {
                    Ok(stopped) => return stopped.await,
                    // Shut down before it was running: wait for it to start.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        dispatcher.dispatch().await;
        watch.abort();
        delivering.abort();
    }
}

/// The role whose lease lets an instance long-poll.
const POLLING_ROLE: &str = "telegram-polling";
/// How often an instance without the lease asks for it (the longest Telegram is unpolled
/// after the polling instance dies, plus PostgreSQL noticing the dead connection).
const LEAD_RETRY: Duration = Duration::from_secs(5);

fn dispatcher(
    bot: &Bot,
    ctx: &Arc<TgContext>,
) -> Dispatcher<Bot, anyhow::Error, teloxide::dispatching::DefaultKey> {
    Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![ctx.clone()])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text(
            "telegram handler failed",
        ))
        .build()
}

async fn run_webhook(bot: Bot, ctx: Arc<TgContext>) -> Result<()> {
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
        bot.clone(),
        teloxide::update_listeners::webhooks::Options::new(listen, url),
    )
    .await
    .context("starting the Telegram webhook")?;
    dispatcher(&bot, &ctx)
        .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("webhook"))
        .await;
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
