//! [`ClientId`]: which box a request, a value or an action belongs to.

use std::{fmt, sync::Arc};

use thiserror::Error;

/// The id of one box: the user part of its matricule (16 lower-case hex characters, see
/// [`crate::matricule`]), or `default` for a box that sends no `Authorization`.
///
/// It names Redis keys and MQTT topics, so it is restricted to 1–64 characters of
/// `[A-Za-z0-9_.-]`. Cloning is cheap (shared string).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

/// A client id that cannot name a box.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("client id {0:?} is not 1-64 characters of letters, digits, '_', '.' or '-'")]
pub struct InvalidClientId(pub String);

impl ClientId {
    /// The id of a box that sends no `Authorization` header.
    pub const DEFAULT_NAME: &'static str = "default";

    /// Builds an id, refusing characters that cannot appear in keys, topics or paths.
    pub fn new(raw: &str) -> Result<Self, InvalidClientId> {
        let valid = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Self(raw.into()))
        } else {
            Err(InvalidClientId(raw.chars().take(80).collect()))
        }
    }

    /// The id of a box that sends no `Authorization` header: `default`.
    pub fn default_box() -> Self {
        Self(Self::DEFAULT_NAME.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl std::str::FromStr for ClientId {
    type Err = InvalidClientId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_restricted_to_key_safe_characters() {
        assert_eq!(
            ClientId::new("767179c7a2bff196").map(|c| c.to_string()),
            Ok("767179c7a2bff196".into())
        );
        assert_eq!(ClientId::default_box().as_str(), "default");
        assert!(ClientId::new("").is_err());
        assert!(ClientId::new("a:b").is_err());
        assert!(ClientId::new("a b").is_err());
        assert!(ClientId::new(&"x".repeat(65)).is_err());
    }
}
