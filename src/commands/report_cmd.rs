//! `report` and `prereg`: gather every un-blinded round of a run, analyse, write RUN/report/; and
//! register the protocol and analysis plan before any rating is done.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::analyze::results::{Coverage, PreregCheck, StudyResults};
use crate::analyze::study::{self, BlindedText, Guess, Observation, Plan};
use crate::blind::packet::PacketJson;
use crate::blind::round::ItemRole;
use crate::blind::round::PACKETS_DIR;
use crate::cli::{PreregArgs, ReportArgs};
use crate::commands::blind_cmd::{BLIND_DIR, read_run_manifest};
use crate::commands::rate_cmds::{NOTES, NoteRow, UNBLINDED, UnblindedRow, load_round};
use crate::hash::sha256_hex;
use crate::plan::ProtocolHashes;
use crate::provider::ProviderKind;
use crate::run::record::{Manifest, RecordHead, Status};
use crate::sim::model::{SimModel, identity_terms};
use crate::store::{self, transcripts};
use crate::study::{self as study_mod, Analysis, Study};

pub const REPORT_DIR: &str = "report";

pub(super) fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize().enumerate() {
        rows.push(row.with_context(|| format!("{}:{}: not a valid row", path.display(), i + 2))?);
    }
    Ok(rows)
}

/// Names a rater might use for each model when guessing which system wrote a transcript.
fn model_names(study: &Study) -> BTreeMap<String, Vec<String>> {
    study
        .crossed()
        .map(|m| {
            let mut names = vec![m.id.clone(), m.model.clone()];
            match m.provider {
                ProviderKind::OpenAi if m.base_url.is_none() => {
                    names.extend(["OpenAI", "ChatGPT", "GPT"].map(String::from))
                }
                ProviderKind::Anthropic => names.extend(["Anthropic", "Claude"].map(String::from)),
                ProviderKind::Gemini => {
                    names.extend(["Google", "Gemini", "DeepMind"].map(String::from))
                }
                ProviderKind::Sim => {
                    if let Ok(sim) = m.model.parse::<SimModel>() {
                        names.extend(identity_terms(sim).into_iter().map(String::from));
                    }
                }
                _ => {}
            }
            (m.id.clone(), names)
        })
        .collect()
}

/// `prereg.json`: the registered protocol and analysis plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prereg {
    pub format: u32,
    pub study: String,
    pub created_at: String,
    pub tool_version: String,
    pub protocol_hash: String,
    pub hashes: ProtocolHashes,
    pub seed: u64,
    pub repeats: u32,
    pub models: Vec<String>,
    pub scaffolds: Vec<String>,
    pub analysis: Analysis,
    /// Rounds blinded before registration: round name -> the key's SHA-256 commitment.
    pub rounds: BTreeMap<String, String>,
}

