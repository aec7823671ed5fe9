//! `essensys-system` — what the gateway takes from the machine it runs on: the wall clock, the
//! house's local time and random guids, as core's [`Clock`] and [`GuidSource`] ports.
//!
//! Every deployment needs these, whatever its store: they live here rather than in a storage
//! adapter, so that a Redis deployment does not depend on the in-memory one. Deterministic
//! doubles for tests are `ManualClock` and `CountingGuids` in `essensys-memory`.
//!
//! # What this crate must never do
//! Hold state or rules: it reads the machine and hands the reading over, nothing else.

use std::time::{SystemTime, UNIX_EPOCH};

use essensys_core::{
    alarm::{AlarmError, LocalTime},
    ports::{Clock, GuidSource, Timestamp},
    Guid,
};

/// The system's real-time clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }

    /// The machine's local time (its time zone, from `TZ` or `/etc/localtime`): the house's,
    /// on the Pi beside the box.
    fn local_time(&self) -> Result<LocalTime, AlarmError> {
        use chrono::{Datelike, Timelike};
        let now = chrono::Local::now();
        let narrow = |n: u32| u8::try_from(n).unwrap_or(u8::MAX);
        LocalTime::new(
            u16::try_from(now.year()).unwrap_or(0),
            narrow(now.month()),
            narrow(now.day()),
            narrow(now.hour()),
            narrow(now.minute()),
            narrow(now.second()),
        )
    }
}

/// Random version-4 UUIDs: unique across processes sharing one store.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomGuids;

impl GuidSource for RandomGuids {
    fn next_guid(&self) -> Guid {
        Guid::from_random(uuid::Uuid::new_v4().as_u128())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_the_machine() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let now = u128::from(SystemClock.now().0);
        assert!(now >= before && now < before + 60_000, "{now} vs {before}");
        assert!(SystemClock.local_time().is_ok());
    }

    #[test]
    fn random_guids_differ() {
        let (a, b) = (RandomGuids.next_guid(), RandomGuids.next_guid());
        assert_ne!(a, b);
        assert!(Guid::new(a.as_str()).is_ok(), "a guid the box accepts: {a}");
    }
}
