//! What a commissioner writes to the app: `认领 12` / `claim 12`, `12 回复内容`,
//! `交回 12` / `handback 12`, `释放 12` / `release 12`, `关闭 12` / `close 12`. WeCom has
//! no reply-to-message for apps, so the ticket number is written out; only a commissioner
//! who holds one ticket may leave it off (`callback::in_the_only_thread`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Claim(u64),
    Reply(u64, String),
    Handback(u64),
    Release(u64),
    Close(u64),
    /// Anything else: answered with the list of commands.
    Help,
}

/// The usage note sent for anything that is not a command.
pub const HELP: &str = "可用命令：\n认领 12（claim 12）\n12 回复内容（回复投资者；只持有一个工单时可省略编号）\n释放 12（release 12，退回队列）\n交回 12（handback 12，交还小二）\n关闭 12（close 12）";

/// A command word in its spellings, and the command it makes of a ticket number.
type Verb = (&'static [&'static str], fn(u64) -> Command);

/// A ticket number as written: `12` or `#12`.
fn ticket(text: &str) -> Option<u64> {
    text.trim().trim_start_matches(['#', '＃']).parse().ok()
}

impl Command {
    pub fn parse(text: &str) -> Command {
        let text = text.trim();
        // The first word, and what follows it (any whitespace, the ideographic space too).
        let (head, rest) = match text.find(char::is_whitespace) {
            Some(at) => (&text[..at], text[at..].trim()),
            None => (text, ""),
        };
        let verbs: [Verb; 4] = [
            (&["认领", "claim"], Command::Claim),
            (&["交回", "handback"], Command::Handback),
            (&["释放", "release"], Command::Release),
            (&["关闭", "close"], Command::Close),
        ];
        for (names, make) in verbs {
            for name in names {
                // `认领 12`, and `认领12` without the space (easy to type on a phone).
                let arg = if head.eq_ignore_ascii_case(name) {
                    Some(rest)
                } else if rest.is_empty() {
                    head.get(..name.len())
                        .filter(|h| h.eq_ignore_ascii_case(name))
                        .map(|_| &head[name.len()..])
                } else {
                    None
                };
                if let Some(t) = arg.and_then(ticket) {
                    return make(t);
                }
            }
        }
        match ticket(head) {
            Some(t) if !rest.is_empty() => Command::Reply(t, rest.to_string()),
            _ => Command::Help,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_chinese_and_english() {
        assert_eq!(Command::parse("认领 12"), Command::Claim(12));
        assert_eq!(Command::parse(" claim #12 "), Command::Claim(12));
        assert_eq!(Command::parse("CLAIM 12"), Command::Claim(12));
        assert_eq!(Command::parse("认领12"), Command::Claim(12));
        assert_eq!(Command::parse("认领\u{3000}7"), Command::Claim(7));
        assert_eq!(Command::parse("交回 3"), Command::Handback(3));
        assert_eq!(Command::parse("handback 3"), Command::Handback(3));
        assert_eq!(Command::parse("释放 4"), Command::Release(4));
        assert_eq!(Command::parse("release 4"), Command::Release(4));
        assert_eq!(Command::parse("关闭 5"), Command::Close(5));
        assert_eq!(Command::parse("close 5"), Command::Close(5));
        assert_eq!(
            Command::parse("12 您好，厂房租金补贴请看第三条。"),
            Command::Reply(12, "您好，厂房租金补贴请看第三条。".into())
        );
        assert_eq!(
            Command::parse("#12  line one\nline two"),
            Command::Reply(12, "line one\nline two".into())
        );
    }

    #[test]
    fn anything_else_is_help_and_never_fails() {
        for text in [
            "",
            "认领",
            "认领 x",
            "12",
            "hello",
            "claim 99999999999999999999999",
            "认领 12 13",
            "\u{0}",
            "關閉 1",
        ] {
            assert_eq!(Command::parse(text), Command::Help, "{text:?}");
        }
    }
}
