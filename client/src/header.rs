//! The `X-Session` header, and what a response's value of it does to the token the client holds
//! (`docs/protocol.md`).

/// The header the token travels in, on requests and responses alike.
pub const X_SESSION: &str = "X-Session";

/// The response header that says when the session dies unless it is used again, in RFC 3339
/// UTC (`2026-12-03T10:00:00Z`).
pub const X_SESSION_EXPIRES: &str = "X-Session-Expires";

/// Whether an answer is the server's refusal of a token that a rotation retired moments ago
/// (`docs/protocol.md`): a `409` without `X-Session` to a request that carried a token. Every
/// other answer to a request with a token carries `X-Session`. The request did not run, so it
/// may be sent again with the token that replaced the one it carried.
///
/// ```
/// use cookieless_client::is_rotation_refusal;
///
/// assert!(is_rotation_refusal(409, true, None));
/// assert!(!is_rotation_refusal(409, true, Some("abc")), "the application's own conflict");
/// assert!(!is_rotation_refusal(409, false, None));
/// ```
pub fn is_rotation_refusal(status: u16, sent_token: bool, header: Option<&str>) -> bool {
    status == 409 && sent_token && header.is_none()
}

/// When the session dies, on this browser's clock (milliseconds since the Unix epoch, as
/// `Date.now()` counts), from a response's `X-Session-Expires` and `Date` headers and the moment
/// `now` it arrived. The server's clock need not agree with the browser's: the time left, as the
/// server counts it from its `Date`, is what is kept. `None` when the deadline cannot be read.
///
/// ```
/// use cookieless_client::local_deadline;
///
/// // The server's clock is an hour ahead of the browser's; the session has 30 minutes left.
/// let now = 1_764_756_000_000.0; // 2025-12-03T10:00:00Z on the browser's clock
/// let deadline = local_deadline(
///     "2025-12-03T11:30:00Z",
///     Some("Wed, 03 Dec 2025 11:00:00 GMT"),
///     now,
/// );
/// assert_eq!(deadline, Some(now + 30.0 * 60_000.0));
/// ```
pub fn local_deadline(expires: &str, date: Option<&str>, now: f64) -> Option<f64> {
    let expires = rfc3339_millis(expires)?;
    Some(match date.and_then(http_date_millis) {
        Some(server_now) => now + (expires - server_now),
        None => expires,
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`, the form the server writes.
fn rfc3339_millis(text: &str) -> Option<f64> {
    let text = text.trim().strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (time, millis) = match time.split_once('.') {
        Some((time, fraction)) => (time, fraction_millis(fraction)?),
        None => (time, 0),
    };
    let seconds = clock_seconds(time)?;
    let days = days_from_civil(year, month, day)?;
    Some(((days * 86_400 + seconds) * 1_000 + millis) as f64)
}

/// The milliseconds of a fraction of a second written in digits (`250` of `.25`); read without a
/// float parser, which would weigh more in the browser's module than all of this file.
fn fraction_millis(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|digit| digit.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{digits:0<3}");
    padded[..3].parse().ok()
}

/// An HTTP `Date` (IMF-fixdate: `Wed, 03 Dec 2025 11:00:00 GMT`).
fn http_date_millis(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace().skip(1);
    let day = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = parts.next()?.parse().ok()?;
    let seconds = clock_seconds(parts.next()?)?;
    (parts.next()? == "GMT").then_some(())?;
    Some((days_from_civil(year, month, day)? * 86_400 + seconds) as f64 * 1_000.0)
}

fn clock_seconds(time: &str) -> Option<i64> {
    let mut time = time.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    ((0..24).contains(&hour) && (0..60).contains(&minute) && (0..61).contains(&second))
        .then_some(hour * 3_600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    // Years of four digits, as both forms write them; anything else is junk, not a date.
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The token the client should hold after a response, or `None` when the response changes nothing.
///
/// `sent` is the token the request carried, `held` the one held now, `header` the response's
/// `X-Session` value (`None` when absent). A response to a request sent with another token than
/// the one now held is stale: a login that rotated the token answered first, and acting on the
/// stale response would overwrite or clear the newer token.
pub fn next_token(
    held: Option<&str>,
    sent: Option<&str>,
    header: Option<&str>,
) -> Option<Option<String>> {
    let header = header?;
    if held != sent {
        return None;
    }
    let next = (!header.is_empty()).then(|| header.to_string());
    (next.as_deref() != held).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_replaces_the_held_one() {
        assert_eq!(
            next_token(None, None, Some("abc")),
            Some(Some("abc".into()))
        );
        assert_eq!(
            next_token(Some("abc"), Some("abc"), Some("def")),
            Some(Some("def".into()))
        );
    }

    #[test]
    fn an_empty_header_clears_and_no_header_keeps() {
        assert_eq!(next_token(Some("abc"), Some("abc"), Some("")), Some(None));
        assert_eq!(next_token(Some("abc"), Some("abc"), None), None);
        assert_eq!(next_token(None, None, Some("")), None);
    }

    #[test]
    fn the_same_token_is_no_change() {
        assert_eq!(next_token(Some("abc"), Some("abc"), Some("abc")), None);
    }

    #[test]
    fn deadlines_read_in_either_form() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            rfc3339_millis("2026-12-03T10:00:00Z"),
            Some(1_796_292_000_000.0)
        );
        assert_eq!(
            rfc3339_millis("2026-12-03T10:00:00.250Z"),
            Some(1_796_292_000_250.0)
        );
        assert_eq!(
            http_date_millis("Thu, 03 Dec 2026 10:00:00 GMT"),
            Some(1_796_292_000_000.0)
        );
        assert!(rfc3339_millis("2028-02-29T10:00:00Z").is_some());
        for junk in [
            "",
            "2026-12-03",
            "2026-13-03T10:00:00Z",
            "2026-12-03T25:00:00Z",
            "soon",
            "9223372036854775807-01-01T00:00:00Z",
        ] {
            assert_eq!(rfc3339_millis(junk), None, "{junk}");
        }
        assert_eq!(http_date_millis("Thu, 03 Dec 2026 10:00:00 CET"), None);
    }

    #[test]
    fn without_the_server_s_date_the_deadline_is_taken_as_given() {
        assert_eq!(
            local_deadline("2026-12-03T10:00:00Z", None, 5.0),
            Some(1_796_292_000_000.0)
        );
        assert_eq!(local_deadline("tomorrow", None, 5.0), None);
    }

    #[test]
    fn stale_responses_are_ignored() {
        // Sent with the pre-login token; the login's answer already installed "new".
        assert_eq!(next_token(Some("new"), Some("old"), Some("")), None);
        assert_eq!(next_token(Some("new"), Some("old"), Some("other")), None);
        assert_eq!(next_token(Some("new"), None, Some("anon")), None);
    }
}
