//! Ratings of packets in parts (blind::parts): which part each ratings file holds, told by the
//! item ids it lists (never only by its name, which a browser or a person may change), the same
//! part given twice, a file whose name says one part and whose rows are another, and the parts
//! of each rater that no file holds. Pure: the round's manifest and each file's rows in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use super::import::Problem;
use crate::blind::parts::PartOf;
use crate::blind::round::RoundManifest;

/// A rater's parts that no ratings file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingParts {
    pub rater: String,
    /// The missing parts, in order.
    pub parts: Vec<PartOf>,
    pub of: usize,
}

impl fmt::Display for MissingParts {
    /// `rater R2: missing part-03, part-05 of 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts.len() == self.of {
            return write!(f, "rater {}: missing all {} parts", self.rater, self.of);
        }
        let labels: Vec<String> = self.parts.iter().map(PartOf::label).collect();
        write!(
            f,
            "rater {}: missing {} of {}",
            self.rater,
            labels.join(", "),
            self.of
        )
    }
}

#[derive(Debug, Default)]
pub struct PartsCheck {
    /// A part given twice, or a file whose name and rows name different parts: errors.
    pub problems: Vec<Problem>,
    /// Per rater with parts, the parts no file holds (coverage, like a missing rater).
    pub missing: Vec<MissingParts>,
    /// (rater, item id) rows of parts given twice: their duplicate ratings need no message of
    /// their own.
    pub duplicated: HashSet<(String, String)>,
}

/// Checks the ratings files of a round whose packets may be in parts. `files` holds each file's
/// name and the (rater, item id) rows it lists, rated or not, in the order given.
pub fn check(manifest: &RoundManifest, files: &[(String, Vec<(String, String)>)]) -> PartsCheck {
    let mut index: HashMap<(&str, &str), PartOf> = HashMap::new();
    for (rater, packet) in &manifest.packets {
        for (item, part) in packet.part_of() {
            index.insert((rater.as_str(), item), part);
        }
    }
    let mut out = PartsCheck::default();
    if index.is_empty() {
        return out;
    }
    // (rater, part number) -> the file that first held it, and the items it listed.
    let mut held: BTreeMap<(&str, usize), (&str, HashSet<&str>)> = BTreeMap::new();
    let mut reported: HashSet<(&str, &str, usize)> = HashSet::new();
    for (file, rows) in files {
        let mut here: BTreeMap<&str, BTreeMap<usize, HashSet<&str>>> = BTreeMap::new();
        for (rater, item) in rows {
            if let Some(part) = index.get(&(rater.as_str(), item.as_str())) {
                here.entry(rater.as_str())
                    .or_default()
                    .entry(part.part)
                    .or_default()
                    .insert(item.as_str());
            }
        }
        if let Some((rater, claimed)) = named_part(file, manifest)
            && let Some(parts) = here.get(rater)
            && parts.keys().ne([&claimed.part])
        {
            let holds: Vec<String> = parts
                .keys()
                .map(|&part| {
                    PartOf {
                        part,
                        of: claimed.of,
                    }
                    .label()
                })
                .collect();
            out.problems.push(Problem {
                file: file.clone(),
                line: None,
                message: format!(
                    "its name says {} of rater {rater}, but its rows are {} of {}: it was renamed, \
                     or is another part's export",
                    claimed.label(),
                    holds.join(", "),
                    claimed.of
                ),
            });
        }
        for (rater, parts) in here {
            for (part, items) in parts {
                match held.get_mut(&(rater, part)) {
                    None => {
                        held.insert((rater, part), (file.as_str(), items));
                    }
                    Some((first, seen)) => {
                        let shared: Vec<&str> =
                            items.iter().copied().filter(|i| seen.contains(i)).collect();
                        if !shared.is_empty() && reported.insert((file.as_str(), rater, part)) {
                            let of = manifest.packets[rater].parts.len();
                            out.problems.push(Problem {
                                file: file.clone(),
                                line: None,
                                message: format!(
                                    "{} of rater {rater} is also in {first}: the same part \
                                     given twice (give each part's export once; the latest \
                                     export holds every answer)",
                                    PartOf { part, of }.label()
                                ),
                            });
                            out.duplicated.extend(
                                shared.iter().map(|i| (rater.to_string(), (*i).to_string())),
                            );
                        }
                        seen.extend(items);
                    }
                }
            }
        }
    }
    for (rater, packet) in &manifest.packets {
        let of = packet.parts.len();
        let parts: Vec<PartOf> = (1..=of)
            .filter(|&part| !held.contains_key(&(rater.as_str(), part)))
            .map(|part| PartOf { part, of })
            .collect();
        if !parts.is_empty() {
            out.missing.push(MissingParts {
                rater: rater.clone(),
                parts,
                of,
            });
        }
    }
    out
}

