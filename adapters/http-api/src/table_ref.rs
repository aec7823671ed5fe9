//! `GET /table_ref[?client=ID]`: an HTML page for people — every cell each box reported, with
//! its firmware name and access, then the box's pending actions.

use std::fmt::{self, Write};

use axum::{extract::State, response::Html};
use essensys_core::{
    codec,
    merge::Queued,
    ports::{ClientInfo, PortError},
    ClientId, Param,
};

use crate::{error::ApiError, extract::Args, ApiState};

/// What is shown of one box.
struct BoxPage {
    id: ClientId,
    /// `None` when the box was named but never connected.
    info: Option<ClientInfo>,
    cells: Vec<Param>,
    pending: Vec<Queued>,
}

/// `GET /table_ref[?client=ID]`: the chosen box, or every box seen.
pub(crate) async fn page(
    State(state): State<ApiState>,
    args: Args,
) -> Result<Html<String>, ApiError> {
    let chosen = args.client()?;
    let pages = gather(&state, chosen.as_ref())
        .await
        .map_err(|e| ApiError::store(e, "nothing read"))?;
    render(chosen.as_ref(), &pages).map(Html).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: the page could not be written",
        )
    })
}

async fn gather(state: &ApiState, chosen: Option<&ClientId>) -> Result<Vec<BoxPage>, PortError> {
    let infos = state.gateway.clients().await?;
    let ids: Vec<(ClientId, Option<ClientInfo>)> = match chosen {
        Some(id) => {
            let info = infos.into_iter().find(|i| i.id == *id);
            vec![(id.clone(), info)]
        }
        None => infos.into_iter().map(|i| (i.id.clone(), Some(i))).collect(),
    };
    let mut pages = Vec::with_capacity(ids.len());
    for (id, info) in ids {
        let cells = state.gateway.table(&id).await?;
        let pending = state.gateway.pending(&id).await?;
        pages.push(BoxPage {
            id,
            info,
            cells,
            pending,
        });
    }
    Ok(pages)
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Essensys exchange table</title>
<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #bbb;padding:2px 8px;text-align:left}td.n{text-align:right}
code{font-size:90%}</style></head><body>
<h1>Essensys exchange table</h1>
"#;

fn render(chosen: Option<&ClientId>, pages: &[BoxPage]) -> Result<String, fmt::Error> {
    let mut out = String::from(HEAD);
    if pages.is_empty() {
        out.push_str(
            "<p>No box has connected yet: this page fills in once a box polls the gateway.</p>\n",
        );
    }
    if chosen.is_none() && pages.len() > 1 {
        out.push_str("<p>Boxes:");
        for page in pages {
            let id = escape(page.id.as_str());
            write!(out, r##" <a href="#box-{id}">{id}</a>"##)?;
        }
        out.push_str("</p>\n");
    }
    for page in pages {
        render_box(&mut out, page)?;
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

fn render_box(out: &mut String, page: &BoxPage) -> fmt::Result {
    let id = escape(page.id.as_str());
    writeln!(
        out,
        r#"<section id="box-{id}"><h2>Box <code>{id}</code></h2>"#
    )?;
    match &page.info {
        Some(info) => {
            let address = info
                .address
                .map_or_else(|| "unknown".to_string(), |a| a.to_string());
            let version = info
                .version
                .as_deref()
                .map_or_else(|| "not reported".to_string(), escape);
            writeln!(
                out,
                "<p>Address {}, firmware version {version}, last seen {} (UTC).</p>",
                escape(&address),
                info.last_seen
            )?;
        }
        None => out.push_str("<p>No box with this id has connected yet.</p>\n"),
    }
    writeln!(out, "<h3>Reported cells ({})</h3>", page.cells.len())?;
    if page.cells.is_empty() {
        out.push_str("<p>None reported yet.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>index</th><th>name</th><th>access</th><th>value</th></tr></thead><tbody>\n");
        for cell in &page.cells {
            let info = cell.index.info();
            write!(
                out,
                r#"<tr><td class="n">{}</td><td>{}</td><td>{}</td><td class="n">{}"#,
                cell.index,
                escape(info.name),
                escape(info.access.code()),
                cell.value
            )?;
            if codec::is_binary(cell.index) {
                let bits = codec::to_binary(cell.value);
                write!(
                    out,
                    " <small>(bits LSB first {})</small>",
                    String::from_utf8_lossy(&bits)
                )?;
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    writeln!(out, "<h3>Pending actions ({})</h3>", page.pending.len())?;
    if page.pending.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        out.push_str(
            "<table><thead><tr><th>guid</th><th>sent</th><th>params</th></tr></thead><tbody>\n",
        );
        for queued in &page.pending {
            let params: Vec<String> = queued
                .action
                .command
                .iter_params()
                .map(|p| format!("{}={}", p.index, p.value))
                .collect();
            writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                escape(queued.action.guid.as_str()),
                if queued.sent { "yes" } else { "no" },
                escape(&params.join(" "))
            )?;
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn no_box_says_so() {
        let page = render(None, &[]).unwrap_or_default();
        assert!(page.contains("No box has connected yet"), "{page}");
    }
}
