//! Serving the built single-page app, with `index.html` for every client-side route: each file in
//! the brotli or gzip copy the build made beside it when the browser takes one, the files whose
//! names carry their content's hash cached for good, and the page itself checked on every visit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http::header::CACHE_CONTROL;
use http::HeaderValue;
use tower_http::services::{ServeDir, ServeFile};

#[derive(Debug, thiserror::Error)]
#[error("{0} has no index.html: build the SPA first, or leave out --static-dir")]
pub struct MissingIndex(PathBuf);

/// Files under `dir` as they are; any other path gets `index.html` with 200, so that a reload on a
/// client-side route such as `/login` shows the app.
pub fn service(dir: &Path) -> Result<Router, MissingIndex> {
    let index = dir.join("index.html");
    if !index.is_file() {
        return Err(MissingIndex(dir.to_path_buf()));
    }
    // The page is sent as it is: it is small, and edited after builds (see frontend/compress.mjs).
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(index));
    Ok(Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(
            Arc::new(dir.to_path_buf()),
            cache_policy,
        )))
}

/// `immutable` for a file of the build named by its content's hash, which a new build renames;
/// `no-cache` (revalidate every time) for the rest: `index.html` first, which names the current
/// ones, also where it stands in for a file that is not there (an old build's).
async fn cache_policy(State(dir): State<Arc<PathBuf>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let hashed = names_its_hash(path)
        && path
            .strip_prefix('/')
            .filter(|name| !name.contains('/'))
            .is_some_and(|name| dir.join(name).is_file());
    let mut response = next.run(request).await;
    let policy = if hashed && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

/// Whether the file at `path` is named as Trunk names a build's files: `name-<16 hex digits>`,
/// perhaps with a suffix (`_bg`), then the extension.
fn names_its_hash(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _extension)) = file.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_files_are_told_by_the_hash_in_their_names() {
        for hashed in [
            "/frontend-acd8c2ee9ebf4eea.js",
            "/frontend-acd8c2ee9ebf4eea_bg.wasm",
            "/main-22c20eac40ea500b.css",
        ] {
            assert!(names_its_hash(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/notes",
            "/app.js",
            "/x-12345.js",
            "/a-zzzzzzzzzzzzzzzz.js",
        ] {
            assert!(!names_its_hash(plain), "{plain}");
        }
    }
}
