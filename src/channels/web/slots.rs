//! Counted places per key: how many event streams a session (or member of staff) holds
//! open, how many connections an address holds. A cap, so one client cannot pile up
//! connections or server-sent-event streams that never end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
pub struct Slots(Arc<Mutex<HashMap<String, usize>>>);

/// One place taken; dropping it (the client went away) frees it.
pub struct Slot {
    table: Slots,
    key: String,
}

impl Slots {
    /// One more place for `key`, unless it already holds `max`.
    pub fn take(&self, key: &str, max: usize) -> Option<Slot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: self.clone(),
            key: key.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_slot_frees_its_place() {
        let s = Slots::default();
        let a = s.take("k", 2).unwrap();
        let _b = s.take("k", 2).unwrap();
        assert!(s.take("k", 2).is_none());
        assert!(s.take("other", 2).is_some());
        drop(a);
        assert!(s.take("k", 2).is_some());
    }
}