pub fn prereg(args: &PreregArgs) -> anyhow::Result<ExitCode> {
    let (out, sha) = prereg_quiet(args)?;
    let late = args
        .round
        .as_ref()
        .is_some_and(|r| r.join(UNBLINDED).exists());
    outln!(
        "Wrote {} and {}.",
        out.join("prereg.json").display(),
        out.join("prereg.md").display()
    );
    outln!("prereg.json SHA-256: {sha}");
    if late {
        outln!(
            "Ratings are already un-blinded, so this document records the plan but cannot show it came first."
        );
    } else {
        outln!(
            "Post this hash (e.g. in a public registry or a timestamped commit) before any rating is done."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the pre-registration; returns its folder and the SHA-256 of prereg.json.
pub fn prereg_quiet(args: &PreregArgs) -> anyhow::Result<(PathBuf, String)> {
    let study = study_mod::load(&args.study)?;
    let hashes = crate::plan::protocol_hashes(&study);
    let mut rounds = BTreeMap::new();
    if let Some(round_dir) = &args.round {
        let round = load_round(round_dir)?;
        if round_dir.join(UNBLINDED).exists() {
            eprintln!(
                "warning: {} is already un-blinded; a registration made now cannot show that the plan came first",
                round_dir.display()
            );
        }
        rounds.insert(
            round.manifest.round.clone(),
            round.manifest.key_sha256.clone(),
        );
    }
    let document = Prereg {
        format: 1,
        study: study.name.clone(),
        created_at: crate::run::now_rfc3339(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        protocol_hash: crate::run::manifest::protocol_hash(&study, &hashes),
        hashes,
        seed: study.seed,
        repeats: study.repeats,
        models: study.crossed_models.clone(),
        scaffolds: study.scaffolds.iter().map(|s| s.id.clone()).collect(),
        analysis: study.analysis.clone(),
        rounds,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.study.join("prereg"));
    let json = store::to_json_bytes(&document);
    let sha = sha256_hex(&json);
    let markdown = prereg_markdown(&document, &sha);
    store::write_atomic(&out.join("prereg.json"), &json)?;
    store::write_atomic(&out.join("prereg.md"), markdown.as_bytes())?;
    Ok((out, sha))
}

fn prereg_markdown(p: &Prereg, sha: &str) -> String {
    let a = &p.analysis;
    let mut md = format!(
        "# Pre-registration: {}\n\nRegistered {} with blindfold {}. The machine-readable document is \
         `prereg.json` (SHA-256 `{sha}`); this file restates it.\n\n## Protocol lock\n\n\
         - Protocol hash: `{}`\n- Seed: {}; repeats: {}\n- Models: {}\n- Scaffolds: {}\n- Rubric: `{}`\n",
        p.study,
        p.created_at,
        p.tool_version,
        p.protocol_hash,
        p.seed,
        p.repeats,
        p.models.join(", "),
        p.scaffolds.join(", "),
        p.hashes.rubric
    );
    for (id, hash) in &p.hashes.scaffolds {
        md.push_str(&format!("- Scaffold `{id}`: `{hash}`\n"));
    }
    for (id, hash) in &p.hashes.models {
        md.push_str(&format!("- Model settings `{id}`: `{hash}`\n"));
    }
    md.push_str(&format!(
        "- Prompts: {} items, hashes in prereg.json\n",
        p.hashes.prompts.len()
    ));
    md.push_str(&format!(
        "\n## Analysis plan\n\n- Primary dimension: `{}`\n- Baseline scaffold: `{}`\n- Confidence level: {}\n\
         - Bootstrap resamples: {}; interaction permutations: {}; seed: {}\n\
         - \"Raised to ceiling\": an improvement with at least {:.0}% of transcripts at the top level\n\
         - Effects: paired over prompts against the baseline, bootstrap CI over prompts; equivalence by two one-sided tests against these margins:\n",
        a.primary, a.baseline, a.confidence, a.resamples, a.permutations, a.seed, 100.0 * a.ceiling_share
    ));
    for (dim, m) in &a.margins {
        md.push_str(&format!("  - `{dim}`: ±{m}\n"));
    }
    md.push_str("- Labels: raised to ceiling, improved, equivalent (within the margin), inconclusive, worse; no change is claimed from non-significance alone.\n");
    md.push_str("- Model dependence: permutation test of the model x scaffold interaction, blocked by prompt; Holm adjustment across dimensions.\n");
    if !p.rounds.is_empty() {
        md.push_str("\n## Blinding commitments\n\n");
        for (round, sha) in &p.rounds {
            md.push_str(&format!("- Round `{round}`: key SHA-256 `{sha}`\n"));
        }
    }
    md
}

/// Finds the registered plan: an explicit path, a SHA-256 of a prereg.json under the study's
/// prereg/ folder, or that folder's prereg.json.
fn find_prereg(
    study_dir: &Path,
    wanted: Option<&Path>,
) -> anyhow::Result<Option<(PathBuf, Vec<u8>)>> {
    let folder = study_dir.join("prereg");
    if let Some(w) = wanted {
        if w.is_file() {
            return Ok(Some((w.to_path_buf(), std::fs::read(w)?)));
        }
        let text = w.to_string_lossy();
        if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let bytes = std::fs::read(entry.path())?;
                if sha256_hex(&bytes) == text.to_lowercase() {
                    return Ok(Some((entry.path(), bytes)));
                }
            }
            bail!("no file under {} has SHA-256 {text}", folder.display());
        }
        bail!(
            "--prereg {}: no such file (give a path to prereg.json or its SHA-256)",
            w.display()
        );
    }
    let default = folder.join("prereg.json");
    Ok(default
        .is_file()
        .then(|| std::fs::read(&default).map(|b| (default, b)))
        .transpose()?)
}

fn deviations(
    registered: &Prereg,
    manifest: &Manifest,
    plan: &Plan,
    rounds: &[(String, String)],
) -> Vec<String> {
    let mut out = Vec::new();
    let a = &registered.analysis;
    let mut differ = |what: &str, reg: String, used: String| {
        if reg != used {
            out.push(format!("{what}: registered {reg}, used {used}"));
        }
    };
    differ("primary dimension", a.primary.clone(), plan.primary.clone());
    differ(
        "baseline scaffold",
        a.baseline.clone(),
        plan.baseline.clone(),
    );
    differ(
        "confidence level",
        a.confidence.to_string(),
        plan.confidence.to_string(),
    );
    differ(
        "bootstrap resamples",
        a.resamples.to_string(),
        plan.resamples.to_string(),
    );
    differ(
        "permutations",
        a.permutations.to_string(),
        plan.permutations.to_string(),
    );
    differ("analysis seed", a.seed.to_string(), plan.seed.to_string());
    differ(
        "ceiling share",
        a.ceiling_share.to_string(),
        plan.ceiling_share.to_string(),
    );
    for (dim, m) in &plan.margins {
        differ(
            &format!("equivalence margin of {dim}"),
            a.margins.get(dim).map_or("none".into(), |x| x.to_string()),
            m.to_string(),
        );
    }
    if registered.protocol_hash != manifest.protocol_hash {
        let mut what = Vec::new();
        for (kind, reg, run) in [
            (
                "scaffold",
                &registered.hashes.scaffolds,
                &manifest.hashes.scaffolds,
            ),
            (
                "prompt",
                &registered.hashes.prompts,
                &manifest.hashes.prompts,
            ),
            ("model", &registered.hashes.models, &manifest.hashes.models),
        ] {
            for (id, hash) in run {
                match reg.get(id) {
                    None => what.push(format!("{kind} '{id}' was not registered")),
                    Some(h) if h != hash => {
                        what.push(format!("{kind} '{id}' differs from the registered one"))
                    }
                    _ => {}
                }
            }
        }
        if registered.hashes.rubric != manifest.hashes.rubric {
            what.push("the rubric differs from the registered one".into());
        }
        out.push(format!(
            "protocol: the run's protocol hash {} differs from the registered {}{}",
            &manifest.protocol_hash[..12],
            &registered.protocol_hash[..12],
            if what.is_empty() {
                String::new()
            } else {
                format!(" ({})", what.join("; "))
            }
        ));
    }
    if !registered.rounds.is_empty() {
        for (round, sha) in rounds {
            match registered.rounds.get(round) {
                None => out.push(format!(
                    "round '{round}' was blinded after registration (its key was not committed)"
                )),
                Some(r) if r != sha => out.push(format!(
                    "round '{round}': its key does not match the registered commitment"
                )),
                _ => {}
            }
        }
    }
    out
}

/// Everything `report` reads from a run folder, turned into the analysis's input data.
pub struct Gathered {
    pub manifest: Manifest,
    pub rounds: Vec<(String, String)>,
    pub observations: Vec<Observation>,
    pub guesses: Vec<Guess>,
    pub texts: Vec<BlindedText>,
    pub coverage: Coverage,
    pub failed_cells: Vec<(String, String, String)>,
}

pub fn gather(run_dir: &Path, only: Option<&[String]>) -> anyhow::Result<Gathered> {
    let manifest = read_run_manifest(run_dir)?;
    let blind_dir = run_dir.join(BLIND_DIR);
    let mut names: Vec<String> = std::fs::read_dir(&blind_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(UNBLINDED).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if let Some(only) = only {
        for wanted in only {
            if !names.contains(wanted) {
                bail!(
                    "round '{wanted}' has not been un-blinded (no {}/{wanted}/{UNBLINDED})",
                    blind_dir.display()
                );
            }
        }
        names.retain(|n| only.contains(n));
    }
    if names.is_empty() {
        bail!(
            "{} has no un-blinded round yet: blind it (`blindfold blind`), collect ratings, then `blindfold unblind ROUND RATINGS...`",
            run_dir.display()
        );
    }
    let mut g = Gathered {
        rounds: Vec::new(),
        observations: Vec::new(),
        guesses: Vec::new(),
        texts: Vec::new(),
        coverage: Coverage::default(),
        failed_cells: Vec::new(),
        manifest,
    };
    // Rounds in the order they were blinded (then by name): the order the pooling rule keeps
    // the first rating by, so results never depend on the order of un-blinding.
    let mut loaded = Vec::new();
    for name in &names {
        let dir = blind_dir.join(name);
        let round = load_round(&dir)?;
        loaded.push((round.manifest.created_at.clone(), name.clone(), dir, round));
    }
    loaded.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (_, name, dir, round) in &loaded {
        let name = name.clone();
        g.rounds
            .push((name.clone(), round.manifest.key_sha256.clone()));
        let rows: Vec<UnblindedRow> = read_csv(&dir.join(UNBLINDED))?;
        let notes: Vec<NoteRow> = if dir.join(NOTES).is_file() {
            read_csv(&dir.join(NOTES))?
        } else {
            Vec::new()
        };
        let model_of: HashMap<&str, (&str, &str)> = round
            .key
            .items
            .iter()
            .map(|i| (i.item_id.as_str(), (i.model.as_str(), i.scaffold.as_str())))
            .collect();
        let cell_of: HashMap<&str, &str> = round
            .key
            .items
            .iter()
            .map(|i| (i.item_id.as_str(), i.cell_id.as_str()))
            .collect();
        // Coverage: what was assigned against what was rated, per human rater and condition.
        let rated: BTreeSet<(&str, &str)> = rows
            .iter()
            .map(|r| (r.item_id.as_str(), r.rater.as_str()))
            .collect();
        for (rater, packet) in &round.manifest.packets {
            let e = g.coverage.per_rater.entry(rater.clone()).or_default();
            e.0 += packet.items.len();
            e.1 += packet
                .items
                .iter()
                .filter(|i| rated.contains(&(i.as_str(), rater.as_str())))
                .count();
            for item in &packet.items {
                if let Some((m, s)) = model_of.get(item.as_str()) {
                    let c = g
                        .coverage
                        .per_condition
                        .entry(format!("{m} / {s}"))
                        .or_default();
                    c.0 += 1;
                    c.1 += usize::from(rated.contains(&(item.as_str(), rater.as_str())));
                }
            }
        }
        let role_of: HashMap<&str, ItemRole> = round
            .key
            .items
            .iter()
            .map(|i| (i.item_id.as_str(), i.role))
            .collect();
        g.observations.extend(rows.into_iter().map(|r| Observation {
            role: role_of.get(r.item_id.as_str()).copied().unwrap_or_default(),
            round: name.clone(),
            cell_id: r.cell_id,
            model: r.model,
            scaffold: r.scaffold,
            prompt: r.prompt,
            repeat: r.repeat,
            rater: r.rater,
            dimension: r.dimension,
            score: r.score as f64,
        }));
        g.guesses.extend(notes.into_iter().map(|n| Guess {
            round: name.clone(),
            cell_id: n.cell_id,
            model: n.model,
            rater: n.rater,
            answer: n.identity_guess,
        }));
        // The blinded assistant text of each transcript of the round, once, for the style
        // probe (the analysis keeps each transcript's earliest round).
        let mut seen_texts: BTreeSet<&str> = BTreeSet::new();
        let prompt_of: HashMap<&str, &str> = round
            .key
            .items
            .iter()
            .map(|i| (i.item_id.as_str(), i.prompt.as_str()))
            .collect();
        for rater in round.manifest.packets.keys() {
            let path = dir.join(PACKETS_DIR).join(format!("{rater}.json"));
            let Ok(packet) = store::read_json::<PacketJson>(&path) else {
                continue;
            };
            for item in packet.items {
                let (Some((model, scaffold)), Some(cell), Some(prompt)) = (
                    model_of.get(item.item_id.as_str()),
                    cell_of.get(item.item_id.as_str()),
                    prompt_of.get(item.item_id.as_str()),
                ) else {
                    continue;
                };
                if !seen_texts.insert(cell) {
                    continue;
                }
                g.texts.push(BlindedText {
                    round: name.clone(),
                    cell_id: cell.to_string(),
                    model: model.to_string(),
                    group: format!("{model}\u{1f}{scaffold}\u{1f}{prompt}"),
                    turns: item.turns,
                });
            }
        }
    }
    g.coverage.complete = g.coverage.per_rater.values().all(|(a, r)| a == r);
    let (heads, _) = transcripts::read::<RecordHead>(&run_dir.join(transcripts::FILE_NAME))?;
    let ok: BTreeSet<&str> = heads
        .iter()
        .filter(|h| h.status == Status::Ok)
        .map(|h| h.cell_id.as_str())
        .collect();
    let failed_cells = g
        .manifest
        .cells()
        .filter(|c| !ok.contains(c.id.as_str()))
        .map(|c| (c.model, c.scaffold, c.prompt))
        .collect();
    g.failed_cells = failed_cells;
    Ok(g)
}

/// Analyses a run; shared by `report` and `demo`.
pub fn analyze_run(run_dir: &Path, args: &ReportArgs) -> anyhow::Result<StudyResults> {
    let g = gather(run_dir, args.rounds.as_deref())?;
    let study = &g.manifest.study;
    // The study folder holds runs/NAME; a registered plan lives in STUDY/prereg/.
    let study_dir = run_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let registered = match find_prereg(study_dir, args.prereg.as_deref())? {
        Some((path, bytes)) => {
            let registered: Prereg = serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not a pre-registration document", path.display())
            })?;
            Some((path, bytes, registered))
        }
        None => None,
    };
    // The analysis that runs: the registered plan when there is one (deviating from it only
    // through options such as --primary, each listed in the report); otherwise the study's
    // current [analysis], which may have been edited since the run.
    let current = crate::study::load(study_dir).ok().map(|s| s.analysis);
    let mut plan = match (&registered, &current) {
        (Some((path, _, r)), current) => {
            if current.as_ref().is_some_and(|c| c != &r.analysis) {
                eprintln!(
                    "warning: the [analysis] table in {} differs from the plan registered in {}; \
                     the registered plan is used (register again before rating to change it, or \
                     give --primary to deviate openly)",
                    study_dir.join("study.toml").display(),
                    path.display()
                );
            }
            Plan::from_analysis(&r.analysis)
        }
        (None, Some(current)) => Plan::from_analysis(current),
        (None, None) => {
            eprintln!(
                "note: {} cannot be read; the analysis plan recorded in the run's manifest is used",
                study_dir.join("study.toml").display()
            );
            Plan::from_study(study)
        }
    };
    let dimension_ids = || {
        study
            .rubric
            .dimensions
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(primary) = &args.primary {
        if study.rubric.dimension(primary).is_none() {
            bail!(
                "--primary '{primary}' is not a dimension of the rubric ({})",
                dimension_ids()
            );
        }
        plan.primary = primary.clone();
    }
    if study.rubric.dimension(&plan.primary).is_none() {
        bail!(
            "the analysis plan's primary dimension '{}' is not a dimension of the run's rubric ({}); give --primary",
            plan.primary,
            dimension_ids()
        );
    }
    if !study.scaffolds.iter().any(|s| s.id == plan.baseline) {
        bail!(
            "the analysis plan's baseline scaffold '{}' is not a scaffold of the run",
            plan.baseline
        );
    }
    let prereg = match registered {
        Some((path, bytes, registered)) => Some(PreregCheck {
            source: path.display().to_string(),
            document_sha256: sha256_hex(&bytes),
            deviations: deviations(&registered, &g.manifest, &plan, &g.rounds),
        }),
        None => {
            if args.primary.is_some() {
                eprintln!(
                    "note: --primary overrides the study's analysis plan; without a registered plan this is an exploratory analysis"
                );
            }
            None
        }
    };
    let input = study::Input {
        study,
        run: &g.manifest.run,
        protocol_hash: &g.manifest.protocol_hash,
        hashes: &g.manifest.hashes,
        rounds: g.rounds.iter().map(|(n, _)| n.clone()).collect(),
        observations: g.observations,
        guesses: g.guesses,
        texts: g.texts,
        coverage: g.coverage,
        failed_cells: g.failed_cells,
        model_names: model_names(study),
        plan,
        prereg,
    };
    Ok(study::analyze(&input))
}

/// The report's files, relative to RUN/report/.
pub fn report_files(results: &StudyResults) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = vec![
        ("results.json".to_string(), store::to_json_bytes(results)),
        (
            "efficacy.json".to_string(),
            store::to_json_bytes(&serde_json::json!({
                "study": results.study,
                "primary": results.primary,
                "baseline": results.baseline,
                "confidence": results.confidence,
                "dimensions": results.dimensions.iter().map(|d| serde_json::json!({
                    "id": d.id, "min": d.min, "max": d.max, "margin": d.margin,
                    "cells": d.cells, "effects": d.effects, "interaction": d.interaction,
                    "sensitivity": d.sensitivity,
                })).collect::<Vec<_>>(),
                "profiles": results.profiles,
            })),
        ),
        (
            "agreement.json".to_string(),
            store::to_json_bytes(&serde_json::json!({
                "raters": results.raters,
                "judges": results.judges,
                "coverage": results.coverage,
                "dimensions": results.dimensions.iter().map(|d| serde_json::json!({"id": d.id, "agreement": d.agreement})).collect::<Vec<_>>(),
            })),
        ),
    ];
    files.extend(crate::report::render_all(results)?);
    Ok(files)
}

/// Writes RUN/report/ whole: built beside the previous report and swapped in, so that the folder
/// is always one complete report (see `store::staged`). The caller holds the run folder's lock.
/// Above `explorer_part_size` transcripts the explorer is a folder of parts, and report.html
/// links to its index.
pub fn write_report(
    run_dir: &Path,
    results: &StudyResults,
    explorer_part_size: usize,
) -> anyhow::Result<PathBuf> {
    use crate::report::explorer;
    let dir = run_dir.join(REPORT_DIR);
    let staged = store::StagedDir::new(&dir)?;
    let gathered = super::report_explorer::gather_explorer(run_dir, results)?;
    let split = explorer::is_split(&gathered, explorer_part_size);
    for (name, bytes) in report_files(results)? {
        let bytes = if split {
            explorer::link_to_index(&name, bytes)
        } else {
            bytes
        };
        staged.write(&name, &bytes)?;
    }
    for (name, bytes) in explorer::explorer_files(&gathered, explorer_part_size) {
        staged.write(&name, &bytes)?;
    }
    staged.commit()?;
    Ok(dir)
}

/// The run folder's lock for `command`, once the folder is known to be a run (otherwise the
/// command's own check says what is wrong, and no lock file is left in a stray folder).
pub fn lock_run(run_dir: &Path, command: &str) -> anyhow::Result<Option<store::RunLock>> {
    if !run_dir.join(crate::commands::run_cmds::MANIFEST).is_file() {
        return Ok(None);
    }
    Ok(Some(store::RunLock::acquire(run_dir, command)?))
}

pub fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let _lock = lock_run(&args.run_dir, "report")?;
    let results = analyze_run(&args.run_dir, args)?;
    let dir = write_report(&args.run_dir, &results, args.explorer_part_size)?;
    if !crate::commands::quiet() {
        out!("{}", crate::report::terminal::headline_table(&results));
        outln!("\nReport: {}", dir.join("report.html").display());
    }
    Ok(ExitCode::SUCCESS)
}
