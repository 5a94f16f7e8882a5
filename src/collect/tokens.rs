//! Access tokens of a hosted round: their text, their hash and the tokens file. Pure: the random
//! bytes come in from the caller (the operating system's generator, at the edge).
//!
//! A token is the whole credential: whoever holds a rater's link rates as that rater. So tokens
//! are long random strings, shown once, kept in plain text only in the tokens file (outside
//! `packets/`, owner-only), and stored in the database as SHA-256 hashes, so a copy of the
//! database opens no link. Their `Debug` form hides them, so they cannot reach a log by accident.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hash::sha256_hex;

/// Random bytes in a token: 128 bits, beyond guessing at any request rate.
pub const TOKEN_BYTES: usize = 16;

/// Who a token lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One rater's form, `/r/TOKEN`.
    Rater,
    /// The researcher's progress page, `/d/TOKEN`.
    Dashboard,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rater => "rater",
            Kind::Dashboard => "dashboard",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "rater" => Some(Kind::Rater),
            "dashboard" => Some(Kind::Dashboard),
            _ => None,
        }
    }

    /// The token's prefix: a rater's token never opens the dashboard, and a token seen in the
    /// wild says what it is (secret scanners can match it).
    fn prefix(self) -> &'static str {
        match self {
            Kind::Rater => "bfr_",
            Kind::Dashboard => "bfd_",
        }
    }

    /// The first segment of the link's path.
    pub fn route(self) -> &'static str {
        match self {
            Kind::Rater => "r",
            Kind::Dashboard => "d",
        }
    }
}

/// A token in plain text. `Debug` and `Display` never show it; `expose` does, deliberately.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

impl Token {
    /// The token of `kind` made of `bytes` (drawn from the operating system's generator).
    pub fn new(kind: Kind, bytes: [u8; TOKEN_BYTES]) -> Token {
        Token(format!("{}{}", kind.prefix(), hex::encode(bytes)))
    }

    /// A token as it came in a request, if it has a token's shape for `kind`. Anything else is
    /// rejected without a database look-up.
    pub fn parse(kind: Kind, text: &str) -> Option<Token> {
        let rest = text.strip_prefix(kind.prefix())?;
        (rest.len() == 2 * TOKEN_BYTES
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Token(text.to_string()))
    }

    /// The stored form: SHA-256 of the token, in hex.
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The link's path, `/r/TOKEN` or `/d/TOKEN`.
    pub fn path(&self, kind: Kind) -> String {
        format!("/{}/{}", kind.route(), self.0)
    }
}

/// A per-session secret sent back in a header with every write (CSRF protection).
pub fn session_secret(bytes: [u8; TOKEN_BYTES]) -> Token {
    Token(hex::encode(bytes))
}

/// One line of the tokens file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLine {
    pub kind: Kind,
    /// The rater's name; `None` for the dashboard.
    pub rater: Option<String>,
    pub token: Token,
}

impl TokenLine {
    pub fn path(&self) -> String {
        self.token.path(self.kind)
    }

    /// The full link under `base` (e.g. `https://rate.example.org`), or the path alone.
    pub fn link(&self, base: Option<&str>) -> String {
        match base {
            Some(base) => format!("{}{}", base.trim_end_matches('/'), self.path()),
            None => self.path(),
        }
    }
}

pub const TOKENS_FILE_HEADER: &str = "\
# blindfold collect: the links of this round. Keep this file secret: anyone holding a link
# can rate as that rater (or see the dashboard). The database stores only their SHA-256.
# kind<TAB>rater<TAB>token<TAB>path (append the path to the server's address)
";

/// The tokens file: a header, then one tab-separated line per active token, raters in the
/// order given, the dashboard last.
pub fn render_tokens_file(lines: &[TokenLine]) -> String {
    let mut out = String::from(TOKENS_FILE_HEADER);
    for line in lines {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            line.kind.as_str(),
            line.rater.as_deref().unwrap_or("-"),
            line.token.expose(),
            line.path()
        ));
    }
    out
}

/// Reads a tokens file back; `Err` names the first line that is not one of ours.
pub fn parse_tokens_file(text: &str) -> Result<Vec<TokenLine>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let parsed = (fields.len() == 4)
            .then(|| Kind::parse(fields[0]))
            .flatten()
            .and_then(|kind| {
                let token = Token::parse(kind, fields[2])?;
                let rater = match kind {
                    Kind::Rater => Some(fields[1].to_string()),
                    Kind::Dashboard => None,
                };
                Some(TokenLine { kind, rater, token })
            });
        match parsed {
            Some(line) => out.push(line),
            None => return Err(format!("line {}: not a token line", n + 1)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_their_kind_and_a_fixed_shape() {
        let rater = Token::new(Kind::Rater, [0xab; TOKEN_BYTES]);
        assert_eq!(rater.expose(), format!("bfr_{}", "ab".repeat(16)));
        assert_eq!(rater.path(Kind::Rater), format!("/r/{}", rater.expose()));
        assert_eq!(
            Token::parse(Kind::Rater, rater.expose()),
            Some(rater.clone())
        );
        for bad in [
            "",
            "bfr_",
            &format!("bfd_{}", "ab".repeat(16)),
            &format!("bfr_{}", "AB".repeat(16)),
            &format!("bfr_{}0", "ab".repeat(16)),
            &format!("bfr_{}", "zz".repeat(16)),
        ] {
            assert_eq!(Token::parse(Kind::Rater, bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_token_and_the_hash_is_sha256() {
        let token = Token::new(Kind::Dashboard, [1; TOKEN_BYTES]);
        assert_eq!(format!("{token:?}"), "Token(<hidden>)");
        assert_eq!(token.hash(), sha256_hex(token.expose().as_bytes()));
        assert_ne!(
            token.hash(),
            Token::new(Kind::Dashboard, [2; TOKEN_BYTES]).hash()
        );
    }

    #[test]
    fn the_tokens_file_reads_back() {
        let lines = vec![
            TokenLine {
                kind: Kind::Rater,
                rater: Some("r1".into()),
                token: Token::new(Kind::Rater, [7; TOKEN_BYTES]),
            },
            TokenLine {
                kind: Kind::Dashboard,
                rater: None,
                token: Token::new(Kind::Dashboard, [9; TOKEN_BYTES]),
            },
        ];
        let text = render_tokens_file(&lines);
        assert!(text.contains(&format!("rater\tr1\tbfr_{}\t/r/bfr_", "07".repeat(16))));
        assert_eq!(parse_tokens_file(&text).unwrap(), lines);
        assert_eq!(
            lines[0].link(Some("https://rate.example.org/")),
            format!("https://rate.example.org/r/bfr_{}", "07".repeat(16))
        );
        assert_eq!(
            parse_tokens_file("rater\tr1\tnot-a-token\t/r/x\n"),
            Err("line 1: not a token line".into())
        );
    }
}
