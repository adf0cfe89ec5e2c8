//! The staff group (replies and /release /handback /close on tickets) and the admin-only
//! /reindex and /stats.

use super::*;

pub(super) async fn admin_command(
    bot: &Bot,
    msg: &Message,
    ctx: &Arc<TgContext>,
    name: &str,
) -> Result<()> {
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
        blocking(move || match desk.reindex() {
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

pub(super) async fn staff_message(
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
    let topic_ticket = match msg.thread_id {
        Some(t) => {
            let (desk, thread) = (ctx.desk.clone(), i64::from(t.0.0));
            blocking(move || desk.thread_ticket(CHANNEL, thread))
                .await?
                .unwrap_or(None)
        }
        None => None,
    };
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
