//! WeChat service-account settings (`[wechat]` in the config; `XIAOER_WECHAT_*` from the
//! environment win). The secret, the token and the keys never appear in Debug output.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WechatConfig {
    /// The account's AppID; safe-mode messages must be addressed to it.
    pub app_id: Option<String>,
    /// The AppSecret (for the access token of the customer-service API).
    pub secret: Option<String>,
    /// The Token set in the account's server configuration: it signs every callback.
    pub token: Option<String>,
    /// The 43-character EncodingAESKey (safe mode).
    pub encoding_aes_key: Option<String>,
    /// The previous EncodingAESKey, accepted while the office rotates it.
    pub previous_encoding_aes_key: Option<String>,
    /// The API base URL (`https://api.weixin.qq.com` when unset; a test's fake server).
    pub api_base: Option<String>,
}

impl std::fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("WechatConfig")
            .field("app_id", &self.app_id)
            .field("secret", &hidden(&self.secret))
            .field("token", &hidden(&self.token))
            .field("encoding_aes_key", &hidden(&self.encoding_aes_key))
            .field(
                "previous_encoding_aes_key",
                &hidden(&self.previous_encoding_aes_key),
            )
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl WechatConfig {
    /// Applies `XIAOER_WECHAT_APP_ID`, `_SECRET`, `_TOKEN`, `_ENCODING_AES_KEY`,
    /// `_PREVIOUS_ENCODING_AES_KEY` and `_API_BASE`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let fields: [(&str, &mut Option<String>); 6] = [
            ("XIAOER_WECHAT_APP_ID", &mut self.app_id),
            ("XIAOER_WECHAT_SECRET", &mut self.secret),
            ("XIAOER_WECHAT_TOKEN", &mut self.token),
            ("XIAOER_WECHAT_ENCODING_AES_KEY", &mut self.encoding_aes_key),
            (
                "XIAOER_WECHAT_PREVIOUS_ENCODING_AES_KEY",
                &mut self.previous_encoding_aes_key,
            ),
            ("XIAOER_WECHAT_API_BASE", &mut self.api_base),
        ];
        for (name, field) in fields {
            if let Some(v) = var(name).filter(|v| !v.trim().is_empty()) {
                *field = Some(v);
            }
        }
    }

    /// On when the account's token and AppID are set: callbacks can then be checked.
    pub fn enabled(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        set(&self.token) && set(&self.app_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output_and_the_environment_wins() {
        let mut c = WechatConfig {
            app_id: Some("wx1".into()),
            secret: Some("APP-SECRET".into()),
            token: Some("TOKEN-SECRET".into()),
            encoding_aes_key: Some("KEY-SECRET".into()),
            ..WechatConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(c.enabled());
        c.apply_env(|k| (k == "XIAOER_WECHAT_TOKEN").then(|| "other".to_string()));
        assert_eq!(c.token.as_deref(), Some("other"));
        assert!(!WechatConfig::default().enabled());
    }
}
