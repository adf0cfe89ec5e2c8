//! What instances sharing one store tell each other: desk events (so every instance's live
//! views and channel senders hear of a message another instance took in) and re-indexes
//! (so every instance switches to the new corpus).

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::DeskEvent;
use crate::engine::Engine;

/// A message on the wire between instances.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Remote {
    Event(#[serde(with = "wire_event")] DeskEvent),
    Reindexed { generation: String },
}

pub fn encode(message: &Remote) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// The kinds of desk event there are: the wire carries a string, the desk a `&'static str`.
const KINDS: [&str; 3] = ["message", "ticket_opened", "ticket_changed"];

mod wire_event {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        conversation: String,
        ticket: Option<u64>,
        kind: String,
    }

    pub fn serialize<S: serde::Serializer>(e: &DeskEvent, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            conversation: e.conversation.clone(),
            ticket: e.ticket,
            kind: e.kind.to_string(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DeskEvent, D::Error> {
        let w = Wire::deserialize(d)?;
        let kind = KINDS
            .iter()
            .find(|k| **k == w.kind)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event kind {}", w.kind)))?;
        Ok(DeskEvent {
            conversation: w.conversation,
            ticket: w.ticket,
            kind,
        })
    }
}

/// What to do with a message from another instance: pass desk events to this instance's
/// subscribers; on a re-index, switch to the new generation.
pub fn on_message(
    events: broadcast::Sender<DeskEvent>,
    engine: Arc<Engine>,
) -> impl Fn(String) + Send + Sync + 'static {
    // One rebuild at a time; a second announcement waits and rebuilds the newer corpus.
    let rebuilding = Arc::new(Mutex::new(()));
    move |raw: String| match serde_json::from_str::<Remote>(&raw) {
        Ok(Remote::Event(event)) => {
            let _ = events.send(event);
        }
        Ok(Remote::Reindexed { generation }) => {
            let (engine, rebuilding) = (engine.clone(), rebuilding.clone());
            // Building an index takes seconds: off the store's runtime.
            std::thread::spawn(move || {
                let _one = rebuilding.lock().unwrap_or_else(|e| e.into_inner());
                follow_reindex(&engine, &generation);
            });
        }
        Err(e) => tracing::warn!(error = %e, "ignored a message from another instance"),
    }
}

/// Instances sharing the index directory switch to the generation `CURRENT` now names
/// (the one the other instance built); an instance with an index of its own rebuilds it
/// from its corpus. Either way the old generation serves until the switch.
fn follow_reindex(engine: &Engine, generation: &str) {
    match engine.reload() {
        Ok(_) if engine.generation().name == generation => {
            tracing::info!(%generation, "switched to the generation another instance built");
        }
        Ok(_) => match engine.reindex(&mut |_, _| {}) {
            Ok(s) => tracing::info!(
                announced = %generation, generation = %s.generation,
                "another instance re-indexed; rebuilt this instance's index from its corpus"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "re-index announced by another instance failed here; still serving the old generation")
            }
        },
        Err(e) => tracing::warn!(error = %e, "could not open the announced generation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cross_the_wire_unchanged() {
        let event = DeskEvent {
            conversation: "web:abc".into(),
            ticket: Some(7),
            kind: "ticket_opened",
        };
        let raw = encode(&Remote::Event(event.clone()));
        match serde_json::from_str::<Remote>(&raw).unwrap() {
            Remote::Event(back) => assert_eq!(back, event),
            other => panic!("{other:?}"),
        }
        let unknown = raw.replace("ticket_opened", "rm -rf");
        assert!(serde_json::from_str::<Remote>(&unknown).is_err());
    }
}
