//! Answers as the server sees them: the changes a page sends, their checks, and what the stored
//! rows add up to (the form's state, the ratings file, progress). Pure: requests and rows in,
//! checked changes and bytes out; `db` stores the rows.
//!
//! The page sends one change per field it changed: a rubric score, the comment, the identity
//! choice or the guess text. Every change is a row of its own, so the stored log is the whole
//! history; the current answer to a field is its latest row.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::blind::packet::csv_columns;
use crate::study::Rubric;

/// Changes in one request; the page sends at most 200.
pub const MAX_CHANGES: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 20_000;
/// As the form's guess box (`maxlength="200"`).
pub const MAX_GUESS_CHARS: usize = 200;
/// Activity gaps longer than this count as a break, not as time spent rating.
pub const IDLE_CAP_MS: i64 = 5 * 60 * 1000;

/// The form's saved-state format (see form.js `snapshot`).
const FORM_FORMAT: &str = "blindfold-form";

/// One field of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A rubric dimension, by index in rubric order.
    Score(usize),
    Comment,
    /// `""`, `"no"` or `"guess"`.
    Identity,
    Guess,
}

impl Field {
    /// `score:DIMENSION`, `comment`, `identity` or `guess`.
    pub fn parse(rubric: &Rubric, text: &str) -> Option<Field> {
        match text {
            "comment" => Some(Field::Comment),
            "identity" => Some(Field::Identity),
            "guess" => Some(Field::Guess),
            _ => {
                let id = text.strip_prefix("score:")?;
                rubric
                    .dimensions
                    .iter()
                    .position(|d| d.id == id)
                    .map(Field::Score)
            }
        }
    }
}

/// What the page posts after changes: `{session, changes: [{seq, item_id, field, value}],
/// current}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveRequest {
    pub session: i64,
    #[serde(default)]
    pub changes: Vec<ChangeIn>,
    /// The item the rater is on, so another browser opens there.
    #[serde(default)]
    pub current: Option<String>,
}

/// A change as sent; `seq` numbers a session's changes from 1, so a retried request is
/// recognised and stored once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeIn {
    pub seq: i64,
    pub item_id: String,
    pub field: String,
    pub value: String,
}

/// Why a request's changes were refused (all of them: the page sends well-formed changes, so
/// a bad one is a bug or an attack, not something to store in part).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("too many changes in one request ({0}; at most {MAX_CHANGES})")]
    TooMany(usize),
    #[error("item '{0}' is not in this rater's packet")]
    NotYourItem(String),
    #[error("unknown field '{0}'")]
    UnknownField(String),
    #[error("'{value}' is not a level of {dimension}")]
    NotALevel { dimension: String, value: String },
    #[error("the {field} is too long ({chars} characters; at most {max})")]
    TooLong {
        field: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("'{0}' is not an identity answer (expected \"\", \"no\" or \"guess\")")]
    Identity(String),
    #[error("change numbers must be positive, got {0}")]
    Seq(i64),
}

/// The rater's items, as the checks need them.
pub struct Packet<'a> {
    pub rubric: &'a Rubric,
    pub items: HashSet<&'a str>,
}

