//! [`Connections`]: the open connections, so that nobody starves the box.
//!
//! Each connection takes a [`Slot`] before anything is read. A source address may hold at most
//! `per_source` slots (except the trusted ones, a proxy in front); when every slot is taken, the
//! oldest connection that has waited more than [`MIN_IDLE`] without sending a whole request
//! head is shed to make room (the box sends each request in one write: a connection still
//! waiting for its head after that is idle or hostile). When there is none, the newcomer waits
//! for a slot to free (a burst of real requests is served in turn, not dropped).

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::{sync::Notify, time::Instant};

/// How long a connection must have waited for its head before it may be shed for a newcomer.
pub const MIN_IDLE: std::time::Duration = std::time::Duration::from_millis(250);

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its source address already holds its share.
    PerSource,
    /// Every slot is busy with a connection that sent its head or is fresh: wait for
    /// [`Connections::freed`].
    Full,
}

struct Entry {
    ip: IpAddr,
    since: Instant,
    head_done: bool,
    shed: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    /// By admission order: the first idle one is the oldest.
    open: BTreeMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.open.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&entry.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&entry.ip);
            }
        }
        Some(entry)
    }
}

/// The open connections and their limits.
pub struct Connections {
    inner: Mutex<Inner>,
    freed: Notify,
    max: usize,
    per_source: usize,
    unlimited: Vec<IpAddr>,
}

/// One admitted connection; dropping it frees its slot.
pub struct Slot {
    connections: Arc<Connections>,
    id: u64,
    shed: Arc<Notify>,
}

impl Connections {
    /// At most `max` connections, `per_source` per address except from `unlimited`.
    pub fn new(max: usize, per_source: usize, unlimited: Vec<IpAddr>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::default(),
            freed: Notify::new(),
            max: max.max(1),
            per_source: per_source.max(1),
            unlimited,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a connection from `ip`, shedding the oldest idle connection if every slot is
    /// taken.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        self.admit_at(ip, Instant::now())
    }

    fn admit_at(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Slot, Refusal> {
        let mut inner = self.lock();
        let held = inner.per_ip.get(&ip).copied().unwrap_or(0);
        if held >= self.per_source && !self.unlimited.contains(&ip) {
            return Err(Refusal::PerSource);
        }
        if inner.open.len() >= self.max {
            let idle = inner
                .open
                .iter()
                .find(|(_, e)| !e.head_done && now.duration_since(e.since) >= MIN_IDLE)
                .map(|(id, _)| *id)
                .ok_or(Refusal::Full)?;
            if let Some(shed) = inner.remove(idle) {
                shed.shed.notify_one();
            }
        }
        let id = inner.next;
        inner.next += 1;
        let shed = Arc::new(Notify::new());
        inner.open.insert(
            id,
            Entry {
                ip,
                since: now,
                head_done: false,
                shed: shed.clone(),
            },
        );
        *inner.per_ip.entry(ip).or_default() += 1;
        Ok(Slot {
            connections: self.clone(),
            id,
            shed,
        })
    }

    /// Completes when a slot may have freed (a connection ended).
    pub async fn freed(&self) {
        self.freed.notified().await;
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Slot {
    /// The connection has sent a whole request head: it is no longer shed for newcomers.
    pub fn head_done(&self) {
        if let Some(entry) = self.connections.lock().open.get_mut(&self.id) {
            entry.head_done = true;
        }
    }

    /// Completes when the connection is shed to make room for a newcomer.
    pub async fn shed(&self) {
        self.shed.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.lock().remove(self.id);
        self.connections.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_holds_at_most_its_share_and_gets_it_back() {
        let c = Connections::new(10, 2, vec![ip("127.0.0.1")]);
        let a = c.admit(ip("10.0.0.9")).unwrap();
        let _b = c.admit(ip("10.0.0.9")).unwrap();
        assert_eq!(c.admit(ip("10.0.0.9")).err(), Some(Refusal::PerSource));
        assert!(c.admit(ip("10.0.0.8")).is_ok(), "another source");
        drop(a);
        assert!(c.admit(ip("10.0.0.9")).is_ok(), "the share comes back");
        let proxied: Vec<_> = (0..5).map(|_| c.admit(ip("127.0.0.1"))).collect();
        assert!(
            proxied.iter().all(Result::is_ok),
            "a trusted proxy is not capped"
        );
    }

    #[tokio::test]
    async fn when_full_the_oldest_idle_connection_is_shed() {
        let c = Connections::new(3, 10, vec![]);
        let t0 = Instant::now();
        let busy = c.admit_at(ip("10.0.0.1"), t0).unwrap();
        busy.head_done();
        let idle_old = c.admit_at(ip("10.0.0.2"), t0).unwrap();
        let idle_new = c.admit_at(ip("10.0.0.3"), t0 + MIN_IDLE).unwrap();
        // the idle ones are still fresh: the newcomer waits
        assert_eq!(
            c.admit_at(ip("10.0.0.4"), t0 + MIN_IDLE / 2).err(),
            Some(Refusal::Full)
        );
        let newcomer = c.admit_at(ip("10.0.0.4"), t0 + MIN_IDLE).unwrap();
        assert_eq!(c.len(), 3);
        tokio::time::timeout(Duration::from_secs(1), idle_old.shed())
            .await
            .expect("the oldest idle one is told to go");
        let kept = tokio::time::timeout(Duration::from_millis(50), idle_new.shed()).await;
        assert!(kept.is_err(), "the younger idle one stays");
        drop(idle_old); // its task ends: no double count
        assert_eq!(c.len(), 3);
        idle_new.head_done();
        newcomer.head_done();
        assert_eq!(
            c.admit(ip("10.0.0.5")).err(),
            Some(Refusal::Full),
            "all busy"
        );
        drop(busy);
        assert!(c.admit(ip("10.0.0.5")).is_ok());
    }
}
