//! `rate`, `unblind` and `agree`: ratings in, checked, joined with the key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::analyze::agreement::{self, CodedUnits, KappaWeights, Level};
use crate::analyze::resample;
use crate::blind::packet::PacketJson;
use crate::blind::round::{KEY_FILE, Key, MANIFEST_FILE, PACKETS_DIR, RoundManifest};
use crate::cli::{AgreeArgs, AgreeLevel, Format, RateArgs, UnblindArgs};
use crate::hash::sha256_hex;
use crate::rate::import::{self, Problem, Rating, RoundSpec};
use crate::store;

pub const UNBLINDED: &str = "unblinded.csv";
pub const NOTES: &str = "unblinded-notes.csv";

pub fn rate(args: &RateArgs) -> anyhow::Result<ExitCode> {
    if args
        .simulate
        .extension()
        .is_some_and(|e| !e.eq_ignore_ascii_case("json"))
    {
        bail!(
            "{}: the simulated rater reads a packet's JSON file (packets/RATER.json), not its {} sheet",
            args.simulate.display(),
            args.simulate
                .extension()
                .map_or(String::new(), |e| e.to_string_lossy().to_uppercase())
        );
    }
    let packet: PacketJson = store::read_json(&args.simulate)?;
    let sheet = crate::rate::simulate::rate_packet_drifted(&packet, args.seed, args.drift)
        .with_context(|| format!("cannot rate {}", args.simulate.display()))?;
    store::write_atomic(&args.out, &sheet)?;
    outln!(
        "Simulated rater '{}' rated {} items into {}.",
        packet.rater,
        packet.items.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A round as `unblind` and `report` need it: the manifest, and the key checked against the
/// manifest's commitment.
pub struct LoadedRound {
    pub manifest: RoundManifest,
    pub key: Key,
}

pub fn load_round(round_dir: &Path) -> anyhow::Result<LoadedRound> {
    let manifest_path = round_dir.join(PACKETS_DIR).join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        bail!(
            "{} is not a blinding round: it has no {PACKETS_DIR}/{MANIFEST_FILE} (rounds live in RUN/blind/ROUND)",
            round_dir.display()
        );
    }
    let manifest: RoundManifest = store::read_json(&manifest_path)?;
    let key_path = round_dir.join(KEY_FILE);
    let key_bytes = std::fs::read(&key_path)
        .with_context(|| format!("cannot read the key {}", key_path.display()))?;
    let actual = sha256_hex(&key_bytes);
    if actual != manifest.key_sha256 {
        bail!(
            "{}: the key's SHA-256 ({actual}) does not match the commitment in {} ({}); \
             the key was changed after blinding, so it cannot be trusted to un-blind",
            key_path.display(),
            manifest_path.display(),
            manifest.key_sha256
        );
    }
    let key: Key = serde_json::from_slice(&key_bytes)
        .with_context(|| format!("{} is not a valid key", key_path.display()))?;
    Ok(LoadedRound { manifest, key })
}

/// One row of `unblinded.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnblindedRow {
    pub round: String,
    pub item_id: String,
    pub cell_id: String,
    pub rater: String,
    pub dimension: String,
    pub score: i64,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
}

/// One row of `unblinded-notes.csv`: the free-text answers of a rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRow {
    pub round: String,
    pub item_id: String,
    pub cell_id: String,
    pub rater: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub comment: String,
    pub identity_guess: String,
}

/// A broken file can have a problem on every one of millions of rows: the first ones show what
/// is wrong, the count how much.
const MAX_PROBLEMS_SHOWN: usize = 50;

