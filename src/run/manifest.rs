//! The protocol lock: building a run's manifest and saying plainly what changed since the last.
//!
//! Cell ids are content-derived, so a changed scaffold simply yields new cells and its old
//! transcripts fall out of the plan. That keeps the data consistent, but the researcher must hear
//! about it: transcripts made under the old text are no longer comparable with the new ones.

use std::collections::BTreeMap;

use crate::hash::content_hash;
use crate::plan::{self, ProtocolHashes};
use crate::study::Study;

use super::record::{FORMAT_VERSION, HistoryEntry, Manifest, ToolInfo};

pub fn build(study: &Study, run: &str, now: &str) -> Manifest {
    let hashes = plan::protocol_hashes(study);
    Manifest {
        format: FORMAT_VERSION,
        tool: ToolInfo::current(),
        run: run.to_string(),
        created_at: now.to_string(),
        updated_at: now.to_string(),
        protocol_hash: protocol_hash(study, &hashes),
        hashes,
        study: study.clone(),
        cell_count: plan::cell_count(study),
        history: Vec::new(),
    }
}

/// The hash that says whether two runs used the same fixed protocol: every content hash plus the
/// seed, the repeats and which models are crossed.
pub fn protocol_hash(study: &Study, hashes: &ProtocolHashes) -> String {
    content_hash(&serde_json::json!({
        "hashes": hashes,
        "seed": study.seed,
        "repeats": study.repeats,
        "crossed_models": study.crossed_models,
        "scaffold_order": study.scaffolds.iter().map(|s| &s.id).collect::<Vec<_>>(),
    }))
}

/// One difference between the protocol of an existing run and the study now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub message: String,
    /// Whether transcripts made before are no longer comparable with new ones for this factor.
    pub breaks_comparability: bool,
}

/// What changed from `old` to the new manifest, in a stable order.
pub fn compare(old: &Manifest, new: &Manifest) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut factor = |what: &str,
                      before: &BTreeMap<String, String>,
                      after: &BTreeMap<String, String>| {
        for (id, hash) in after {
            match before.get(id) {
                None => changes.push(Change {
                    message: format!("{what} '{id}' is new: only its cells will run"),
                    breaks_comparability: false,
                }),
                Some(old_hash) if old_hash != hash => changes.push(Change {
                    message: format!(
                        "{what} '{id}' changed since this run began: its earlier transcripts stay in \
                         transcripts.jsonl but are no longer in the plan and are not comparable with \
                         the new ones"
                    ),
                    breaks_comparability: true,
                }),
                Some(_) => {}
            }
        }
        for id in before.keys().filter(|id| !after.contains_key(*id)) {
            changes.push(Change {
                message: format!("{what} '{id}' was removed from the study: its transcripts are kept but left out"),
                breaks_comparability: false,
            });
        }
    };
    factor("model", &old.hashes.models, &new.hashes.models);
    factor("scaffold", &old.hashes.scaffolds, &new.hashes.scaffolds);
    factor("prompt", &old.hashes.prompts, &new.hashes.prompts);
    if old.hashes.rubric != new.hashes.rubric {
        changes.push(Change {
            message: "the rubric changed: transcripts are unaffected, but blind new rounds with the new rubric".into(),
            breaks_comparability: false,
        });
    }
    if old.study.seed != new.study.seed {
        changes.push(Change {
            message: format!(
                "the study seed changed ({} -> {}): cells of models without their own seed are new and not comparable with earlier ones",
                old.study.seed, new.study.seed
            ),
            breaks_comparability: true,
        });
    }
    if old.study.repeats != new.study.repeats {
        changes.push(Change {
            message: format!(
                "repeats changed ({} -> {})",
                old.study.repeats, new.study.repeats
            ),
            breaks_comparability: false,
        });
    }
    changes
}

/// The manifest to write: the new protocol, keeping the old creation time and recording the old
/// protocol in the history when it differs.
pub fn update(old: Manifest, mut new: Manifest, changes: &[Change]) -> Manifest {
    new.created_at = old.created_at;
    new.history = old.history;
    if old.protocol_hash != new.protocol_hash {
        new.history.push(HistoryEntry {
            until: new.updated_at.clone(),
            protocol_hash: old.protocol_hash,
            tool_version: old.tool.version,
            changes: changes.iter().map(|c| c.message.clone()).collect(),
        });
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    fn manifest(study: &Study) -> Manifest {
        build(study, "r", "2026-01-01T00:00:00Z")
    }

    #[test]
    fn the_recorded_study_plans_the_same_cells() {
        // The manifest keeps no cell list: its cells are re-planned from the study it records,
        // which must survive the trip through JSON unchanged.
        let mut study = defaults::study().unwrap();
        study.repeats = 2;
        let written = store_bytes(&manifest(&study));
        let read: Manifest = serde_json::from_slice(&written).unwrap();
        assert_eq!(read.cell_count, 360);
        assert_eq!(read.hashes, plan::protocol_hashes(&read.study));
        let ids: Vec<String> = read.cells().map(|c| c.id).collect();
        let planned: Vec<String> = plan::cells(&study).map(|c| c.id).collect();
        assert_eq!(ids, planned);
    }

    fn store_bytes(m: &Manifest) -> Vec<u8> {
        crate::store::to_json_bytes(m)
    }

    #[test]
    fn unchanged_study_has_no_changes() {
        let study = defaults::study().unwrap();
        assert!(compare(&manifest(&study), &manifest(&study)).is_empty());
    }

    #[test]
    fn added_and_changed_factors_are_told_apart() {
        let study = defaults::study().unwrap();
        let mut edited = study.clone();
        edited.scaffolds[1].system = Some("Something else.".into());
        let mut extra = edited.scaffolds[0].clone();
        extra.id = "socratic".into();
        edited.scaffolds.push(extra);
        let changes = compare(&manifest(&study), &manifest(&edited));
        let messages: Vec<&str> = changes.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(changes.len(), 2, "{messages:?}");
        assert!(
            changes
                .iter()
                .any(|c| c.breaks_comparability && c.message.contains("'verification' changed"))
        );
        assert!(
            changes
                .iter()
                .any(|c| !c.breaks_comparability && c.message.contains("'socratic' is new"))
        );
    }

    #[test]
    fn update_keeps_creation_and_records_history() {
        let study = defaults::study().unwrap();
        let old = manifest(&study);
        let mut edited = study.clone();
        edited.seed += 1;
        let mut new = manifest(&edited);
        new.updated_at = "2026-02-01T00:00:00Z".into();
        let changes = compare(&old, &new);
        assert!(changes.iter().any(|c| c.breaks_comparability));
        let merged = update(old.clone(), new, &changes);
        assert_eq!(merged.created_at, old.created_at);
        assert_eq!(merged.history.len(), 1);
        assert_eq!(merged.history[0].protocol_hash, old.protocol_hash);
    }
}
