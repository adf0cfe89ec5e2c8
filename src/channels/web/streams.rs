//! How many event streams each session (or member of staff) holds open: a cap, so one
//! client cannot pile up server-sent-event connections that never end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
pub struct OpenStreams(Arc<Mutex<HashMap<String, usize>>>);

/// One open stream; dropping it (the client went away) frees its place.
pub struct StreamSlot {
    table: OpenStreams,
    key: String,
}

impl OpenStreams {
    /// A place for one more stream of `key`, unless it already holds `max`.
    pub fn open(&self, key: &str, max: usize) -> Option<StreamSlot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            table: self.clone(),
            key: key.to_string(),
        })
    }
}

impl Drop for StreamSlot {
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
    fn a_closed_stream_frees_its_place() {
        let s = OpenStreams::default();
        let a = s.open("k", 2).unwrap();
        let _b = s.open("k", 2).unwrap();
        assert!(s.open("k", 2).is_none());
        assert!(s.open("other", 2).is_some());
        drop(a);
        assert!(s.open("k", 2).is_some());
    }
}
