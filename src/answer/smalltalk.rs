//! Messages that are not questions: greetings, thanks, goodbyes, empty input, and requests
//! for a person. Recognised before any search.

use crate::text::normalize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    Empty,
    Greeting,
    Thanks,
    Goodbye,
}

impl SmallTalk {
    pub fn reason(self) -> &'static str {
        match self {
            SmallTalk::Empty => "empty",
            SmallTalk::Greeting => "greeting",
            SmallTalk::Thanks => "thanks",
            SmallTalk::Goodbye => "goodbye",
        }
    }
}

/// The message without punctuation, symbols, emoji and spaces, lowercased.
fn bare(text: &str) -> String {
    normalize(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Recognises a message that is only a greeting, thanks or goodbye (with any punctuation
/// or emoji around it), or has no words at all.
pub fn classify(text: &str) -> Option<SmallTalk> {
    let b = bare(text);
    if b.is_empty() {
        return Some(SmallTalk::Empty);
    }
    const GREETINGS: &[&str] = &[
        "你好",
        "您好",
        "你好呀",
        "你好啊",
        "hi",
        "hello",
        "hey",
        "嗨",
        "哈喽",
        "在吗",
        "在不在",
        "有人吗",
        "早上好",
        "上午好",
        "下午好",
        "晚上好",
        "早",
        "goodmorning",
        "goodafternoon",
        "goodevening",
        "大家好",
        "helloxiaoer",
        "hixiaoer",
        "小二",
        "你好小二",
        "start",
    ];
    const THANKS: &[&str] = &[
        "谢谢",
        "谢谢你",
        "谢谢您",
        "多谢",
        "感谢",
        "非常感谢",
        "太感谢了",
        "谢啦",
        "thanks",
        "thankyou",
        "thx",
        "thankyouverymuch",
        "thanksalot",
        "好的谢谢",
        "ok谢谢",
        "明白了谢谢",
        "收到谢谢",
        "好的",
        "好",
        "ok",
        "okay",
        "收到",
        "明白了",
        "了解",
        "知道了",
        "great",
        "cool",
        "gotit",
    ];
    const GOODBYES: &[&str] = &[
        "再见",
        "拜拜",
        "bye",
        "goodbye",
        "byebye",
        "回头见",
        "seeyou",
    ];
    if GREETINGS.contains(&b.as_str()) {
        Some(SmallTalk::Greeting)
    } else if THANKS.contains(&b.as_str()) {
        Some(SmallTalk::Thanks)
    } else if GOODBYES.contains(&b.as_str()) {
        Some(SmallTalk::Goodbye)
    } else {
        None
    }
}

/// Does the investor ask for a person? Strong phrases count anywhere; bare words such as
/// 人工 or "agent" only when they are (almost) the whole message, so that a question
/// *about* commissioners ("招商护商专员是做什么的") is still answered.
pub fn wants_person(text: &str) -> bool {
    let n = normalize(text);
    let b = bare(text);
    const STRONG_ZH: &[&str] = &[
        "转人工",
        "人工客服",
        "人工服务",
        "找人工",
        "要人工",
        "接人工",
        "我要人工",
        "请人工",
        "转接人工",
        "联系人工",
        "真人客服",
        "找真人",
        "转专员",
        "找专员",
        "联系专员",
        "对接专员",
        "找招商专员",
        "找个专员",
        "找个人工",
        "人工回复",
        "人工处理",
    ];
    const STRONG_EN: &[&str] = &[
        "talk to a human",
        "speak to a human",
        "talk to a person",
        "speak to a person",
        "talk to someone",
        "speak to someone",
        "talk to an agent",
        "speak to an agent",
        "real person",
        "human agent",
        "live agent",
        "a real human",
        "connect me to",
        "transfer me to",
        "i want a human",
        "i need a human",
        "get me a human",
        "talk to a commissioner",
        "speak to a commissioner",
        "contact a commissioner",
        "human please",
        "agent please",
        "operator please",
    ];
    if STRONG_ZH.iter().any(|p| b.contains(p)) || STRONG_EN.iter().any(|p| n.contains(p)) {
        return true;
    }
    const BARE: &[&str] = &[
        "人工",
        "专员",
        "客服",
        "真人",
        "招商专员",
        "招商护商专员",
        "人工人工",
        "human",
        "agent",
        "operator",
        "person",
        "humanagent",
        "representative",
        "commissioner",
        "customerservice",
    ];
    let short = b
        .trim_start_matches("我要")
        .trim_start_matches("我想要")
        .trim_start_matches("请")
        .trim_start_matches("找")
        .trim_start_matches("要");
    BARE.contains(&b.as_str()) || BARE.contains(&short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_thanks_and_empty() {
        assert_eq!(classify("你好！"), Some(SmallTalk::Greeting));
        assert_eq!(classify("Hello 👋"), Some(SmallTalk::Greeting));
        assert_eq!(classify("谢谢～"), Some(SmallTalk::Thanks));
        assert_eq!(classify("  \n\t "), Some(SmallTalk::Empty));
        assert_eq!(classify("🙂🙂？？"), Some(SmallTalk::Empty));
        assert_eq!(classify("你好，高企税率是多少"), None);
    }

    #[test]
    fn asking_for_a_person() {
        for t in [
            "转人工",
            "人工",
            "我要人工！",
            "找专员",
            "human",
            "Agent please",
            "I want to talk to a human",
            "请帮我转人工客服",
        ] {
            assert!(wants_person(t), "{t}");
        }
        for t in [
            "招商护商专员是做什么的",
            "How do commissioners help investors?",
            "人工智能产业有什么政策",
        ] {
            assert!(!wants_person(t), "{t}");
        }
    }
}
