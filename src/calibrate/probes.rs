//! Questions a corpus asks of itself. Each probe is a phrasing the corpus already holds (a
//! FAQ's last alternative; for documents without FAQs, a passage's heading or one of its
//! sentences). Probes fall in two halves; half h's corpus keeps the records of its own
//! probes minus the probe's own words (a question whose answer is known) and drops the
//! records of the other half's probes (the same question when the corpus lacks its answer:
//! a true negative).

use std::collections::HashMap;

use crate::corpus::Corpus;
use crate::eval::EvalQuestion;

/// Probes per half at most: enough to fit seven weights, few enough that a re-index of a
/// large corpus stays quick.
const MAX_PROBES_PER_HALF: usize = 600;
/// A corpus with fewer FAQs than this is a corpus of documents: its passages are probed.
const MIN_FAQS: usize = 30;
/// A sentence used as a probe: long enough to say something, short enough to be a question.
const SENTENCE_CHARS: std::ops::RangeInclusive<usize> = 12..=60;

/// One half: the corpus to search and the questions to ask it.
pub struct Half {
    pub corpus: Corpus,
    pub questions: Vec<EvalQuestion>,
    /// Per question: the records that would answer it had they been kept. A negative
    /// whose best record is still one of them (the policy a dropped FAQ rests on) is
    /// answerable after all, and says nothing either way.
    pub answers: Vec<Vec<String>>,
}

/// Where a probe comes from, and how its record changes in each half.
#[derive(Clone)]
enum Source {
    /// FAQ number `faq`; the probe is its last alternative.
    Faq { faq: usize },
    /// Passage `passage` of policy `policy`; the probe is its heading (`None`) or the
    /// sentence at this byte range of its text.
    Passage {
        policy: usize,
        passage: usize,
        sentence: Option<std::ops::Range<usize>>,
    },
}

struct Probe {
    text: String,
    /// The records a right reply may cite: a FAQ's group (so a counterpart in another
    /// language counts) and the policies it rests on (whose passages state the same
    /// facts), or a passage's policy.
    answers: Vec<String>,
    source: Source,
    half: usize,
}

/// The two halves of `corpus`'s probes.
pub fn halves(corpus: &Corpus) -> [Half; 2] {
    let probes = select(corpus);
    [0, 1].map(|h| half(corpus, &probes, h))
}

fn select(corpus: &Corpus) -> Vec<Probe> {
    let mut probes = Vec::new();
    if corpus.faqs.len() >= MIN_FAQS {
        for (i, faq) in corpus.faqs.iter().enumerate() {
            let Some(last) = faq.alternatives.last() else {
                continue;
            };
            let group = faq.answer_key().to_string();
            probes.push(Probe {
                text: last.clone(),
                half: half_of(&group),
                answers: std::iter::once(group).chain(faq.sources.clone()).collect(),
                source: Source::Faq { faq: i },
            });
        }
    } else {
        for (p, policy) in corpus.policies.iter().enumerate() {
            for (k, passage) in policy.passages.iter().enumerate() {
                let (text, sentence) = match usable_heading(&passage.heading) {
                    Some(h) => (h.to_string(), None),
                    None => match probe_sentence(&passage.text) {
                        Some(r) => (passage.text[r.clone()].to_string(), Some(r)),
                        None => continue,
                    },
                };
                probes.push(Probe {
                    text,
                    answers: vec![policy.id.clone()],
                    source: Source::Passage {
                        policy: p,
                        passage: k,
                        sentence,
                    },
                    half: half_of(&format!("{}#{k}", policy.id)),
                });
            }
        }
    }
    // A stable subset when there are too many: by hash, not by file order, so that
    // every part of the corpus is represented.
    let mut by_half: [Vec<Probe>; 2] = [Vec::new(), Vec::new()];
    for p in probes {
        by_half[p.half].push(p);
    }
    by_half
        .into_iter()
        .flat_map(|mut v| {
            v.sort_by_key(|p| fnv(&p.text));
            v.truncate(MAX_PROBES_PER_HALF);
            v
        })
        .collect()
}

fn half(corpus: &Corpus, probes: &[Probe], h: usize) -> Half {
    let mut corpus = corpus.clone();
    let mut drop_faqs = vec![false; corpus.faqs.len()];
    // (policy, passage) → what happens to it: blank the heading, cut a sentence, or drop.
    let mut passage_edits: HashMap<(usize, usize), Option<Option<std::ops::Range<usize>>>> =
        HashMap::new();
    let mut questions = Vec::new();
    let mut answers = Vec::new();
    for probe in probes {
        let own = probe.half == h;
        match &probe.source {
            Source::Faq { faq } if own => {
                corpus.faqs[*faq].alternatives.pop();
            }
            Source::Faq { faq } => drop_faqs[*faq] = true,
            Source::Passage {
                policy,
                passage,
                sentence,
            } => {
                passage_edits.insert((*policy, *passage), own.then(|| sentence.clone()));
            }
        }
        questions.push(EvalQuestion {
            q: probe.text.clone(),
            expect: if own {
                probe.answers.clone()
            } else {
                Vec::new()
            },
            ..EvalQuestion::default()
        });
        answers.push(probe.answers.clone());
    }
    // A FAQ of the other half is dropped with its counterparts: they are one answer.
    let dropped_groups: std::collections::HashSet<String> = corpus
        .faqs
        .iter()
        .zip(&drop_faqs)
        .filter(|(_, d)| **d)
        .map(|(f, _)| f.answer_key().to_string())
        .collect();
    corpus
        .faqs
        .retain(|f| !dropped_groups.contains(f.answer_key()));
    for (p, policy) in corpus.policies.iter_mut().enumerate() {
        let mut k = 0;
        policy.passages.retain_mut(|passage| {
            let keep = match passage_edits.get(&(p, k)) {
                None => true,
                Some(None) => false,
                Some(Some(None)) => {
                    passage.heading.clear();
                    true
                }
                Some(Some(Some(r))) => {
                    passage.text.replace_range(r.clone(), "");
                    true
                }
            };
            k += 1;
            keep
        });
    }
    Half {
        corpus,
        questions,
        answers,
    }
}

