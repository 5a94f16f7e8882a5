//! Gathers what report/explorer.html shows from a run folder: every transcript of the rounds
//! the report covers, in full from the run's log, with each rating and its comment. The page
//! itself is `report::explorer` (pure); `report_cmd::write_report` writes it with the report.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::analyze::results::StudyResults;
use crate::commands::blind_cmd::{BLIND_DIR, read_run_manifest};
use crate::commands::rate_cmds::{NOTES, NoteRow, UNBLINDED, UnblindedRow, load_round};
use crate::commands::report_cmd::read_csv;
use crate::rate::import::is_judge;
use crate::report::explorer::{Dimension, Explorer, Rating, Transcript};
use crate::run::record::{Status, TranscriptRecord};
use crate::store::transcripts;

/// The explorer's data for the rounds of `results`.
pub fn gather_explorer(run_dir: &Path, results: &StudyResults) -> anyhow::Result<Explorer> {
    let manifest = read_run_manifest(run_dir)?;
    let study = &manifest.study;
    let dimensions: Vec<Dimension> = study
        .rubric
        .dimensions
        .iter()
        .map(|d| Dimension {
            id: d.id.clone(),
            min: d.min(),
            max: d.max(),
        })
        .collect();
    let dim_at: HashMap<&str, usize> = dimensions
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    let mut transcripts: Vec<Transcript> = Vec::new();
    let mut at_cell: HashMap<String, usize> = HashMap::new();
    for round in &results.rounds {
        let dir = run_dir.join(BLIND_DIR).join(round);
        let loaded = load_round(&dir)?;
        let mut item_at: HashMap<&str, usize> = HashMap::new();
        for item in &loaded.key.items {
            let t = *at_cell.entry(item.cell_id.clone()).or_insert_with(|| {
                transcripts.push(Transcript {
                    cell_id: item.cell_id.clone(),
                    model: item.model.clone(),
                    scaffold: item.scaffold.clone(),
                    prompt: item.prompt.clone(),
                    repeat: item.repeat,
                    messages: Vec::new(),
                    ratings: Vec::new(),
                });
                transcripts.len() - 1
            });
            item_at.insert(item.item_id.as_str(), t);
        }
        let notes: Vec<NoteRow> = if dir.join(NOTES).is_file() {
            read_csv(&dir.join(NOTES))?
        } else {
            Vec::new()
        };
        let notes: HashMap<(String, String), NoteRow> = notes
            .into_iter()
            .map(|n| ((n.item_id.clone(), n.rater.clone()), n))
            .collect();
        // One rating per item and rater, its scores in the rubric's order.
        let mut ratings: BTreeMap<(String, String), Vec<Option<i64>>> = BTreeMap::new();
        for row in read_csv::<UnblindedRow>(&dir.join(UNBLINDED))? {
            let Some(&d) = dim_at.get(row.dimension.as_str()) else {
                continue;
            };
            ratings
                .entry((row.item_id, row.rater))
                .or_insert_with(|| vec![None; dimensions.len()])[d] = Some(row.score);
        }
        for ((item, rater), scores) in ratings {
            let Some(&t) = item_at.get(item.as_str()) else {
                continue;
            };
            let note = notes.get(&(item.clone(), rater.clone()));
            transcripts[t].ratings.push(Rating {
                round: round.clone(),
                judge: is_judge(&rater),
                comment: note.map(|n| n.comment.clone()).unwrap_or_default(),
                identity_guess: note.map(|n| n.identity_guess.clone()).unwrap_or_default(),
                rater,
                scores,
            });
        }
    }
    // The whole conversation, system prompt included, from the run's log (its last ok record).
    transcripts::for_each::<TranscriptRecord>(&run_dir.join(transcripts::FILE_NAME), |record| {
        if record.status != Status::Ok {
            return;
        }
        if let Some(&t) = at_cell.get(&record.cell_id) {
            transcripts[t].messages = record
                .messages
                .into_iter()
                .map(|m| (m.role, m.content))
                .collect();
        }
    })?;
    Ok(Explorer {
        study: results.study.clone(),
        models: results.models.clone(),
        scaffolds: results.scaffolds.clone(),
        prompts: study.prompts.iter().map(|p| p.id.clone()).collect(),
        dimensions,
        transcripts,
    })
}