/// Who may have judged a round: `judge-ALIAS` for every model of the run's study, and every judge
/// whose log is in ROUND/judges/.
fn possible_judges(round_dir: &Path) -> HashSet<String> {
    let mut judges = HashSet::new();
    let run_dir = round_dir.parent().and_then(Path::parent);
    if let Some(manifest) = run_dir
        .map(|run| run.join(crate::commands::run_cmds::MANIFEST))
        .filter(|path| path.is_file())
        .and_then(|path| store::read_json::<crate::run::record::Manifest>(&path).ok())
    {
        judges.extend(
            manifest
                .study
                .models
                .iter()
                .map(|m| format!("{}{}", import::JUDGE_PREFIX, m.id)),
        );
    }
    for entry in std::fs::read_dir(round_dir.join("judges"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(judge) = name.strip_suffix(".jsonl")
            && import::is_judge(judge)
        {
            judges.insert(judge.to_string());
        }
    }
    judges
}

pub fn unblind(args: &UnblindArgs) -> anyhow::Result<ExitCode> {
    unblind_round(args, true)?;
    Ok(ExitCode::SUCCESS)
}

/// Un-blinds a round; `verbose` prints the summary and coverage (the demo keeps quiet).
pub fn unblind_round(args: &UnblindArgs, verbose: bool) -> anyhow::Result<()> {
    let round = load_round(&args.round_dir)?;
    let _lock = crate::commands::judge_cmd::lock_round(&args.round_dir, "unblind")?;
    let manifest = &round.manifest;
    let spec = RoundSpec::from_manifest(manifest, possible_judges(&args.round_dir));

    let mut ratings: Vec<Rating> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    // Each file's (rater, item) rows, rated or not: they tell which parts of a packet it holds.
    let mut file_rows: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for path in &args.ratings {
        // The same file twice would otherwise show up as every row rated twice.
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if seen.contains(&canonical) {
            bail!("{} is given twice", path.display());
        }
        seen.push(canonical);
    }
    for path in &args.ratings {
        // A `blindfold collect` database stands for one ratings file per rater.
        match super::collect_cmd::ratings_sources(path, &args.round_dir, manifest) {
            Ok(files) => {
                for (name, text) in files {
                    let parsed = import::parse_file(&name, &text, &spec);
                    ratings.extend(parsed.ratings);
                    problems.extend(parsed.problems);
                    file_rows.push((name, parsed.rows));
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    let parts = crate::rate::parts::check(manifest, &file_rows);
    drop(file_rows);
    problems.extend(parts.problems.iter().cloned());
    problems.extend(import::duplicates_except(&ratings, |rater, item| {
        parts
            .duplicated
            .contains(&(rater.to_string(), item.to_string()))
    }));
    if !problems.is_empty() {
        let mut message = format!(
            "{} problem{} in the ratings; nothing was written:",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for p in problems.iter().take(MAX_PROBLEMS_SHOWN) {
            message.push_str("\n  ");
            message.push_str(&p.to_string());
        }
        if problems.len() > MAX_PROBLEMS_SHOWN {
            message.push_str(&format!(
                "\n  ... and {} more (the first {MAX_PROBLEMS_SHOWN} are shown)",
                problems.len() - MAX_PROBLEMS_SHOWN
            ));
        }
        bail!(message);
    }

    let key_items: HashMap<&str, &crate::blind::round::KeyItem> = round
        .key
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), i))
        .collect();
    let coverage = coverage(manifest, &round.key, &ratings);
    let complete = parts.missing.is_empty()
        && coverage
            .iter()
            .all(|(_, assigned, rated)| assigned == rated);
    if !complete {
        // Missing parts first: like a missing rater, an error unless --allow-missing.
        let mut lines = String::new();
        for missing in &parts.missing {
            lines.push_str(&format!("\n  {missing}"));
        }
        for (who, assigned, rated) in &coverage {
            if assigned != rated {
                lines.push_str(&format!("\n  {who}: {rated} of {assigned} rated"));
            }
        }
        if !args.allow_missing {
            bail!(
                "coverage is incomplete; nothing was written:{lines}\n\
                 Collect the missing ratings, or un-blind what there is with --allow-missing"
            );
        }
        eprintln!("warning: coverage is incomplete (--allow-missing):{lines}");
    }

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for r in &ratings {
        let item = key_items[r.item_id.as_str()];
        for (dim, score) in manifest.rubric.dimensions.iter().zip(&r.scores) {
            if let Some(score) = score {
                rows.push(UnblindedRow {
                    round: manifest.round.clone(),
                    item_id: r.item_id.clone(),
                    cell_id: item.cell_id.clone(),
                    rater: r.rater.clone(),
                    dimension: dim.id.clone(),
                    score: *score,
                    model: item.model.clone(),
                    scaffold: item.scaffold.clone(),
                    prompt: item.prompt.clone(),
                    repeat: item.repeat,
                });
            }
        }
        notes.push(NoteRow {
            round: manifest.round.clone(),
            item_id: r.item_id.clone(),
            cell_id: item.cell_id.clone(),
            rater: r.rater.clone(),
            model: item.model.clone(),
            scaffold: item.scaffold.clone(),
            prompt: item.prompt.clone(),
            comment: r.comment.clone(),
            identity_guess: r.identity_guess.clone(),
        });
    }
    let order: HashMap<&str, usize> = manifest
        .rubric
        .dimensions
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    rows.sort_by(|a, b| {
        (
            &a.model,
            &a.scaffold,
            &a.prompt,
            a.repeat,
            &a.item_id,
            &a.rater,
            order[a.dimension.as_str()],
        )
            .cmp(&(
                &b.model,
                &b.scaffold,
                &b.prompt,
                b.repeat,
                &b.item_id,
                &b.rater,
                order[b.dimension.as_str()],
            ))
    });
    notes.sort_by(|a, b| (&a.item_id, &a.rater).cmp(&(&b.item_id, &b.rater)));
    store::write_atomic(&args.round_dir.join(UNBLINDED), &csv_bytes(&rows)?)?;
    store::write_atomic(&args.round_dir.join(NOTES), &csv_bytes(&notes)?)?;
    if !verbose || crate::commands::quiet() {
        return Ok(());
    }
    let raters: std::collections::BTreeSet<&str> =
        ratings.iter().map(|r| r.rater.as_str()).collect();
    outln!(
        "Un-blinded {} ratings of {} items by {} ({} rows) into {}.",
        ratings.len(),
        ratings
            .iter()
            .map(|r| &r.item_id)
            .collect::<HashSet<_>>()
            .len(),
        raters.into_iter().collect::<Vec<_>>().join(", "),
        rows.len(),
        args.round_dir.join(UNBLINDED).display()
    );
    for (who, assigned, rated) in &coverage {
        outln!("  {who}: {rated} of {assigned} rated");
    }
    Ok(())
}

/// (who, expected ratings, present ratings): per human rater, then per condition; judges are
/// not expected to cover anything and are left out.
fn coverage(
    manifest: &RoundManifest,
    key: &Key,
    ratings: &[Rating],
) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (rater, packet) in &manifest.packets {
        let rated = ratings.iter().filter(|r| &r.rater == rater).count();
        out.push((format!("rater {rater}"), packet.items.len(), rated));
    }
    let condition: HashMap<&str, String> = key
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), format!("{} / {}", i.model, i.scaffold)))
        .collect();
    let mut per_condition: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for item in &key.items {
        per_condition
            .entry(condition[item.item_id.as_str()].clone())
            .or_default()
            .0 += item.raters.len();
    }
    for r in ratings
        .iter()
        .filter(|r| !import::is_unassigned_rater(&r.rater))
    {
        per_condition
            .entry(condition[r.item_id.as_str()].clone())
            .or_default()
            .1 += 1;
    }
    out.extend(
        per_condition
            .into_iter()
            .map(|(c, (e, p))| (format!("condition {c}"), e, p)),
    );
    out
}

