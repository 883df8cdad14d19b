//! A person's name for the browser behind a User-Agent header: "Firefox 120 on Windows".
//!
//! The rules are uap-core's `regexes.yaml` (in `server/uap-core/`), matched by the `ua-parser`
//! crate. Compiling them takes a noticeable while, so it happens once per process, ideally on the
//! thread that [`warm_up`] starts with the server.

use std::sync::OnceLock;

use ua_parser::{os, user_agent, Regexes};

/// Built into the binary, so that the server needs no file beside it.
const RULES: &str = include_str!("../uap-core/regexes.yaml");

/// The most of an agent that is matched. Browsers send about 150 bytes and the session layer keeps
/// 256, but this takes any string, and the cost of a match grows with the length.
const MAX_MATCHED_LEN: usize = 512;

/// The compiled rules, or `None` if they failed to compile: then every name is unknown.
static NAMER: OnceLock<Option<Namer>> = OnceLock::new();

/// Only the browser and the system: the device rules are the largest set and a name needs none.
struct Namer {
    browser: user_agent::Extractor<'static>,
    system: os::Extractor<'static>,
}

#[derive(Debug, thiserror::Error)]
enum RulesError {
    #[error("cannot read uap-core's regexes.yaml: {0}")]
    Read(#[from] serde_yaml_ng::Error),
    #[error("cannot compile uap-core's regexes.yaml: {0}")]
    Compile(#[from] ua_parser::Error),
}

impl Namer {
    fn compile() -> Result<Self, RulesError> {
        let rules: Regexes<'static> = serde_yaml_ng::from_str(RULES)?;
        let browser = user_agent::Builder::new()
            .push_all(rules.user_agent_parsers)?
            .build()
            .map_err(ua_parser::Error::from)?;
        let system = os::Builder::new()
            .push_all(rules.os_parsers)
            .map_err(ua_parser::Error::from)?
            .build()
            .map_err(ua_parser::Error::from)?;
        Ok(Namer { browser, system })
    }
}

fn namer() -> Option<&'static Namer> {
    NAMER
        .get_or_init(|| match Namer::compile() {
            Ok(namer) => Some(namer),
            Err(error) => {
                tracing::error!(%error, "devices are listed by their raw User-Agent");
                None
            }
        })
        .as_ref()
}

/// Starts compiling the rules on a thread of their own, so that the first listing of devices
/// finds them ready. Returns at once, and does nothing once they are compiled.
pub fn warm_up() {
    if NAMER.get().is_some() {
        return;
    }
    let started = std::thread::Builder::new()
        .name("device-names".into())
        .spawn(|| {
            namer();
        });
    if let Err(error) = started {
        tracing::warn!(%error, "the rules for device names will compile on the first listing of devices");
    }
}

/// The browser, its major version and the system, as far as they are known: "Chrome 156 on
/// Linux", "Firefox 120", or `None` when not even the browser is. Blocks while the rules compile,
/// if they have not yet.
pub fn of(user_agent: &str) -> Option<String> {
    let namer = namer()?;
    let agent = head(user_agent, MAX_MATCHED_LEN);
    let browser = namer.browser.extract(agent)?;
    if is_unknown(&browser.family) {
        return None;
    }
    let mut name = browser_name(&browser.family).to_string();
    if let Some(major) = browser.major {
        name.push(' ');
        name.push_str(major);
    }
    if let Some(system) = namer.system.extract(agent) {
        if !is_unknown(&system.os) {
            name.push_str(" on ");
            name.push_str(system_name(&system.os));
        }
    }
    Some(name)
}

/// uap-core answers "Other" for what no rule names.
fn is_unknown(family: &str) -> bool {
    family.is_empty() || family == "Other"
}

/// uap-core's names that read badly beside a system's: the system already says it is a phone.
fn browser_name(family: &str) -> &str {
    match family {
        "HeadlessChrome" => "Headless Chrome",
        "Chrome Mobile" | "Chrome Mobile iOS" => "Chrome",
        "Firefox Mobile" | "Firefox iOS" => "Firefox",
        "Mobile Safari" => "Safari",
        "Edge Mobile" => "Edge",
        other => other,
    }
}

fn system_name(os: &str) -> &str {
    match os {
        "Mac OS X" => "macOS",
        other => other,
    }
}

/// The longest start of `text` of at most `max` bytes that ends between two characters.
fn head(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

    #[test]
    fn the_vendored_rules_compile() {
        Namer::compile().unwrap();
    }

    #[test]
    fn chrome_on_linux() {
        assert_eq!(of(CHROME_ON_LINUX).as_deref(), Some("Chrome 156 on Linux"));
    }

    #[test]
    fn playwright_s_headless_chromium() {
        let agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
            HeadlessChrome/156.0.7000.0 Safari/537.36";
        assert_eq!(of(agent).as_deref(), Some("Headless Chrome 156 on Linux"));
    }

    #[test]
    fn firefox_on_windows() {
        let agent =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_eq!(of(agent).as_deref(), Some("Firefox 120 on Windows"));
    }

    #[test]
    fn edge_on_windows() {
        let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
            Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
        assert_eq!(of(agent).as_deref(), Some("Edge 120 on Windows"));
    }

    #[test]
    fn safari_on_ios_and_macos() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 \
            (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(of(iphone).as_deref(), Some("Safari 17 on iOS"));
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, \
            like Gecko) Version/17.1 Safari/605.1.15";
        assert_eq!(of(mac).as_deref(), Some("Safari 17 on macOS"));
    }

    #[test]
    fn chrome_on_android() {
        let agent = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) \
            Chrome/120.0.0.0 Mobile Safari/537.36";
        assert_eq!(of(agent).as_deref(), Some("Chrome 120 on Android"));
    }

    #[test]
    fn a_program_without_a_system_is_named_alone() {
        assert_eq!(of("curl/8.5.0").as_deref(), Some("curl 8"));
    }

    #[test]
    fn junk_has_no_name() {
        for junk in [
            "",
            " ",
            "Laptop",
            "Mozilla/5.0",
            "\u{0}\u{7f}\u{fffd}",
            "((((((((",
        ] {
            assert_eq!(of(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn only_the_start_of_a_huge_agent_is_matched() {
        let padded = format!("{CHROME_ON_LINUX} {}", "x".repeat(1 << 20));
        assert_eq!(of(&padded).as_deref(), Some("Chrome 156 on Linux"));
        let buried = format!("{} {CHROME_ON_LINUX}", "(".repeat(1 << 20));
        assert_eq!(of(&buried), None);
    }

    #[test]
    fn the_cut_falls_between_characters() {
        let wide = "é".repeat(MAX_MATCHED_LEN);
        assert_eq!(head(&wide, MAX_MATCHED_LEN).len(), MAX_MATCHED_LEN);
        assert_eq!(head("aé", 2), "a");
        assert_eq!(head("short", MAX_MATCHED_LEN), "short");
        assert_eq!(of(&wide), None);
    }
}
