//! The bridge's topics.
//!
//! | topic | retained | payload |
//! |---|---|---|
//! | `<base>/bridge/state` | yes | `online` after each connect; `offline` on clean shutdown and as the last will |
//! | `<base>/<client>/availability` | yes | `online` while the box polls, `offline` when it has been silent for the box timeout |
//! | `<base>/<client>/<platform>/<key>/state` | yes | the entity's state |
//! | `<base>/<client>/<platform>/<key>/set` | — | commands from Home Assistant (subscribed as `<base>/+/+/+/set`) |
//! | `<prefix>/<platform>/essensys_<client>_<key>/config` | yes | Home Assistant discovery |
//! | `<prefix>/status` | — | Home Assistant's birth message (`online`): discovery and states again |

use essensys_core::ClientId;

/// Builds every topic from the base and the discovery prefix.
#[derive(Clone, Debug)]
pub struct Topics {
    base: String,
    prefix: String,
}

/// What a command topic names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandTopic<'a> {
    /// The box.
    pub client: &'a str,
    /// The entity's platform (`light`, `cover`, …).
    pub platform: &'a str,
    /// The entity's key.
    pub key: &'a str,
}

impl Topics {
    /// Topics under `base` (e.g. `essensys`) with discovery under `prefix` (`homeassistant`).
    pub fn new(base: &str, prefix: &str) -> Self {
        Self {
            base: base.to_string(),
            prefix: prefix.to_string(),
        }
    }

    /// `<base>/bridge/state`.
    pub fn bridge_state(&self) -> String {
        format!("{}/bridge/state", self.base)
    }

    /// `<base>/<client>/availability`.
    pub fn availability(&self, client: &ClientId) -> String {
        format!("{}/{client}/availability", self.base)
    }

    /// `<base>/<client>/<platform>/<key>/state`.
    pub fn state(&self, client: &ClientId, platform: &str, key: &str) -> String {
        format!("{}/{client}/{platform}/{key}/state", self.base)
    }

    /// `<base>/<client>/<platform>/<key>/set`.
    pub fn command(&self, client: &ClientId, platform: &str, key: &str) -> String {
        format!("{}/{client}/{platform}/{key}/set", self.base)
    }

    /// The filter every command topic matches: `<base>/+/+/+/set`.
    pub fn commands_filter(&self) -> String {
        format!("{}/+/+/+/set", self.base)
    }

    /// `<prefix>/<platform>/<object_id>/config`.
    pub fn discovery(&self, platform: &str, object_id: &str) -> String {
        format!("{}/{platform}/{object_id}/config", self.prefix)
    }

    /// `<prefix>/status`: Home Assistant's birth and will.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// The parts of a command topic, if `topic` is one.
    pub fn parse_command<'a>(&self, topic: &'a str) -> Option<CommandTopic<'a>> {
        let rest = topic.strip_prefix(self.base.as_str())?.strip_prefix('/')?;
        let rest = rest.strip_suffix("/set")?;
        let mut parts = rest.split('/');
        let (client, platform, key) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || client.is_empty() || platform.is_empty() || key.is_empty() {
            return None;
        }
        Some(CommandTopic {
            client,
            platform,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_built_and_read_back() {
        let topics = Topics::new("essensys", "homeassistant");
        let client = ClientId::new("767179c7a2bff196").expect("id");
        assert_eq!(topics.bridge_state(), "essensys/bridge/state");
        assert_eq!(
            topics.command(&client, "light", "salon_1"),
            "essensys/767179c7a2bff196/light/salon_1/set"
        );
        assert_eq!(
            topics.parse_command("essensys/767179c7a2bff196/light/salon_1/set"),
            Some(CommandTopic {
                client: "767179c7a2bff196",
                platform: "light",
                key: "salon_1"
            })
        );
        assert_eq!(topics.parse_command("essensys/x/light/salon_1/state"), None);
        assert_eq!(topics.parse_command("essensys/x/light/a/b/set"), None);
        assert_eq!(topics.parse_command("other/x/light/a/set"), None);
        assert_eq!(
            topics.discovery("cover", "essensys_x_salon_1"),
            "homeassistant/cover/essensys_x_salon_1/config"
        );
    }
}
