//! WeChat: investors on the office's service account. The callback (`callback`) checks
//! every request's signature, opens safe-mode envelopes (`crypto`), reads the XML
//! (`message`), takes each message in once and answers it passively. Not built yet: the
//! customer-service API (commissioners' replies, answers slower than 4 s), WeCom.

pub mod callback;
pub mod config;
pub mod crypto;
pub mod message;

pub use callback::{WechatState, router};
pub use config::WechatConfig;
