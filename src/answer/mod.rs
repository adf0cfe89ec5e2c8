//! Answering one question: small talk and requests for a person first, then retrieval and
//! the decision (answer | clarify | handoff), then the reply in the question's language.

mod decide;
pub mod reply;
mod smalltalk;

pub use decide::{
    Decision, FEATURES, Features, HandoffReason, Thresholds, Weights, candidates, decide, features,
    leading_features,
};
pub use reply::{ClarifyOption, Kind, Reply, Source, compose, handoff_text};
pub use smalltalk::{SmallTalk, classify as classify_smalltalk, wants_person};
