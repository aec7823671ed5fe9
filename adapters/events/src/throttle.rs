//! [`Throttle`]: each box's requests let through at most once per period, for listeners that
//! only need to know a box is alive (the MQTT bridge, the dashboard's live feed). It runs in a
//! channel's filter, on the hot path, so that such a listener is not woken per request.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use essensys_core::ClientId;

/// Remembers when each box last passed.
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    last: Mutex<HashMap<ClientId, Instant>>,
}

impl Throttle {
    /// A throttle letting each box through once per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::default(),
        }
    }

    /// Whether a request of `client` at `now` passes: a box's first always, then one per period.
    pub fn admit(&self, client: &ClientId, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match last.get_mut(client) {
            Some(at) if now.duration_since(*at) < self.every => false,
            Some(at) => {
                *at = now;
                true
            }
            None => {
                last.insert(client.clone(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_box_passes_once_per_period_and_its_first_request_always() {
        let throttle = Throttle::new(Duration::from_secs(1));
        let (a, b) = (ClientId::new("a").unwrap(), ClientId::new("b").unwrap());
        let start = Instant::now();
        assert!(throttle.admit(&a, start));
        assert!(!throttle.admit(&a, start + Duration::from_millis(999)));
        assert!(
            throttle.admit(&b, start + Duration::from_millis(999)),
            "another box"
        );
        assert!(throttle.admit(&a, start + Duration::from_secs(1)));
        assert!(!throttle.admit(&a, start + Duration::from_millis(1500)));
    }
}
