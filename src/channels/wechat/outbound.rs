//! Desk events to WeChat investors: commissioners' replies and system notes go out as
//! customer-service messages (a passive reply can only answer the investor's own message).

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::api::{Api, split_bytes};
use super::callback::CHANNEL;
use crate::desk::Desk;

/// A customer-service text message holds at most 2,048 bytes.
const MAX_MESSAGE_BYTES: usize = 2048;

/// Delivers what a person (or the desk) writes in WeChat conversations.
pub async fn outbound(desk: Arc<Desk>, api: Arc<Api>) {
    let mut events = desk.subscribe();
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "wechat delivery lagged behind desk events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(openid) = event.conversation.strip_prefix(&format!("{CHANNEL}:")) else {
            continue;
        };
        // Taken from the delivery record: of several instances hearing this event, one sends.
        let (d, conv) = (desk.clone(), event.conversation.clone());
        let texts = match tokio::task::spawn_blocking(move || {
            d.take_outbound(&conv, crate::channels::to_investor)
        })
        .await
        {
            Ok(Ok(texts)) => texts,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "wechat delivery record unavailable");
                continue;
            }
            Err(_) => continue,
        };
        for text in texts {
            for part in split_bytes(&text, MAX_MESSAGE_BYTES) {
                if let Err(e) = api.send_text(openid, &part).await {
                    if super::api::retryable(&e) {
                        tracing::warn!(error = %e, "wechat message not delivered");
                    } else {
                        // 45015: more than 48 hours since the investor last wrote; only
                        // they can reopen the window. Not retried; the console says so.
                        tracing::warn!(error = %e, "wechat investor must write again before a reply can reach them");
                        let why = format!(
                            "微信未送达（{e}）：投资者需先再发一条消息，回复才能送达 / not delivered: the investor must write again first"
                        );
                        let (d, conv) = (desk.clone(), event.conversation.clone());
                        let _ =
                            tokio::task::spawn_blocking(move || d.note_undelivered(&conv, &why))
                                .await;
                    }
                    break;
                }
            }
        }
    }
}
