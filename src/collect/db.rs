//! The ratings database of a hosted round: SQLite (bundled), one row per answer with its time.
//!
//! Durability: WAL journal with `synchronous = FULL`, so a transaction is on disk (the WAL
//! synced) before the server acknowledges it. A `kill -9`, a crash or a power cut loses at most
//! the requests whose transaction had not committed — requests the page has not seen
//! acknowledged, and so still holds and sends again. Writes come from one connection (the
//! server's writer thread, which commits concurrent requests together); reads from others.
//! Schema and formats are in docs/formats.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::answers::{AnswerRow, active_increment_ms};
use super::tokens::Kind;

/// The database's format, in its `meta` table.
pub const FORMAT: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('rater', 'dashboard')),
  rater TEXT,
  token_sha256 TEXT NOT NULL UNIQUE,
  issued_at TEXT NOT NULL,
  revoked_at TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS sessions (
  id INTEGER PRIMARY KEY,
  token_id INTEGER NOT NULL REFERENCES tokens (id),
  rater TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  params TEXT NOT NULL,
  started_at TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  active_ms INTEGER NOT NULL DEFAULT 0,
  current_item TEXT,
  finished_at TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_by_rater ON sessions (rater, last_seen_ms);
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions (id),
  seq INTEGER NOT NULL,
  rater TEXT NOT NULL,
  item_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  saved_at TEXT NOT NULL,
  UNIQUE (session_id, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS answers_by_field ON answers (rater, item_id, field, id);
";

#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct DbError {
    pub path: PathBuf,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, DbError>;

/// A moment, as stored: RFC 3339 UTC with milliseconds (sorts as text) and epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    pub text: String,
    pub ms: i64,
}

impl Moment {
    pub fn now() -> Moment {
        Moment::at(time::OffsetDateTime::now_utc())
    }

    pub fn at(t: time::OffsetDateTime) -> Moment {
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let t = t.to_offset(time::UtcOffset::UTC);
        Moment {
            text: t.format(format).unwrap_or_default(),
            ms: (t.unix_timestamp_nanos() / 1_000_000) as i64,
        }
    }
}

/// Whose a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub kind: Kind,
    /// The rater; `None` for the dashboard.
    pub rater: Option<String>,
}

/// A token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub kind: Kind,
    pub rater: Option<String>,
    pub issued_at: String,
    pub revoked_at: Option<String>,
}

/// A session: one opening of a rater's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: i64,
    pub rater: String,
    pub params: BTreeMap<String, String>,
    pub started_at: String,
    pub last_seen: String,
    pub active_ms: i64,
    pub current_item: Option<String>,
    pub finished_at: Option<String>,
}

/// What a write did with a batch of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// New rows.
    pub stored: usize,
    /// Changes already stored under their number (a retried request).
    pub repeated: usize,
}

pub struct Db {
    conn: Connection,
    path: PathBuf,
}

/// What identifies the round a database belongs to.
pub struct RoundId<'a> {
    pub round: &'a str,
    pub manifest_sha256: &'a str,
}

