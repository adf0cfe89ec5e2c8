//! One `Config` for every command, with defaults that serve out of the box. Precedence:
//! built-in defaults < config file (`--config`, or `xiaoer.toml` when present) <
//! environment (`XIAOER_*`) < command-line flags (applied by `main`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::answer::Thresholds;
use crate::desk::DeskConfig;
use crate::error::{SourceError, line_of};

pub const DEFAULT_CONFIG_FILE: &str = "xiaoer.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The corpus directory (policies/, faqs/, dict/).
    pub corpus: PathBuf,
    /// Where index generations are built; only `CURRENT` and `gen-*` live here.
    pub index: PathBuf,
    /// Conversation state (sled), and the admin socket; see `store` for PostgreSQL.
    pub data: PathBuf,
    /// Where conversation state lives when not in sled under `data`.
    pub store: StoreConfig,
    /// Web server address; localhost unless told otherwise.
    pub addr: String,
    /// Questions longer than this (in characters) are refused with a request to shorten.
    pub max_question_chars: usize,
    /// Decision thresholds and weights. Unset, each generation's own calibration (made by
    /// `reindex`) is used; set, it overrides that (tune it with `xiaoer eval --sweep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Thresholds>,
    /// Office hours, claim timeout.
    pub desk: DeskConfig,
    /// Web limits.
    pub web: WebConfig,
    /// Retrieval evidence. Unset, each generation's calibration picks it (see `calibrate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<crate::search::SearchOptions>,
    /// Telegram (off without a token).
    pub telegram: crate::channels::telegram::TelegramConfig,
    /// The WeChat service account (off without a token and AppID).
    pub wechat: crate::channels::wechat::WechatConfig,
    /// WeCom for commissioners (off until its CorpID, AgentId, secret, token and key are set).
    pub wecom: crate::channels::wecom::WecomConfig,
}

/// `[store]`: a PostgreSQL URL puts the desk in that database, shared by every `serve`
/// pointed at it; none keeps it in sled under `data`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://user:password@host:port/database` (or `XIAOER_STORE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The URL holds a password: Debug output (and so logs) shows it redacted.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_deref().map(crate::store::redacted_url))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Investor messages per minute per session.
    pub session_messages_per_minute: u32,
    /// Investor messages per minute per client address.
    pub address_messages_per_minute: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// 👍/👎 per minute per session.
    pub feedback_per_minute: u32,
    /// Staff sign-in attempts per minute per client address.
    pub sign_ins_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (by default none: the
    /// connection's peer is the client).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Open connections the server holds at most; a new one past this is closed at once.
    pub max_connections: usize,
    /// Open connections one client address may hold (trusted proxies are exempt).
    pub max_connections_per_address: usize,
    /// Seconds a connection may take to send a request's headers, and may sit idle between
    /// requests, before it is closed.
    pub header_read_timeout_secs: u64,
    /// Event streams (`/api/events`, `/api/staff/events`) one session or one member of
    /// staff may hold open at once.
    pub max_streams_per_session: usize,
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            session_messages_per_minute: 30,
            address_messages_per_minute: 600,
            max_body_bytes: 16 * 1024,
            feedback_per_minute: 30,
            sign_ins_per_minute: 10,
            trusted_proxies: Vec::new(),
            max_connections: 10_000,
            max_connections_per_address: 64,
            header_read_timeout_secs: 10,
            max_streams_per_session: 4,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            corpus: PathBuf::from("corpus"),
            index: PathBuf::from("index"),
            data: PathBuf::from("data"),
            store: StoreConfig::default(),
            addr: "127.0.0.1:8080".to_string(),
            max_question_chars: 1000,
            decision: None,
            desk: DeskConfig::default(),
            web: WebConfig::default(),
            telegram: Default::default(),
            wechat: Default::default(),
            wecom: Default::default(),
            search: None,
        }
    }
}

impl Config {
    /// Reads `path`, or `xiaoer.toml` in the working directory when no path is given and
    /// that file exists; then applies `XIAOER_CORPUS`, `XIAOER_INDEX`, `XIAOER_DATA`,
    /// `XIAOER_ADDR`, `XIAOER_STORE` from the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, SourceError> {
        let mut config = match path {
            Some(p) => Config::from_file(p)?,
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                Config::from_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok());
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, SourceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SourceError::new(path, 0, format!("cannot read config: {e}")))?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, SourceError> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            SourceError::new(path, line, e.message().to_string())
        })
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(v) = var("XIAOER_CORPUS") {
            self.corpus = v.into();
        }
        if let Some(v) = var("XIAOER_INDEX") {
            self.index = v.into();
        }
        if let Some(v) = var("XIAOER_DATA") {
            self.data = v.into();
        }
        if let Some(v) = var("XIAOER_ADDR") {
            self.addr = v;
        }
        if let Some(v) = var("XIAOER_STORE").filter(|v| !v.is_empty()) {
            self.store.url = Some(v);
        }
        self.telegram.apply_env(&var);
        self.wechat.apply_env(&var);
        self.wecom.apply_env(&var);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let mut c = Config::parse(
            "corpus = \"/srv/c\"\n[decision]\nanswer = 0.7\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.corpus, PathBuf::from("/srv/c"));
        assert_eq!(c.decision.unwrap().answer, 0.7);
        assert_eq!(c.decision.unwrap().clarify, Thresholds::default().clarify);
        c.apply_env(|k| (k == "XIAOER_CORPUS").then(|| "/env/c".to_string()));
        assert_eq!(c.corpus, PathBuf::from("/env/c"));
    }

    #[test]
    fn confidence_weights_come_from_the_decision_table() {
        let c = Config::parse(
            "[decision]\nanswer = 0.58\n[decision.weights]\nraw_margin = 0.46\ncoverage = 0.2\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.decision.unwrap().weights.raw_margin, 0.46);
        assert_eq!(c.decision.unwrap().weights.coverage, 0.2);
        let defaults = crate::answer::Weights::default();
        assert_eq!(
            c.decision.unwrap().weights.score_ratio,
            defaults.score_ratio
        );
        let e =
            Config::parse("[decision.weights]\nmargins = 1\n", Path::new("x.toml")).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn unknown_key_names_its_line() {
        let e = Config::parse(
            "addr = \"127.0.0.1:1\"\ncorpsu = \"x\"\n",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }
}