/// Checks every change of a request against the rater's packet and the rubric.
pub fn check(packet: &Packet<'_>, request: &SaveRequest) -> Result<(), Invalid> {
    if request.changes.len() > MAX_CHANGES {
        return Err(Invalid::TooMany(request.changes.len()));
    }
    if let Some(current) = &request.current
        && !packet.items.contains(current.as_str())
    {
        return Err(Invalid::NotYourItem(current.clone()));
    }
    for change in &request.changes {
        if change.seq < 1 {
            return Err(Invalid::Seq(change.seq));
        }
        if !packet.items.contains(change.item_id.as_str()) {
            return Err(Invalid::NotYourItem(change.item_id.clone()));
        }
        let field = Field::parse(packet.rubric, &change.field)
            .ok_or_else(|| Invalid::UnknownField(change.field.clone()))?;
        let value = &change.value;
        let too_long = |field: &'static str, max: usize| {
            let chars = value.chars().count();
            if chars > max {
                Err(Invalid::TooLong { field, chars, max })
            } else {
                Ok(())
            }
        };
        match field {
            Field::Score(k) => {
                let dim = &packet.rubric.dimensions[k];
                // Exactly as the form writes a level ("2", "-1"): no "+2", "02" or "2.0".
                let level = value
                    .parse::<i64>()
                    .ok()
                    .filter(|v| v.to_string() == *value && dim.has_level(*v));
                if !value.is_empty() && level.is_none() {
                    return Err(Invalid::NotALevel {
                        dimension: dim.id.clone(),
                        value: value.clone(),
                    });
                }
            }
            Field::Comment => too_long("comment", MAX_COMMENT_CHARS)?,
            Field::Guess => too_long("guess", MAX_GUESS_CHARS)?,
            Field::Identity => {
                if !["", "no", "guess"].contains(&value.as_str()) {
                    return Err(Invalid::Identity(value.clone()));
                }
            }
        }
    }
    Ok(())
}

/// A stored answer, in the order it was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRow {
    pub item_id: String,
    pub field: String,
    pub value: String,
}

/// The current answers to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemAnswers {
    /// One per rubric dimension, in rubric order; `""` when not answered.
    pub scores: Vec<String>,
    pub comment: String,
    pub identity: String,
    pub guess: String,
}

impl ItemAnswers {
    fn empty(rubric: &Rubric) -> ItemAnswers {
        ItemAnswers {
            scores: vec![String::new(); rubric.dimensions.len()],
            comment: String::new(),
            identity: String::new(),
            guess: String::new(),
        }
    }

    /// Every required question answered (the form's "rated").
    pub fn is_rated(&self, rubric: &Rubric) -> bool {
        rubric
            .dimensions
            .iter()
            .zip(&self.scores)
            .all(|(d, s)| !d.required || !s.is_empty())
    }

    fn is_touched(&self) -> bool {
        self.scores.iter().any(|s| !s.is_empty())
            || !self.comment.is_empty()
            || !self.identity.is_empty()
    }

    /// The identity column of the import format: `no`, the guess, or empty (as the form
    /// exports it).
    pub fn identity_guess(&self) -> String {
        match self.identity.as_str() {
            "no" => "no".to_string(),
            "guess" => self.guess.trim().to_string(),
            _ => String::new(),
        }
    }
}

/// One rater's current answers: item id -> answers, from rows in the order they were saved
/// (later rows win). Rows for fields the rubric does not have are ignored.
pub fn fold(rubric: &Rubric, rows: &[AnswerRow]) -> BTreeMap<String, ItemAnswers> {
    let mut out: BTreeMap<String, ItemAnswers> = BTreeMap::new();
    for row in rows {
        let Some(field) = Field::parse(rubric, &row.field) else {
            continue;
        };
        let item = out
            .entry(row.item_id.clone())
            .or_insert_with(|| ItemAnswers::empty(rubric));
        let value = row.value.clone();
        match field {
            Field::Score(k) => item.scores[k] = value,
            Field::Comment => item.comment = value,
            Field::Identity => item.identity = value,
            Field::Guess => item.guess = value,
        }
    }
    out
}

/// The form's saved state (form.js `snapshot`), for a page to start from.
pub fn form_state(
    rater: &str,
    packet_id: &str,
    rubric: &Rubric,
    answers: &BTreeMap<String, ItemAnswers>,
    current: Option<&str>,
) -> Value {
    let items: serde_json::Map<String, Value> = answers
        .iter()
        .map(|(id, a)| {
            let ratings: serde_json::Map<String, Value> = rubric
                .dimensions
                .iter()
                .zip(&a.scores)
                .map(|(d, s)| (d.id.clone(), Value::String(s.clone())))
                .collect();
            (
                id.clone(),
                json!({
                    "ratings": ratings,
                    "comment": a.comment,
                    "identity": a.identity,
                    "guess": a.guess,
                }),
            )
        })
        .collect();
    json!({
        "format": FORM_FORMAT,
        "version": 1,
        "packet_id": packet_id,
        "rater": rater,
        "current": current,
        "items": items,
    })
}

