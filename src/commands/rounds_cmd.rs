//! Studies that grow over rounds: what `blind` adds to a later round (anchor items, the
//! confounding record, adjudication rounds) and `blindfold rounds`, the list of a run's rounds.
//! The choices themselves are pure (`blind::anchors`, `blind::adjudicate`); this file reads the
//! earlier rounds for them and prints what they mean.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::blind::adjudicate::{self, SourceRating};
use crate::blind::anchors::{self, Confounding, EarlierItem};
use crate::blind::round::{FixedItem, ItemRole, Key};
use crate::cli::{AdjudicateOnArg, BlindArgs, RoundsArgs};
use crate::commands::blind_cmd::{BLIND_DIR, existing_rounds, read_run_manifest};
use crate::commands::rate_cmds::{UNBLINDED, UnblindedRow};
use crate::hash::derive_seed;
use crate::rate::import::is_judge;
use crate::study::{AdjudicateOn, Study};

/// What a later round adds to the transcripts `blind` chose: cells to blind too, their decided
/// raters, the confounding record and the adjudication source.
#[derive(Debug, Default)]
pub struct Extension {
    pub extra_cells: Vec<String>,
    pub fixed: BTreeMap<String, FixedItem>,
    pub confounding: Option<Confounding>,
    pub adjudicates: Option<String>,
    /// Lines for the terminal.
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
}

fn earlier_items(earlier: &[(String, Key)]) -> Vec<EarlierItem<'_>> {
    earlier
        .iter()
        .flat_map(|(round, key)| {
            key.items.iter().map(move |i| EarlierItem {
                round,
                cell_id: &i.cell_id,
                model: &i.model,
                scaffold: &i.scaffold,
                raters: &i.raters,
                first: i.role == ItemRole::New,
            })
        })
        .collect()
}

/// Anchors for a round of new transcripts (`new_items` as (cell, model, scaffold)), and the
/// round's confounding with them.
/// The round being blinded, as anchor and adjudication planning need it.
pub struct Planned<'a> {
    pub args: &'a BlindArgs,
    pub study: &'a Study,
    pub earlier: &'a [(String, Key)],
    pub raters: &'a [String],
    pub per_item: u32,
    pub seed: u64,
    pub round: &'a str,
}

pub fn plan_anchors(p: &Planned<'_>, new_items: &[(&str, &str, &str)]) -> Extension {
    let Planned {
        args,
        study,
        earlier,
        raters,
        per_item,
        seed,
        round,
    } = *p;
    let mut ext = Extension::default();
    let count = anchors::anchor_count(
        new_items.len(),
        args.anchors.unwrap_or(study.blinding.anchors),
        args.anchor_share.unwrap_or(study.blinding.anchor_share),
    );
    let items = earlier_items(earlier);
    if count > 0 && !items.is_empty() {
        let mut rng =
            ChaCha8Rng::seed_from_u64(derive_seed(&["anchors", &seed.to_string(), round]));
        let new_cells: BTreeSet<&str> = new_items.iter().map(|i| i.0).collect();
        let candidates: Vec<EarlierItem<'_>> = items
            .iter()
            .filter(|i| !new_cells.contains(i.cell_id))
            .cloned()
            .collect();
        for a in anchors::choose_anchors(&candidates, count, raters, per_item as usize, &mut rng) {
            ext.extra_cells.push(a.cell_id.clone());
            ext.fixed.insert(
                a.cell_id,
                FixedItem {
                    role: ItemRole::Anchor,
                    raters: a.raters,
                    from_round: a.from_round,
                },
            );
        }
        if ext.fixed.len() < count {
            ext.warnings.push(format!(
                "only {} earlier transcripts can be anchors; {count} were asked for",
                ext.fixed.len()
            ));
        }
    } else if count > 0 {
        ext.lines
            .push("No earlier round: this round has no anchor items.".to_string());
    }
    let earlier_conditions: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| (i.model.to_string(), i.scaffold.to_string()))
        .collect();
    let model_of: BTreeMap<&str, (&str, &str)> = items
        .iter()
        .map(|i| (i.cell_id, (i.model, i.scaffold)))
        .collect();
    let mut round_items: Vec<(&str, &str, bool)> =
        new_items.iter().map(|(_, m, s)| (*m, *s, false)).collect();
    round_items.extend(
        ext.fixed
            .keys()
            .filter_map(|c| model_of.get(c.as_str()))
            .map(|(m, s)| (*m, *s, true)),
    );
    ext.confounding = anchors::confounding(&earlier_conditions, &round_items);
    if let Some(c) = &ext.confounding {
        ext.lines.push(format!(
            "This round holds conditions no earlier round holds ({}): comparisons with them cross rounds.",
            c.new_conditions.join(", ")
        ));
        ext.lines.push(format!(
            "Share of the round's items that are of a new condition, per model (what a rater could infer from being in this round): {}; overall {:.0}% ({} anchor items).",
            c.by_model
                .iter()
                .map(|(m, s)| format!(
                    "{m} {}/{} ({:.0}%)",
                    s.new_condition_items,
                    s.items,
                    100.0 * s.share
                ))
                .collect::<Vec<_>>()
                .join(", "),
            100.0 * c.share,
            c.anchors
        ));
        if c.anchors == 0 {
            ext.warnings.push(format!(
                "this round confounds its conditions with the round: {} exist only here, so a rater who knows the study was extended knows the condition of {:.0}% of the items, and their comparisons with earlier conditions mix in any drift of the raters between rounds. Add anchor items (--anchors N or --anchor-share S; [blinding] anchors) so the report can measure the drift",
                c.new_conditions.join(", "),
                100.0 * c.share
            ));
        }
    }
    ext
}

