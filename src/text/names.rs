//! Names a question and a record must agree on: the place asked about and the year. A
//! record about Shenzhen does not answer a question about Shanghai however many words they
//! share, and a 2022 figure does not answer a question about 2024.

use std::path::Path;

use super::normalize::normalize;
use crate::error::SourceError;

/// The file in `corpus/dict/` (and in each generation's `dict/`) with the office's places.
pub const PLACES_FILE: &str = "places.txt";

/// The built-in gazetteer: provinces and better-known cities.
const BUILTIN_PLACES: &str = include_str!("places.txt");

/// One place as written in a places file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceLine {
    /// Its names, normalised (lower-case); the first is the one shown.
    pub names: Vec<String>,
    /// The first name of the place it lies in.
    pub within: Option<String>,
}

/// The places a corpus adds to the built-in ones (`corpus/dict/places.txt`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacesFile {
    pub home: Option<String>,
    pub places: Vec<PlaceLine>,
}

impl PlacesFile {
    /// Parses `home <name>` and `[<within> >] name = name = ...` lines; `#` starts a comment.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<PlacesFile, SourceError> {
        let mut out = PlacesFile::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Some(home) = line.strip_prefix("home ") {
                out.home = Some(normalize(home.trim()));
                continue;
            }
            let (within, names) = match line.split_once('>') {
                Some((w, n)) => (Some(normalize(w.trim())), n),
                None => (None, line),
            };
            let names: Vec<String> = names
                .split('=')
                .map(|n| normalize(n.trim()))
                .filter(|n| !n.is_empty())
                .collect();
            if names.is_empty() || within.as_ref().is_some_and(|w| w.is_empty()) {
                return Err(SourceError::new(
                    &path,
                    i + 1,
                    "expected `home <name>` or `[<place it lies in> >] <name> = <name> ...`",
                ));
            }
            out.places.push(PlaceLine { names, within });
        }
        Ok(out)
    }

    /// The file's text, as `parse` reads it back.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if let Some(h) = &self.home {
            s.push_str(&format!("home {h}\n"));
        }
        for p in &self.places {
            if let Some(w) = &p.within {
                s.push_str(&format!("{w} > "));
            }
            s.push_str(&p.names.join(" = "));
            s.push('\n');
        }
        s
    }
}

struct Place {
    names: Vec<String>,
    within: Option<usize>,
}

/// What a record and a question disagree on, for the decision and for people reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameConflict {
    /// The question names this place; the record does not (or names a sibling district).
    Place(String),
    /// The question asks about this year; the record does not mention it.
    Year(u16),
}

impl std::fmt::Display for NameConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameConflict::Place(p) => write!(f, "place {p}"),
            NameConflict::Year(y) => write!(f, "year {y}"),
        }
    }
}

/// The names found in a question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AskedNames {
    places: Vec<usize>,
    years: Vec<u16>,
}

impl AskedNames {
    pub fn is_empty(&self) -> bool {
        self.places.is_empty() && self.years.is_empty()
    }
}

/// Places (built-in plus the corpus's own) and the office's home city.
pub struct Gazetteer {
    places: Vec<Place>,
    home: Option<usize>,
    /// Every name of every place, found in one pass over a text (a record is read once,
    /// not once per name: a question that names a place checks twelve records).
    matcher: aho_corasick::AhoCorasick,
    /// For each pattern of `matcher`, its place and whether it is a Latin name (matched
    /// only as a whole word).
    patterns: Vec<(usize, bool)>,
}

