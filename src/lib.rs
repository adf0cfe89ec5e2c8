//! xiaoer (店小二): an investor-service desk that answers from an investment-promotion
//! office's policy documents and FAQs, and hands the conversation to a human commissioner
//! when it is unsure. This crate is the library; `main.rs` is only the command line.

pub mod answer;
pub mod calibrate;
pub mod channels;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod desk;
pub mod engine;
pub mod error;
pub mod eval;
pub mod search;
pub mod store;
pub mod text;
