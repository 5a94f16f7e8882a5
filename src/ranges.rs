//! The documented range of every numeric setting, declared once.
//!
//! A number that reaches the runner or the analysis unchecked can crash it (`timeout_s = 1e300`
//! cannot become a `Duration`), silently disable a safeguard (`--max-cost NaN` compares false with
//! everything) or run for ever (`user_sim.turns = 4e9`). So every numeric setting of the study
//! files and of the command line has a range here; `study::parse` checks study values against it,
//! the clap parsers in `cli` check flags against it, and both state the range in their message.
//! docs/study-format.md lists the same ranges (a unit test keeps them in step).

use std::fmt;

/// Where a setting lives, for messages and the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `[study]` of study.toml.
    Study,
    /// A `[[model]]` of study.toml.
    Model,
    /// `[blinding]` of study.toml.
    Blinding,
    /// `[analysis]` of study.toml (and its `[analysis.margins]`).
    Analysis,
    /// A scaffold file's `[user_sim]`.
    UserSim,
    /// A `[[dimension.level]]` of the rubric.
    RubricLevel,
    /// A flag of the named command.
    Flag(&'static str),
}

/// What values a setting accepts: whole numbers within bounds, or finite numbers within bounds
/// (each end closed or open).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    Int {
        min: i128,
        max: i128,
    },
    Float {
        min: f64,
        max: f64,
        min_open: bool,
        max_open: bool,
    },
}

/// One numeric setting and its documented range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    pub place: Place,
    /// The key (`timeout_s`) or flag (`--grace`).
    pub key: &'static str,
    pub range: Range,
    /// Unit words appended to the range in messages and docs ("seconds"), or "".
    pub unit: &'static str,
}

const fn int(place: Place, key: &'static str, min: i128, max: i128, unit: &'static str) -> Setting {
    Setting {
        place,
        key,
        range: Range::Int { min, max },
        unit,
    }
}

const fn float(place: Place, key: &'static str, min: f64, max: f64, unit: &'static str) -> Setting {
    Setting {
        place,
        key,
        range: Range::Float {
            min,
            max,
            min_open: false,
            max_open: false,
        },
        unit,
    }
}

const fn open(mut setting: Setting, min_open: bool, max_open: bool) -> Setting {
    if let Range::Float { min, max, .. } = setting.range {
        setting.range = Range::Float {
            min,
            max,
            min_open,
            max_open,
        };
    }
    setting
}

/// TOML integers are signed 64-bit: seeds in study files stop there.
const TOML_INT_MAX: i128 = i64::MAX as i128;

pub const STUDY_SEED: Setting = int(Place::Study, "seed", 0, TOML_INT_MAX, "");
pub const REPEATS: Setting = int(Place::Study, "repeats", 1, 10_000, "");

pub const TEMPERATURE: Setting = float(Place::Model, "temperature", 0.0, 5.0, "");
pub const MAX_TOKENS: Setting = int(Place::Model, "max_tokens", 1, 1_000_000, "tokens");
pub const MODEL_SEED: Setting = int(Place::Model, "seed", 0, TOML_INT_MAX, "");
pub const MAX_CONCURRENCY: Setting = int(Place::Model, "max_concurrency", 1, 10_000, "requests");
pub const RPM: Setting = int(Place::Model, "rpm", 1, 100_000_000, "requests per minute");
pub const TPM: Setting = int(Place::Model, "tpm", 1, 4_000_000_000, "tokens per minute");
pub const TIMEOUT_S: Setting = float(Place::Model, "timeout_s", 0.001, 86_400.0, "seconds");
pub const MAX_ATTEMPTS: Setting = int(Place::Model, "max_attempts", 1, 100, "");
pub const BACKOFF_MS: Setting = int(Place::Model, "backoff_ms", 0, 600_000, "ms");
pub const BACKOFF_MAX_MS: Setting = int(Place::Model, "backoff_max_ms", 0, 3_600_000, "ms");
pub const PRICE_INPUT: Setting = float(
    Place::Model,
    "price_input_per_mtok",
    0.0,
    10_000.0,
    "USD per million tokens",
);
pub const PRICE_OUTPUT: Setting = float(
    Place::Model,
    "price_output_per_mtok",
    0.0,
    10_000.0,
    "USD per million tokens",
);
pub const BATCH_POLL_S: Setting = float(Place::Model, "batch_poll_s", 0.001, 86_400.0, "seconds");
pub const BATCH_POLL_MAX_S: Setting =
    float(Place::Model, "batch_poll_max_s", 0.001, 86_400.0, "seconds");
