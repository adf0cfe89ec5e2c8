//! Desk events to Telegram: new tickets (from any channel) to the staff group, and
//! commissioners' replies and system notes to Telegram investors.

use super::*;

/// Opens a forum topic for a ticket and records which ticket it belongs to.
pub(super) async fn open_topic(
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
            // In the store, not in memory: after a failover another instance polls.
            let (desk, thread, ticket) = (ctx.desk.clone(), topic.thread_id.0.0, t.id);
            let remembered =
                blocking(move || desk.remember_thread(CHANNEL, i64::from(thread), ticket)).await;
            if !matches!(remembered, Ok(Ok(()))) {
                tracing::warn!(ticket, "could not record the ticket's forum topic");
            }
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
pub(super) async fn outbound(bot: Bot, ctx: Arc<TgContext>) {
    let mut events = ctx.desk.subscribe();
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
            // Every instance hears of the ticket; the first to record it posts it.
            let desk = ctx.desk.clone();
            let first = blocking(move || {
                desk.announce_once(&format!("telegram-staff-group:{ticket}"))
                    .and_then(|first| first.then(|| desk.ticket(ticket)).transpose())
            })
            .await;
            if let Ok(Ok(Some(t))) = first {
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
        // What came after the last delivery, taken from the delivery record: of several
        // instances hearing this event, one sends.
        let desk = ctx.desk.clone();
        let conv = event.conversation.clone();
        let texts =
            match blocking(move || desk.take_outbound(&conv, crate::channels::to_investor)).await {
                Ok(Ok(texts)) => texts,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "telegram delivery record unavailable");
                    continue;
                }
                Err(_) => continue,
            };
        for text in texts {
            send_or_note(&bot, &ctx, ChatId(chat), &text, None, None).await;
        }
    }
}
