//! Getting back to Redis after an outage: a background task retries with exponential backoff
//! (100 ms, doubling, at most 5 s) and, once Redis answers, flushes the buffers in order —
//! remembered acks (applied to the queue and to the alarm order, by the same `ack` script as a
//! live `done`), then marks for actions delivered from the cache, then buffered status
//! reports, then buffered device states, then buffered polls — and only then marks the store
//! up.
//!
//! Everything flushed is idempotent (an ack applied twice finds nothing, a value or a device
//! state written twice changes nothing), so a flush cut short by another failure puts
//! everything back and starts over later.

use std::{sync::Arc, time::Duration};

use deadpool_redis::redis;
use essensys_core::Param;

use crate::{error::Failure, outage::Buffers, requests, state::Shared};

/// The first retry delay.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest retry delay.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// The reconnection task: sleeps until Redis goes down, then retries until it is back.
pub(crate) async fn reconnect(shared: Arc<Shared>) {
    loop {
        if !shared.outage.is_down() {
            shared.wake.notified().await;
            continue;
        }
        let mut delay = FIRST_DELAY;
        while shared.outage.is_down() {
            tokio::time::sleep(delay).await;
            if let Err(failure) = shared.recover().await {
                tracing::debug!(reason = %failure, retry_in_ms = delay.as_millis() as u64, "redis still unreachable");
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
    }
}

#[derive(Default)]
struct Flushed {
    acks: usize,
    marked: u64,
    reports: usize,
    values: usize,
    devices: usize,
    polls: usize,
}

impl Shared {
    /// Flushes the buffers and marks the store up, if Redis answers.
    pub(crate) async fn recover(&self) -> Result<(), Failure> {
        let _one_at_a_time = self.flushing.lock().await;
        if !self.outage.is_down() {
            return Ok(());
        }
        let mut ping = redis::pipe();
        ping.cmd("PING").ignore();
        self.redis.pipeline::<()>(&ping).await?;
        let mut flushed = Flushed::default();
        loop {
            let buffers = self.outage.take();
            if let Err(failure) = self.flush(&buffers, &mut flushed).await {
                self.outage.restore(buffers);
                return Err(failure);
            }
            if let Some(down_for) = self.outage.mark_up_if_flushed() {
                tracing::info!(
                    url = %self.shown_url,
                    values = flushed.values,
                    devices = flushed.devices,
                    polls = flushed.polls,
                    marked_sent = flushed.marked,
                    "redis is back after {:.1} s: wrote {} buffered reports, {} acks",
                    down_for.as_secs_f64(),
                    flushed.reports,
                    flushed.acks
                );
                return Ok(());
            }
        }
    }

    async fn flush(&self, buffers: &Buffers, flushed: &mut Flushed) -> Result<(), Failure> {
        let redis = &self.redis;
        for (client, guids) in &buffers.acks {
            for guid in guids {
                skip_refused(requests::ack(redis, client, guid).await, "remembered ack")?;
            }
        }
        let mut marked = 0;
        for (client, guids) in &buffers.delivered {
            let acked = buffers.acks.get(client);
            let unacked: Vec<_> = guids
                .iter()
                .filter(|g| !acked.is_some_and(|a| a.contains(*g)))
                .collect();
            if !unacked.is_empty() {
                let result = requests::mark_sent(redis, client, unacked).await;
                marked += skip_refused(result, "delivered marks")?.unwrap_or(0);
            }
        }
        for (client, report) in &buffers.reports {
            let cells: Vec<_> = report
                .values
                .iter()
                .map(|(&index, &(value, at))| (Param::new(index, value), at))
                .collect();
            let result = requests::apply(
                redis,
                client,
                &report.contact,
                report.version.as_deref(),
                &cells,
            )
            .await;
            skip_refused(result, "buffered report")?;
        }
        for (client, states) in &buffers.devices {
            let states: Vec<_> = states
                .iter()
                .map(|(key, &acknowledged)| (key.clone(), acknowledged))
                .collect();
            let result = requests::record_devices(redis, client, &states).await;
            skip_refused(result, "buffered device states")?;
        }
        for (client, contact) in &buffers.polls {
            skip_refused(
                requests::record_poll(redis, client, contact).await,
                "buffered poll",
            )?;
        }
        flushed.acks += buffers.ack_count();
        flushed.marked += marked;
        flushed.reports += buffers.report_count;
        flushed.values += buffers
            .reports
            .values()
            .map(|r| r.values.len())
            .sum::<usize>();
        flushed.devices += buffers.device_count();
        flushed.polls += buffers.polls.len();
        Ok(())
    }
}

/// A connectivity failure stops the flush (to be retried); anything else (Redis refusing the
/// write, e.g. a key of the wrong type) would fail the same way forever: logged and dropped.
fn skip_refused<T>(result: Result<T, Failure>, what: &str) -> Result<Option<T>, Failure> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(failure) if failure.is_unreachable() => Err(failure),
        Err(failure) => {
            tracing::error!(reason = %failure, "redis refused a {what} written back after the outage: dropped");
            Ok(None)
        }
    }
}