pub const BATCH_MAX_REQUESTS: Setting =
    int(Place::Model, "batch_max_requests", 1, 100_000, "requests");
pub const BATCH_MAX_BYTES: Setting = int(Place::Model, "batch_max_bytes", 1, 256_000_000, "bytes");
pub const PRICE_BATCH_INPUT: Setting = float(
    Place::Model,
    "price_batch_input_per_mtok",
    0.0,
    10_000.0,
    "USD per million tokens",
);
pub const PRICE_BATCH_OUTPUT: Setting = float(
    Place::Model,
    "price_batch_output_per_mtok",
    0.0,
    10_000.0,
    "USD per million tokens",
);
pub const BATCH_DISCOUNT: Setting = float(Place::Model, "batch_discount", 0.0, 1.0, "");

pub const USER_SIM_TURNS: Setting = int(Place::UserSim, "turns", 1, 100, "");

pub const LEVEL_VALUE: Setting = int(Place::RubricLevel, "value", -1_000_000, 1_000_000, "");

pub const PER_ITEM: Setting = int(Place::Blinding, "per_item", 1, 1_000, "raters");
pub const IDENTIFIABILITY_MARGIN: Setting = open(
    float(Place::Blinding, "identifiability_margin", 0.0, 1.0, ""),
    false,
    true,
);
pub const AUDIT_PERMUTATIONS: Setting = int(Place::Blinding, "audit_permutations", 19, 100_000, "");
pub const ANCHORS: Setting = int(Place::Blinding, "anchors", 0, 1_000_000, "items");
pub const ANCHOR_SHARE: Setting = float(Place::Blinding, "anchor_share", 0.0, 10.0, "");
pub const ADJUDICATION_THRESHOLD: Setting = int(
    Place::Blinding,
    "adjudication_threshold",
    1,
    1_000_000,
    "levels",
);
pub const MAX_ITEMS_PER_PACKET: Setting = int(
    Place::Blinding,
    "max_items_per_packet",
    1,
    10_000_000,
    "items",
);

pub const CONFIDENCE: Setting = open(
    float(Place::Analysis, "confidence", 0.5, 1.0, ""),
    true,
    true,
);
pub const RESAMPLES: Setting = int(Place::Analysis, "resamples", 100, 1_000_000, "");
pub const PERMUTATIONS: Setting = int(Place::Analysis, "permutations", 100, 1_000_000, "");
pub const MIN_PROMPTS: Setting = int(Place::Analysis, "min_prompts", 2, 1_000_000, "");
pub const ANALYSIS_SEED: Setting = int(Place::Analysis, "seed", 0, TOML_INT_MAX, "");
pub const CEILING_SHARE: Setting = open(
    float(Place::Analysis, "ceiling_share", 0.0, 1.0, ""),
    true,
    false,
);
pub const MARGIN: Setting = open(
    float(Place::Analysis, "margins", 0.0, 1_000_000.0, ""),
    true,
    false,
);

pub const RUN_CONCURRENCY: Setting = int(Place::Flag("run"), "--concurrency", 1, 10_000, "");
pub const MAX_COST: Setting = float(Place::Flag("run"), "--max-cost", 0.0, 1e9, "USD");
pub const GRACE: Setting = float(Place::Flag("run"), "--grace", 0.0, 86_400.0, "seconds");
pub const JUDGE_CONCURRENCY: Setting = int(Place::Flag("judge"), "--concurrency", 1, 10_000, "");
pub const BLIND_PER_ITEM: Setting = int(Place::Flag("blind"), "--per-item", 1, 1_000, "");
pub const BLIND_ANCHORS: Setting = int(Place::Flag("blind"), "--anchors", 0, 1_000_000, "");
pub const BLIND_ANCHOR_SHARE: Setting =
    float(Place::Flag("blind"), "--anchor-share", 0.0, 10.0, "");
pub const BLIND_THRESHOLD: Setting = int(Place::Flag("blind"), "--threshold", 1, 1_000_000, "");
pub const BLIND_MAX_ITEMS_PER_PACKET: Setting = int(
    Place::Flag("blind"),
    "--max-items-per-packet",
    1,
    10_000_000,
    "items",
);
pub const RATE_DRIFT: Setting = float(Place::Flag("rate"), "--drift", -2.0, 2.0, "");
pub const SEED_FLAG: Setting = int(
    Place::Flag("blind, rate, agree, sim serve"),
    "--seed",
    0,
    u64::MAX as i128,
    "",
);
pub const LATENCY_MS: Setting = int(Place::Flag("sim serve"), "--latency-ms", 0, 600_000, "ms");
pub const FAIL_RATE: Setting = float(Place::Flag("sim serve"), "--fail-rate", 0.0, 1.0, "");
pub const AGREE_RESAMPLES: Setting = int(Place::Flag("agree"), "--resamples", 0, 1_000_000, "");
pub const EXPLORER_PART_SIZE: Setting = int(
    Place::Flag("report"),
    "--explorer-part-size",
    1,
    10_000_000,
    "transcripts",
);

