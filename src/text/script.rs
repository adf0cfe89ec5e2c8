//! Traditional Chinese characters folded to their simplified forms, so that an investor
//! writing 註冊 or 稅率 (Taiwan, Hong Kong, overseas Chinese) finds the 注册 and 税率 of
//! a simplified corpus, and a traditional corpus answers simplified questions.

use std::sync::OnceLock;

/// Which characters of the Basic Multilingual Plane fold, and to what. Built once from
/// fast2s's character table; looked up for every Han character normalised.
pub struct Script {
    /// A bit per character: set for a traditional form that has a simplified one. A
    /// fixed-size array, so that indexing it by a 10-bit row needs no bounds check.
    traditional: Box<[u64; 0x1_0000 / 64]>,
    /// The simplified form, for characters whose bit is set (0 elsewhere).
    simplified: Vec<u16>,
}

/// Where traditional characters live: CJK Extension A and the Unified Ideographs. All
/// take three bytes in UTF-8, as their simplified forms do, so folding keeps every byte
/// offset.
const HAN_RANGES: [std::ops::RangeInclusive<u32>; 2] = [0x3400..=0x4DBF, 0x4E00..=0x9FFF];

impl Script {
    pub fn get() -> &'static Script {
        static SCRIPT: OnceLock<Script> = OnceLock::new();
        SCRIPT.get_or_init(Script::build)
    }

    fn build() -> Script {
        let mut traditional = Box::new([0u64; 0x1_0000 / 64]);
        let mut simplified = vec![0u16; 0x1_0000];
        let mut buf = [0u8; 4];
        for c in HAN_RANGES.into_iter().flatten().filter_map(char::from_u32) {
            // Converted one character at a time, without neighbours: fast2s keeps a few
            // characters inside set phrases (乾隆, 答覆); alone they fold, on both sides.
            let folded = fast2s::convert(c.encode_utf8(&mut buf));
            let mut chars = folded.chars();
            let (Some(s), None) = (chars.next(), chars.next()) else {
                continue;
            };
            let in_range = HAN_RANGES.iter().any(|r| r.contains(&(s as u32)));
            if s != c && in_range {
                traditional[c as usize / 64] |= 1 << (c as usize % 64);
                simplified[c as usize] = s as u16;
            }
        }
        Script {
            traditional,
            simplified,
        }
    }

    /// Is the character of three UTF-8 bytes `b0 b1 b2` a traditional one? Not decoded
    /// first: the lead byte and the second give the row of 64 characters, the third the
    /// bit. Runs for every Han character of every text.
    #[inline(always)]
    pub fn is_traditional_utf8(&self, b0: u8, b1: u8, b2: u8) -> bool {
        let row = (usize::from(b0 & 0x0F) << 6) | usize::from(b1 & 0x3F);
        self.traditional[row] & (1 << (b2 & 0x3F)) != 0
    }

    /// The simplified form of the character of three UTF-8 bytes `b0 b1 b2`, when it is
    /// a traditional one.
    pub fn simplified_utf8(&self, b0: u8, b1: u8, b2: u8) -> Option<char> {
        if !self.is_traditional_utf8(b0, b1, b2) {
            return None;
        }
        let c =
            (usize::from(b0 & 0x0F) << 12) | (usize::from(b1 & 0x3F) << 6) | usize::from(b2 & 0x3F);
        char::from_u32(u32::from(self.simplified[c]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simplified(script: &Script, c: char) -> Option<char> {
        match *c.encode_utf8(&mut [0; 4]).as_bytes() {
            [b0, b1, b2] => script.simplified_utf8(b0, b1, b2),
            _ => None,
        }
    }

    fn fold(text: &str) -> String {
        let script = Script::get();
        text.chars()
            .map(|c| simplified(script, c).unwrap_or(c))
            .collect()
    }

    #[test]
    fn traditional_characters_fold_and_simplified_ones_stay() {
        assert_eq!(fold("外資企業註冊稅率無錫臺灣"), "外资企业注册税率无锡台湾");
        let simplified = "外资企业在无锡注册公司需要哪些材料，高新技术企业所得税";
        assert_eq!(fold(simplified), simplified);
        assert_eq!(fold("Work Permit 123"), "Work Permit 123");
    }

    #[test]
    fn every_fold_keeps_the_utf8_length_and_folds_once() {
        let script = Script::get();
        let mut folds = 0;
        for c in HAN_RANGES.into_iter().flatten().filter_map(char::from_u32) {
            if let Some(s) = simplified(script, c) {
                folds += 1;
                assert_eq!(s.len_utf8(), c.len_utf8(), "{c} -> {s}");
                assert_ne!(s, c);
                // Normalising twice must give what normalising once did.
                assert_eq!(simplified(script, s), None, "{c} -> {s} -> ?");
            }
        }
        assert!(
            folds > 2_000,
            "only {folds} folds: has fast2s's table changed?"
        );
    }
}
