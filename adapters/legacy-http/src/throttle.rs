//! [`Throttle`]: repeated warnings logged once per period, with how many were held back, so
//! that a box (or an attacker) repeating the same fault every 2 s cannot flood the log.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// At most one warning per kind per period.
pub struct Throttle {
    period: Duration,
    seen: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl Throttle {
    /// A throttle letting one warning of each kind through per `period`.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            seen: Mutex::default(),
        }
    }

    /// Whether a warning of `kind` should be logged now: `Some(n)` with the `n` held back
    /// since the last one logged, or `None` to hold this one back.
    pub fn allow(&self, kind: &'static str) -> Option<u64> {
        self.allow_at(kind, Instant::now())
    }

    fn allow_at(&self, kind: &'static str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get_mut(kind) {
            Some((last, held)) if now.duration_since(*last) < self.period => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                *last = now;
                Some(std::mem::take(held))
            }
            None => {
                seen.insert(kind, (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_period_with_the_count_held_back() {
        let t = Throttle::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(t.allow_at("a", t0), Some(0));
        for s in 1..10 {
            assert_eq!(t.allow_at("a", t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(
            t.allow_at("b", t0 + Duration::from_secs(1)),
            Some(0),
            "kinds apart"
        );
        assert_eq!(t.allow_at("a", t0 + Duration::from_secs(31)), Some(9));
        assert_eq!(t.allow_at("a", t0 + Duration::from_secs(32)), None);
    }
}
