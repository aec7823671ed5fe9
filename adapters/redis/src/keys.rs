//! The key schema, shared with the tools that read the same Redis (MCP server, control plane).
//!
//! | key | type | content |
//! |---|---|---|
//! | `essensys:client:{id}:exchange` | hash | field = index (decimal), value = value (decimal) |
//! | `essensys:client:{id}:connected` | string | `"true"`, set on every box request |
//! | `essensys:client:{id}:authinfo` | hash | `ip`, `auth` (raw `Authorization`), `version`, `updated` (RFC 3339) |
//! | `essensys:client:{id}:last_poll` | string | RFC 3339 time of the last `serverinfos` |
//! | `essensys:client:{id}:history:{index}` | list | `"{millis}:{value}"`, newest first, at most [`HISTORY_LEN`](essensys_core::ports::HISTORY_LEN) |
//! | `essensys:client:{id}:actions` | list | each queued action's wire JSON, oldest first |
//! | `essensys:client:{id}:actions:sent` | set | guids of queued actions delivered at least once |
//! | `essensys:client:{id}:actions:rejected` | list | stored elements that were not actions, moved aside |
//! | `essensys:clients` | set | every box id seen |
//! | `essensys:meta:last_polled_client` | string | id of the box that polled last |
//! | `essensys:global:actions` | list | the older gateways' single queue, migrated to `default` |
//! | `essensys:global:actions:rejected` | list | its elements that were not valid orders |

use essensys_core::{ClientId, Index};

/// The set of every box id seen.
pub(crate) const CLIENTS: &str = "essensys:clients";
/// The id of the box that polled last.
pub(crate) const LAST_POLLED_CLIENT: &str = "essensys:meta:last_polled_client";
/// The older gateways' single action list (read by [`crate::legacy`]).
pub(crate) const GLOBAL_ACTIONS: &str = "essensys:global:actions";
/// Where invalid elements of [`GLOBAL_ACTIONS`] are moved.
pub(crate) const GLOBAL_REJECTED: &str = "essensys:global:actions:rejected";

/// The keys of one box.
#[derive(Clone, Debug)]
pub(crate) struct BoxKeys {
    prefix: String,
}

impl BoxKeys {
    /// The keys of `client`.
    pub(crate) fn new(client: &ClientId) -> Self {
        Self {
            prefix: format!("essensys:client:{client}"),
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }

    /// Its exchange table (hash).
    pub(crate) fn exchange(&self) -> String {
        self.key("exchange")
    }

    /// `"true"` once it has talked to us.
    pub(crate) fn connected(&self) -> String {
        self.key("connected")
    }

    /// Its contact details (hash).
    pub(crate) fn authinfo(&self) -> String {
        self.key("authinfo")
    }

    /// The time of its last `serverinfos` poll.
    pub(crate) fn last_poll(&self) -> String {
        self.key("last_poll")
    }

    /// The recent values of one cell (list, newest first).
    pub(crate) fn history(&self, index: Index) -> String {
        format!("{}:history:{}", self.prefix, index.get())
    }

    /// Its action queue (list, oldest first).
    pub(crate) fn actions(&self) -> String {
        self.key("actions")
    }

    /// The guids of its actions delivered at least once (set).
    pub(crate) fn sent(&self) -> String {
        self.key("actions:sent")
    }

    /// Elements of its queue that were not actions, moved aside (list).
    pub(crate) fn rejected(&self) -> String {
        self.key("actions:rejected")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_shared_schema() {
        let keys = BoxKeys::new(&ClientId::default_box());
        assert_eq!(keys.exchange(), "essensys:client:default:exchange");
        assert_eq!(keys.connected(), "essensys:client:default:connected");
        assert_eq!(keys.authinfo(), "essensys:client:default:authinfo");
        assert_eq!(keys.last_poll(), "essensys:client:default:last_poll");
        assert_eq!(
            keys.history(Index::new(613).expect("index")),
            "essensys:client:default:history:613"
        );
        assert_eq!(keys.actions(), "essensys:client:default:actions");
        assert_eq!(keys.sent(), "essensys:client:default:actions:sent");
    }
}
