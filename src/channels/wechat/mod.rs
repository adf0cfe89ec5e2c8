//! WeChat: investors on the office's service account. The callback (`callback`) checks
//! every request's signature, opens safe-mode envelopes (`crypto`), reads the XML
//! (`message`), takes each message in once and answers it passively; `outbound` sends
//! commissioners' replies through the customer-service API (`api`), as it does an answer
//! slower than 4 s (with "typing…" meanwhile); `choices` reads a clarify option's number
//! and a 👍 / 👎 rating. WeCom for commissioners (`crate::channels::wecom`) reuses `crypto`.

pub mod api;
pub mod callback;
pub mod choices;
pub mod config;
pub mod crypto;
pub mod message;
pub mod outbound;

pub use callback::{WechatState, router};
pub use config::WechatConfig;

/// Tencent's API host, when `[wechat] api_base` is not set.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
