//! A sliding window of send times: at most `limit` sends in any `window`. WeCom counts
//! both the app's messages to one person (30 a minute, `mailer`) and a group robot's posts
//! (20 a minute, `robot`) this way, so both queues ask the same window when they may send.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

pub struct SendWindow {
    limit: usize,
    window: Duration,
    /// When each send still inside the window went out, oldest first.
    sent: VecDeque<Instant>,
}

impl SendWindow {
    /// At most `limit` (at least one) sends in any `window`.
    pub fn new(limit: usize, window: Duration) -> SendWindow {
        SendWindow {
            limit: limit.max(1),
            window,
            sent: VecDeque::new(),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Forgets sends that have left the window by `now`.
    fn prune(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.sent.pop_front();
        }
    }

    /// How many sends are allowed at `now`.
    pub fn room(&mut self, now: Instant) -> usize {
        self.prune(now);
        self.limit.saturating_sub(self.sent.len())
    }

    /// How long from `now` until one more send is allowed (zero: at once).
    pub fn wait(&mut self, now: Instant) -> Duration {
        if self.room(now) > 0 {
            return Duration::ZERO;
        }
        // Full: the next slot opens when the send `limit` places back leaves the window.
        let oldest = self.sent[self.sent.len() - self.limit];
        (oldest + self.window).saturating_duration_since(now)
    }

    /// Counts a send made at `at`.
    pub fn record(&mut self, at: Instant) {
        self.sent.push_back(at);
    }

    /// Counts the window as full from `at`: the server said the limit was reached (another
    /// instance, or a restart, may have sent what this window never saw), so nothing more
    /// goes until a whole window has passed.
    pub fn fill(&mut self, at: Instant) {
        self.sent.clear();
        self.sent.extend(std::iter::repeat_n(at, self.limit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_opens_as_old_sends_leave_it() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut w = SendWindow::new(2, 10 * second);
        assert_eq!((w.room(start), w.wait(start)), (2, Duration::ZERO));
        w.record(start);
        w.record(start + second);
        assert_eq!(w.room(start + second), 0);
        assert_eq!(w.wait(start + 2 * second), 8 * second);
        // The first send has left: one slot; then the second leaves too.
        assert_eq!(w.room(start + 10 * second), 1);
        assert_eq!(w.room(start + 11 * second), 2);
        // Told the limit was reached: a whole window from then.
        w.fill(start + 11 * second);
        assert_eq!(w.wait(start + 12 * second), 9 * second);
        assert_eq!(w.room(start + 21 * second), 2);
        assert_eq!(SendWindow::new(0, second).limit(), 1);
    }
}