pub fn csv_bytes<T: Serialize>(rows: &[T]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
/// A coding sheet: the coders' names, the units x coders codes, and the categories in order
/// (as written, beside the codes the statistics use).
struct CodingSheet {
    coders: Vec<String>,
    data: Vec<Vec<Option<f64>>>,
    categories: Vec<f64>,
    labels: Vec<String>,
    /// Whether the categories are numbers (their values code them) or labels (their positions
    /// in the declared order code them, equally spaced).
    numeric: bool,
}

/// A label as a number, if it is one.
fn as_number(label: &str) -> Option<f64> {
    label.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Whether an observed value is the declared category `declared`: the same text, or the same
/// number (`1.0` is `1`).
fn same_category(declared: &str, value: &str) -> bool {
    declared == value
        || matches!((as_number(declared), as_number(value)), (Some(a), Some(b)) if a == b)
}

/// Reads `unit,coder,value` into reliability data (units x coders). Values are numbers or
/// labels: numbers code themselves; labels code their position among `categories` (declared
/// order) or, for nominal data without declared categories, their order of first appearance.
fn read_coding_sheet(
    path: &Path,
    categories: Option<&[String]>,
    level: Level,
) -> anyhow::Result<CodingSheet> {
    let text = store::read_to_string(path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}:1: cannot read the header", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            anyhow::anyhow!(
                "{}:1: missing column '{name}' (the header must be unit,coder,value)",
                path.display()
            )
        })
    };
    let (unit_col, coder_col, value_col) = (col("unit")?, col("coder")?, col("value")?);
    if let Some(declared) = categories {
        for (i, c) in declared.iter().enumerate() {
            if c.trim().is_empty() {
                bail!("--categories: an empty category (position {})", i + 1);
            }
            if declared[..i].iter().any(|d| same_category(d, c)) {
                bail!("--categories: category '{c}' is declared more than once");
            }
        }
    }
    let mut units: Vec<String> = Vec::new();
    let mut coders: Vec<String> = Vec::new();
    // (unit, coder) -> (position among `labels`, line).
    let mut values: HashMap<(usize, usize), (usize, usize)> = HashMap::new();
    let mut labels: Vec<String> = categories.map(<[String]>::to_vec).unwrap_or_default();
    // The first line of each observed label, for the error of a label that needs an order.
    let mut first_non_numeric: Option<(String, usize)> = None;
    for record in reader.records() {
        let record = record.with_context(|| format!("{}: cannot read a row", path.display()))?;
        // Counted in the file as written (the reader skips breaks inside quoted fields).
        let line = record.position().map_or(0, |p| {
            1 + text.as_bytes()[..(p.byte() as usize).min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        });
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let (unit, coder, value) = (field(unit_col), field(coder_col), field(value_col));
        if unit.is_empty() || coder.is_empty() {
            bail!(
                "{}:{line}: unit and coder must not be empty",
                path.display()
            );
        }
        let u = index_of(&mut units, unit);
        let c = index_of(&mut coders, coder.clone());
        if value.is_empty() {
            continue;
        }
        if as_number(&value).is_none() && first_non_numeric.is_none() {
            first_non_numeric = Some((value.clone(), line));
        }
        let position = match labels.iter().position(|l| same_category(l, &value)) {
            Some(p) => p,
            None if categories.is_some() => bail!(
                "{}:{line}: value '{value}' (unit '{}', coder '{coder}') is not one of the declared categories ({})",
                path.display(),
                units[u],
                labels.join(", ")
            ),
            None => {
                labels.push(value.clone());
                labels.len() - 1
            }
        };
        if let Some((_, first)) = values.insert((u, c), (position, line)) {
            bail!(
                "{}:{line}: coder '{coder}' rated unit '{}' twice (first at line {first})",
                path.display(),
                units[u]
            );
        }
    }
    if values.is_empty() {
        bail!(
            "{}: no ratings (a header and no rows with a value)",
            path.display()
        );
    }
    let numeric = labels.iter().all(|l| as_number(l).is_some());
    if !numeric && categories.is_none() && level != Level::Nominal {
        let (value, line) = first_non_numeric.unwrap_or_default();
        bail!(
            "{}:{line}: value '{value}' is not a number, and labels have no order of their own: \
             declare the scale with --categories (e.g. --categories absent,partial,present) or use --level nominal",
            path.display()
        );
    }
    // Numbers code themselves; labels their position. Undeclared numbers are sorted.
    let mut order: Vec<usize> = (0..labels.len()).collect();
    if numeric && categories.is_none() {
        order.sort_by(|&a, &b| {
            as_number(&labels[a])
                .unwrap_or_default()
                .total_cmp(&as_number(&labels[b]).unwrap_or_default())
        });
    }
    let code_of_position = |p: usize| -> f64 {
        if numeric {
            as_number(&labels[p]).unwrap_or_default()
        } else {
            p as f64
        }
    };
    // A coder with no value (only empty cells) is no coder: not counted, and not a third
    // column that would suppress Cohen's kappa between the two who rated.
    let active: Vec<usize> = (0..coders.len())
        .filter(|&c| values.keys().any(|&(_, vc)| vc == c))
        .collect();
    let mut data = vec![vec![None; active.len()]; units.len()];
    for ((u, c), (p, _)) in values {
        if let Some(column) = active.iter().position(|&a| a == c) {
            data[u][column] = Some(code_of_position(p));
        }
    }
    Ok(CodingSheet {
        coders: active.iter().map(|&c| coders[c].clone()).collect(),
        data,
        categories: order.iter().map(|&p| code_of_position(p)).collect(),
        labels: order.iter().map(|&p| labels[p].clone()).collect(),
        numeric,
    })
}