/// A heading that says what its passage is about, without its article or item number
/// (`第十一条 认定条件` → `认定条件`); `None` when nothing is left to ask with.
fn usable_heading(heading: &str) -> Option<&str> {
    let mut h = heading.trim();
    if let Some(rest) = h.strip_prefix('第')
        && let Some(end) = rest.find(['条', '章', '节', '款'])
    {
        h = rest[end + '条'.len_utf8()..].trim();
    }
    let h = h.trim_start_matches(|c: char| {
        c.is_ascii_digit() || "一二三四五六七八九十（）()、.． ".contains(c)
    });
    (h.chars().count() >= 4).then_some(h)
}

/// The longest sentence of `text` of a question's length, as a byte range.
fn probe_sentence(text: &str) -> Option<std::ops::Range<usize>> {
    let mut best: Option<std::ops::Range<usize>> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '。' | '！' | '？' | '；' | '\n') {
            let end = i + c.len_utf8();
            let s = text[start..end].trim();
            let n = s.chars().count();
            if SENTENCE_CHARS.contains(&n) && best.as_ref().is_none_or(|b| b.len() < end - start) {
                best = Some(start..end);
            }
            start = end;
        }
    }
    // Never the whole text: the record must keep something to be found by.
    best.filter(|r| r.len() < text.trim().len())
}

/// Which half a key falls in: stable across builds and machines.
fn half_of(key: &str) -> usize {
    (fnv(key) % 2) as usize
}

/// 64-bit FNV-1a: a fixed hash (std's is seeded per process).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Faq, Passage, Policy};
    use crate::text::Lang;

    fn faq(id: &str, same_as: Option<&str>) -> Faq {
        Faq {
            id: id.to_string(),
            question: format!("{id} 的问题"),
            alternatives: vec![format!("{id} 说法一"), format!("{id} 说法二")],
            answer: "答".to_string(),
            sources: Vec::new(),
            tags: Vec::new(),
            lang: Lang::Zh,
            same_as: same_as.map(str::to_string),
            declines: false,
            path: "f.toml".into(),
            line: 1,
        }
    }

    #[test]
    fn each_half_keeps_its_own_records_without_the_probe_and_drops_the_others() {
        let mut corpus = Corpus::default();
        for i in 0..40 {
            corpus.faqs.push(faq(&format!("f{i}"), None));
        }
        corpus.faqs.push(faq("en", Some("f0")));
        let [a, b] = halves(&corpus);
        for (h, half) in [a, b].iter().enumerate() {
            for q in &half.questions {
                let id = q.q.split(' ').next().unwrap();
                let kept = half.corpus.faqs.iter().find(|f| f.id == id);
                if q.expect.is_empty() {
                    assert!(kept.is_none(), "half {h}: negative {id} still indexed");
                } else {
                    let kept = kept.unwrap_or_else(|| panic!("half {h}: {id} dropped"));
                    assert!(
                        !kept.alternatives.contains(&q.q),
                        "probe left in its record"
                    );
                    assert_eq!(kept.alternatives.len(), 1);
                }
            }
            // The counterpart goes and stays with its group.
            let f0 = half.corpus.faqs.iter().any(|f| f.id == "f0");
            let en = half.corpus.faqs.iter().any(|f| f.id == "en");
            assert_eq!(f0, en, "half {h}");
        }
    }

    #[test]
    fn headings_lose_their_numbers_and_plain_passages_give_a_sentence() {
        assert_eq!(usable_heading("第十一条 认定条件"), Some("认定条件"));
        assert_eq!(usable_heading("三、申报材料清单"), Some("申报材料清单"));
        assert_eq!(usable_heading("第五条"), None);
        let text =
            "总则。企业申请研发费用加计扣除应当留存备查资料并按规定申报。其余内容见附件说明。";
        let r = probe_sentence(text).unwrap();
        assert_eq!(
            &text[r],
            "企业申请研发费用加计扣除应当留存备查资料并按规定申报。"
        );
        let mut corpus = Corpus::default();
        corpus.policies.push(Policy {
            id: "p".to_string(),
            title: "办法".to_string(),
            issuer: String::new(),
            doc_no: String::new(),
            issued: None,
            effective: None,
            expires: None,
            region: String::new(),
            industries: Vec::new(),
            url: String::new(),
            lang: Lang::Zh,
            passages: vec![Passage {
                heading: String::new(),
                text: text.to_string(),
                line: 1,
            }],
            path: "p.md".into(),
        });
        let halves = halves(&corpus);
        let own = halves
            .iter()
            .find(|h| !h.questions[0].expect.is_empty())
            .unwrap();
        assert!(!own.corpus.policies[0].passages[0].text.contains("加计扣除"));
        let other = halves
            .iter()
            .find(|h| h.questions[0].expect.is_empty())
            .unwrap();
        assert!(other.corpus.policies[0].passages.is_empty());
    }
}
