//! Ratings files in, checked against the round: the import format of `unblind` (and of `agree`'s
//! sibling checks). Pure: file names and texts in, ratings and problems (file, line) out.
//!
//! The format is `rater,item_id,<one column per rubric dimension>,comment[,identity_guess]`, in any
//! column order, as the packets' blank sheets and the HTML form's export write it. A row whose
//! dimensions are all empty is an unrated item (it shows in coverage, not as an error).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use crate::blind::round::RoundManifest;
use crate::study::Rubric;

/// Raters whose name starts with this are models used as judges (`blindfold judge`): they may
/// rate every item of a round, and their ratings are compared with the humans', not pooled.
pub const JUDGE_PREFIX: &str = "judge-";

pub fn is_judge(rater: &str) -> bool {
    rater.starts_with(JUDGE_PREFIX)
}

/// The rater holding adjudicated consensus scores: like a judge it may rate any item, and the
/// analysis uses it only as one choice of the specification curve (docs/statistics.md).
pub use crate::analyze::study::CONSENSUS;

/// Judges and the consensus rater are not assigned packets and may rate any item of a round.
pub fn is_unassigned_rater(rater: &str) -> bool {
    is_judge(rater) || rater == CONSENSUS
}

/// What is wrong with a name given to a human rater, if anything: it must be a plain id, and not
/// one of the names that mean a judge or the consensus.
pub fn rater_name_problem(name: &str) -> Option<String> {
    if let Some(problem) = crate::study::id_problem(name) {
        return Some(format!("rater name {problem}"));
    }
    if is_unassigned_rater(name) {
        return Some(format!(
            "rater name '{name}' is reserved: names starting with '{JUDGE_PREFIX}' mean a model \
             judge and '{CONSENSUS}' the adjudicated consensus; give human raters other names"
        ));
    }
    None
}

/// What a round allows: its raters and which items each was given.
pub struct RoundSpec<'a> {
    pub raters: &'a [String],
    /// The judges that may have rated it (`judge-ALIAS` for each model that could have).
    pub judges: HashSet<String>,
    /// item id -> the raters it was assigned to.
    pub assigned: HashMap<&'a str, HashSet<&'a str>>,
    pub rubric: &'a Rubric,
}