fn index_of(list: &mut Vec<String>, name: String) -> usize {
    match list.iter().position(|x| *x == name) {
        Some(i) => i,
        None => {
            list.push(name);
            list.len() - 1
        }
    }
}

/// `agree`'s JSON: the keys promised in the docs, null where undefined.
#[derive(Debug, Serialize)]
struct AgreeOutput {
    n_units: usize,
    n_coders: usize,
    level: Level,
    /// The categories in order: numbers, or the labels as written.
    categories: Vec<serde_json::Value>,
    percent_agreement: Option<f64>,
    krippendorff_alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cohen_kappa: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weighted_kappa_linear: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weighted_kappa_quadratic: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fleiss_kappa: Option<Option<f64>>,
    pairwise: Vec<AgreePair>,
    /// Bootstrap intervals over units: statistic -> [low, high] or null.
    confidence_intervals: BTreeMap<&'static str, Option<(f64, f64)>>,
    resamples: u32,
    seed: u64,
}

#[derive(Debug, Serialize)]
struct AgreePair {
    coder_a: String,
    coder_b: String,
    n: usize,
    cohen_kappa: Option<f64>,
    weighted_kappa_linear: Option<f64>,
    weighted_kappa_quadratic: Option<f64>,
}

pub fn agree(args: &AgreeArgs) -> anyhow::Result<ExitCode> {
    let level = match args.level {
        AgreeLevel::Nominal => Level::Nominal,
        AgreeLevel::Ordinal => Level::Ordinal,
        AgreeLevel::Interval => Level::Interval,
        AgreeLevel::Ratio => Level::Ratio,
    };
    let CodingSheet {
        coders,
        data,
        categories,
        labels,
        numeric,
    } = read_coding_sheet(&args.file, args.categories.as_deref(), level)?;
    let summary = agreement::summarize(&data, level, &categories)
        .with_context(|| format!("{}", args.file.display()))?;
    let coded = CodedUnits::new(&data, &categories)?;
    let two = coders.len() == 2;
    let pairwise: Vec<AgreePair> = coded
        .pairwise_kappas()
        .iter()
        .map(|p| AgreePair {
            coder_a: coders[p.coder_a].clone(),
            coder_b: coders[p.coder_b].clone(),
            n: p.n,
            cohen_kappa: p.cohen,
            weighted_kappa_linear: p.linear,
            weighted_kappa_quadratic: p.quadratic,
        })
        .collect();
    let kappa_of = |weights: Option<KappaWeights>| -> Option<f64> {
        let all = 0..coded.n_units();
        match weights {
            None => coded.cohen_kappa_of(0, 1, all).and_then(|k| k.kappa),
            Some(w) => coded.weighted_kappa_of(0, 1, all, w).and_then(|k| k.kappa),
        }
    };
    let mut intervals: BTreeMap<&'static str, Option<(f64, f64)>> = BTreeMap::new();
    if args.resamples > 0 && coded.n_units() > 1 {
        let n = coded.n_units();
        let r = args.resamples as usize;
        let ci = |boot: resample::Bootstrap| resample::percentile_ci(&boot, 0.95);
        intervals.insert(
            "percent_agreement",
            ci(resample::bootstrap(n, r, args.seed, |idx| {
                coded.percent_agreement_of(idx.iter().copied())
            })),
        );
        intervals.insert(
            "krippendorff_alpha",
            ci(resample::bootstrap(n, r, args.seed, |idx| {
                coded
                    .krippendorff_alpha_of(idx.iter().copied(), level)
                    .ok()
                    .flatten()
            })),
        );
        if two {
            intervals.insert(
                "cohen_kappa",
                ci(resample::bootstrap(n, r, args.seed, |idx| {
                    coded
                        .cohen_kappa_of(0, 1, idx.iter().copied())
                        .and_then(|k| k.kappa)
                })),
            );
        }
        if summary.fleiss_kappa.is_some() {
            intervals.insert(
                "fleiss_kappa",
                ci(resample::bootstrap(n, r, args.seed, |idx| {
                    coded.fleiss_kappa_of(idx.iter().copied())
                })),
            );
        }
    }
    let fleiss_defined = agreement::fleiss_kappa(&data, &categories)?.is_some();
    let output = AgreeOutput {
        n_units: summary.n_units,
        n_coders: coders.len(),
        level,
        categories: if numeric {
            categories.iter().map(|&c| serde_json::json!(c)).collect()
        } else {
            labels.iter().map(|l| serde_json::json!(l)).collect()
        },
        percent_agreement: summary.percent_agreement,
        krippendorff_alpha: summary.krippendorff_alpha,
        cohen_kappa: two.then(|| kappa_of(None)),
        weighted_kappa_linear: two.then(|| kappa_of(Some(KappaWeights::Linear))),
        weighted_kappa_quadratic: two.then(|| kappa_of(Some(KappaWeights::Quadratic))),
        fleiss_kappa: fleiss_defined.then_some(summary.fleiss_kappa),
        pairwise,
        confidence_intervals: intervals,
        resamples: args.resamples,
        seed: args.seed,
    };
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&output)?),
        Format::Text => out!("{}", render_agree(&output)),
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt(value: Option<f64>) -> String {
    value.map_or("undefined".into(), |v| format!("{v:.4}"))
}

