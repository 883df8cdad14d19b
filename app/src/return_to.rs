//! Where a login goes on to: back to the page that asked for it, if that is a page of this app.

/// The login page's address, coming back to `here` (a path of this app) after the login.
pub fn login_then(here: &str) -> String {
    then("/login", here)
}

/// The registration page's address, coming back to `here` once the account is made.
pub fn register_then(here: &str) -> String {
    then("/register", here)
}

fn then(page: &str, here: &str) -> String {
    match return_path(here) {
        Some(here) if !["/", "/login", "/register"].contains(&here) => {
            format!("{page}?next={here}")
        }
        _ => page.to_string(),
    }
}

/// `next` if it is a path of this app, which a login may go on to; anything else (another site,
/// `//host`, a scheme) would make the login page an open redirect.
pub fn return_path(next: &str) -> Option<&str> {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_".contains(c));
    safe.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_comes_back_to_the_page_it_was_asked_from() {
        assert_eq!(login_then("/notes"), "/login?next=/notes");
        assert_eq!(login_then("/"), "/login");
        assert_eq!(login_then("/login"), "/login");
        assert_eq!(register_then("/devices"), "/register?next=/devices");
        assert_eq!(register_then("/register"), "/register");
        assert_eq!(login_then("/register"), "/login");
    }

    #[test]
    fn only_paths_of_this_app_are_returned_to() {
        assert_eq!(return_path("/devices"), Some("/devices"));
        for foreign in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/notes?x=1",
            "",
        ] {
            assert_eq!(return_path(foreign), None, "{foreign}");
        }
    }
}
