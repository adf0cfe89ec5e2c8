//! Channels: thin adapters that translate between a transport and the desk. They deliver;
//! they decide nothing.

pub mod telegram;
pub mod web;
pub mod wechat;
