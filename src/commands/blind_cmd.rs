//! `blind`: read a run, build a round (items, assignment, key, audit, the gate over every item),
//! write its packets one rater at a time into a temporary folder as they are rendered (the gate
//! checks each file), and rename the folder into place only if the gate passed: the whole round,
//! or nothing but the leak report.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::blind::gate::LeakReport;
use crate::blind::round::{self, Key, RoundInput, SeedSource};
use crate::cli::BlindArgs;
use crate::commands::rounds_cmd;
use crate::commands::run_cmds::MANIFEST;
use crate::run::record::{Manifest, Status, TranscriptRecord};
use crate::store::{self, transcripts};

pub const BLIND_DIR: &str = "blind";

/// Rounds already in a run folder: (name, key), sorted by name.
pub fn existing_rounds(run_dir: &Path) -> anyhow::Result<Vec<(String, Key)>> {
    let dir = run_dir.join(BLIND_DIR);
    let mut rounds = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(rounds);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let key_path = entry.path().join(round::KEY_FILE);
        if name.starts_with('.') || !key_path.is_file() {
            continue;
        }
        let key: Key = store::read_json(&key_path)?;
        rounds.push((name, key));
    }
    rounds.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rounds)
}

pub fn read_run_manifest(run_dir: &Path) -> anyhow::Result<Manifest> {
    let path = run_dir.join(MANIFEST);
    if !path.is_file() {
        bail!(
            "{} is not a run folder: it has no {MANIFEST} (runs live in STUDY/runs/NAME; create one with `blindfold run`)",
            run_dir.display()
        );
    }
    Ok(store::read_json(&path)?)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub fn blind(args: &BlindArgs) -> anyhow::Result<ExitCode> {
    blind_round(args, true)?;
    Ok(ExitCode::SUCCESS)
}

/// Blinds a round; `verbose` prints warnings and the summary (the demo keeps quiet).
pub fn blind_round(args: &BlindArgs, verbose: bool) -> anyhow::Result<PathBuf> {
    let manifest = read_run_manifest(&args.run_dir)?;
    let _lock = crate::commands::report_cmd::lock_run(&args.run_dir, "blind")?;
    let study = &manifest.study;
    let raters: Vec<String> = args
        .raters
        .clone()
        .unwrap_or_else(|| study.blinding.raters.clone())
        .into_iter()
        .map(|r| r.trim().to_string())
        .collect();
    let mut seen = HashSet::new();
    for r in &raters {
        if let Some(problem) = crate::rate::import::rater_name_problem(r) {
            bail!("{problem}");
        }
        if !seen.insert(r) {
            bail!("rater '{r}' is listed twice");
        }
    }
    // An adjudication round asks one more rating per item unless told otherwise.
    let per_item = match &args.adjudicate {
        Some(_) => args.per_item.unwrap_or(1),
        None => args.per_item.unwrap_or(study.blinding.per_item),
    };
    if per_item as usize > raters.len() {
        bail!(
            "cannot give each transcript {per_item} ratings with {} rater{}: use more raters or a smaller --per-item",
            raters.len(),
            if raters.len() == 1 { "" } else { "s" }
        );
    }

    let earlier = existing_rounds(&args.run_dir)?;
    let round_name = match &args.round {
        Some(name) if !valid_name(name) => {
            bail!(
                "round name '{}' may only contain letters, digits, '-', '_' and '.' (at most 128 characters, not starting with '.')",
                crate::ranges::excerpt(name, 40)
            )
        }
        Some(name) => name.clone(),
        None => (1..)
            .map(|n| format!("round-{n}"))
            .find(|n| {
                let dir = args.run_dir.join(BLIND_DIR).join(n);
                !dir.exists() || only_leak_report(&dir)
            })
            .expect("some name is free"),
    };
    let round_dir = args.run_dir.join(BLIND_DIR).join(&round_name);
    if round_dir.exists() && !only_leak_report(&round_dir) {
        bail!(
            "round '{round_name}' already exists in {}; refusing to overwrite it (choose another --round)",
            round_dir.display()
        );
    }

    // One ok transcript per planned cell.
    let (records, report) =
        transcripts::read::<TranscriptRecord>(&args.run_dir.join(transcripts::FILE_NAME))?;
    if report.truncated_tail.is_some() {
        eprintln!("warning: the last line of transcripts.jsonl is incomplete and is ignored");
    }
    let mut ok: BTreeMap<&str, &TranscriptRecord> = BTreeMap::new();
    let mut failed: HashSet<&str> = HashSet::new();
    for r in &records {
        match r.status {
            Status::Ok => {
                ok.entry(r.cell_id.as_str()).or_insert(r);
            }
            Status::Failed => {
                failed.insert(r.cell_id.as_str());
            }
        }
    }
    let (mut n_failed, mut n_missing) = (0, 0);
    for cell in manifest.cells() {
        if !ok.contains_key(cell.id.as_str()) {
            if failed.contains(cell.id.as_str()) {
                n_failed += 1;
            } else {
                n_missing += 1;
            }
        }
    }
    if n_failed + n_missing > 0 && !args.allow_incomplete {
        // RUN_DIR is STUDY/runs/NAME.
        let study_dir = args
            .run_dir
            .parent()
            .and_then(Path::parent)
            .map_or(".".into(), |p| p.display().to_string());
        let name = args
            .run_dir
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let retry = if n_failed > 0 { " --retry-failed" } else { "" };
        bail!(
            "the run is incomplete: {n_failed} planned cells failed and {n_missing} have no transcript. \
             Finish it (`blindfold run {study_dir} --run {name}{retry}`) or blind what there is with --allow-incomplete"
        );
    }

    let covered: HashSet<&str> = earlier
        .iter()
        .flat_map(|(_, key)| key.items.iter().map(|i| i.cell_id.as_str()))
        .collect();
    let taken_ids: HashSet<String> = earlier
        .iter()
        .flat_map(|(_, key)| key.items.iter().map(|i| i.item_id.clone()))
        .collect();
    let (seed, seed_source) = match args.seed {
        Some(seed) => (seed, SeedSource::Given),
        // Not derived from the study's seed: anyone holding the study could then rebuild the key.
        None => (rand::random::<u64>(), SeedSource::Random),
    };
    let mut chosen: Vec<&TranscriptRecord> = if args.adjudicate.is_some() {
        Vec::new()
    } else {
        manifest
            .cells()
            .filter_map(|c| ok.get(c.id.as_str()).copied())
            .filter(|r| args.all || !covered.contains(r.cell_id.as_str()))
            .collect()
    };
    if chosen.is_empty() && args.adjudicate.is_none() {
        bail!(
            "nothing to blind: every transcript of this run is already in a round ({}); pass --all to blind them again",
            earlier
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // A later round: anchors and the confounding record, or an adjudication round.
    let planned = rounds_cmd::Planned {
        args,
        study,
        earlier: &earlier,
        raters: &raters,
        per_item,
        seed,
        round: &round_name,
    };
    let extension = match &args.adjudicate {
        Some(source) => rounds_cmd::plan_adjudication(&planned, &args.run_dir, source)?,
        None => {
            let new_items: Vec<(&str, &str, &str)> = chosen
                .iter()
                .map(|r| (r.cell_id.as_str(), r.model.as_str(), r.scaffold.as_str()))
                .collect();
            rounds_cmd::plan_anchors(&planned, &new_items)
        }
    };
    for cell in &extension.extra_cells {
        let Some(record) = ok.get(cell.as_str()) else {
            bail!(
                "transcript {cell} of an earlier round has no ok record in {}",
                args.run_dir.join(transcripts::FILE_NAME).display()
            );
        };
        chosen.push(record);
    }

    // The flag wins over the study's setting; neither: whole packets.
    let max_items_per_packet = args
        .max_items_per_packet
        .or(study.blinding.max_items_per_packet);
    let created_at = crate::run::now_rfc3339();
    let built = round::build_round(&RoundInput {
        study,
        run: &manifest.run,
        protocol_hash: &manifest.protocol_hash,
        round: &round_name,
        transcripts: chosen,
        raters: &raters,
        per_item,
        seed,
        seed_source,
        extra_redact: &args.redact,
        taken_ids: &taken_ids,
        created_at: &created_at,
        fixed: &extension.fixed,
        confounding: extension.confounding.clone(),
        adjudicates: extension.adjudicates.clone(),
        max_items_per_packet,
    })?;

    if verbose {
        for line in &built.audit_lines {
            outln!("{line}");
        }
        for line in &extension.lines {
            outln!("{line}");
        }
        for warning in built.warnings.iter().chain(&extension.warnings) {
            eprintln!("warning: {warning}");
        }
    }
    // The transcripts are in the round's items now: free them before the packets are rendered.
    drop(records);

    // Packets are written as they are rendered into a hidden temporary folder, renamed into
    // place only if the gate passes: a round exists completely or not at all.
    let report_path = round_dir.join(round::LEAK_REPORT_FILE);
    let blind_dir = args.run_dir.join(BLIND_DIR);
    let tmp: PathBuf = blind_dir.join(format!(".{round_name}.partial-{}", std::process::id()));
    let written = built
        .write_files(|relative, bytes| store::write_new(&tmp.join(relative), bytes))
        .map_err(anyhow::Error::from);
    let mut leaks = built.leaks.clone();
    match written {
        Ok(file_leaks) => leaks.extend(file_leaks),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    }
    if !leaks.is_empty() {
        let report = LeakReport::new(&round_name, false, &leaks);
        let summary = report.summary(12);
        if !args.allow_leaks {
            let _ = std::fs::remove_dir_all(&tmp);
            // Only the leak report is written, in the round folder: it names what leaked where,
            // every hit, for the operator to act on.
            let report = LeakReport::new(&round_name, true, &leaks);
            store::write_atomic(&report_path, &store::to_json_bytes(&report))?;
            bail!(
                "the leak gate found {} identifying string{} in {} term{} that redaction could not remove; \
                 no packets were written, nothing was written but the leak report {}:{summary}\n\
                 Add the terms to [blinding] redact (or --redact), fix the study text named, or pass \
                 --allow-leaks to write the packets anyway",
                leaks.len(),
                if leaks.len() == 1 { "" } else { "s" },
                report.groups.len(),
                if report.groups.len() == 1 { "" } else { "s" },
                report_path.display(),
            );
        }
        eprintln!(
            "warning: writing packets despite {} leaks (--allow-leaks); all of them are in {}:{summary}",
            leaks.len(),
            report_path.display()
        );
    }
    let report = LeakReport::new(&round_name, false, &leaks);
    let finish = (|| -> anyhow::Result<()> {
        store::write_new(
            &tmp.join(round::LEAK_REPORT_FILE),
            &store::to_json_bytes(&report),
        )?;
        let target = blind_dir.join(&round_name);
        if only_leak_report(&target) {
            std::fs::remove_dir_all(&target)
                .with_context(|| format!("cannot replace {}", target.display()))?;
        }
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot move the round into {}", target.display()))?;
        Ok(())
    })();
    if finish.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    finish?;
    if !verbose {
        return Ok(round_dir);
    }

    let items = built.key.items.len();
    let mut loads: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &built.key.items {
        for r in &item.raters {
            *loads.entry(r.as_str()).or_default() += 1;
        }
    }
    let redacted: u32 = built
        .key
        .items
        .iter()
        .map(|i| i.redactions.values().sum::<u32>())
        .sum();
    let removed: u32 = built
        .key
        .items
        .iter()
        .map(|i| i.removed_characters.values().sum::<u32>())
        .sum();
    outln!(
        "Blinded {items} transcripts into round '{round_name}': {per_item} raters per item; {}.",
        loads
            .iter()
            .map(|(r, n)| format!("{r} {n} items"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if leaks.is_empty() {
        outln!(
            "Redacted {redacted} identifying spans and removed {removed} invisible characters; the leak gate found nothing in the packets."
        );
    } else {
        outln!(
            "Redacted {redacted} identifying spans and removed {removed} invisible characters; the packets were written with {} leaks (--allow-leaks).",
            leaks.len()
        );
    }
    for line in built.part_lines() {
        outln!("{line}");
    }
    for (a, b) in &built.unpaired {
        eprintln!(
            "warning: raters {a} and {b} share no item, so their agreement cannot be computed"
        );
    }
    outln!(
        "Send {}/ to the raters as it is (zip it if you like).",
        round_dir.join(round::PACKETS_DIR).display()
    );
    outln!(
        "Keep {} apart: it alone un-blinds the ratings (SHA-256 {}).",
        round_dir.join(round::KEY_FILE).display(),
        built.key_sha256
    );
    Ok(round_dir)
}

/// A folder left by a refused round: nothing but its leak report, so the name is still free.
fn only_leak_report(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .all(|e| e.file_name() == round::LEAK_REPORT_FILE)
    })
}
