//! The bearer-token guard of `/api/admin/*` and `/api/v1/*`, the check it makes ([`check`]),
//! shared with the MCP endpoints, and how a token is configured ([`token`]).

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{error::ApiError, ApiState};

/// Lets the request through when no token is configured or when it carries
/// `Authorization: Bearer <token>`; otherwise answers 401 with a JSON error and
/// `WWW-Authenticate: Bearer`.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.admin_token.as_deref() else {
        return match caller(&request, &state.trusted_proxies) {
            Some(ip) if !is_local(ip) => {
                tracing::warn!(path = %request.uri().path(), %ip, "API request refused: not from the local network");
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "without an admin token the API answers only the local network: start the \
                     gateway with --admin-token to reach it from elsewhere",
                )
                .into_response()
            }
            _ => next.run(request).await,
        };
    };
    let message = match check(request.headers(), expected) {
        Ok(()) => return next.run(request).await,
        Err(Refusal::Wrong) => "wrong bearer token: send the gateway's admin token as `Authorization: Bearer <token>`",
        Err(Refusal::Missing) => "missing bearer token: send `Authorization: Bearer <token>` with the gateway's admin token",
    };
    tracing::warn!(path = %request.uri().path(), "API request refused: {message}");
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Who is asking: the connection's peer or, when the peer is a trusted proxy, the last address
/// of `X-Forwarded-For` not itself a trusted proxy. `None` for a request that did not come from
/// the network (called in-process).
pub fn caller(request: &Request, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    let peer = canonical(peer);
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // an unreadable hop: nothing left of it can be believed
            return Some(peer);
        };
        let ip = canonical(ip);
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    Some(peer)
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is on this machine or the local network: loopback, the private ranges
/// (10/8, 172.16/12, 192.168/16, fc00::/7) and link-local (169.254/16, fe80::/10).
pub fn is_local(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

/// Why a configured token is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Given, but empty: it would let nobody in (or, read as "no token", everybody).
    #[error("{option} is empty: give a token, or leave the option out")]
    Empty {
        /// The option, e.g. `--admin-token`.
        option: &'static str,
    },
    /// The token file cannot be read.
    #[error("cannot read the token file {} ({option}-file): {source}", .path.display())]
    File {
        /// The option whose file it is.
        option: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token file holds no token.
    #[error("the token file {} ({option}-file) is empty: put the token on its first line", .path.display())]
    EmptyFile {
        /// The option whose file it is.
        option: &'static str,
        /// The file.
        path: PathBuf,
    },
}

/// The token of `option` (e.g. `--admin-token`): the value given, else the first line of
/// `file`, else `None`. Surrounding spaces are trimmed; an empty token is an error, never "no
/// token".
pub fn token(
    option: &'static str,
    given: Option<String>,
    file: Option<&Path>,
) -> Result<Option<String>, TokenError> {
    let token = match (given, file) {
        (Some(given), _) => given.trim().to_string(),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| TokenError::File {
                option,
                path: path.to_path_buf(),
                source,
            })?;
            let token = text.lines().next().unwrap_or("").trim().to_string();
            if token.is_empty() {
                return Err(TokenError::EmptyFile {
                    option,
                    path: path.to_path_buf(),
                });
            }
            token
        }
        (None, None) => return Ok(None),
    };
    if token.is_empty() {
        return Err(TokenError::Empty { option });
    }
    Ok(Some(token))
}

/// Why a request's bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// A token that is not the expected one.
    Wrong,
}

/// Whether `headers` carry `Authorization: Bearer <expected>`, compared in constant time. An
/// empty `expected` matches nothing.
pub fn check(headers: &HeaderMap, expected: &str) -> Result<(), Refusal> {
    match bearer(headers) {
        Some(given) if !given.is_empty() && same(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(Refusal::Wrong),
        None => Err(Refusal::Missing),
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Compares in time that does not depend on where the first difference lies.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_and_compared() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  s3cret "),
        );
        assert_eq!(bearer(&headers), Some("s3cret"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic czNjcmV0"),
        );
        assert_eq!(bearer(&headers), None);
        assert!(same(b"s3cret", b"s3cret"));
        assert!(!same(b"s3cret", b"s3creT"));
        assert!(!same(b"s3cre", b"s3cret"));
        assert_eq!(check(&headers, "s3cret"), Err(Refusal::Missing));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert_eq!(check(&headers, "s3cret"), Ok(()));
        assert_eq!(check(&headers, "other"), Err(Refusal::Wrong));
        assert_eq!(check(&headers, ""), Err(Refusal::Wrong));
    }

    #[test]
    fn local_means_loopback_private_and_link_local() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.10",
            "169.254.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.1.2",
        ] {
            assert!(is_local(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.64.0.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
            "192.169.0.1",
        ] {
            assert!(!is_local(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let request = |peer: &str, forwarded: Option<&str>| {
            let mut builder = Request::builder().uri("/api/v1/devices");
            if let Some(f) = forwarded {
                builder = builder.header("x-forwarded-for", f);
            }
            let mut request = builder.body(axum::body::Body::empty()).unwrap();
            let peer: SocketAddr = peer.parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        };
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // not trusted: the header is ignored
        assert_eq!(
            caller(&request("8.8.8.8:1", Some("192.168.1.2")), &[]),
            ip("8.8.8.8")
        );
        assert_eq!(
            caller(&request("127.0.0.1:1", Some("8.8.8.8")), &[]),
            ip("127.0.0.1")
        );
        // trusted nginx: the hop it added; Traefik then nginx on the same machine: the WAN client
        assert_eq!(
            caller(&request("127.0.0.1:1", Some("8.8.8.8")), &[local]),
            ip("8.8.8.8")
        );
        assert_eq!(
            caller(
                &request("127.0.0.1:1", Some("6.6.6.6, 8.8.8.8, 127.0.0.1")),
                &[local]
            ),
            ip("8.8.8.8"),
            "only the hops our proxies added count"
        );
        assert_eq!(
            caller(&request("127.0.0.1:1", Some("junk")), &[local]),
            ip("127.0.0.1")
        );
        assert_eq!(
            caller(&request("127.0.0.1:1", None), &[local]),
            ip("127.0.0.1")
        );
        let in_process = Request::builder().body(axum::body::Body::empty()).unwrap();
        assert_eq!(caller(&in_process, &[local]), None);
    }

    #[test]
    fn a_token_is_given_or_read_and_never_empty() {
        assert!(matches!(token("--t", None, None), Ok(None)));
        assert_eq!(
            token("--t", Some(" a ".into()), None).unwrap(),
            Some("a".into())
        );
        let err = token("--admin-token", Some("  ".into()), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--admin-token is empty: give a token, or leave the option out"
        );
        let dir = std::env::temp_dir().join(format!("essensys-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, " s3cret \nnext\n").unwrap();
        assert_eq!(
            token("--t", None, Some(&file)).unwrap(),
            Some("s3cret".into())
        );
        assert_eq!(
            token("--t", Some("flag".into()), Some(&file)).unwrap(),
            Some("flag".into())
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(token("--t", None, Some(&file))
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        let missing = token("--t", None, Some(&dir.join("none"))).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
