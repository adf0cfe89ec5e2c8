//! Rate limits on investor requests (governor's keyed GCRA limiters: constant cost per
//! request, however many keys), and which address a request comes from.
//!
//! An established session is limited on its own (`session_messages_per_minute`), never by
//! its address: behind a reverse proxy every investor shares one address, and one client
//! spending the address's allowance must not lock the others out. The address limit
//! (`address_messages_per_minute`) applies to what has no session yet: requests that would
//! open one.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::WebConfig;

pub struct Limits {
    /// Checks since start: the key count is looked at once every `TIDY_EVERY` of them
    /// (counting keys visits every shard of every map, too much for every request).
    checks: std::sync::atomic::AtomicU64,
    sessions: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    feedback: DefaultKeyedRateLimiter<String>,
    sign_ins: DefaultKeyedRateLimiter<IpAddr>,
}

/// Keys not seen for a while are dropped once the limiters hold this many.
const RETAIN_ABOVE: usize = 100_000;
/// How often (in checks) the key count is looked at.
const TIDY_EVERY: u64 = 1024;

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(web: &WebConfig) -> Limits {
        Limits {
            checks: Default::default(),
            sessions: RateLimiter::keyed(per_minute(web.session_messages_per_minute)),
            addresses: RateLimiter::keyed(per_minute(web.address_messages_per_minute)),
            feedback: RateLimiter::keyed(per_minute(web.feedback_per_minute)),
            sign_ins: RateLimiter::keyed(per_minute(web.sign_ins_per_minute)),
        }
    }

    /// One message from an established session.
    pub fn session_message(&self, chat: &str) -> bool {
        self.tidy();
        self.sessions.check_key(&chat.to_string()).is_ok()
    }

    /// One request without a session (it would open one), from `addr`.
    pub fn new_session(&self, addr: Option<IpAddr>) -> bool {
        self.tidy();
        addr.is_none_or(|a| self.addresses.check_key(&a).is_ok())
    }

    /// One 👍/👎 from a session.
    pub fn feedback(&self, chat: &str) -> bool {
        self.tidy();
        self.feedback.check_key(&chat.to_string()).is_ok()
    }

    /// One staff sign-in attempt from `addr`.
    pub fn sign_in(&self, addr: Option<IpAddr>) -> bool {
        self.tidy();
        addr.is_none_or(|a| self.sign_ins.check_key(&a).is_ok())
    }

    /// Forgets keys whose allowance is whole again, when there are many: memory stays
    /// bounded under a flood of new keys, and the cost is paid rarely.
    fn tidy(&self) {
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !n.is_multiple_of(TIDY_EVERY) {
            return;
        }
        let keys =
            self.sessions.len() + self.addresses.len() + self.feedback.len() + self.sign_ins.len();
        if keys > RETAIN_ABOVE {
            self.sessions.retain_recent();
            self.addresses.retain_recent();
            self.feedback.retain_recent();
            self.sign_ins.retain_recent();
        }
    }
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
/// last address in `X-Forwarded-For` that is not one (a client can prepend anything it
/// likes to that header, but not what the proxy appends).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(session: u32, address: u32) -> WebConfig {
        WebConfig {
            session_messages_per_minute: session,
            address_messages_per_minute: address,
            ..WebConfig::default()
        }
    }

    #[test]
    fn an_established_session_is_not_limited_by_its_address() {
        let l = Limits::new(&web(3, 2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.new_session(Some(a)));
        assert!(l.new_session(Some(a)));
        assert!(!l.new_session(Some(a)), "the address's allowance is spent");
        for _ in 0..3 {
            assert!(l.session_message("chat-1"));
        }
        assert!(!l.session_message("chat-1"));
        assert!(l.session_message("chat-2"), "another session is untouched");
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        assert_eq!(
            client_address(Some(proxy), &h, &[proxy]),
            Some("2.2.2.2".parse().unwrap())
        );
        assert_eq!(client_address(Some(proxy), &h, &[]), Some(proxy));
        let other: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_address(Some(other), &h, &[proxy]), Some(other));
        assert_eq!(
            client_address(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }
}
