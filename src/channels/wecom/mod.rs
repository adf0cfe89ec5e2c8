//! WeCom (企业微信): commissioners on the office's self-built app. New tickets from any
//! channel reach them as cards (`outbound`), queued per person under WeCom's 30 a minute
//! (`mailer`); what they write back (`认领 12`, `12 回复…`, `关闭 12`; `command`) comes in
//! through the callback (`callback`), sealed with the same envelope as WeChat's safe mode
//! (`crate::channels::wechat::crypto`, with the CorpID as the receiver), and is answered
//! through the app's API (`api`). New tickets can also go to the team's group through a
//! group robot's webhook (`robot`), batched under its 20 a minute; both queues count their
//! sends in the same sliding window (`window`).

pub mod api;
pub mod callback;
pub mod command;
pub mod config;
pub mod mailer;
pub mod outbound;
pub mod robot;
pub mod window;

pub use callback::{WecomState, router};
pub use config::WecomConfig;

/// Tencent's WeCom API host, when `[wecom] api_base` is not set.
pub const DEFAULT_API_BASE: &str = "https://qyapi.weixin.qq.com";