impl Gazetteer {
    /// The built-in places with `corpus`'s added. A corpus line may name a built-in place
    /// again (to add names); a `within` or `home` naming no known place is ignored.
    pub fn new(corpus: &PlacesFile) -> Gazetteer {
        // Parsed once per process: every generation (and every in-memory index calibration
        // builds) starts from the same built-in places.
        static BUILTIN: std::sync::OnceLock<PlacesFile> = std::sync::OnceLock::new();
        let builtin = BUILTIN.get_or_init(|| {
            PlacesFile::parse(BUILTIN_PLACES, "src/text/places.txt")
                .expect("the built-in gazetteer parses (tested)")
        });
        let lines = builtin.places.iter().chain(&corpus.places);
        let mut places: Vec<Place> = Vec::new();
        let mut within_names: Vec<Option<String>> = Vec::new();
        for line in lines {
            let existing = places
                .iter()
                .position(|p| line.names.iter().any(|n| p.names.contains(n)));
            let i = match existing {
                Some(i) => {
                    for n in &line.names {
                        if !places[i].names.contains(n) {
                            places[i].names.push(n.clone());
                        }
                    }
                    i
                }
                None => {
                    places.push(Place {
                        names: line.names.clone(),
                        within: None,
                    });
                    within_names.push(None);
                    places.len() - 1
                }
            };
            if line.within.is_some() {
                within_names[i] = line.within.clone();
            }
        }
        let find = |name: &str| {
            places
                .iter()
                .position(|p| p.names.iter().any(|n| n == name))
        };
        let resolved: Vec<Option<usize>> = within_names
            .iter()
            .enumerate()
            .map(|(i, w)| w.as_deref().and_then(find).filter(|&p| p != i))
            .collect();
        let home = corpus.home.as_deref().and_then(find);
        for (p, w) in places.iter_mut().zip(resolved) {
            p.within = w;
        }
        let mut names = Vec::new();
        let mut patterns = Vec::new();
        for (i, p) in places.iter().enumerate() {
            for n in &p.names {
                names.push(n.clone());
                patterns.push((i, n.is_ascii()));
            }
        }
        let matcher = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&names)
            .expect("place names build an automaton (tested)");
        Gazetteer {
            places,
            home,
            matcher,
            patterns,
        }
    }

    /// The places and years a question asks about. Years count only in `focus` (the clause
    /// that asks): "we were founded in 2019, can we apply?" is not a question about 2019.
    pub fn asked(&self, question: &str, focus: &str) -> AskedNames {
        let text = normalize(question);
        let mut places: Vec<usize> = self.places_in(&text);
        // "无锡新吴区": the district is what is asked about, not the city around it.
        let named = places.clone();
        places.retain(|&p| !named.iter().any(|&q| q != p && self.is_within(q, p)));
        AskedNames {
            places,
            years: years_in(&normalize(focus)),
        }
    }

    /// The first name the record disagrees on, if any. `record` is its whole text.
    pub fn conflict(&self, asked: &AskedNames, record: &str) -> Option<NameConflict> {
        if asked.is_empty() {
            return None;
        }
        // Records are corpus text, already in simplified characters; the matcher ignores
        // the case of Latin names, which is all the normalisation they need.
        let text = record;
        if !asked.years.is_empty() {
            // A source's date is not what the record is about: "2023年数据；来源：…，
            // 2024-03-21" gives 2023's figure, however recent the report.
            let stated = without_source_marks(text);
            for &y in &asked.years {
                if !stated.contains(&y.to_string()) {
                    return Some(NameConflict::Year(y));
                }
            }
        }
        let in_record = self.places_in(text);
        for &p in &asked.places {
            // The record names the place, or a place inside it (a Wuxi district answers a
            // question about Wuxi). A record naming only the province around a city is not
            // about that city: a Jiangsu rule quoted by Wuxi says nothing of Suzhou's.
            // Every record of the office lies in the province around its city, so for that
            // province only naming it counts: Wuxi's figures are not Jiangsu's.
            let holds_home = self.home.is_some_and(|h| self.is_within(h, p));
            let agrees = in_record
                .iter()
                .any(|&r| r == p || (!holds_home && self.is_within(r, p)));
            if agrees {
                continue;
            }
            let local = |r: usize| self.home.is_some_and(|h| r == h || self.is_within(r, h));
            let disagrees = if local(p) {
                // A place in the office's own city may be answered by a city-wide record;
                // a record about another district, or only about somewhere else, is not.
                let other_district = in_record
                    .iter()
                    .any(|&r| local(r) && Some(r) != self.home && !self.is_within(p, r));
                let elsewhere = !in_record.is_empty()
                    && in_record
                        .iter()
                        .all(|&r| !local(r) && !self.is_within(p, r));
                other_district || elsewhere
            } else {
                true
            };
            if disagrees {
                return Some(NameConflict::Place(self.places[p].names[0].clone()));
            }
        }
        None
    }

    /// Whether `inner` lies (at any depth) in `outer`.
    fn is_within(&self, inner: usize, outer: usize) -> bool {
        let mut at = self.places[inner].within;
        for _ in 0..self.places.len() {
            match at {
                Some(p) if p == outer => return true,
                Some(p) => at = self.places[p].within,
                None => return false,
            }
        }
        false
    }

    /// The places `text` names (Latin names in any case), in gazetteer order.
    fn places_in(&self, text: &str) -> Vec<usize> {
        let mut found = vec![false; self.places.len()];
        for m in self.matcher.find_overlapping_iter(text) {
            let (place, latin) = self.patterns[m.pattern().as_usize()];
            if found[place] {
                continue;
            }
            if latin {
                // Whole words only: "wuxi" is not in "wuxing".
                let before = text[..m.start()].chars().next_back();
                let after = text[m.end()..].chars().next();
                if before.is_some_and(|c| c.is_ascii_alphanumeric())
                    || after.is_some_and(|c| c.is_ascii_alphanumeric())
                {
                    continue;
                }
            }
            found[place] = true;
        }
        (0..self.places.len()).filter(|&i| found[i]).collect()
    }
}

