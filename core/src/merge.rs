//! Where a new command goes in a box's queue: appended, or merged into the last action.
//!
//! Pending light/shutter scenes for the same box may share one action (one round trip instead of
//! several, and fewer 400-byte actions competing for the box's 1499-byte reply). A new scene is
//! merged only into the **last** action of the queue, only if that action is a scene that has
//! **not been sent yet** (once sent, the box may already have run it), and only when
//! [`Block::merged`](crate::Block::merged) proves the outcome unchanged. Merging into an earlier
//! action would move the new scene ahead of whatever lies between (a stored-scenario launch, an
//! alarm setting that blocks shutters), so it is never done.
//!
//! This module is pure; queue adapters call [`enqueue`] inside whatever makes their update
//! atomic (a mutex, a Redis transaction).

use crate::action::{Action, Command, Guid};

/// An action waiting in a box's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The action.
    pub action: Action,
    /// Whether it has been handed to the box at least once (it stays queued until acked).
    pub sent: bool,
}

/// What [`enqueue`] did with a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enqueued {
    /// The guid the command travels under (an existing action's when merged).
    pub guid: Guid,
    /// Whether it was merged into an action already queued.
    pub merged: bool,
}

/// Where `command` should go in `queue`: `Some((position, merged command))` to replace the
/// command at `position`, or `None` to append it.
pub fn placement(queue: &[Queued], command: &Command) -> Option<(usize, Command)> {
    let (Command::Scene(later), Some(last)) = (command, queue.last()) else {
        return None;
    };
    match &last.action.command {
        Command::Scene(earlier) if !last.sent => earlier
            .merged(later)
            .map(|merged| (queue.len() - 1, Command::Scene(merged))),
        _ => None,
    }
}

/// Adds `command` to `queue`, merging it when [`placement`] allows, else appending it under
/// `guid`.
pub fn enqueue(queue: &mut Vec<Queued>, command: Command, guid: Guid) -> Enqueued {
    match placement(queue, &command) {
        Some((at, merged)) => {
            let entry = &mut queue[at];
            entry.action.command = merged;
            Enqueued {
                guid: entry.action.guid.clone(),
                merged: true,
            }
        }
        None => {
            queue.push(Queued {
                action: Action {
                    guid: guid.clone(),
                    command,
                },
                sent: false,
            });
            Enqueued {
                guid,
                merged: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{action::Slot, Block, Index};

    fn scene(index: u16, bits: u8) -> Command {
        let mut b = Block::default();
        b.set_bits(Index::new(index).expect("index"), bits);
        Command::Scene(b)
    }

    fn guid(n: u128) -> Guid {
        Guid::from_random(n)
    }

    #[test]
    fn compatible_scenes_merge_into_the_unsent_tail() {
        let mut q = Vec::new();
        let first = enqueue(&mut q, scene(613, 64), guid(1));
        let second = enqueue(&mut q, scene(613, 1), guid(2));
        assert_eq!(
            second,
            Enqueued {
                guid: first.guid.clone(),
                merged: true
            }
        );
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].action.command, scene(613, 65));
    }

    #[test]
    fn conflicting_sent_or_separated_scenes_stay_apart() {
        let mut q = Vec::new();
        enqueue(&mut q, scene(613, 64), guid(1));
        assert!(
            !enqueue(&mut q, scene(607, 64), guid(2)).merged,
            "on then off"
        );
        assert_eq!(q.len(), 2);

        q[1].sent = true;
        assert!(
            !enqueue(&mut q, scene(613, 1), guid(3)).merged,
            "tail already sent"
        );

        enqueue(
            &mut q,
            Command::Launch(Slot::new(5).expect("slot")),
            guid(4),
        );
        assert!(
            !enqueue(&mut q, scene(613, 2), guid(5)).merged,
            "a launch lies between"
        );
        assert_eq!(q.len(), 5);
        let guids: Vec<&str> = q.iter().map(|e| e.action.guid.as_str()).collect();
        let expected: Vec<Guid> = (1..=5).map(guid).collect();
        assert_eq!(guids, expected.iter().map(Guid::as_str).collect::<Vec<_>>());
    }
}