/// An adjudication round: the items of `source` whose human ratings differ by at least the
/// threshold, each for raters who never rated its transcript.
pub fn plan_adjudication(
    p: &Planned<'_>,
    run_dir: &Path,
    source: &str,
) -> anyhow::Result<Extension> {
    let Planned {
        args,
        study,
        earlier,
        raters,
        per_item,
        seed,
        round,
    } = *p;
    let Some((_, key)) = earlier.iter().find(|(n, _)| n == source) else {
        bail!(
            "--adjudicate {source}: no round '{source}' in {} (rounds: {})",
            run_dir.join(BLIND_DIR).display(),
            earlier
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let path = run_dir.join(BLIND_DIR).join(source).join(UNBLINDED);
    if !path.is_file() {
        bail!(
            "--adjudicate {source}: the round has not been un-blinded yet (no {}); un-blind its ratings first",
            path.display()
        );
    }
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows: Vec<UnblindedRow> = reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("{}: line {}", path.display(), i + 2)))
        .collect::<anyhow::Result<_>>()?;
    let threshold = args
        .threshold
        .unwrap_or(study.blinding.adjudication_threshold);
    let on = match args.adjudicate_on {
        Some(AdjudicateOnArg::Any) => AdjudicateOn::Any,
        Some(AdjudicateOnArg::Primary) => AdjudicateOn::Primary,
        None => study.blinding.adjudicate_on,
    };
    let dims: Vec<&str> = match on {
        AdjudicateOn::Any => study
            .rubric
            .dimensions
            .iter()
            .map(|d| d.id.as_str())
            .collect(),
        AdjudicateOn::Primary => vec![study.analysis.primary.as_str()],
    };
    // Items of the source round that were rated first there (an anchor's second rating is drift
    // data, not a disagreement to settle); human raters only.
    let first_cells: BTreeSet<&str> = key
        .items
        .iter()
        .filter(|i| i.role == ItemRole::New)
        .map(|i| i.cell_id.as_str())
        .collect();
    let ratings: Vec<SourceRating<'_>> = rows
        .iter()
        .filter(|r| {
            !is_judge(&r.rater)
                && r.rater != crate::analyze::study::CONSENSUS
                && first_cells.contains(r.cell_id.as_str())
        })
        .map(|r| SourceRating {
            cell_id: &r.cell_id,
            rater: &r.rater,
            dimension: &r.dimension,
            score: r.score,
        })
        .collect();
    let found = adjudicate::disagreements(&ratings, &dims, i64::from(threshold));
    if found.is_empty() {
        bail!(
            "--adjudicate {source}: no item's ratings differ by {threshold} level{} or more on {}; nothing to adjudicate",
            if threshold == 1 { "" } else { "s" },
            match on {
                AdjudicateOn::Any => "any dimension".to_string(),
                AdjudicateOn::Primary => format!("the primary dimension {}", dims[0]),
            }
        );
    }
    // Everyone who ever rated (or was dealt) the transcript, in any round.
    let mut before: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (_, k) in earlier {
        for i in &k.items {
            before
                .entry(i.cell_id.as_str())
                .or_default()
                .extend(i.raters.iter().cloned());
        }
    }
    for r in &rows {
        before
            .entry(r.cell_id.as_str())
            .or_default()
            .insert(r.rater.clone());
    }
    let items: Vec<(String, BTreeSet<String>)> = found
        .iter()
        .map(|d| {
            (
                d.cell_id.clone(),
                before.get(d.cell_id.as_str()).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&["adjudicate", &seed.to_string(), round]));
    let chosen = adjudicate::assign_adjudicators(&items, raters, per_item as usize, &mut rng)?;
    let mut ext = Extension {
        adjudicates: Some(source.to_string()),
        ..Extension::default()
    };
    for ((cell, _), raters) in items.into_iter().zip(chosen) {
        ext.extra_cells.push(cell.clone());
        ext.fixed.insert(
            cell,
            FixedItem {
                role: ItemRole::Adjudication,
                raters,
                from_round: source.to_string(),
            },
        );
    }
    ext.lines.push(format!(
        "Adjudication of round '{source}': {} item{} whose ratings differ by {threshold} or more levels on {}, each for {per_item} rater{} who never rated it; the plan scores them by '{}' ([analysis] adjudication).",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        match on {
            AdjudicateOn::Any => "any dimension".to_string(),
            AdjudicateOn::Primary => format!("the primary dimension {}", dims[0]),
        },
        if per_item == 1 { "" } else { "s" },
        study.analysis.adjudication.as_str()
    ));
    Ok(ext)
}

/// `blindfold rounds RUN`: every round with its items, conditions, raters, anchors, the round it
/// adjudicates and whether it is un-blinded.
pub fn rounds(args: &RoundsArgs) -> anyhow::Result<ExitCode> {
    read_run_manifest(&args.run_dir)?;
    let rounds = existing_rounds(&args.run_dir)?;
    if rounds.is_empty() {
        outln!(
            "{} has no blinding round yet (`blindfold blind {}`).",
            args.run_dir.display(),
            args.run_dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut rounds: Vec<(String, Key)> = rounds;
    rounds.sort_by(|a, b| (&a.1.created_at, &a.0).cmp(&(&b.1.created_at, &b.0)));
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header([
        "round",
        "created",
        "items",
        "new",
        "anchors",
        "adjudicates",
        "conditions",
        "new conditions",
        "raters",
        "un-blinded",
    ]);
    for (name, key) in &rounds {
        let count = |role: ItemRole| key.items.iter().filter(|i| i.role == role).count();
        let conditions: BTreeSet<(&str, &str)> = key
            .items
            .iter()
            .map(|i| (i.model.as_str(), i.scaffold.as_str()))
            .collect();
        let models: BTreeSet<&str> = conditions.iter().map(|c| c.0).collect();
        let scaffolds: BTreeSet<&str> = conditions.iter().map(|c| c.1).collect();
        let unblinded = args
            .run_dir
            .join(BLIND_DIR)
            .join(name)
            .join(UNBLINDED)
            .is_file();
        table.add_row([
            name.clone(),
            key.created_at.chars().take(16).collect::<String>(),
            key.items.len().to_string(),
            count(ItemRole::New).to_string(),
            count(ItemRole::Anchor).to_string(),
            key.adjudicates.clone().unwrap_or_else(|| "-".into()),
            format!(
                "{} ({} models x {} scaffolds)",
                conditions.len(),
                models.len(),
                scaffolds.len()
            ),
            key.confounding
                .as_ref()
                .map_or("-".into(), |c| c.new_conditions.len().to_string()),
            key.raters.join(", "),
            if unblinded { "yes" } else { "no" }.into(),
        ]);
    }
    outln!("{table}");
    for (name, key) in &rounds {
        if let Some(c) = &key.confounding {
            outln!(
                "{name}: conditions new in this round (comparisons with them cross rounds): {}; {} anchor items.",
                c.new_conditions.join(", "),
                c.anchors
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
