//! WeChat (the office's service account) and WeCom (its commissioners): so far the message
//! security both share (`crypto`): the callback signature and the AES "safe mode" envelope.
//! The channel itself (receiving, replying, the customer-service API) builds on it.

pub mod crypto;
