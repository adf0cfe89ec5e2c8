//! Desk events to WeCom: each new ticket (from any channel) as a card to the commissioners
//! it was routed to, or to every commissioner with a WeCom account when it went to all; and
//! what an investor writes after a commissioner on WeCom claimed their ticket, to them.
//! With a group robot, each new ticket's brief goes to the team's group at the same moment.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::api::{Card, MAX_TEXT_BYTES, Outgoing};
use super::mailer::Mailer;
use super::robot::Robot;
use crate::channels::wechat::api::split_bytes;
use crate::desk::{Author, Desk, DeskError, Owner, Role, StaffAccount, Ticket, TicketState};

/// WeCom's limits on a card: title 128 bytes, description 512.
const MAX_TITLE_BYTES: usize = 128;
const MAX_DESCRIPTION_BYTES: usize = 512;

/// Sends new tickets to commissioners on WeCom through the app (`mailer`, when the app is
/// set up) and to the group robot (`robot`, when one is). `console_url` is the card's
/// link; without one the ticket goes as a text message (a card must have a link).
pub async fn outbound(
    desk: Arc<Desk>,
    mailer: Option<Arc<Mailer>>,
    robot: Option<Arc<Robot>>,
    console_url: Option<String>,
) {
    let mut events = desk.subscribe();
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "wecom notices lagged behind desk events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if event.kind == "message" {
            // Follow-ups go through the app only; without it their delivery record is
            // left for when it is set up.
            let Some(mailer) = &mailer else {
                continue;
            };
            let (d, conv) = (desk.clone(), event.conversation.clone());
            match tokio::task::spawn_blocking(move || follow_ups(&d, &conv)).await {
                Ok(Ok(Some((user, texts)))) => {
                    for text in texts {
                        mailer.send(&user, Outgoing::text(&text));
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "wecom follow-up not forwarded"),
                Err(e) => tracing::warn!(error = %e, "wecom follow-up task failed"),
            }
            continue;
        }
        let (true, Some(id)) = (event.kind == "ticket_opened", event.ticket) else {
            continue;
        };
        let (d, cards) = (desk.clone(), mailer.is_some());
        let found = tokio::task::spawn_blocking(
            move || -> Result<Option<(Ticket, Vec<String>)>, DeskError> {
                // Every instance hears of the ticket; the first to record it sends it.
                if !d.announce_once(&format!("wecom:ticket:{id}"))? {
                    return Ok(None);
                }
                let ticket = d.ticket(id)?;
                let to = if cards {
                    recipients(&ticket, &d.staff_accounts()?)
                } else {
                    Vec::new()
                };
                Ok(Some((ticket, to)))
            },
        )
        .await;
        match found {
            Ok(Ok(Some((ticket, to)))) => {
                if let Some(robot) = &robot {
                    robot.notify(&ticket);
                }
                if let Some(mailer) = &mailer {
                    if to.is_empty() {
                        tracing::info!(
                            ticket = id,
                            "no commissioner for this ticket has a WeCom account"
                        );
                    }
                    let message = notice(&ticket, console_url.as_deref());
                    for user in to {
                        mailer.send(&user, message.clone());
                    }
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(ticket = id, error = %e, "wecom ticket notice not sent"),
            Err(e) => tracing::warn!(error = %e, "wecom ticket notice task failed"),
        }
    }
}

/// What the investor wrote since the last forward, for the commissioner who claimed their
/// ticket when that commissioner is on WeCom: without it a commissioner working from WeCom
/// would never see the answer to their reply. Only messages since the claim (the card
/// carried the question); its own delivery record makes one instance forward each.
fn follow_ups(desk: &Desk, conversation: &str) -> Result<Option<(String, Vec<String>)>, DeskError> {
    let Some(conv) = desk.conversation(conversation)? else {
        return Ok(None);
    };
    let Owner::Staff {
        ticket,
        commissioner,
    } = conv.owner
    else {
        return Ok(None);
    };
    let Some(user) = desk
        .staff_account(&commissioner)?
        .filter(|a| !a.disabled)
        .and_then(|a| a.wecom_user)
    else {
        return Ok(None);
    };
    let TicketState::Claimed { at: since, .. } = desk.ticket(ticket)?.state else {
        return Ok(None);
    };
    let texts = desk.take_outbound_for("wecom", conversation, |messages, known| {
        let after = known.unwrap_or(0);
        let texts = messages
            .iter()
            .filter(|m| m.seq > after && m.at >= since && m.author == Author::Investor)
            .flat_map(|m| {
                split_bytes(
                    &format!("工单 #{ticket} 投资者：{}", m.text),
                    MAX_TEXT_BYTES,
                )
            })
            .collect();
        let reached = messages.last().map_or(after, |m| m.seq.max(after));
        (texts, reached)
    })?;
    Ok(Some((user, texts)))
}

/// The WeCom users to tell of `ticket`: its `routed_to` commissioners', or every active
/// commissioner's when it was routed to all.
pub fn recipients(ticket: &Ticket, accounts: &[StaffAccount]) -> Vec<String> {
    let mut users: Vec<String> = accounts
        .iter()
        .filter(|a| a.role == Role::Commissioner && !a.disabled)
        .filter(|a| ticket.routed_to.is_empty() || ticket.routed_to.contains(&a.name))
        .filter_map(|a| a.wecom_user.clone())
        .collect();
    users.sort();
    users.dedup();
    users
}

/// The card for `ticket`: its number, the investor's question and why the bot handed it
/// off, and how to claim it from WeCom.
pub fn notice(ticket: &Ticket, console_url: Option<&str>) -> Outgoing {
    let title = fit(&format!("工单 #{}", ticket.id), MAX_TITLE_BYTES);
    let tail = format!(
        "\n原因：{}\n回复「认领 {}」即可认领",
        reason_label(&ticket.brief.reason),
        ticket.id
    );
    let question = fit(
        &ticket.brief.question,
        MAX_DESCRIPTION_BYTES.saturating_sub(tail.len()),
    );
    let description = format!("{question}{tail}");
    match console_url.filter(|u| !u.trim().is_empty()) {
        Some(url) => Outgoing::Textcard {
            textcard: Card {
                title,
                description,
                url: url.to_string(),
                btntxt: "认领".into(),
            },
        },
        None => Outgoing::text(&format!("{title}\n{description}")),
    }
}

/// The hand-off reason in words a commissioner reads at a glance.
pub(super) fn reason_label(reason: &str) -> String {
    match reason {
        "asked_for_person" => "投资者要求人工".into(),
        "low_confidence" => "小二把握不足".into(),
        "no_match" => "资料中没有找到答案".into(),
        "expired_only" => "只找到已失效的政策".into(),
        other => other.to_string(),
    }
}

/// `text` within `max` UTF-8 bytes, cut at a character with an ellipsis when too long.
pub(super) fn fit(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let room = max.saturating_sub("…".len());
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() > room {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_questions_are_cut_to_fit_a_card() {
        let long = "厂".repeat(400);
        let cut = fit(&long, 100);
        assert!(cut.len() <= 100 && cut.ends_with('…'), "{}", cut.len());
        assert_eq!(fit("short", 100), "short");
        assert_eq!(reason_label("asked_for_person"), "投资者要求人工");
        assert_eq!(reason_label("other"), "other");
    }
}
