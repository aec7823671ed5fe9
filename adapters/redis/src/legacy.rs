//! The older gateways' single action list, `essensys:global:actions`, migrated into the
//! `default` box's own queue.
//!
//! Old tools `RPUSH` JSON like `{"guid":"…","params":[{"k":613,"v":"64"}]}` (spacing free, `v`
//! a string or a number). When a `myactions` of the `default` box finds that list non-empty
//! (the delivery script reports its length at no extra cost), each element, in order, is read
//! as an [`Order::Cells`](essensys_core::Order::Cells), validated and expanded by
//! [`Order::commands`](essensys_core::Order::commands), and queued through
//! [`merge::enqueue`] — under its original guid when that is a valid [`Guid`] (then
//! `{guid}-2`, `{guid}-3` for the commands it expands to), else a fresh one.
//!
//! Elements are **moved**, not read in place: each is removed from the global list in the same
//! `MULTI` that queues it, so an order is delivered once, acked once (by its per-box guid) and
//! never re-read. (The older gateways read the list non-destructively and removed an element on
//! ack; a tool watching the list sees the element go at migration instead.) An element that is
//! not a valid order goes to `essensys:global:actions:rejected`, with a warning that says why.

use std::collections::HashSet;

use deadpool_redis::redis::Cmd;
use essensys_core::{merge, ClientId, Guid};

use crate::{conn::Redis, error::Failure, keys, transaction, wire};

/// What a migration did.
#[derive(Debug, Default)]
pub(crate) struct Migration {
    /// Elements queued.
    pub(crate) moved: usize,
    /// Elements rejected, with why.
    pub(crate) rejected: Vec<(String, String)>,
}

/// Moves every element of the legacy list into the `default` box's queue (or aside).
pub(crate) async fn migrate(redis: &Redis) -> Result<Migration, Failure> {
    let client = ClientId::default_box();
    let (migration, _) = transaction::rewrite(redis, &client, true, plan).await?;
    for (element, reason) in &migration.rejected {
        tracing::warn!(
            %element, %reason,
            "legacy action in {} is not a valid order: moved to {}",
            keys::GLOBAL_ACTIONS, keys::GLOBAL_REJECTED
        );
    }
    if migration.moved > 0 {
        tracing::info!(
            moved = migration.moved,
            "moved legacy actions from {} to the queue of box {client}",
            keys::GLOBAL_ACTIONS
        );
    }
    Ok(migration)
}

fn plan(snapshot: transaction::Snapshot<'_>) -> (Migration, Vec<Cmd>) {
    let transaction::Snapshot { queue, legacy } = snapshot;
    let mut used: HashSet<Guid> = queue.iter().map(|q| q.action.guid.clone()).collect();
    let mut migration = Migration::default();
    let mut commands = Vec::new();
    for element in legacy {
        commands.push(Cmd::lrem(keys::GLOBAL_ACTIONS, 1, element.as_slice()));
        let decoded = std::str::from_utf8(element)
            .map_err(|_| "not UTF-8 text".to_string())
            .and_then(wire::decode_legacy)
            .and_then(|(guid, order)| {
                order
                    .commands()
                    .map(|c| (guid, c))
                    .map_err(|e| e.to_string())
            });
        match decoded {
            Ok((guid, expanded)) => {
                for (n, command) in expanded.into_iter().enumerate() {
                    let guid = guid_for(guid.as_deref(), n, &used);
                    used.insert(guid.clone());
                    merge::enqueue(queue, command, guid);
                }
                migration.moved += 1;
            }
            Err(reason) => {
                commands.push(Cmd::rpush(keys::GLOBAL_REJECTED, element.as_slice()));
                let shown: String = String::from_utf8_lossy(element).chars().take(200).collect();
                migration.rejected.push((shown, reason));
            }
        }
    }
    (migration, commands)
}

/// The guid of the `n`th command (0-based) expanded from an element that carried `original`.
fn guid_for(original: Option<&str>, n: usize, used: &HashSet<Guid>) -> Guid {
    let candidate = original.and_then(|g| {
        let text = if n == 0 {
            g.to_string()
        } else {
            format!("{g}-{}", n + 1)
        };
        Guid::new(&text).ok()
    });
    match candidate {
        Some(guid) if !used.contains(&guid) => guid,
        _ => Guid::from_random(uuid::Uuid::new_v4().as_u128()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use essensys_core::{merge::Queued, Command};

    #[test]
    fn elements_keep_their_guid_and_bad_ones_are_set_aside() {
        let mut queue: Vec<Queued> = Vec::new();
        let legacy: Vec<Vec<u8>> = [
            r#"{"guid":"old-1","params":[{"k":613,"v":"64"}]}"#,
            r#"{"guid":"old-2","params":[{"k":590,"v":"3"},{"k":700,"v":1}]}"#,
            r#"{"guid":"old-3","params":[{"k":953,"v":"1"}]}"#,
            r#"{"guid":"old/4","params":[{"k":349,"v":"17"}]}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let (migration, commands) = plan(transaction::Snapshot {
            queue: &mut queue,
            legacy: &legacy,
        });
        assert_eq!(migration.moved, 3);
        assert_eq!(migration.rejected.len(), 1);
        assert!(
            migration.rejected[0].1.contains("953"),
            "{:?}",
            migration.rejected
        );
        // one LREM per element, one RPUSH for the rejected one
        assert_eq!(commands.len(), 5);
        let guids: Vec<&str> = queue.iter().map(|q| q.action.guid.as_str()).collect();
        assert_eq!(&guids[..3], ["old-1", "old-2", "old-2-2"]);
        assert!(matches!(queue[2].action.command, Command::Launch(_)));
        assert_ne!(guids[3], "old/4", "an invalid guid gets a fresh one");
        assert_eq!(queue.len(), 4);
    }
}
