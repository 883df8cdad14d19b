//! How the UI shows a session token: never whole.

/// A token cut short for display: enough to tell two apart, too little to use.
pub fn shorten(token: &str) -> String {
    let head: String = token.chars().take(6).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn shortening_keeps_six_characters() {
        assert_eq!(shorten("abcdefghijklmnop"), "abcdef…");
    }
}
