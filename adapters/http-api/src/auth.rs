//! The bearer-token guard of `/api/admin/*` and `/api/v1/*`, and the check it makes
//! ([`check`]), shared with the MCP endpoints.

use axum::{
    extract::{Request, State},
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
        return next.run(request).await;
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
}