/// The rater and part a file's name claims (`ratings-R2-part-02.csv`, `R2-part-02 (1).csv`),
/// when it names a part of a split packet of the round.
fn named_part<'m>(file: &str, manifest: &'m RoundManifest) -> Option<(&'m str, PartOf)> {
    // A database source is `PATH#ratings-RATER.csv`; a path ends at its last separator.
    let name = file.rsplit(['/', '\\', '#']).next().unwrap_or(file);
    let (prefix, rest) = name.rsplit_once("-part-")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let part: usize = digits.parse().ok()?;
    for rater in [prefix.strip_prefix("ratings-"), Some(prefix)]
        .into_iter()
        .flatten()
    {
        if let Some((name, packet)) = manifest.packets.get_key_value(rater) {
            let of = packet.parts.len();
            if (1..=of).contains(&part) {
                return Some((name.as_str(), PartOf { part, of }));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blind::round::{PacketEntry, PartEntry};
    use crate::study::defaults;

    /// R1 in three parts (A B | C D | E), R2 whole (A C).
    fn manifest() -> RoundManifest {
        let part = |items: &[&str]| PartEntry {
            packet_id: "P".into(),
            items: items.iter().map(|s| s.to_string()).collect(),
        };
        let mut packets = BTreeMap::new();
        packets.insert(
            "R1".to_string(),
            PacketEntry {
                packet_id: "W".into(),
                items: ["A", "B", "C", "D", "E"].map(String::from).to_vec(),
                parts: vec![part(&["A", "B"]), part(&["C", "D"]), part(&["E"])],
            },
        );
        packets.insert(
            "R2".to_string(),
            PacketEntry {
                packet_id: "V".into(),
                items: ["A", "C"].map(String::from).to_vec(),
                parts: Vec::new(),
            },
        );
        RoundManifest {
            format: 1,
            round: "round-1".into(),
            created_at: String::new(),
            raters: vec!["R1".into(), "R2".into()],
            per_item: 1,
            packets,
            rubric: defaults::study().unwrap().rubric,
            csv_columns: Vec::new(),
            key_sha256: String::new(),
            identifiability: None,
            confounded: false,
            max_items_per_packet: Some(2),
        }
    }

    fn file(name: &str, rows: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
        (
            name.to_string(),
            rows.iter()
                .map(|(r, i)| (r.to_string(), i.to_string()))
                .collect(),
        )
    }

    fn messages(check: &PartsCheck) -> Vec<String> {
        check.problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn parts_in_any_order_with_a_whole_packet_are_complete() {
        let files = [
            file("c.csv", &[("R1", "E")]),
            file("whole.csv", &[("R2", "A"), ("R2", "C")]),
            file("a.csv", &[("R1", "C"), ("R1", "D")]),
            file("b.csv", &[("R1", "B"), ("R1", "A")]),
        ];
        let check = check(&manifest(), &files);
        assert!(check.problems.is_empty(), "{:?}", messages(&check));
        assert!(check.missing.is_empty());
    }

    #[test]
    fn missing_parts_are_named() {
        let check = check(&manifest(), &[file("x.csv", &[("R1", "C")])]);
        assert_eq!(
            check
                .missing
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>(),
            ["rater R1: missing part-01, part-03 of 3"]
        );
        let check = super::check(&manifest(), &[]);
        assert_eq!(
            check.missing[0].to_string(),
            "rater R1: missing all 3 parts"
        );
    }

    #[test]
    fn a_part_given_twice_names_both_files() {
        let files = [
            file("ratings-R1-part-02.csv", &[("R1", "C"), ("R1", "D")]),
            file("ratings-R1-part-02 (1).csv", &[("R1", "C"), ("R1", "D")]),
        ];
        let check = check(&manifest(), &files);
        assert_eq!(
            messages(&check),
            [
                "ratings-R1-part-02 (1).csv: part-02 of rater R1 is also in ratings-R1-part-02.csv: \
              the same part given twice (give each part's export once; the latest export holds \
              every answer)"
            ]
        );
        assert!(
            check
                .duplicated
                .contains(&("R1".to_string(), "C".to_string()))
        );
    }

    #[test]
    fn a_name_that_says_another_part_is_a_conflict_the_content_wins() {
        let files = [file("dir/ratings-R1-part-01.csv", &[("R1", "E")])];
        let check = check(&manifest(), &files);
        assert_eq!(
            messages(&check),
            [
                "dir/ratings-R1-part-01.csv: its name says part-01 of rater R1, but its rows are \
              part-03 of 3: it was renamed, or is another part's export"
            ]
        );
        assert_eq!(
            check.missing[0].to_string(),
            "rater R1: missing part-01, part-02 of 3",
            "part-03 counts as given, part-01 does not"
        );
    }

    #[test]
    fn a_whole_round_needs_no_check() {
        let mut m = manifest();
        m.packets.get_mut("R1").unwrap().parts.clear();
        assert!(check(&m, &[]).missing.is_empty());
    }
}