/// Every numeric setting of the study files.
pub const STUDY_SETTINGS: &[Setting] = &[
    STUDY_SEED,
    REPEATS,
    TEMPERATURE,
    MAX_TOKENS,
    MODEL_SEED,
    MAX_CONCURRENCY,
    RPM,
    TPM,
    TIMEOUT_S,
    MAX_ATTEMPTS,
    BACKOFF_MS,
    BACKOFF_MAX_MS,
    PRICE_INPUT,
    PRICE_OUTPUT,
    BATCH_POLL_S,
    BATCH_POLL_MAX_S,
    BATCH_MAX_REQUESTS,
    BATCH_MAX_BYTES,
    PRICE_BATCH_INPUT,
    PRICE_BATCH_OUTPUT,
    BATCH_DISCOUNT,
    USER_SIM_TURNS,
    LEVEL_VALUE,
    PER_ITEM,
    IDENTIFIABILITY_MARGIN,
    AUDIT_PERMUTATIONS,
    ANCHORS,
    ANCHOR_SHARE,
    ADJUDICATION_THRESHOLD,
    MAX_ITEMS_PER_PACKET,
    CONFIDENCE,
    RESAMPLES,
    PERMUTATIONS,
    MIN_PROMPTS,
    ANALYSIS_SEED,
    CEILING_SHARE,
    MARGIN,
];

/// Every numeric flag of the command line.
pub const FLAG_SETTINGS: &[Setting] = &[
    RUN_CONCURRENCY,
    MAX_COST,
    GRACE,
    JUDGE_CONCURRENCY,
    BLIND_PER_ITEM,
    BLIND_ANCHORS,
    BLIND_ANCHOR_SHARE,
    BLIND_THRESHOLD,
    BLIND_MAX_ITEMS_PER_PACKET,
    RATE_DRIFT,
    SEED_FLAG,
    LATENCY_MS,
    FAIL_RATE,
    AGREE_RESAMPLES,
    EXPLORER_PART_SIZE,
];

/// A number for a message: exponent notation where plain digits would run to hundreds of
/// characters (`1e300`).
pub fn show(value: f64) -> String {
    if value.is_finite() && value != 0.0 && !(1e-6..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

impl fmt::Display for Range {
    /// "integer from 1 to 100", "number from 0 to 5", "number greater than 0, at most 1".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Range::Int { min, max } => write!(f, "integer from {min} to {max}"),
            Range::Float {
                min,
                max,
                min_open,
                max_open,
            } => {
                let (min, max) = (show(min), show(max));
                match (min_open, max_open) {
                    (false, false) => write!(f, "number from {min} to {max}"),
                    (true, true) => write!(f, "number greater than {min} and less than {max}"),
                    (true, false) => write!(f, "number greater than {min}, at most {max}"),
                    (false, true) => write!(f, "number from {min}, less than {max}"),
                }
            }
        }
    }
}

impl Setting {
    /// The range as documented: "integer from 0 to 600000 ms".
    pub fn describe(&self) -> String {
        if self.unit.is_empty() {
            self.range.to_string()
        } else {
            format!("{} {}", self.range, self.unit)
        }
    }

    /// The upper bound of a whole-number setting.
    pub fn max_int(&self) -> i128 {
        match self.range {
            Range::Int { max, .. } => max,
            Range::Float { max, .. } => max as i128,
        }
    }

    /// The bounds of a number setting.
    pub fn float_bounds(&self) -> (f64, f64) {
        match self.range {
            Range::Int { min, max } => (min as f64, max as f64),
            Range::Float { min, max, .. } => (min, max),
        }
    }

    /// Checks a whole number; the message says what is wrong and states the range.
    pub fn check_int(&self, value: i128) -> Result<i128, String> {
        match self.range {
            Range::Int { min, .. } if value < min => Err(format!(
                "must be at least {min} (an {}), got {value}",
                self.describe()
            )),
            Range::Int { max, .. } if value > max => Err(format!(
                "must be at most {max} (an {}), got {value}",
                self.describe()
            )),
            Range::Int { .. } => Ok(value),
            Range::Float { .. } => self.check_float(value as f64).map(|v| v as i128),
        }
    }

