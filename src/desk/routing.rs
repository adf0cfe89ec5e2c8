//! Which district and industry a case concerns, read from the conversation, so a ticket
//! reaches the commissioners who cover them first.

use super::model::InvestorInfo;

const DISTRICTS: &[(&str, &str)] = &[
    ("新吴", "新吴区"),
    ("高新区", "新吴区"),
    ("wnd", "新吴区"),
    ("xinwu", "新吴区"),
    ("梁溪", "梁溪区"),
    ("liangxi", "梁溪区"),
    ("惠山", "惠山区"),
    ("huishan", "惠山区"),
    ("滨湖", "滨湖区"),
    ("蠡园", "滨湖区"),
    ("binhu", "滨湖区"),
    ("锡山", "锡山区"),
    ("xishan", "锡山区"),
    ("江阴", "江阴市"),
    ("jiangyin", "江阴市"),
    ("宜兴", "宜兴市"),
    ("yixing", "宜兴市"),
    ("经开区", "无锡经济开发区"),
    ("经济开发区", "无锡经济开发区"),
];

const INDUSTRIES: &[(&str, &str)] = &[
    ("集成电路", "集成电路"),
    ("芯片", "集成电路"),
    ("半导体", "集成电路"),
    ("晶圆", "集成电路"),
    ("semiconductor", "集成电路"),
    ("生物医药", "生物医药"),
    ("医药", "生物医药"),
    ("医疗器械", "生物医药"),
    ("biotech", "生物医药"),
    ("pharma", "生物医药"),
    ("新能源", "新能源"),
    ("光伏", "新能源"),
    ("储能", "新能源"),
    ("锂电", "新能源"),
    ("氢能", "新能源"),
    ("battery", "新能源"),
    ("物联网", "物联网"),
    ("iot", "物联网"),
    ("软件", "软件和信息服务"),
    ("software", "软件和信息服务"),
    ("汽车", "汽车及零部件"),
    ("auto parts", "汽车及零部件"),
];

fn first_match(text: &str, table: &[(&str, &str)]) -> Option<String> {
    let lower = text.to_lowercase();
    table
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, canonical)| canonical.to_string())
}

/// The case's district and industry: what the investor said about themselves first, then
/// what the conversation mentions.
pub fn classify(info: &InvestorInfo, text: &str) -> (Option<String>, Option<String>) {
    let region = info
        .district
        .as_deref()
        .and_then(|d| first_match(d, DISTRICTS).or_else(|| Some(d.to_string())))
        .or_else(|| first_match(text, DISTRICTS));
    let industry = info
        .industry
        .as_deref()
        .and_then(|i| first_match(i, INDUSTRIES).or_else(|| Some(i.to_string())))
        .or_else(|| first_match(text, INDUSTRIES));
    (region, industry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_district_and_industry_from_the_question() {
        let (r, i) = classify(&InvestorInfo::default(), "我们是做芯片封测的，想在新吴落地");
        assert_eq!(r.as_deref(), Some("新吴区"));
        assert_eq!(i.as_deref(), Some("集成电路"));
        let info = InvestorInfo {
            district: Some("江阴".into()),
            ..InvestorInfo::default()
        };
        assert_eq!(classify(&info, "新吴").0.as_deref(), Some("江阴市"));
    }
}
