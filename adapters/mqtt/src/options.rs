//! [`MqttOptions`]: which broker, with what credentials, under which topics.

use std::{fmt, time::Duration};

use thiserror::Error;

/// A broker address from `mqtt://[user[:password]@]host[:port]`.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// The host name or address.
    pub host: String,
    /// The port (default 1883).
    pub port: u16,
    /// The user name, if any.
    pub user: Option<String>,
    /// The password, if any. Never printed (`Debug` and [`BrokerUrl::shown`] mask it).
    pub password: Option<String>,
}

/// Why a broker URL was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum UrlError {
    /// Not `mqtt://…`.
    #[error("broker url must start with mqtt:// (as in mqtt://user:password@127.0.0.1:1883); mqtts:// (TLS) is not supported")]
    Scheme,
    /// No host.
    #[error("broker url names no host: use mqtt://HOST[:PORT]")]
    NoHost,
    /// The port is not a number 1–65535.
    #[error("broker url port {0:?} is not a number 1-65535")]
    Port(String),
    /// A path, query or other part the bridge would ignore.
    #[error("broker url must be mqtt://[user[:password]@]host[:port] with nothing after the port")]
    Trailing,
}

impl BrokerUrl {
    /// Parses `mqtt://[user[:password]@]host[:port]` (`%40`-style escapes are not decoded).
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let rest = text
            .trim()
            .strip_prefix("mqtt://")
            .ok_or(UrlError::Scheme)?;
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((credentials, address)) => (Some(credentials), address),
            None => (None, rest),
        };
        if address.contains(['/', '?', '#']) {
            return Err(UrlError::Trailing);
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || address.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| UrlError::Port(port.chars().take(16).collect()))?;
                (host, port)
            }
            _ => (address, 1883),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let (user, password) = match credentials {
            None => (None, None),
            Some(c) => match c.split_once(':') {
                Some((user, password)) => (Some(user.to_string()), Some(password.to_string())),
                None => (Some(c.to_string()), None),
            },
        };
        Ok(Self {
            host: host.to_string(),
            port,
            user: user.filter(|u| !u.is_empty()),
            password,
        })
    }

    /// The URL as it may be shown: `mqtt://user:***@host:port`.
    pub fn shown(&self) -> String {
        let credentials = match (&self.user, &self.password) {
            (Some(user), Some(_)) => format!("{user}:***@"),
            (Some(user), None) => format!("{user}@"),
            (None, Some(_)) => ":***@".to_string(),
            (None, None) => String::new(),
        };
        format!("mqtt://{credentials}{}:{}", self.host, self.port)
    }

    /// paho's server URI, `tcp://host:port`.
    pub(crate) fn server_uri(&self) -> String {
        if self.host.contains(':') {
            format!("tcp://[{}]:{}", self.host, self.port)
        } else {
            format!("tcp://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// How the bridge talks to the broker and to Home Assistant.
#[derive(Clone, Debug)]
pub struct MqttOptions {
    /// The broker.
    pub broker: BrokerUrl,
    /// The root of the bridge's own topics (default `essensys`).
    pub base: String,
    /// Home Assistant's discovery prefix (default `homeassistant`).
    pub discovery_prefix: String,
    /// A box that has not polled for this long is shown offline (default 60 s).
    pub box_timeout: Duration,
}

impl MqttOptions {
    /// Options for `broker` with the defaults.
    pub fn new(broker: BrokerUrl) -> Self {
        Self {
            broker,
            base: "essensys".into(),
            discovery_prefix: "homeassistant".into(),
            box_timeout: Duration::from_secs(60),
        }
    }
}

/// Whether `topic` can be a topic prefix: non-empty, no wildcard, no empty level, no `/` at
/// either end.
pub fn valid_prefix(topic: &str) -> bool {
    !topic.is_empty()
        && !topic.contains(['+', '#', '\0'])
        && topic.split('/').all(|level| !level.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_and_without_credentials() {
        let url = BrokerUrl::parse("mqtt://ha:s3cret@192.168.1.10:1884").expect("url");
        assert_eq!(
            (
                url.host.as_str(),
                url.port,
                url.user.as_deref(),
                url.password.as_deref()
            ),
            ("192.168.1.10", 1884, Some("ha"), Some("s3cret"))
        );
        assert_eq!(url.shown(), "mqtt://ha:***@192.168.1.10:1884");
        assert!(!format!("{url:?}").contains("s3cret"));
        let url = BrokerUrl::parse("mqtt://broker").expect("url");
        assert_eq!(
            (url.port, url.user.as_deref(), url.password.as_deref()),
            (1883, None, None)
        );
        assert_eq!(url.server_uri(), "tcp://broker:1883");
        let url = BrokerUrl::parse("mqtt://[::1]:1883").expect("ipv6");
        assert_eq!(url.server_uri(), "tcp://[::1]:1883");
        assert_eq!(BrokerUrl::parse("http://x"), Err(UrlError::Scheme));
        assert_eq!(BrokerUrl::parse("mqtt://"), Err(UrlError::NoHost));
        assert_eq!(
            BrokerUrl::parse("mqtt://h:0"),
            Err(UrlError::Port("0".into()))
        );
        assert_eq!(
            BrokerUrl::parse("mqtt://h:x"),
            Err(UrlError::Port("x".into()))
        );
        assert_eq!(BrokerUrl::parse("mqtt://h/x"), Err(UrlError::Trailing));
    }

    #[test]
    fn prefixes_have_no_wildcards_or_empty_levels() {
        assert!(valid_prefix("essensys"));
        assert!(valid_prefix("home/essensys"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a/"));
        assert!(!valid_prefix("/a"));
        assert!(!valid_prefix("a/+"));
    }
}
