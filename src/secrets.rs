//! API keys never reach a file or a log, even when a server sends them back.
//!
//! Keys are read from the environment variables a study names and travel only in request
//! headers. But a misconfigured gateway or a hostile server can echo a request's headers in its
//! error body (or in a reply), and that text is recorded, logged and, through the packets, shown
//! to raters. So every key is registered here the moment it is read, and scrubbed — replaced by
//! `[redacted]` — from every file `store` writes, from every log line and from every error
//! message the program prints.
//!
//! A value shorter than [`MIN_SECRET_LEN`] characters cannot be told apart from ordinary text
//! (scrubbing "test" would rewrite transcripts), so such values are not scrubbed; no real key is
//! that short.

use std::borrow::Cow;
use std::sync::RwLock;

pub const REDACTED: &str = "[redacted]";

/// Shorter values are not treated as secrets.
pub const MIN_SECRET_LEN: usize = 8;

/// Every form of every registered key that may appear in text: as is, and JSON-escaped.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a key (the value of an `api_key_env` variable) for scrubbing.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for form in [value, escaped] {
        if !form.is_empty() && !secrets.iter().any(|s| s == form) {
            secrets.push(form.to_string());
        }
    }
    // The longest first, so that a key that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered key replaced by `[redacted]`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    Cow::Owned(out)
}

/// Bytes about to be written: scrubbed when they are text (everything blindfold writes is).
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(bytes) {
        Ok(text) => match scrub(text) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        },
        Err(_) => Cow::Borrowed(bytes),
    }
}

/// A log writer that scrubs each event before it reaches stderr (tracing writes an event with
/// one `write_all`).
#[derive(Debug, Default, Clone, Copy)]
pub struct ScrubbedStderr;

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write_all(&scrub_bytes(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedStderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_keys_are_scrubbed_in_every_form() {
        register("sk-unit-test-0123456789\"quoted\"");
        register("short");
        let echoed = r#"{"error":"bad key sk-unit-test-0123456789\"quoted\""} and sk-unit-test-0123456789"quoted""#;
        let scrubbed = scrub(echoed);
        assert!(!scrubbed.contains("0123456789"), "{scrubbed}");
        assert_eq!(scrubbed.matches(REDACTED).count(), 2, "{scrubbed}");
        assert_eq!(
            scrub("a short text"),
            "a short text",
            "short values are not secrets"
        );
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
    }
}
