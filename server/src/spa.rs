//! Serving the built single-page app, with `index.html` for every client-side route.

use std::path::{Path, PathBuf};

use tower_http::services::{ServeDir, ServeFile};

#[derive(Debug, thiserror::Error)]
#[error("{0} has no index.html: build the SPA first, or leave out --static-dir")]
pub struct MissingIndex(PathBuf);

/// Files under `dir` as they are; any other path gets `index.html` with 200, so that a reload on a
/// client-side route such as `/login` shows the app.
pub fn service(dir: &Path) -> Result<ServeDir<ServeFile>, MissingIndex> {
    let index = dir.join("index.html");
    if !index.is_file() {
        return Err(MissingIndex(dir.to_path_buf()));
    }
    Ok(ServeDir::new(dir).fallback(ServeFile::new(index)))
}
