//! The key schema, shared with the tools that read the same Redis (MCP server, control plane).
//!
//! | key | type | content |
//! |---|---|---|
//! | `essensys:client:{id}:exchange` | hash | field = index (decimal), value = value (decimal) |
//! | `essensys:client:{id}:connected` | string | `"true"`, set on every box request |
//! | `essensys:client:{id}:pin` | string | open mode's trust on first use: SHA-256 of the first matricule seen (hex) |
//! | `essensys:client:{id}:authinfo` | hash | `ip`, `auth` (`Authorization` without its password half: `Basic base64("<id>:")`), `version`, `updated` (RFC 3339) |
//! | `essensys:client:{id}:last_poll` | string | RFC 3339 time of the last `serverinfos` |
//! | `essensys:client:{id}:history:{index}` | list | `"{millis}:{value}"`, newest first, at most [`HISTORY_LEN`](essensys_core::ports::HISTORY_LEN) |
//! | `essensys:client:{id}:actions` | list | each queued action's wire JSON, oldest first |
//! | `essensys:client:{id}:actions:sent` | set | guids of queued actions delivered at least once |
//! | `essensys:client:{id}:actions:rejected` | list | stored elements that were not actions, moved aside |
//! | `essensys:client:{id}:alarm` | string | the pending `_de67f` alarm order, exactly as [`reply::encode_alarm`] writes it: `{"guid":"…","obl":"…"}`; absent when none |
//! | `essensys:client:{id}:alarm:rejected` | list | stored alarm orders that were not in that form, moved aside |
//! | `essensys:client:{id}:devices` | hash | field = [`Device::key`] (`light.petite_chambre_3`), value = `{state}:{millis}`: the state the box acknowledged and when |
//! | `essensys:clients` | set | every box id seen |
//! | `essensys:meta:last_polled_client` | string | id of the box that polled last |
//! | `essensys:global:actions` | list | the older gateways' single queue, migrated to `default` |
//! | `essensys:global:actions:rejected` | list | its elements that were not valid orders |
//!
//! A device's state is one word ([`state_word`]): `on` ([`Switch::OnOrOpen`]: light on, shutter
//! open, awning deployed), `off` ([`Switch::OffOrClose`]) or `unknown` (the acknowledged command
//! gave it both bits, see [`essensys_core::state`]); e.g. `on:1795759212345`. A device the box
//! never acknowledged a command for has no field.
//!
//! [`reply::encode_alarm`]: essensys_core::reply::encode_alarm
//! [`Device::key`]: essensys_core::catalog::Device::key
//! [`Switch::OnOrOpen`]: essensys_core::order::Switch::OnOrOpen
//! [`Switch::OffOrClose`]: essensys_core::order::Switch::OffOrClose

use essensys_core::{order::Switch, ports::Timestamp, state::Acknowledged, ClientId, Index};

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

    /// The digest its matricule is pinned to in open mode (string, 64 hex digits).
    pub(crate) fn pin(&self) -> String {
        self.key("pin")
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

    /// Its pending alarm order, in the `_de67f` wire form (string).
    pub(crate) fn alarm(&self) -> String {
        self.key("alarm")
    }

    /// Stored alarm orders that were not in the wire form, moved aside (list).
    pub(crate) fn alarm_rejected(&self) -> String {
        self.key("alarm:rejected")
    }

    /// The acknowledged state of its devices (hash: device key → `{state}:{millis}`).
    pub(crate) fn devices(&self) -> String {
        self.key("devices")
    }
}

/// The word a device state is stored as: `on`, `off`, or `unknown` for `None`.
pub(crate) fn state_word(state: Option<Switch>) -> &'static str {
    match state {
        Some(Switch::OnOrOpen) => "on",
        Some(Switch::OffOrClose) => "off",
        None => "unknown",
    }
}

/// A device's stored value: `{state}:{millis}`.
pub(crate) fn device_value(acknowledged: Acknowledged) -> String {
    format!("{}:{}", state_word(acknowledged.state), acknowledged.at.0)
}

/// Reads a stored device value back; `None` when it is not `{state}:{millis}`.
pub(crate) fn parse_device_value(text: &str) -> Option<Acknowledged> {
    let (word, millis) = text.split_once(':')?;
    let state = match word {
        "on" => Some(Switch::OnOrOpen),
        "off" => Some(Switch::OffOrClose),
        "unknown" => None,
        _ => return None,
    };
    if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Acknowledged {
        state,
        at: Timestamp(millis.parse().ok()?),
    })
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
        assert_eq!(keys.alarm(), "essensys:client:default:alarm");
        assert_eq!(
            keys.alarm_rejected(),
            "essensys:client:default:alarm:rejected"
        );
        assert_eq!(keys.devices(), "essensys:client:default:devices");
    }

    #[test]
    fn device_values_are_one_word_and_the_millis() {
        for (state, text) in [
            (Some(Switch::OnOrOpen), "on:1795759212345"),
            (Some(Switch::OffOrClose), "off:1795759212345"),
            (None, "unknown:1795759212345"),
        ] {
            let acknowledged = Acknowledged {
                state,
                at: Timestamp(1_795_759_212_345),
            };
            assert_eq!(device_value(acknowledged), text);
            assert_eq!(parse_device_value(text), Some(acknowledged));
        }
        for bad in ["on", "on:", "open:12", "on:-1", "on:1x", ":12", "ON:12"] {
            assert_eq!(parse_device_value(bad), None, "{bad}");
        }
    }
}
