//! Investors' private chats: commands, questions through the desk, replies with sources
//! and buttons, and the buttons pressed (clarify options, feedback, cancel, Claim).

use super::*;

pub(super) fn investor_info(user: Option<&User>) -> InvestorInfo {
    InvestorInfo {
        name: user.map(|u| u.full_name()),
        language: user.and_then(|u| u.language_code.clone()),
        ..InvestorInfo::default()
    }
}

pub(super) async fn investor_message(
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
pub(super) async fn ask(
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

pub(super) fn keyboard_for(
    reply: &Reply,
    seq: Option<u64>,
    zh: bool,
) -> Option<InlineKeyboardMarkup> {
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

pub(super) async fn on_callback(bot: Bot, q: CallbackQuery, ctx: Arc<TgContext>) -> Result<()> {
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
