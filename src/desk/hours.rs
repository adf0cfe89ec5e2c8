//! Office hours: whether a person is at the desk now, and when one next will be.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::model::Millis;
use crate::text::Lang;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfficeHours {
    /// ISO weekdays the office is open (1 = Monday … 7 = Sunday).
    pub days: Vec<u32>,
    /// Opening and closing time, `HH:MM`, local.
    pub open: String,
    pub close: String,
    /// The office's offset from UTC in hours (China: 8).
    pub utc_offset_hours: i32,
}

impl Default for OfficeHours {
    fn default() -> OfficeHours {
        OfficeHours {
            days: vec![1, 2, 3, 4, 5],
            open: "09:00".into(),
            close: "17:30".into(),
            utc_offset_hours: 8,
        }
    }
}

impl OfficeHours {
    fn zone(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_hours * 3600)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
    }

    fn times(&self) -> (NaiveTime, NaiveTime) {
        let parse = |s: &str, d| NaiveTime::parse_from_str(s, "%H:%M").unwrap_or(d);
        (
            parse(&self.open, NaiveTime::from_hms_opt(9, 0, 0).expect("time")),
            parse(
                &self.close,
                NaiveTime::from_hms_opt(17, 30, 0).expect("time"),
            ),
        )
    }

    fn local(&self, at: Millis) -> DateTime<FixedOffset> {
        let utc = Utc
            .timestamp_millis_opt(at)
            .single()
            .unwrap_or_else(Utc::now);
        utc.with_timezone(&self.zone())
    }

    pub fn is_open(&self, at: Millis) -> bool {
        let local = self.local(at);
        let (open, close) = self.times();
        self.days.contains(&local.weekday().number_from_monday())
            && local.time() >= open
            && local.time() < close
    }

    /// The next moment the office opens after `at` (`at` itself when open).
    pub fn next_open(&self, at: Millis) -> DateTime<FixedOffset> {
        let local = self.local(at);
        if self.is_open(at) {
            return local;
        }
        let (open, _) = self.times();
        for day in 0..8 {
            let date = local.date_naive() + Duration::days(day);
            let candidate = date.and_time(open);
            let Some(candidate) = self.zone().from_local_datetime(&candidate).single() else {
                continue;
            };
            if candidate > local && self.days.contains(&date.weekday().number_from_monday()) {
                return candidate;
            }
        }
        local
    }

    /// The honest line for an investor who asks for a person while the office is closed.
    pub fn closed_notice(&self, at: Millis, lang: Lang) -> String {
        let next = self.next_open(at);
        let (open, close) = (&self.open, &self.close);
        match lang {
            Lang::Zh => format!(
                "现在是非工作时间（工作时间：{}，{open}–{close}）。专员将在 {} 上班后回复您；在此之前我会继续回答我能回答的问题。",
                day_names_zh(&self.days),
                next.format("%m月%d日 %H:%M")
            ),
            Lang::En => format!(
                "The office is closed now (hours: {}, {open}–{close}, UTC{:+}). A commissioner will reply after {}; until then I'll keep answering what I can.",
                day_names_en(&self.days),
                self.utc_offset_hours,
                next.format("%a %d %b %H:%M")
            ),
        }
    }
}

fn day_names_zh(days: &[u32]) -> String {
    if days == [1, 2, 3, 4, 5] {
        return "周一至周五".into();
    }
    let names = ["一", "二", "三", "四", "五", "六", "日"];
    days.iter()
        .filter_map(|d| names.get((*d as usize).wrapping_sub(1)))
        .map(|n| format!("周{n}"))
        .collect::<Vec<_>>()
        .join("、")
}

fn day_names_en(days: &[u32]) -> String {
    if days == [1, 2, 3, 4, 5] {
        return "Mon–Fri".into();
    }
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    days.iter()
        .filter_map(|d| names.get((*d as usize).wrapping_sub(1)).copied())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn open_on_weekdays_between_hours_in_china_time() {
        let h = OfficeHours::default();
        assert!(h.is_open(at("2026-11-26T10:00:00+08:00"))); // Thursday
        assert!(!h.is_open(at("2026-11-26T17:30:00+08:00")));
        assert!(!h.is_open(at("2026-11-28T10:00:00+08:00"))); // Saturday
        assert!(h.is_open(at("2026-11-26T02:00:00Z"))); // 10:00 in Wuxi
    }

    #[test]
    fn next_opening_skips_the_weekend() {
        let h = OfficeHours::default();
        let next = h.next_open(at("2026-11-27T18:00:00+08:00")); // Friday evening
        assert_eq!(next.to_rfc3339(), "2026-11-30T09:00:00+08:00");
        let notice = h.closed_notice(at("2026-11-27T18:00:00+08:00"), Lang::Zh);
        assert!(notice.contains("11月30日 09:00"), "{notice}");
    }
}