impl<'a> RoundSpec<'a> {
    /// The round as its packets' manifest describes it, with the judges that may have rated it.
    pub fn from_manifest(manifest: &'a RoundManifest, judges: HashSet<String>) -> RoundSpec<'a> {
        let mut assigned: HashMap<&str, HashSet<&str>> = HashMap::new();
        for (rater, packet) in &manifest.packets {
            for item in &packet.items {
                assigned
                    .entry(item.as_str())
                    .or_default()
                    .insert(rater.as_str());
            }
        }
        RoundSpec {
            raters: &manifest.raters,
            judges,
            assigned,
            rubric: &manifest.rubric,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub file: String,
    pub line: usize,
    pub rater: String,
    pub item_id: String,
    /// One per rubric dimension, in rubric order; `None` when left empty.
    pub scores: Vec<Option<i64>>,
    pub comment: String,
    /// "" (not answered), "no", or the rater's guess.
    pub identity_guess: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Parses one ratings file. Rows with problems are left out of the ratings and reported.
pub fn parse_ratings(file: &str, text: &str, round: &RoundSpec<'_>) -> (Vec<Rating>, Vec<Problem>) {
    let parsed = parse_file(file, text, round);
    (parsed.ratings, parsed.problems)
}

/// One ratings file, read.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub ratings: Vec<Rating>,
    pub problems: Vec<Problem>,
    /// Every (rater, item id) row the file lists, rated or not: which parts of a split packet
    /// a file holds is told by these (`rate::parts`), whatever the file is called.
    pub rows: Vec<(String, String)>,
}

/// Parses one ratings file, keeping the rows it lists as well as its ratings.
pub fn parse_file(file: &str, text: &str, round: &RoundSpec<'_>) -> ParsedFile {
    let mut ratings = Vec::new();
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let problem = |line: Option<usize>, message: String| Problem {
        file: file.to_string(),
        line,
        message,
    };
    // Spreadsheets like to add a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineIndex::new(text);
    let line_of = |position: Option<&csv::Position>| position.map(|p| lines.line_of(p.byte()));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            problems.push(problem(Some(1), format!("cannot read the header: {e}")));
            return ParsedFile {
                ratings,
                problems,
                rows,
            };
        }
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let dims = &round.rubric.dimensions;
    let mut missing_columns = Vec::new();
    for name in ["rater", "item_id"]
        .into_iter()
        .chain(dims.iter().map(|d| d.id.as_str()))
    {
        if column(name).is_none() {
            missing_columns.push(name.to_string());
        }
    }
    let known: HashSet<&str> = ["rater", "item_id", "comment", "identity_guess"]
        .into_iter()
        .chain(dims.iter().map(|d| d.id.as_str()))
        .collect();
    let unknown: Vec<&String> = header
        .iter()
        .filter(|h| !known.contains(h.as_str()))
        .collect();
    if !unknown.is_empty() {
        problems.push(problem(
            Some(1),
            format!(
                "unknown column{} {} (the rubric's dimensions are: {})",
                if unknown.len() == 1 { "" } else { "s" },
                unknown
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                dims.iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !missing_columns.is_empty() {
        problems.push(problem(
            Some(1),
            format!(
                "missing column{}: {}",
                if missing_columns.len() == 1 { "" } else { "s" },
                missing_columns.join(", ")
            ),
        ));
        return ParsedFile {
            ratings,
            problems,
            rows,
        };
    }
    let (rater_col, item_col) = (
        column("rater").expect("checked"),
        column("item_id").expect("checked"),
    );
    let dim_cols: Vec<usize> = dims
        .iter()
        .map(|d| column(&d.id).expect("checked"))
        .collect();
    let (comment_col, guess_col) = (column("comment"), column("identity_guess"));

    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = line_of(e.position());
                problems.push(problem(line, format!("cannot read this row: {e}")));
                continue;
            }
        };
        let line = line_of(record.position()).unwrap_or(0);
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let rater = field(rater_col);
        let item_id = field(item_col);
        rows.push((rater.clone(), item_id.clone()));
        // A row without any score is an item left unrated: coverage reports it.
        if dim_cols.iter().all(|&c| field(c).is_empty()) {
            continue;
        }
        let mut row_problems = Vec::new();
        let unassigned = rater == CONSENSUS || round.judges.contains(&rater);
        let known_rater = unassigned || round.raters.contains(&rater);
        if rater.is_empty() {
            row_problems.push("the rater is empty".to_string());
        } else if is_judge(&rater) && !known_rater {
            row_problems.push(format!(
                "rater '{}' is a judge, but the study has no model '{}' and no judge rated this \
                 round under that name (judges/{}.jsonl)",
                crate::ranges::excerpt(&rater, 60),
                crate::ranges::excerpt(&rater[JUDGE_PREFIX.len()..], 60),
                crate::ranges::excerpt(&rater, 60)
            ));
        } else if !known_rater {
            row_problems.push(format!(
                "rater '{}' is not a rater of this round ({})",
                crate::ranges::excerpt(&rater, 60),
                round.raters.join(", ")
            ));
        }
        match round.assigned.get(item_id.as_str()) {
            None => row_problems.push(format!(
                "unknown item id '{}'",
                crate::ranges::excerpt(&item_id, 60)
            )),
            Some(raters) if known_rater && !unassigned && !raters.contains(rater.as_str()) => {
                row_problems.push(format!(
                    "item '{item_id}' was not assigned to rater '{rater}'"
                ))
            }
            Some(_) => {}
        }
        let mut scores = Vec::with_capacity(dims.len());
        for (dim, &col) in dims.iter().zip(&dim_cols) {
            let raw = field(col);
            if raw.is_empty() {
                scores.push(None);
                continue;
            }
            match raw.parse::<i64>().ok().or_else(|| {
                // "2.0" from a spreadsheet is 2; "1.5" is not a level.
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.fract() == 0.0)
                    .map(|v| v as i64)
            }) {
                Some(v) if dim.has_level(v) => scores.push(Some(v)),
                _ => {
                    row_problems.push(format!(
                        "'{}' is not a level of {} ({})",
                        crate::ranges::excerpt(&raw, 40),
                        dim.id,
                        dim.levels
                            .iter()
                            .map(|l| l.value.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    scores.push(None);
                }
            }
        }
        let missing: Vec<&str> = dims
            .iter()
            .zip(&scores)
            .filter(|(d, s)| d.required && s.is_none())
            .map(|(d, _)| d.id.as_str())
            .collect();
        if !missing.is_empty() && row_problems.is_empty() {
            row_problems.push(format!(
                "missing required dimension{}: {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ));
        }
        if !row_problems.is_empty() {
            for message in row_problems {
                problems.push(problem(Some(line), message));
            }
            continue;
        }
        ratings.push(Rating {
            file: file.to_string(),
            line,
            rater,
            item_id,
            scores,
            comment: comment_col.map(field).unwrap_or_default(),
            identity_guess: guess_col.map(field).unwrap_or_default(),
        });
    }
    ParsedFile {
        ratings,
        problems,
        rows,
    }
}

/// Line numbers of byte offsets, as a person sees them in an editor: built once per file, so that
/// numbering every record of a large file stays linear. A line ends at `\n`, at `\r\n` (the
/// rating form's export and every spreadsheet write these) or at a lone `\r`; breaks inside
/// quoted fields count, as they are lines of the file.
pub struct LineIndex<'a> {
    text: &'a [u8],
    /// Where each line break starts (for `\r\n`, at the `\r`).
    breaks: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let breaks = line_breaks(bytes);
        LineIndex {
            text: bytes,
            breaks,
        }
    }

    /// The 1-based line where the record at `offset` starts. The csv reader puts a record's start
    /// just after the previous record's terminator, which may be inside a `\r\n` pair or before
    /// blank lines it skipped: the record starts at the first byte that is not a line break.
    pub fn line_of(&self, offset: u64) -> usize {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while offset < self.text.len() && matches!(self.text[offset], b'\r' | b'\n') {
            offset += 1;
        }
        1 + self.breaks.partition_point(|&b| b < offset)
    }
}

fn line_breaks(bytes: &[u8]) -> Vec<usize> {
    let mut breaks = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' if i > 0 && bytes[i - 1] == b'\r' => {}
            b'\n' | b'\r' => breaks.push(i),
            _ => {}
        }
    }
    breaks
}

/// The same rater rating the same item twice, within or across files.
pub fn duplicates(ratings: &[Rating]) -> Vec<Problem> {
    duplicates_except(ratings, |_, _| false)
}

/// [`duplicates`], leaving out the (rater, item) pairs `explained` says a clearer problem
/// already covers (a part of a packet given twice).
pub fn duplicates_except(
    ratings: &[Rating],
    explained: impl Fn(&str, &str) -> bool,
) -> Vec<Problem> {
    let mut first: BTreeMap<(&str, &str), &Rating> = BTreeMap::new();
    let mut problems = Vec::new();
    for r in ratings {
        match first.get(&(r.rater.as_str(), r.item_id.as_str())) {
            Some(_) if explained(&r.rater, &r.item_id) => {}
            Some(earlier) => problems.push(Problem {
                file: r.file.clone(),
                line: Some(r.line),
                message: format!(
                    "duplicate rating of item '{}' by rater '{}' (first at {}:{})",
                    r.item_id, r.rater, earlier.file, earlier.line
                ),
            }),
            None => {
                first.insert((r.rater.as_str(), r.item_id.as_str()), r);
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    fn check(text: &str) -> (Vec<Rating>, Vec<String>) {
        let rubric = defaults::study().unwrap().rubric;
        let raters = vec!["r1".to_string(), "r2".to_string()];
        let assigned: HashMap<&str, HashSet<&str>> = [
            ("AAAA-1111", HashSet::from(["r1", "r2"])),
            ("BBBB-2222", HashSet::from(["r2"])),
        ]
        .into_iter()
        .collect();
        let round = RoundSpec {
            raters: &raters,
            judges: HashSet::from(["judge-sim-beta".to_string()]),
            assigned,
            rubric: &rubric,
        };
        let (ratings, problems) = parse_ratings("r1.csv", text, &round);
        (ratings, problems.iter().map(|p| p.to_string()).collect())
    }

    const HEADER: &str = "rater,item_id,verification_support,process_steerability,uncertainty_disclosure,helpfulness,comment,identity_guess\n";

    #[test]
    fn a_good_file_imports() {
        let (ratings, problems) = check(&format!(
            "{HEADER}r1,AAAA-1111,2,1,0,4,\"fine, mostly\",no\nr1,BBBB-2222,,,,,,\n"
        ));
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(
            ratings.len(),
            1,
            "the blank row is an unrated item, not an error"
        );
        assert_eq!(ratings[0].scores, vec![Some(2), Some(1), Some(0), Some(4)]);
        assert_eq!(ratings[0].comment, "fine, mostly");
        assert_eq!(ratings[0].identity_guess, "no");
        assert_eq!(ratings[0].line, 2);
    }

    #[test]
    fn lines_count_breaks_inside_quoted_comments() {
        let text =
            format!("{HEADER}r1,AAAA-1111,1,1,1,3,\"two\nlines\",\nr1,ZZZZ-9999,1,1,1,3,,\n");
        let (_, problems) = check(&text);
        assert_eq!(problems, ["r1.csv:4: unknown item id 'ZZZZ-9999'"]);
    }

    #[test]
    fn every_problem_names_its_line() {
        let text = format!(
            "{HEADER}r1,ZZZZ-9999,1,1,1,3,,\nr1,BBBB-2222,1,1,1,3,,\nr1,AAAA-1111,3,1,1,3,,\nr1,AAAA-1111,1,,1,3,,\nr9,AAAA-1111,1,1,1,3,,\nr1,AAAA-1111,1,1,1,2.5,,\n"
        );
        let (ratings, problems) = check(&text);
        assert!(ratings.is_empty());
        assert_eq!(
            problems,
            [
                "r1.csv:2: unknown item id 'ZZZZ-9999'",
                "r1.csv:3: item 'BBBB-2222' was not assigned to rater 'r1'",
                "r1.csv:4: '3' is not a level of verification_support (0, 1, 2)",
                "r1.csv:5: missing required dimension: process_steerability",
                "r1.csv:6: rater 'r9' is not a rater of this round (r1, r2)",
                "r1.csv:7: '2.5' is not a level of helpfulness (1, 2, 3, 4, 5)",
            ]
        );
    }

    #[test]
    fn columns_may_come_in_any_order_but_must_all_be_there() {
        let (ratings, problems) = check(
            "item_id,rater,helpfulness,uncertainty_disclosure,process_steerability,verification_support\nAAAA-1111,r2,5,2,2,2\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ratings[0].scores, vec![Some(2), Some(2), Some(2), Some(5)]);
        let (_, problems) = check("rater,item_id,verification_support,mood\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("unknown column 'mood'"));
        assert!(problems[1].contains(
            "missing columns: process_steerability, uncertainty_disclosure, helpfulness"
        ));
    }

    #[test]
    fn judges_may_rate_any_item_and_a_bom_is_ignored() {
        let (ratings, problems) = check(&format!(
            "\u{feff}{HEADER}judge-sim-beta,BBBB-2222,1,1,1,3,,\n"
        ));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ratings[0].rater, "judge-sim-beta");
    }

    #[test]
    fn consensus_may_rate_any_item_but_an_unknown_judge_may_not() {
        let (ratings, problems) = check(&format!(
            "{HEADER}consensus,BBBB-2222,1,1,1,3,,\njudge-nobody,AAAA-1111,1,1,1,3,,\n"
        ));
        assert_eq!(ratings.len(), 1);
        assert_eq!(ratings[0].rater, "consensus");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "r1.csv:3: rater 'judge-nobody' is a judge, but the study has no model 'nobody'"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn line_numbers_hold_for_crlf_lf_mixed_quoted_breaks_and_a_bom() {
        let bad = "r1,ZZZZ-9999,1,1,1,3,,";
        let good = "r1,AAAA-1111,1,1,1,3,,";
        let quoted = "r2,AAAA-1111,1,1,1,3,\"two\r\nlines\nthree\",";
        let header = HEADER.trim_end();
        for (name, text, line) in [
            ("lf", format!("{header}\n{good}\n{bad}\n"), 3),
            ("crlf", format!("{header}\r\n{good}\r\n{bad}\r\n"), 3),
            (
                "crlf, no final break",
                format!("{header}\r\n{good}\r\n{bad}"),
                3,
            ),
            (
                "bom + crlf",
                format!("\u{feff}{header}\r\n{good}\r\n{bad}\r\n"),
                3,
            ),
            ("mixed", format!("{header}\r\n{good}\n\r\n{bad}\r\n"), 4),
            (
                "quoted breaks, crlf",
                format!("{header}\r\n{quoted}\r\n{bad}\r\n"),
                5,
            ),
            (
                "quoted breaks, lf",
                format!("{header}\n{quoted}\n{bad}\n"),
                5,
            ),
        ] {
            let (_, problems) = check(&text);
            assert_eq!(
                problems,
                [format!("r1.csv:{line}: unknown item id 'ZZZZ-9999'")],
                "{name}"
            );
        }
    }

    #[test]
    fn line_index_maps_offsets_to_lines() {
        let lines = LineIndex::new("a\r\nb\nc\rd\n\n\r\ne");
        let at = |offset| lines.line_of(offset);
        assert_eq!(
            [at(0), at(1), at(2), at(3), at(5), at(7), at(8), at(99)],
            [1, 2, 2, 2, 3, 4, 7, 7]
        );
    }

    #[test]
    fn duplicates_are_found_across_files() {
        let (mut a, _) = check(&format!("{HEADER}r1,AAAA-1111,2,1,0,4,,\n"));
        let (b, _) = check(&format!("{HEADER}r1,AAAA-1111,1,1,0,4,,\n"));
        a.extend(b);
        let problems = duplicates(&a);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .contains("duplicate rating of item 'AAAA-1111' by rater 'r1'")
        );
    }
}