/// A rater's ratings file in the import format: every item of the packet, in packet order, as
/// the form's export writes it (unrated items have empty cells).
pub fn ratings_csv(
    rater: &str,
    items: &[String],
    rubric: &Rubric,
    answers: &BTreeMap<String, ItemAnswers>,
) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer
        .write_record(csv_columns(rubric))
        .expect("writing to memory");
    let empty = ItemAnswers::empty(rubric);
    for item_id in items {
        let a = answers.get(item_id).unwrap_or(&empty);
        let mut row = vec![rater.to_string(), item_id.clone()];
        row.extend(a.scores.iter().cloned());
        row.push(a.comment.clone());
        row.push(a.identity_guess());
        writer.write_record(&row).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

/// How far a rater is: items assigned, fully rated, and started but not finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub assigned: usize,
    pub rated: usize,
    pub partly: usize,
}

pub fn progress(
    items: &[String],
    rubric: &Rubric,
    answers: &BTreeMap<String, ItemAnswers>,
) -> Progress {
    let mut p = Progress {
        assigned: items.len(),
        ..Progress::default()
    };
    for a in items.iter().filter_map(|id| answers.get(id)) {
        if a.is_rated(rubric) {
            p.rated += 1;
        } else if a.is_touched() {
            p.partly += 1;
        }
    }
    p
}

