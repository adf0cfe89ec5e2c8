//! The XML WeChat posts and accepts: an incoming message or event, and the passive reply
//! (a text message back to the sender).

use serde::Deserialize;

/// One callback's body. Safe mode sends only `Encrypt` (and `ToUserName`); its plaintext is
/// another `Incoming` with the other fields.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Incoming {
    pub to_user_name: String,
    /// The investor's OpenID.
    pub from_user_name: String,
    pub create_time: u64,
    pub msg_type: String,
    pub content: String,
    /// Absent for events.
    pub msg_id: Option<String>,
    pub event: String,
    pub event_key: String,
    pub encrypt: Option<String>,
}

impl Incoming {
    pub fn parse(xml: &str) -> Result<Incoming, String> {
        quick_xml::de::from_str(xml).map_err(|e| format!("wechat: unreadable XML: {e}"))
    }

    /// The id WeChat redelivers a message under: its MsgId, or for an event (which has
    /// none) the sender and the creation time.
    pub fn delivery_id(&self) -> String {
        match &self.msg_id {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => format!("{}@{}", self.from_user_name, self.create_time),
        }
    }
}

/// A passive text reply from the account (`from`) to the investor (`to`).
pub fn text_reply(to: &str, from: &str, created: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(to),
        cdata(from),
        cdata(content)
    )
}

/// The safe-mode reply envelope around an encrypted reply.
pub fn encrypted_reply(encrypt: &str, signature: &str, timestamp: &str, nonce: &str) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(signature),
        cdata(timestamp),
        cdata(nonce)
    )
}

/// `text` as CDATA; a "]]>" inside it is split across two sections, as XML requires.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_text_message_and_an_event() {
        let m = Incoming::parse("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_investor]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[高企税率多少]]></Content><MsgId>6054768590064713728</MsgId></xml>").unwrap();
        assert_eq!(m.from_user_name, "o_investor");
        assert_eq!(m.content, "高企税率多少");
        assert_eq!(m.delivery_id(), "6054768590064713728");
        let e = Incoming::parse("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_x]]></FromUserName><CreateTime>7</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>").unwrap();
        assert_eq!(e.event, "subscribe");
        assert_eq!(e.delivery_id(), "o_x@7");
        assert!(Incoming::parse("<xml><Content>").is_err());
    }

    #[test]
    fn a_reply_survives_any_text_including_cdata_ends() {
        let xml = text_reply("o_x", "gh_1", 9, "a ]]> b <c> & 税");
        let back = Incoming::parse(&xml).unwrap();
        assert_eq!(back.content, "a ]]> b <c> & 税");
        assert_eq!(back.to_user_name, "o_x");
    }
}
