//! Extractors whose rejections are [`ApiError`]s, so that axum's plain-text rejections never
//! reach a caller: every error of this API is JSON.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::request::Parts,
};
use essensys_core::ClientId;

use crate::error::ApiError;

/// The request body, read whole (axum's default 2 MB limit applies). Its JSON is read by the
/// handler's DTO, which knows what shape to ask for.
pub(crate) struct Body(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(|rejection| {
                ApiError::new(
                    rejection.status(),
                    format!(
                        "could not read the request body ({}): send a small JSON body",
                        rejection.body_text().to_lowercase()
                    ),
                )
            })
    }
}

/// The query string's parameters (the last one wins when a name repeats).
pub(crate) struct Args(HashMap<String, String>);

impl Args {
    /// The parameter `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The box named by `?client=`, if any.
    pub(crate) fn client(&self) -> Result<Option<ClientId>, ApiError> {
        self.get("client")
            .map(|raw| {
                ClientId::new(raw).map_err(|e| {
                    ApiError::bad_request(format!(
                        "{e}: name a box as GET /api/admin/clients lists it"
                    ))
                })
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Args {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(args)| Args(args))
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "the query string cannot be read ({}): use name=value pairs joined by '&'",
                    rejection.body_text().to_lowercase()
                ))
            })
    }
}

/// The one `{…}` segment of a route's path, as text.
pub(crate) struct Segment(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(segment)| Segment(segment))
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "the path cannot be read ({}): use plain ids such as petite_chambre_3",
                    rejection.body_text().to_lowercase()
                ))
            })
    }
}
