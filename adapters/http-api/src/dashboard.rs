//! `/` and the dashboard's files: the household's web app, built by `apps/dashboard` into a
//! folder ([`crate::ApiState::dashboard`]) that this serves as it is. The gateway needs no
//! Node: without a built dashboard, `/` is a short page saying how to build it, and the API
//! works the same.
//!
//! Only `GET`/`HEAD` of paths outside `/api/` reach the files; anything else stays the API's
//! JSON 404/405. The files are public (the app itself holds no secret): the API calls it makes
//! are what the admin token guards.

use std::path::Path;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    response::{Html, IntoResponse, Response},
};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::{ops, ApiState};

/// The page `/` shows when the dashboard is not built.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Essensys — passerelle</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5">
<main>
<h1>La passerelle Essensys fonctionne</h1>
<p>Le tableau de bord n'est pas construit sur cette machine. Lancez <code>./run.sh</code> (il le
construit avec Node.js), ou <code>npm ci &amp;&amp; npm run build</code> dans
<code>apps/dashboard</code>, puis rechargez la page. La passerelle elle-même sert la box sans
lui.</p>
<p>The dashboard is not built: run <code>./run.sh</code>, or <code>npm ci &amp;&amp; npm run
build</code> in <code>apps/dashboard</code> (or point <code>--dashboard DIR</code> at a build).</p>
<ul><li><a href="/health">/health</a></li><li><a href="/table_ref">/table_ref</a> (la table de la box)</li></ul>
</main></body></html>
"#;

/// Every request no route matched: the dashboard's files for `GET`/`HEAD` outside `/api/`,
/// else the API's JSON 404.
pub(crate) async fn fallback(State(state): State<ApiState>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let for_files = matches!(method, Method::GET | Method::HEAD)
        && !uri.path().starts_with("/api/")
        && uri.path() != "/api";
    if !for_files {
        return ops::no_route(method, uri).await.into_response();
    }
    let built = state
        .dashboard
        .as_deref()
        .filter(|dir| dir.join("index.html").is_file());
    let Some(dir) = built else {
        return if uri.path() == "/" {
            Html(NOT_BUILT).into_response()
        } else {
            ops::no_route(method, uri).await.into_response()
        };
    };
    serve(dir, request).await
}

/// A file of the built dashboard (`index.html` for `/`); a missing one is the API's 404.
async fn serve(dir: &Path, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let Ok(response) = ServeDir::new(dir).oneshot(request).await;
    if response.status() == StatusCode::NOT_FOUND {
        return ops::no_route(method, uri).await.into_response();
    }
    let mut response = response.map(axum::body::Body::new);
    // Built assets carry a content hash in their name: they never change. The page itself
    // must be asked for again, so a new build is seen at once.
    let cache = if uri.path().starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