/// `text` without its source marks: every bracketed aside, full-width or not, that names a
/// source (（来源：…，2024-03-21）, (Source: …, 2024-03-21), （2023年数据；来源：…）).
fn without_source_marks(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("来源") && !text.to_lowercase().contains("source") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // Byte offsets of the open brackets not yet closed, and where the kept text stood.
    let mut open: Vec<(usize, usize)> = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '（' | '(' => {
                open.push((i, out.len()));
                out.push(c);
            }
            '）' | ')' => {
                out.push(c);
                if let Some((start, kept)) = open.pop() {
                    let aside = &text[start..i + c.len_utf8()];
                    let lower = aside.to_lowercase();
                    if aside.contains("来源")
                        || lower.contains("source:")
                        || lower.contains("source：")
                    {
                        out.truncate(kept);
                    }
                }
            }
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Four-digit years from 1980 to 2049 standing alone (not part of a longer number).
fn years_in(text: &str) -> Vec<u16> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let decimal_before = start > 0 && matches!(bytes[start - 1], b'.' | b',');
        let decimal_after =
            i + 1 < bytes.len() && matches!(bytes[i], b'.' | b',') && bytes[i + 1].is_ascii_digit();
        if i - start == 4 && !decimal_before && !decimal_after {
            let y: u16 = text[start..i].parse().unwrap_or(0);
            if (1980..=2049).contains(&y) && !out.contains(&y) {
                out.push(y);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wuxi() -> Gazetteer {
        let file = PlacesFile::parse(
            "home 无锡\n无锡 > 新吴区 = 新吴 = xinwu\n无锡 > 梁溪区 = 梁溪 = liangxi\n",
            "places.txt",
        )
        .unwrap();
        Gazetteer::new(&file)
    }

    fn conflict(g: &Gazetteer, q: &str, record: &str) -> Option<NameConflict> {
        g.conflict(&g.asked(q, q), record)
    }

    #[test]
    fn builtin_gazetteer_parses() {
        let f = PlacesFile::parse(BUILTIN_PLACES, "places.txt").unwrap();
        assert!(f.places.len() > 60);
        assert_eq!(
            PlacesFile::parse(&f.to_text(), "again").unwrap(),
            f,
            "to_text reads back"
        );
    }

    #[test]
    fn another_city_disagrees_in_either_language() {
        let g = wuxi();
        let record = "无锡市对新认定的高新技术企业给予奖励";
        assert_eq!(
            conflict(&g, "深圳高企奖励多少", record),
            Some(NameConflict::Place("深圳".into()))
        );
        assert_eq!(
            conflict(&g, "HNTE award in Shenzhen?", record),
            Some(NameConflict::Place("深圳".into()))
        );
        assert_eq!(conflict(&g, "无锡高企奖励多少", record), None);
        assert_eq!(conflict(&g, "Wuxi HNTE award", record), None);
        assert_eq!(conflict(&g, "Shenzhen HNTE award", "深圳市高企奖励"), None);
    }

    #[test]
    fn a_district_is_answered_citywide_but_not_by_another_district() {
        let g = wuxi();
        let q = "新吴区设立外资企业要哪些材料";
        assert_eq!(conflict(&g, q, "无锡市外商投资企业设立指南"), None);
        assert_eq!(conflict(&g, q, "外商投资企业设立材料清单"), None);
        assert_eq!(conflict(&g, q, "新吴区企业服务中心"), None);
        assert_eq!(
            conflict(&g, q, "梁溪区对新设外资企业的奖励"),
            Some(NameConflict::Place("新吴区".into()))
        );
        // Naming the city as well as the district still asks about the district.
        assert_eq!(
            conflict(&g, "无锡新吴区的补贴", "梁溪区补贴"),
            Some(NameConflict::Place("新吴区".into()))
        );
    }

    #[test]
    fn a_province_is_answered_by_its_cities_except_the_offices_own() {
        let g = wuxi();
        assert_eq!(conflict(&g, "浙江外资奖励", "杭州市外资奖励"), None);
        assert_eq!(
            conflict(&g, "江苏外资总额", "无锡市外资总额"),
            Some(NameConflict::Place("江苏".into()))
        );
        assert_eq!(conflict(&g, "江苏外资总额", "江苏省外资总额"), None);
        assert_eq!(conflict(&g, "无锡外资奖励", "江苏省外资奖励"), None);
        assert_eq!(
            conflict(&g, "无锡外资奖励", "苏州市外资奖励"),
            Some(NameConflict::Place("无锡".into()))
        );
        assert_eq!(
            conflict(&g, "浙江外资奖励", "无锡市外资奖励"),
            Some(NameConflict::Place("浙江".into()))
        );
    }

    #[test]
    fn a_year_only_in_a_source_mark_is_not_stated() {
        assert_eq!(
            without_source_marks(
                "2023年GDP为1.5万亿元（2023年数据；来源：某报道，2024-03-21）。自2024-11-01起施行（来源：公告，2024-09-08）"
            ),
            "2023年GDP为1.5万亿元。自2024-11-01起施行"
        );
        assert_eq!(
            without_source_marks("GDP grew 6% (Source: bulletin (summary), 2024-03-21) in 2023"),
            "GDP grew 6%  in 2023"
        );
        assert_eq!(without_source_marks("税率（优惠）15%"), "税率（优惠）15%");
    }

    #[test]
    fn years_must_appear_and_count_only_in_the_asking_clause() {
        let g = wuxi();
        let record = "2022年起，补贴标准为每人每年1.5万元";
        assert_eq!(
            conflict(&g, "2024年的补贴标准是多少", record),
            Some(NameConflict::Year(2024))
        );
        assert_eq!(conflict(&g, "2022年补贴标准", record), None);
        let q = "我们2019年成立，补贴标准是多少？";
        assert_eq!(g.conflict(&g.asked(q, "补贴标准是多少？"), record), None);
        assert_eq!(years_in("注册资本20000元，1.2024，2024年"), vec![2024]);
        assert!(years_in("12024 3000").is_empty());
    }

    #[test]
    fn latin_names_match_whole_words() {
        let g = wuxi();
        let wuxi = g.places_in("wuxi");
        assert_eq!(wuxi.len(), 1);
        assert_eq!(g.places_in("set up in wuxi, jiangsu").len(), 2);
        assert!(g.places_in("wuxing road").is_empty());
        assert_eq!(g.places_in("Wuxi"), wuxi, "any case");
        assert_eq!(
            g.places_in("wuxing road and wuxi"),
            wuxi,
            "a later whole word counts"
        );
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e = PlacesFile::parse("home 无锡\n > 新吴\n", "dict/places.txt").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