impl Db {
    /// Opens (with `create`, creating) the database of `round`, refusing one that belongs to
    /// another round or was written by a newer format.
    pub fn open(path: &Path, round: &RoundId<'_>, create: bool) -> Result<Db> {
        let fail = |message: String| DbError {
            path: path.to_path_buf(),
            message,
        };
        if !create && !path.is_file() {
            return Err(fail("no such database".into()));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| fail(e.to_string()))?;
        let db = Db {
            conn,
            path: path.to_path_buf(),
        };
        db.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| db.error(e))?;
        let mode: String = db
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| db.error(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(fail(format!(
                "cannot use write-ahead logging (journal mode is {mode})"
            )));
        }
        db.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| db.error(e))?;
        let has_meta: bool = db
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| db.error(e))?
            > 0;
        if !has_meta {
            if !create {
                return Err(fail("not a blindfold collect database".into()));
            }
            db.create(round)?;
        }
        db.check_round(round)?;
        Ok(db)
    }

    fn error(&self, e: rusqlite::Error) -> DbError {
        DbError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn create(&self, round: &RoundId<'_>) -> Result<()> {
        let now = Moment::now();
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.error(e))?;
        tx.execute_batch(SCHEMA).map_err(|e| self.error(e))?;
        for (key, value) in [
            ("format", FORMAT.to_string()),
            ("round", round.round.to_string()),
            ("manifest_sha256", round.manifest_sha256.to_string()),
            ("created_at", now.text),
        ] {
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(|e| self.error(e))?;
        }
        tx.commit().map_err(|e| self.error(e))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.error(e))
    }

    fn check_round(&self, round: &RoundId<'_>) -> Result<()> {
        let fail = |message: String| {
            Err(DbError {
                path: self.path.clone(),
                message,
            })
        };
        let format: i64 = self
            .meta("format")?
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        if format != FORMAT {
            return fail(format!(
                "database format {format}; this blindfold reads format {FORMAT}"
            ));
        }
        let (name, sha) = (self.meta("round")?, self.meta("manifest_sha256")?);
        if sha.as_deref() != Some(round.manifest_sha256) {
            return fail(format!(
                "this database holds the ratings of round '{}' (packets/manifest.json with \
                 SHA-256 {}), not of round '{}' ({}): the packets differ",
                name.unwrap_or_default(),
                sha.unwrap_or_default(),
                round.round,
                round.manifest_sha256
            ));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    // ---------- transactions (the writer groups requests into one)

    pub fn begin(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.error(e))
    }

    pub fn commit(&self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.error(e))
    }

    pub fn rollback(&self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    // ---------- tokens

    /// Stores a new token for `kind` (and `rater`), revoking the one it replaces.
    pub fn issue_token(
        &self,
        kind: Kind,
        rater: Option<&str>,
        token_sha256: &str,
        now: &Moment,
    ) -> Result<()> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.error(e))?;
        tx.execute(
            "UPDATE tokens SET revoked_at = ?1 \
             WHERE kind = ?2 AND rater IS ?3 AND revoked_at IS NULL",
            params![now.text, kind.as_str(), rater],
        )
        .map_err(|e| self.error(e))?;
        tx.execute(
            "INSERT INTO tokens (kind, rater, token_sha256, issued_at) VALUES (?1, ?2, ?3, ?4)",
            params![kind.as_str(), rater, token_sha256, now.text],
        )
        .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))
    }

    /// Revokes the active token of `kind` (and `rater`); returns how many were active.
    pub fn revoke_token(&self, kind: Kind, rater: Option<&str>, now: &Moment) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE tokens SET revoked_at = ?1 \
                 WHERE kind = ?2 AND rater IS ?3 AND revoked_at IS NULL",
                params![now.text, kind.as_str(), rater],
            )
            .map_err(|e| self.error(e))
    }

    /// Every token ever issued, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, rater, issued_at, revoked_at FROM tokens ORDER BY id")
            .map_err(|e| self.error(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TokenRecord {
                    kind: Kind::parse(&r.get::<_, String>(0)?).unwrap_or(Kind::Rater),
                    rater: r.get(1)?,
                    issued_at: r.get(2)?,
                    revoked_at: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.error(e))?;
        Ok(rows)
    }

    /// The active token with this hash, if any.
    pub fn principal(&self, token_sha256: &str) -> Result<Option<Principal>> {
        self.conn
            .prepare_cached(
                "SELECT id, kind, rater FROM tokens WHERE token_sha256 = ?1 AND revoked_at IS NULL",
            )
            .and_then(|mut stmt| {
                stmt.query_row([token_sha256], |r| {
                    Ok(Principal {
                        token_id: r.get(0)?,
                        kind: Kind::parse(&r.get::<_, String>(1)?).unwrap_or(Kind::Rater),
                        rater: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.error(e))
    }

    // ---------- sessions and answers

    pub fn start_session(
        &self,
        principal: &Principal,
        rater: &str,
        secret_sha256: &str,
        params: &BTreeMap<String, String>,
        now: &Moment,
    ) -> Result<i64> {
        let params = serde_json::to_string(params).expect("serialisable");
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (token_id, rater, secret_sha256, params, started_at, \
                 last_seen, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    principal.token_id,
                    rater,
                    secret_sha256,
                    params,
                    now.text,
                    now.ms
                ])
            })
            .map_err(|e| self.error(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Whether `session` is the rater's and `secret_sha256` its secret.
    pub fn session_matches(&self, session: i64, rater: &str, secret_sha256: &str) -> Result<bool> {
        let stored: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT rater, secret_sha256 FROM sessions WHERE id = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([session], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.error(e))?;
        Ok(stored.is_some_and(|(r, s)| r == rater && s == secret_sha256))
    }

    /// Stores a session's changes (each once: a change number already stored is skipped) and
    /// notes the session's activity. Call inside `begin`/`commit`.
    pub fn store_changes(
        &self,
        session: i64,
        rater: &str,
        changes: &[super::answers::ChangeIn],
        current: Option<&str>,
        now: &Moment,
    ) -> Result<Stored> {
        let mut stored = 0;
        {
            let mut insert = self
                .conn
                .prepare_cached(
                    "INSERT INTO answers (session_id, seq, rater, item_id, field, value, saved_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (session_id, seq) DO NOTHING",
                )
                .map_err(|e| self.error(e))?;
            for c in changes {
                stored += insert
                    .execute(params![
                        session, c.seq, rater, c.item_id, c.field, c.value, now.text
                    ])
                    .map_err(|e| self.error(e))?;
            }
        }
        self.touch(session, current, now)?;
        Ok(Stored {
            stored,
            repeated: changes.len() - stored,
        })
    }

    fn touch(&self, session: i64, current: Option<&str>, now: &Moment) -> Result<()> {
        let last: i64 = self
            .conn
            .prepare_cached("SELECT last_seen_ms FROM sessions WHERE id = ?1")
            .and_then(|mut stmt| stmt.query_row([session], |r| r.get(0)))
            .map_err(|e| self.error(e))?;
        self.conn
            .prepare_cached(
                "UPDATE sessions SET last_seen = ?2, last_seen_ms = max(last_seen_ms, ?3), \
                 active_ms = active_ms + ?4, current_item = coalesce(?5, current_item) \
                 WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    session,
                    now.text,
                    now.ms,
                    active_increment_ms(last, now.ms),
                    current
                ])
            })
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Marks the session finished (the first time counts). Call inside `begin`/`commit`.
    pub fn finish(&self, session: i64, now: &Moment) -> Result<()> {
        self.touch(session, None, now)?;
        self.conn
            .execute(
                "UPDATE sessions SET finished_at = coalesce(finished_at, ?2) WHERE id = ?1",
                params![session, now.text],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The latest row of every field the rater answered, in the order they were saved.
    pub fn answers_of(&self, rater: &str) -> Result<Vec<AnswerRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT item_id, field, value FROM answers WHERE id IN \
                 (SELECT max(id) FROM answers WHERE rater = ?1 GROUP BY item_id, field) \
                 ORDER BY id",
            )
            .map_err(|e| self.error(e))?;
        stmt.query_map([rater], |r| {
            Ok(AnswerRow {
                item_id: r.get(0)?,
                field: r.get(1)?,
                value: r.get(2)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| self.error(e))
    }

    /// Every rater's latest answers: rater -> rows in the order they were saved.
    pub fn all_answers(&self) -> Result<BTreeMap<String, Vec<AnswerRow>>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rater, item_id, field, value FROM answers WHERE id IN \
                 (SELECT max(id) FROM answers GROUP BY rater, item_id, field) ORDER BY id",
            )
            .map_err(|e| self.error(e))?;
        let mut out: BTreeMap<String, Vec<AnswerRow>> = BTreeMap::new();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    AnswerRow {
                        item_id: r.get(1)?,
                        field: r.get(2)?,
                        value: r.get(3)?,
                    },
                ))
            })
            .map_err(|e| self.error(e))?;
        for row in rows {
            let (rater, answer) = row.map_err(|e| self.error(e))?;
            out.entry(rater).or_default().push(answer);
        }
        Ok(out)
    }

    /// Answer rows saved per rater (the whole history).
    pub fn answer_counts(&self) -> Result<BTreeMap<String, u64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rater, count(*) FROM answers GROUP BY rater")
            .map_err(|e| self.error(e))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .and_then(|rows| rows.collect::<rusqlite::Result<BTreeMap<_, _>>>())
            .map_err(|e| self.error(e))
    }

    /// Every session, oldest first (optionally only the rater's).
    pub fn sessions(&self, rater: Option<&str>) -> Result<Vec<SessionRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, rater, params, started_at, last_seen, active_ms, current_item, \
                 finished_at FROM sessions WHERE ?1 IS NULL OR rater = ?1 ORDER BY id",
            )
            .map_err(|e| self.error(e))?;
        stmt.query_map([rater], |r| {
            Ok(SessionRecord {
                id: r.get(0)?,
                rater: r.get(1)?,
                params: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                started_at: r.get(3)?,
                last_seen: r.get(4)?,
                active_ms: r.get(5)?,
                current_item: r.get(6)?,
                finished_at: r.get(7)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| self.error(e))
    }

    /// The item the rater was last on, in whichever session.
    pub fn current_item(&self, rater: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached(
                "SELECT current_item FROM sessions WHERE rater = ?1 AND current_item IS NOT NULL \
                 ORDER BY last_seen_ms DESC, id DESC LIMIT 1",
            )
            .and_then(|mut stmt| stmt.query_row([rater], |r| r.get(0)).optional())
            .map_err(|e| self.error(e))
    }

    /// Every answer row ever saved, in order: for audits and the load benchmark's check.
    pub fn history(&self) -> Result<Vec<SavedChange>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT session_id, seq, rater, item_id, field, value FROM answers ORDER BY id",
            )
            .map_err(|e| self.error(e))?;
        stmt.query_map([], |r| {
            Ok(SavedChange {
                session: r.get(0)?,
                seq: r.get(1)?,
                rater: r.get(2)?,
                item_id: r.get(3)?,
                field: r.get(4)?,
                value: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| self.error(e))
    }
}

/// One saved answer as stored: the change `seq` of page session `session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedChange {
    pub session: i64,
    pub seq: i64,
    pub rater: String,
    pub item_id: String,
    pub field: String,
    pub value: String,
}

/// Whether `bytes` start like an SQLite database (how `unblind` tells a database from a CSV).
pub fn is_sqlite(bytes: &[u8]) -> bool {
    bytes.starts_with(b"SQLite format 3\0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::answers::ChangeIn;

    fn round() -> RoundId<'static> {
        RoundId {
            round: "round-1",
            manifest_sha256: "abc",
        }
    }

    fn change(seq: i64, item: &str, field: &str, value: &str) -> ChangeIn {
        ChangeIn {
            seq,
            item_id: item.into(),
            field: field.into(),
            value: value.into(),
        }
    }

    #[test]
    fn answers_are_stored_once_per_change_number_and_read_back_latest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ratings.sqlite");
        let db = Db::open(&path, &round(), true).unwrap();
        let now = Moment::now();
        db.issue_token(Kind::Rater, Some("r1"), "h1", &now).unwrap();
        let who = db.principal("h1").unwrap().unwrap();
        assert_eq!(who.rater.as_deref(), Some("r1"));
        let session = db
            .start_session(&who, "r1", "s1", &BTreeMap::new(), &now)
            .unwrap();
        assert!(db.session_matches(session, "r1", "s1").unwrap());
        assert!(!db.session_matches(session, "r2", "s1").unwrap());
        assert!(!db.session_matches(session, "r1", "s2").unwrap());
        let batch = [
            change(1, "A", "score:x", "1"),
            change(2, "A", "score:x", "2"),
            change(3, "A", "comment", "hi"),
        ];
        db.begin().unwrap();
        let first = db
            .store_changes(session, "r1", &batch, Some("A"), &now)
            .unwrap();
        db.commit().unwrap();
        assert_eq!(
            first,
            Stored {
                stored: 3,
                repeated: 0
            }
        );
        // The same request again (its answer was lost): nothing twice.
        let again = db
            .store_changes(session, "r1", &batch, Some("A"), &now)
            .unwrap();
        assert_eq!(
            again,
            Stored {
                stored: 0,
                repeated: 3
            }
        );
        assert_eq!(db.history().unwrap().len(), 3);
        let latest = db.answers_of("r1").unwrap();
        assert_eq!(
            latest
                .iter()
                .map(|r| (r.field.as_str(), r.value.as_str()))
                .collect::<Vec<_>>(),
            [("score:x", "2"), ("comment", "hi")]
        );
        assert_eq!(db.current_item("r1").unwrap().as_deref(), Some("A"));
        drop(db);

        // Another round's packets: refused.
        let other = RoundId {
            round: "round-2",
            manifest_sha256: "def",
        };
        let error = Db::open(&path, &other, false).err().unwrap().to_string();
        assert!(
            error.contains("holds the ratings of round 'round-1'"),
            "{error}"
        );
        assert!(is_sqlite(&std::fs::read(&path).unwrap()));
    }

    #[test]
    fn a_new_token_revokes_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db.sqlite"), &round(), true).unwrap();
        let now = Moment::now();
        db.issue_token(Kind::Rater, Some("r1"), "old", &now)
            .unwrap();
        db.issue_token(Kind::Rater, Some("r1"), "new", &now)
            .unwrap();
        db.issue_token(Kind::Dashboard, None, "dash", &now).unwrap();
        assert!(db.principal("old").unwrap().is_none());
        assert!(db.principal("new").unwrap().is_some());
        assert_eq!(db.revoke_token(Kind::Rater, Some("r1"), &now).unwrap(), 1);
        assert!(db.principal("new").unwrap().is_none());
        assert_eq!(
            db.principal("dash").unwrap().map(|p| p.kind),
            Some(Kind::Dashboard)
        );
        assert_eq!(db.tokens().unwrap().len(), 3);
    }
}