/// Time spent rating added by activity at `now_ms` after activity at `last_ms`: the gap, unless
/// it is a break (longer than [`IDLE_CAP_MS`]) or the clock went backwards.
pub fn active_increment_ms(last_ms: i64, now_ms: i64) -> i64 {
    let gap = now_ms - last_ms;
    if (1..=IDLE_CAP_MS).contains(&gap) {
        gap
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    fn rubric() -> Rubric {
        defaults::study().unwrap().rubric
    }

    fn change(seq: i64, item: &str, field: &str, value: &str) -> ChangeIn {
        ChangeIn {
            seq,
            item_id: item.into(),
            field: field.into(),
            value: value.into(),
        }
    }

    fn checked(changes: Vec<ChangeIn>, current: Option<&str>) -> Result<(), Invalid> {
        let rubric = rubric();
        let packet = Packet {
            rubric: &rubric,
            items: HashSet::from(["AAAA-1111", "BBBB-2222"]),
        };
        check(
            &packet,
            &SaveRequest {
                session: 1,
                changes,
                current: current.map(str::to_string),
            },
        )
    }

    #[test]
    fn good_changes_pass_and_each_bad_one_is_named() {
        assert_eq!(
            checked(
                vec![
                    change(1, "AAAA-1111", "score:verification_support", "2"),
                    change(2, "AAAA-1111", "score:verification_support", ""),
                    change(3, "BBBB-2222", "comment", "two\nlines, \"quoted\""),
                    change(4, "BBBB-2222", "identity", "guess"),
                    change(5, "BBBB-2222", "guess", "the blue one"),
                ],
                Some("BBBB-2222")
            ),
            Ok(())
        );
        let cases: Vec<(ChangeIn, Invalid)> = vec![
            (
                change(1, "CCCC-3333", "comment", "x"),
                Invalid::NotYourItem("CCCC-3333".into()),
            ),
            (
                change(1, "AAAA-1111", "mood", "x"),
                Invalid::UnknownField("mood".into()),
            ),
            (
                change(1, "AAAA-1111", "score:nope", "1"),
                Invalid::UnknownField("score:nope".into()),
            ),
            (
                change(1, "AAAA-1111", "score:verification_support", "3"),
                Invalid::NotALevel {
                    dimension: "verification_support".into(),
                    value: "3".into(),
                },
            ),
            (
                change(1, "AAAA-1111", "score:verification_support", "02"),
                Invalid::NotALevel {
                    dimension: "verification_support".into(),
                    value: "02".into(),
                },
            ),
            (
                change(1, "AAAA-1111", "identity", "maybe"),
                Invalid::Identity("maybe".into()),
            ),
            (
                change(1, "AAAA-1111", "guess", &"x".repeat(201)),
                Invalid::TooLong {
                    field: "guess",
                    chars: 201,
                    max: 200,
                },
            ),
            (change(0, "AAAA-1111", "comment", "x"), Invalid::Seq(0)),
        ];
        for (c, expected) in cases {
            assert_eq!(checked(vec![c], None), Err(expected));
        }
        assert_eq!(
            checked(vec![], Some("CCCC-3333")),
            Err(Invalid::NotYourItem("CCCC-3333".into()))
        );
        let many = (1..=501)
            .map(|i| change(i, "AAAA-1111", "comment", "x"))
            .collect();
        assert_eq!(checked(many, None), Err(Invalid::TooMany(501)));
    }

    fn row(item: &str, field: &str, value: &str) -> AnswerRow {
        AnswerRow {
            item_id: item.into(),
            field: field.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_latest_row_of_a_field_wins() {
        let rubric = rubric();
        let rows = vec![
            row("AAAA-1111", "score:verification_support", "1"),
            row("AAAA-1111", "score:helpfulness", "4"),
            row("AAAA-1111", "score:verification_support", "2"),
            row("AAAA-1111", "identity", "guess"),
            row("AAAA-1111", "guess", "  the blue one "),
            row("AAAA-1111", "gone", "x"),
            row("BBBB-2222", "comment", "later"),
        ];
        let answers = fold(&rubric, &rows);
        let a = &answers["AAAA-1111"];
        assert_eq!(a.scores, ["2", "", "", "4"]);
        assert_eq!(a.identity_guess(), "the blue one");
        assert_eq!(answers["BBBB-2222"].comment, "later");
        let state = form_state("r1", "P1", &rubric, &answers, Some("BBBB-2222"));
        assert_eq!(state["format"], "blindfold-form");
        assert_eq!(state["current"], "BBBB-2222");
        assert_eq!(
            state["items"]["AAAA-1111"]["ratings"]["verification_support"],
            "2"
        );
        assert_eq!(state["items"]["AAAA-1111"]["guess"], "  the blue one ");
    }

    #[test]
    fn the_ratings_file_is_the_import_format_in_packet_order() {
        let rubric = rubric();
        let rows = vec![
            row("BBBB-2222", "score:verification_support", "2"),
            row("BBBB-2222", "score:process_steerability", "1"),
            row("BBBB-2222", "score:uncertainty_disclosure", "0"),
            row("BBBB-2222", "score:helpfulness", "5"),
            row("BBBB-2222", "comment", "fine, \"mostly\""),
            row("BBBB-2222", "identity", "no"),
            row("AAAA-1111", "score:helpfulness", "3"),
        ];
        let answers = fold(&rubric, &rows);
        let items = vec!["BBBB-2222".to_string(), "AAAA-1111".to_string()];
        let text = String::from_utf8(ratings_csv("r1", &items, &rubric, &answers)).unwrap();
        assert_eq!(
            text,
            "rater,item_id,verification_support,process_steerability,uncertainty_disclosure,helpfulness,comment,identity_guess\n\
             r1,BBBB-2222,2,1,0,5,\"fine, \"\"mostly\"\"\",no\n\
             r1,AAAA-1111,,,,3,,\n"
        );
        assert_eq!(
            progress(&items, &rubric, &answers),
            Progress {
                assigned: 2,
                rated: 1,
                partly: 1
            }
        );
    }

    #[test]
    fn breaks_do_not_count_as_time_spent() {
        assert_eq!(active_increment_ms(1_000, 61_000), 60_000);
        assert_eq!(active_increment_ms(0, IDLE_CAP_MS), IDLE_CAP_MS);
        assert_eq!(active_increment_ms(0, IDLE_CAP_MS + 1), 0);
        assert_eq!(active_increment_ms(5_000, 4_000), 0, "clock went backwards");
    }
}
