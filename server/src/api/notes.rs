//! The user's notes: a paginated list, newest first, and one note at a time. Only the owner sees
//! a note; to anyone else it does not exist.

use app::api::{paths, Note, NoteInput, Page};
use app::validation::note_errors;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::logged_in::LoggedIn;
use super::params::{PathId, QueryParams};
use super::rfc3339;
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::notes::StoredNote;
use crate::state::AppState;

/// Notes per page.
const PAGE_SIZE: usize = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::NOTES, get(list).post(create))
        .route(paths::NOTES_EXPORT, get(export))
        .route(paths::NOTES_PRINTABLE, get(printable))
        .route(
            &format!("{}/{{id}}", paths::NOTES),
            get(read).put(update).delete(remove),
        )
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    LoggedIn { username, .. }: LoggedIn,
    headers: HeaderMap,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<Note>>, ApiError> {
    let invalid = || ApiError::detail(StatusCode::NOT_FOUND, "Invalid page.");
    let page = match query.page.as_deref() {
        None => 1,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|page| *page >= 1)
            .ok_or_else(invalid)?,
    };
    // Checked: a page number near usize::MAX must be a 404, not an overflow.
    let offset = (page - 1).checked_mul(PAGE_SIZE).ok_or_else(invalid)?;
    let (count, notes) = state.notes.page(&username, offset, PAGE_SIZE).await?;
    let pages = (count as usize).div_ceil(PAGE_SIZE).max(1);
    if page > pages {
        return Err(invalid());
    }
    let link = |page: usize| format!("{}{}?page={page}", origin(&headers), paths::NOTES);
    Ok(Json(Page {
        count,
        next: (page < pages).then(|| link(page + 1)),
        previous: (page > 1).then(|| link(page - 1)),
        results: notes.into_iter().map(shown).collect(),
    }))
}

async fn create(
    State(state): State<AppState>,
    LoggedIn { username, .. }: LoggedIn,
    JsonBody(input): JsonBody<NoteInput>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    validate(&input)?;
    let note = state
        .notes
        .create(&username, input.title.trim(), &input.body)
        .await?;
    Ok((StatusCode::CREATED, Json(shown(note))))
}

async fn read(
    State(state): State<AppState>,
    LoggedIn { username, .. }: LoggedIn,
    PathId(id): PathId,
) -> Result<Json<Note>, ApiError> {
    let note = state.notes.get(&username, note_id(&id)?).await?;
    note.map(|note| Json(shown(note)))
        .ok_or_else(ApiError::not_found)
}

async fn update(
    State(state): State<AppState>,
    LoggedIn { username, .. }: LoggedIn,
    PathId(id): PathId,
    JsonBody(input): JsonBody<NoteInput>,
) -> Result<Json<Note>, ApiError> {
    let id = note_id(&id)?;
    validate(&input)?;
    let note = state
        .notes
        .update(&username, id, input.title.trim(), &input.body)
        .await?;
    note.map(|note| Json(shown(note)))
        .ok_or_else(ApiError::not_found)
}

/// Every note of the user as one Markdown file, to download. With `--transport
/// header-or-cookie` a plain link fetches it, as the browser sends the cookie by itself; with the
/// default transport the SPA fetches it with the header and saves what it got.
async fn export(
    State(state): State<AppState>,
    LoggedIn { username, .. }: LoggedIn,
) -> Result<impl IntoResponse, ApiError> {
    let mut markdown = format!("# Notes of {username}\n");
    for note in every_note(&state, &username).await? {
        markdown.push_str(&format!(
            "\n## {}\n\n_Written {}_\n\n{}\n",
            note.title,
            rfc3339(note.created),
            note.body
        ));
    }
    Ok((
        [
            (CONTENT_TYPE, "text/markdown; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"notes.md\""),
        ],
        markdown,
    ))
}

/// Every note of the user as a page the server renders, to read or print: what a link the
/// browser follows by itself shows, which only the cookie transport can carry the session to.
async fn printable(
    State(state): State<AppState>,
    LoggedIn { username, .. }: LoggedIn,
) -> Result<impl IntoResponse, ApiError> {
    let notes = every_note(&state, &username).await?;
    let name = escape_html(&username);
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n\
         <title>Notes of {name}</title>\n<h1>Notes of {name}</h1>\n"
    );
    if notes.is_empty() {
        html.push_str("<p>No notes yet.</p>\n");
    }
    for note in notes {
        let written = rfc3339(note.created);
        // Lines as the user wrote them, wrapped to the page (the policy allows no inline style).
        let lines: Vec<String> = note.body.lines().map(escape_html).collect();
        html.push_str(&format!(
            "<article>\n<h2>{}</h2>\n<p><time datetime=\"{written}\">Written {written}</time></p>\n\
             <p>{}</p>\n</article>\n",
            escape_html(&note.title),
            lines.join("<br>\n"),
        ));
    }
    Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], html))
}

/// Every note of `username`, newest first, read a batch at a time.
async fn every_note(state: &AppState, username: &str) -> Result<Vec<StoredNote>, ApiError> {
    let mut every = Vec::new();
    loop {
        let (count, notes) = state
            .notes
            .page(username, every.len(), EXPORT_BATCH)
            .await?;
        let done = notes.is_empty();
        every.extend(notes);
        if done || every.len() as u64 >= count {
            return Ok(every);
        }
    }
}

/// `text` as HTML text or an attribute value: what a user wrote is never markup.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Notes read at a time for an export.
const EXPORT_BATCH: usize = 100;

/// A deletion cannot be undone: it needs a recent proof of the password.
async fn remove(
    State(state): State<AppState>,
    LoggedIn { username, session }: LoggedIn,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let id = note_id(&id)?;
    session.require_recent_auth(state.reauth_after).await?;
    if state.notes.delete(&username, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

fn validate(input: &NoteInput) -> Result<(), ApiError> {
    let errors = note_errors(input);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// Ids that are not numbers name no note.
fn note_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::not_found())
}

/// `scheme://host` of the request, for the absolute links DRF-style pages carry.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|proto| proto.to_str().ok())
        .filter(|proto| *proto == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn shown(note: StoredNote) -> Note {
    Note {
        id: note.id,
        title: note.title,
        body: note.body,
        created: rfc3339(note.created),
        updated: rfc3339(note.updated),
    }
}