fn render_agree(o: &AgreeOutput) -> String {
    let ci = |name: &str| -> String {
        match o.confidence_intervals.get(name) {
            Some(Some((lo, hi))) => format!("  95% CI [{lo:.4}, {hi:.4}]"),
            _ => String::new(),
        }
    };
    let level = serde_json::to_value(o.level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let categories: Vec<String> = o
        .categories
        .iter()
        .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
        .collect();
    let mut out = format!(
        "{} units, {} coders, {level} level, categories {}\n",
        o.n_units,
        o.n_coders,
        categories.join(", ")
    );
    out.push_str(&format!(
        "percent agreement   {}{}\n",
        fmt(o.percent_agreement),
        ci("percent_agreement")
    ));
    out.push_str(&format!(
        "Krippendorff alpha  {}{}\n",
        fmt(o.krippendorff_alpha),
        ci("krippendorff_alpha")
    ));
    if let Some(k) = o.cohen_kappa {
        out.push_str(&format!(
            "Cohen's kappa       {}{}\n",
            fmt(k),
            ci("cohen_kappa")
        ));
    }
    if let Some(k) = o.weighted_kappa_linear {
        out.push_str(&format!("weighted (linear)   {}\n", fmt(k)));
    }
    if let Some(k) = o.weighted_kappa_quadratic {
        out.push_str(&format!("weighted (quadr.)   {}\n", fmt(k)));
    }
    if let Some(k) = o.fleiss_kappa {
        out.push_str(&format!(
            "Fleiss' kappa       {}{}\n",
            fmt(k),
            ci("fleiss_kappa")
        ));
    }
    if o.n_coders > 2 {
        for p in &o.pairwise {
            out.push_str(&format!(
                "  {} vs {} (n = {}): kappa {}\n",
                p.coder_a,
                p.coder_b,
                p.n,
                fmt(p.cohen_kappa)
            ));
        }
    }
    out
}
