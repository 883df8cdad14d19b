//! How the UI shows the API's times.

/// An API time, RFC 3339 in UTC (`2026-11-26T18:04:52Z`), as a reader wants it:
/// `2026-11-26 18:04 UTC`. Anything shorter is shown as it came.
pub fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::short_time;

    #[test]
    fn an_api_time_is_shown_to_the_minute() {
        assert_eq!(short_time("2026-11-26T18:04:52Z"), "2026-11-26 18:04 UTC");
    }

    #[test]
    fn a_time_too_short_to_read_is_shown_as_it_came() {
        assert_eq!(short_time("2026-11-26"), "2026-11-26");
        assert_eq!(short_time(""), "");
    }
}