    /// Checks a number: NaN and infinities are refused with the range.
    pub fn check_float(&self, value: f64) -> Result<f64, String> {
        let Range::Float {
            min,
            max,
            min_open,
            max_open,
        } = self.range
        else {
            return Err(format!("must be an {}", self.describe()));
        };
        let shown = show(value);
        if !value.is_finite() {
            return Err(format!("must be a finite {}, got {shown}", self.describe()));
        }
        let too_low = if min_open { value <= min } else { value < min };
        let too_high = if max_open { value >= max } else { value > max };
        if too_low || too_high {
            return Err(format!("must be a {}, got {shown}", self.describe()));
        }
        Ok(value)
    }

    /// Parses a flag's text as a whole number in range.
    pub fn parse_int<T: TryFrom<i128>>(&self, text: &str) -> Result<T, String> {
        let text = text.trim();
        let value: i128 = text.parse().map_err(|_| {
            format!(
                "must be an {}, got '{}'",
                self.describe(),
                excerpt(text, 40)
            )
        })?;
        let value = self.check_int(value)?;
        T::try_from(value).map_err(|_| format!("must be an {}", self.describe()))
    }

    /// Parses a flag's text as a finite number in range.
    pub fn parse_float(&self, text: &str) -> Result<f64, String> {
        let text = text.trim();
        let value: f64 = text
            .parse()
            .map_err(|_| format!("must be a {}, got '{}'", self.describe(), excerpt(text, 40)))?;
        self.check_float(value)
    }

    /// A clap value parser for a whole-number flag.
    pub fn int_parser<T>(self) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
    where
        T: TryFrom<i128> + Clone + Send + Sync + 'static,
    {
        move |text: &str| self.parse_int(text)
    }

    /// A clap value parser for a number flag.
    pub fn float_parser(
        self,
    ) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
        move |text: &str| self.parse_float(text)
    }
}

/// At most `limit` characters of a user's value for a message, marked when cut: a 5,000-character
/// id is not echoed whole.
pub fn excerpt(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
    }
}

#[cfg(test)]
mod extremes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_state_the_range() {
        assert_eq!(
            REPEATS.check_int(0).unwrap_err(),
            "must be at least 1 (an integer from 1 to 10000), got 0"
        );
        assert_eq!(
            RPM.check_int(9_200_000_000_000_000_000).unwrap_err(),
            "must be at most 100000000 (an integer from 1 to 100000000 requests per minute), got 9200000000000000000"
        );
        assert_eq!(
            TIMEOUT_S.check_float(1e300).unwrap_err(),
            "must be a number from 0.001 to 86400 seconds, got 1e300"
        );
        assert_eq!(
            MAX_COST.parse_float("NaN").unwrap_err(),
            "must be a finite number from 0 to 1000000000 USD, got NaN"
        );
        assert_eq!(
            CONFIDENCE.check_float(1.0).unwrap_err(),
            "must be a number greater than 0.5 and less than 1, got 1"
        );
        assert_eq!(
            RUN_CONCURRENCY.parse_int::<u32>("1e300").unwrap_err(),
            "must be an integer from 1 to 10000, got '1e300'"
        );
        assert_eq!(GRACE.parse_float(" 2.5 "), Ok(2.5));
        assert_eq!(
            SEED_FLAG.parse_int::<u64>("18446744073709551615"),
            Ok(u64::MAX)
        );
        assert!(SEED_FLAG.parse_int::<u64>("-1").is_err());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(5000);
        let shown = excerpt(&long, 40);
        assert!(shown.len() < 80, "{shown}");
        assert!(shown.ends_with("(5000 characters)"));
        assert_eq!(excerpt("short", 40), "short");
    }

    /// docs/study-format.md states each study setting's range in its table row.
    #[test]
    fn the_documentation_states_every_range() {
        let docs = include_str!("../docs/study-format.md");
        for setting in STUDY_SETTINGS {
            // Rows whose first cell names the key (`seed`, `user_sim.turns`, `[analysis.margins]`).
            let rows: Vec<&str> = docs
                .lines()
                .filter(|l| {
                    l.split('|')
                        .nth(1)
                        .is_some_and(|cell| cell.contains(setting.key))
                })
                .collect();
            assert!(
                rows.iter().any(|row| row.contains(&setting.describe())),
                "docs/study-format.md has no row for `{}` stating \"{}\"",
                setting.key,
                setting.describe()
            );
        }
    }
}
