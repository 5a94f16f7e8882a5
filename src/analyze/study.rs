//! From un-blinded ratings to [`StudyResults`]: agreement, efficacy per model x scaffold, effects
//! against the baseline with equivalence tests, the interaction test, sensitivity, variance
//! decomposition, the specification curve, profiles and the blinding check.
//!
//! Units: a transcript is a cell (`cell_id`); its score on a dimension is an aggregate of its
//! human raters' scores (the mean, in the registered analysis). Effects are paired over prompts:
//! per prompt, the scaffold's score minus the baseline's (repeats averaged), and the bootstrap
//! resamples prompts. Every random stream is seeded from the plan's seed and a label.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::agreement::{CodedUnits, KappaWeights, Level};
use super::anova::{self, Obs};
use super::hypothesis::{self, Block};
use super::intervals;
use super::probe;
use super::resample;
use super::results::*;
use crate::hash::derive_seed;
use crate::plan::ProtocolHashes;
use crate::rate::import::is_judge;
use crate::study::{Dimension, Scale, Study};

/// One rating of one transcript on one dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub cell_id: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
    pub rater: String,
    pub dimension: String,
    pub score: f64,
}

/// A rater's answer to "could you tell which system wrote this?".
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    pub model: String,
    pub rater: String,
    /// "" (not answered), "no", or the guess.
    pub answer: String,
}

/// A blinded transcript as raters saw it, for the style probe (once per cell).
#[derive(Debug, Clone, PartialEq)]
pub struct BlindedText {
    pub model: String,
    /// The cell's model × scaffold × prompt: items of one group share a fold.
    pub group: String,
    pub turns: Vec<crate::blind::packet::Turn>,
}

/// The analysis choices: the registered plan, possibly overridden (overrides are deviations).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub primary: String,
    pub baseline: String,
    pub confidence: f64,
    pub resamples: usize,
    pub permutations: usize,
    pub seed: u64,
    pub margins: BTreeMap<String, f64>,
    pub ceiling_share: f64,
}

impl Plan {
    pub fn from_study(study: &Study) -> Self {
        Self::from_analysis(&study.analysis)
    }

    pub fn from_analysis(a: &crate::study::Analysis) -> Self {
        Plan {
            primary: a.primary.clone(),
            baseline: a.baseline.clone(),
            confidence: a.confidence,
            resamples: a.resamples as usize,
            permutations: a.permutations as usize,
            seed: a.seed,
            margins: a.margins.clone(),
            ceiling_share: a.ceiling_share,
        }
    }
}

pub struct Input<'a> {
    pub study: &'a Study,
    pub run: &'a str,
    pub protocol_hash: &'a str,
    pub hashes: &'a ProtocolHashes,
    pub rounds: Vec<String>,
    pub observations: Vec<Observation>,
    pub guesses: Vec<Guess>,
    pub texts: Vec<BlindedText>,
    pub coverage: Coverage,
    /// Planned cells without an ok transcript: (model, scaffold, prompt).
    pub failed_cells: Vec<(String, String, String)>,
    /// For each model, names a rater's guess may use for it (alias, model name, vendor, ...).
    pub model_names: BTreeMap<String, Vec<String>>,
    pub plan: Plan,
    pub prereg: Option<PreregCheck>,
}

/// How a transcript's score is formed from its raters' scores.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Aggregation {
    Mean,
    Median,
    Rater(String),
}

impl Aggregation {
    fn describe(&self) -> String {
        match self {
            Aggregation::Mean => "mean of raters".into(),
            Aggregation::Median => "median of raters".into(),
            Aggregation::Rater(r) if r == CONSENSUS => "adjudicated consensus".into(),
            Aggregation::Rater(r) => format!("rater {r} alone"),
        }
    }
}

/// A rater with this name holds adjudicated consensus scores (used by the specification curve).
pub const CONSENSUS: &str = "consensus";

/// One transcript's score on one dimension.
#[derive(Debug, Clone, PartialEq)]
struct Scored {
    model: usize,
    scaffold: usize,
    prompt: String,
    repeat: u32,
    score: f64,
    /// Every rater gave the top level.
    at_ceiling: bool,
}

/// Choices that shape the per-transcript scores (the specification curve varies them).
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    aggregation: Aggregation,
    /// Binarise at `score >= threshold` (ordinal scales), or keep the raw scale.
    threshold: Option<f64>,
    exclude_low_agreement: bool,
    /// Count planned cells without a transcript as the lowest score (intention to treat).
    intention_to_treat: bool,
}

impl Spec {
    fn registered() -> Self {
        Spec {
            aggregation: Aggregation::Mean,
            threshold: None,
            exclude_low_agreement: false,
            intention_to_treat: false,
        }
    }
}

struct Context<'a> {
    input: &'a Input<'a>,
    models: Vec<String>,
    scaffolds: Vec<String>,
    baseline: usize,
    humans: Vec<String>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

impl Context<'_> {
    fn index(list: &[String], x: &str) -> Option<usize> {
        list.iter().position(|y| y == x)
    }

    /// Per-transcript scores on `dim` under `spec`.
    fn scores(&self, dim: &Dimension, spec: &Spec) -> Vec<Scored> {
        // Per transcript: its first observation (for the condition) and every rater's score.
        type Ratings<'o> = (&'o Observation, Vec<(&'o str, f64)>);
        let mut by_cell: BTreeMap<&str, Ratings<'_>> = BTreeMap::new();
        for o in self
            .input
            .observations
            .iter()
            .filter(|o| o.dimension == dim.id)
        {
            let human = self.humans.contains(&o.rater);
            let wanted = match &spec.aggregation {
                Aggregation::Rater(r) => o.rater == *r,
                _ => human,
            };
            if wanted {
                by_cell
                    .entry(o.cell_id.as_str())
                    .or_insert_with(|| (o, Vec::new()))
                    .1
                    .push((o.rater.as_str(), o.score));
            }
        }
        let (min, max) = (dim.min() as f64, dim.max() as f64);
        let mut out = Vec::new();
        for (first, ratings) in by_cell.values() {
            let (Some(model), Some(scaffold)) = (
                Self::index(&self.models, &first.model),
                Self::index(&self.scaffolds, &first.scaffold),
            ) else {
                continue;
            };
            let mut values: Vec<f64> = ratings.iter().map(|(_, v)| *v).collect();
            if spec.exclude_low_agreement && is_low_agreement(&values, dim) {
                continue;
            }
            // At the top level: the raters' scores, aggregated, round (half up) to the top.
            let at_ceiling = mean(&values).is_some_and(|m| m >= max - 0.5);
            let mut score = match spec.aggregation {
                Aggregation::Median => median(&mut values),
                _ => mean(&values).expect("at least one rating"),
            };
            if let Some(t) = spec.threshold {
                score = if score >= t { 1.0 } else { 0.0 };
            }
            let _ = min;
            out.push(Scored {
                model,
                scaffold,
                prompt: first.prompt.clone(),
                repeat: first.repeat,
                score,
                at_ceiling,
            });
        }
        if spec.intention_to_treat {
            let lowest = if spec.threshold.is_some() { 0.0 } else { min };
            for (model, scaffold, prompt) in &self.input.failed_cells {
                if let (Some(m), Some(s)) = (
                    Self::index(&self.models, model),
                    Self::index(&self.scaffolds, scaffold),
                ) {
                    out.push(Scored {
                        model: m,
                        scaffold: s,
                        prompt: prompt.clone(),
                        repeat: 0,
                        score: lowest,
                        at_ceiling: false,
                    });
                }
            }
        }
        out
    }

    /// The top of the scale the scores are on (1 when binarised).
    fn top(dim: &Dimension, spec: &Spec) -> f64 {
        if spec.threshold.is_some() {
            1.0
        } else {
            dim.max() as f64
        }
    }

    fn seed(&self, parts: &[&str]) -> u64 {
        let root = self.input.plan.seed.to_string();
        let mut all = vec!["analysis", root.as_str()];
        all.extend_from_slice(parts);
        derive_seed(&all)
    }
}

/// Raters more than one level apart (ordinal), or disagreeing at all (binary).
fn is_low_agreement(values: &[f64], dim: &Dimension) -> bool {
    if values.len() < 2 {
        return false;
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    match dim.scale {
        Scale::Binary => hi > lo,
        Scale::Ordinal => hi - lo > 1.0,
    }
}

/// Per-prompt mean scores of one model x scaffold (repeats averaged).
fn per_prompt(scores: &[Scored], model: usize, scaffold: usize) -> BTreeMap<&str, f64> {
    let mut sums: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for s in scores
        .iter()
        .filter(|s| s.model == model && s.scaffold == scaffold)
    {
        let e = sums.entry(s.prompt.as_str()).or_default();
        e.0 += s.score;
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(p, (sum, n))| (p, sum / n as f64))
        .collect()
}

fn paired_diffs(scores: &[Scored], model: usize, scaffold: usize, baseline: usize) -> Vec<f64> {
    let treated = per_prompt(scores, model, scaffold);
    let base = per_prompt(scores, model, baseline);
    treated
        .iter()
        .filter_map(|(p, t)| base.get(p).map(|b| t - b))
        .collect()
}

/// Change in the share at the top level, paired by prompt and repeat, with Newcombe's (1998)
/// interval for paired proportions.
fn ceiling_change(
    scores: &[Scored],
    model: usize,
    scaffold: usize,
    baseline: usize,
    top: f64,
    binarised: bool,
    confidence: f64,
) -> Estimate {
    let at_top = |x: &Scored| {
        if binarised {
            x.score >= top
        } else {
            x.at_ceiling
        }
    };
    let pick = |s: usize| -> BTreeMap<(&str, u32), bool> {
        scores
            .iter()
            .filter(|x| x.model == model && x.scaffold == s)
            .map(|x| ((x.prompt.as_str(), x.repeat), at_top(x)))
            .collect()
    };
    let (treated, base) = (pick(scaffold), pick(baseline));
    let (mut a, mut b, mut c, mut d) = (0, 0, 0, 0);
    for (key, t) in &treated {
        match (t, base.get(key)) {
            (true, Some(true)) => a += 1,
            (true, Some(false)) => b += 1,
            (false, Some(true)) => c += 1,
            (false, Some(false)) => d += 1,
            (_, None) => {}
        }
    }
    match intervals::newcombe_paired(a, b, c, d, confidence) {
        Some((diff, ci)) => Estimate::new(Some(diff), Some(ci)),
        None => Estimate::default(),
    }
}

fn mean_ci(values: &[f64], plan: &Plan, seed: u64) -> Estimate {
    if values.is_empty() {
        return Estimate::default();
    }
    let boot = resample::bootstrap(values.len(), plan.resamples, seed, |idx| {
        mean(&idx.iter().map(|&i| values[i]).collect::<Vec<_>>())
    });
    Estimate::new(
        boot.estimate,
        resample::percentile_ci(&boot, plan.confidence),
    )
}

/// The margin is the smallest effect that matters, so an effect shown to lie within it is
/// "equivalent" even when it also differs from zero; a change is claimed only outside it.
fn label_for(
    effect: &Estimate,
    tost: Option<&hypothesis::Tost>,
    ceiling_share: Option<f64>,
    plan: &Plan,
) -> Label {
    if tost.is_some_and(|t| t.equivalent) {
        return Label::Equivalent;
    }
    match (effect.ci_low, effect.ci_high) {
        (Some(lo), _) if lo > 0.0 => {
            if ceiling_share.is_some_and(|c| c >= plan.ceiling_share) {
                Label::RaisedToCeiling
            } else {
                Label::Improved
            }
        }
        (_, Some(hi)) if hi < 0.0 => Label::Worse,
        _ => Label::Inconclusive,
    }
}

struct EffectsOut {
    cells: Vec<CellResult>,
    effects: Vec<EffectResult>,
}

fn efficacy(ctx: &Context<'_>, dim: &Dimension, spec: &Spec, tag: &str) -> EffectsOut {
    let plan = &ctx.input.plan;
    let scores = ctx.scores(dim, spec);
    let top = Context::top(dim, spec);
    let margin = plan
        .margins
        .get(&dim.id)
        .copied()
        .unwrap_or((dim.max() - dim.min()) as f64 / 8.0);
    let margin = if spec.threshold.is_some() {
        margin / (dim.max() - dim.min()).max(1) as f64
    } else {
        margin
    };
    let mut cells = Vec::new();
    let mut ceiling: HashMap<(usize, usize), Option<f64>> = HashMap::new();
    for (m, model) in ctx.models.iter().enumerate() {
        for (s, scaffold) in ctx.scaffolds.iter().enumerate() {
            let here: Vec<&Scored> = scores
                .iter()
                .filter(|x| x.model == m && x.scaffold == s)
                .collect();
            let values: Vec<f64> = here.iter().map(|x| x.score).collect();
            let at_top = here
                .iter()
                .filter(|x| {
                    if spec.threshold.is_some() {
                        x.score >= top
                    } else {
                        x.at_ceiling
                    }
                })
                .count() as u64;
            let n = here.len() as u64;
            let share = (n > 0).then(|| at_top as f64 / n as f64);
            ceiling.insert((m, s), share);
            cells.push(CellResult {
                model: model.clone(),
                scaffold: scaffold.clone(),
                n: here.len(),
                mean: mean_ci(
                    &values,
                    plan,
                    ctx.seed(&[tag, &dim.id, "cell", model, scaffold]),
                ),
                ceiling_share: Estimate::new(share, intervals::wilson(at_top, n, plan.confidence)),
            });
        }
    }
    let mut effects = Vec::new();
    // Each one-sided test at (1 - confidence) / 2, on the same resamples as the effect's interval:
    // "equivalent" then means exactly that the reported interval lies inside the margin.
    let alpha = (1.0 - plan.confidence) / 2.0;
    for (m, model) in ctx.models.iter().enumerate() {
        for (s, scaffold) in ctx.scaffolds.iter().enumerate() {
            if s == ctx.baseline {
                continue;
            }
            let diffs = paired_diffs(&scores, m, s, ctx.baseline);
            let seed = ctx.seed(&[tag, &dim.id, "effect", model, scaffold]);
            let effect = mean_ci(&diffs, plan, seed);
            let tost = hypothesis::tost_bootstrap(&diffs, margin, alpha, plan.resamples, seed);
            let label = label_for(&effect, tost.as_ref(), ceiling[&(m, s)], plan);
            effects.push(EffectResult {
                model: model.clone(),
                scaffold: scaffold.clone(),
                n_pairs: diffs.len(),
                ceiling_change: ceiling_change(
                    &scores,
                    m,
                    s,
                    ctx.baseline,
                    top,
                    spec.threshold.is_some(),
                    plan.confidence,
                ),
                effect,
                tost_ci: Estimate::new(
                    tost.as_ref().map(|t| t.estimate),
                    tost.as_ref().map(|t| t.ci),
                ),
                tost_p: tost.as_ref().map(|t| t.p),
                label,
                label_text: label.text(margin),
            });
        }
    }
    EffectsOut { cells, effects }
}

fn interaction(ctx: &Context<'_>, dim: &Dimension) -> Option<InteractionResult> {
    let scores = ctx.scores(dim, &Spec::registered());
    let prompts: BTreeSet<&str> = scores.iter().map(|s| s.prompt.as_str()).collect();
    let tables: Vec<Vec<BTreeMap<&str, f64>>> = (0..ctx.models.len())
        .map(|m| {
            (0..ctx.scaffolds.len())
                .map(|s| per_prompt(&scores, m, s))
                .collect()
        })
        .collect();
    let blocks: Vec<Block> = prompts
        .iter()
        .map(|p| {
            tables
                .iter()
                .map(|row| row.iter().map(|cell| cell.get(p).copied()).collect())
                .collect()
        })
        .collect();
    let test = hypothesis::interaction_permutation_test(
        &blocks,
        ctx.input.plan.permutations,
        ctx.seed(&["interaction", &dim.id]),
    )?;
    Some(InteractionResult {
        statistic: test.statistic,
        p_value: test.p_value,
        p_holm: None,
        permutations: test.permutations,
        exact: test.exact,
        blocks_used: test.blocks_used,
        blocks_dropped: test.blocks_dropped,
    })
}

fn agreement(ctx: &Context<'_>, dim: &Dimension) -> Agreement {
    let plan = &ctx.input.plan;
    let level = match dim.scale {
        Scale::Binary => Level::Nominal,
        Scale::Ordinal => Level::Ordinal,
    };
    let categories = dim.values();
    let obs: Vec<&Observation> = ctx
        .input
        .observations
        .iter()
        .filter(|o| o.dimension == dim.id)
        .collect();
    let mut cells: Vec<&str> = obs
        .iter()
        .map(|o| o.cell_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    cells.sort();
    let cell_index: HashMap<&str, usize> = cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut units = vec![vec![None; ctx.humans.len()]; cells.len()];
    for o in &obs {
        if let Some(r) = ctx.humans.iter().position(|h| *h == o.rater) {
            units[cell_index[o.cell_id.as_str()]][r] = Some(o.score);
        }
    }
    units.retain(|u| u.iter().any(Option::is_some));
    let empty = Agreement {
        level: format!("{level:?}").to_lowercase(),
        n_units: units.len(),
        percent_agreement: Estimate::default(),
        krippendorff_alpha: Estimate::default(),
        fleiss_kappa: Estimate::default(),
        pairs: Vec::new(),
        unreliable: true,
        judges: Vec::new(),
    };
    let Ok(coded) = CodedUnits::new(&units, &categories) else {
        return empty;
    };
    let n = coded.n_units();
    let boot = |label: &str, stat: &dyn Fn(&[usize]) -> Option<f64>| -> Estimate {
        let b = resample::bootstrap(
            n,
            plan.resamples,
            ctx.seed(&["agreement", &dim.id, label]),
            stat,
        );
        Estimate::new(b.estimate, resample::percentile_ci(&b, plan.confidence))
    };
    let alpha = boot("alpha", &|idx| {
        coded
            .krippendorff_alpha_of(idx.iter().copied(), level)
            .ok()
            .flatten()
    });
    let percent = boot("percent", &|idx| {
        coded.percent_agreement_of(idx.iter().copied())
    });
    let fleiss = if coded.fleiss_kappa().is_some() {
        boot("fleiss", &|idx| coded.fleiss_kappa_of(idx.iter().copied()))
    } else {
        Estimate::default()
    };
    let mut pairs = Vec::new();
    for a in 0..ctx.humans.len() {
        for b in a + 1..ctx.humans.len() {
            let shared: Vec<usize> = (0..n)
                .filter(|&u| units[u][a].is_some() && units[u][b].is_some())
                .collect();
            if shared.is_empty() {
                continue;
            }
            let pair_boot = |label: &str, weights: Option<KappaWeights>| -> Estimate {
                let stat = |idx: &[usize]| -> Option<f64> {
                    let sel = idx.iter().map(|&i| shared[i]);
                    match weights {
                        None => coded.cohen_kappa_of(a, b, sel).and_then(|k| k.kappa),
                        Some(w) => coded.weighted_kappa_of(a, b, sel, w).and_then(|k| k.kappa),
                    }
                };
                let seed = ctx.seed(&["agreement", &dim.id, label, &ctx.humans[a], &ctx.humans[b]]);
                let bo = resample::bootstrap(shared.len(), plan.resamples, seed, stat);
                Estimate::new(bo.estimate, resample::percentile_ci(&bo, plan.confidence))
            };
            let ordinal = dim.scale == Scale::Ordinal;
            pairs.push(PairAgreement {
                rater_a: ctx.humans[a].clone(),
                rater_b: ctx.humans[b].clone(),
                n: shared.len(),
                percent_agreement: coded
                    .cohen_kappa_of(a, b, shared.iter().copied())
                    .map(|k| k.p_o),
                cohen_kappa: pair_boot("cohen", None),
                weighted_kappa_linear: if ordinal {
                    pair_boot("linear", Some(KappaWeights::Linear))
                } else {
                    Estimate::default()
                },
                weighted_kappa_quadratic: if ordinal {
                    pair_boot("quadratic", Some(KappaWeights::Quadratic))
                } else {
                    Estimate::default()
                },
            });
        }
    }
    let judges = judge_agreement(ctx, dim, level, &categories, &obs);
    Agreement {
        level: format!("{level:?}").to_lowercase(),
        n_units: n,
        unreliable: alpha.value.is_none_or(|a| a < 0.667),
        percent_agreement: percent,
        krippendorff_alpha: alpha,
        fleiss_kappa: fleiss,
        pairs,
        judges,
    }
}

fn judge_agreement(
    ctx: &Context<'_>,
    dim: &Dimension,
    level: Level,
    categories: &[f64],
    obs: &[&Observation],
) -> Vec<JudgeAgreement> {
    let plan = &ctx.input.plan;
    let judges: BTreeSet<&str> = obs
        .iter()
        .map(|o| o.rater.as_str())
        .filter(|r| is_judge(r))
        .collect();
    let mut out = Vec::new();
    for judge in judges {
        let judged: HashMap<&str, f64> = obs
            .iter()
            .filter(|o| o.rater == judge)
            .map(|o| (o.cell_id.as_str(), o.score))
            .collect();
        // Units: (transcript, human) pairs; coders: the judge and that human.
        let pairs: Vec<Vec<Option<f64>>> = obs
            .iter()
            .filter(|o| ctx.humans.contains(&o.rater))
            .filter_map(|o| {
                judged
                    .get(o.cell_id.as_str())
                    .map(|j| vec![Some(*j), Some(o.score)])
            })
            .collect();
        let Ok(coded) = CodedUnits::new(&pairs, categories) else {
            continue;
        };
        let b = resample::bootstrap(
            coded.n_units(),
            plan.resamples,
            ctx.seed(&["judge", &dim.id, judge]),
            |idx| {
                coded
                    .krippendorff_alpha_of(idx.iter().copied(), level)
                    .ok()
                    .flatten()
            },
        );
        // Human-human alpha on the transcripts the judge rated.
        let mut cells: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
        for o in obs
            .iter()
            .filter(|o| judged.contains_key(o.cell_id.as_str()))
        {
            if let Some(r) = ctx.humans.iter().position(|h| *h == o.rater) {
                cells
                    .entry(o.cell_id.as_str())
                    .or_insert_with(|| vec![None; ctx.humans.len()])[r] = Some(o.score);
            }
        }
        let human_units: Vec<Vec<Option<f64>>> = cells.into_values().collect();
        let human_alpha = CodedUnits::new(&human_units, categories)
            .ok()
            .and_then(|c| c.krippendorff_alpha(level).ok().flatten());
        out.push(JudgeAgreement {
            judge: judge.to_string(),
            n: coded.n_units(),
            krippendorff_alpha: Estimate::new(
                b.estimate,
                resample::percentile_ci(&b, plan.confidence),
            ),
            weighted_kappa_quadratic: coded
                .weighted_kappa_of(0, 1, 0..coded.n_units(), KappaWeights::Quadratic)
                .and_then(|k| k.kappa),
            human_alpha,
        });
    }
    out
}

fn variance(ctx: &Context<'_>, dim: &Dimension) -> Option<VarianceShares> {
    let prompts: Vec<&str> = ctx
        .input
        .observations
        .iter()
        .map(|o| o.prompt.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let obs: Vec<Obs> = ctx
        .input
        .observations
        .iter()
        .filter(|o| o.dimension == dim.id)
        .filter_map(|o| {
            Some(Obs {
                model: Context::index(&ctx.models, &o.model)?,
                scaffold: Context::index(&ctx.scaffolds, &o.scaffold)?,
                prompt: prompts.iter().position(|p| *p == o.prompt)?,
                rater: ctx.humans.iter().position(|h| *h == o.rater)?,
                y: o.score,
            })
        })
        .collect();
    let d = anova::variance_decomposition(&obs)?;
    let share = |c: anova::Component| {
        d.shares
            .iter()
            .find(|(x, _)| *x == c)
            .map_or(0.0, |(_, v)| *v)
    };
    let (model, scaffold, mxs) = (
        share(anova::Component::Model),
        share(anova::Component::Scaffold),
        share(anova::Component::ModelxScaffold),
    );
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    let sentence = if mxs >= model && mxs > 0.02 {
        format!(
            "The model x scaffold interaction accounts for {} of the variance, at least as much as the \
             model itself ({}): a model-level score, which averages over scaffolds, would hide how \
             differently the models respond to the same protocol.",
            pct(mxs),
            pct(model)
        )
    } else if mxs > 0.02 {
        format!(
            "The model x scaffold interaction accounts for {} of the variance, less than the models' \
             {} (scaffolds: {}): a model-level score would still miss part of how differently the \
             models respond to the same protocol, so scaffold effects are best reported per model.",
            pct(mxs),
            pct(model),
            pct(scaffold)
        )
    } else {
        format!(
            "The model x scaffold interaction is small ({}; models {}, scaffolds {}): on this \
             dimension, scaffold effects transfer across these models, so a model-level score \
             loses little here.",
            pct(mxs),
            pct(model),
            pct(scaffold)
        )
    };
    Some(VarianceShares {
        shares: d
            .shares
            .iter()
            .map(|(c, v)| (component_name(*c).to_string(), *v))
            .collect(),
        n_obs: d.n_obs,
        sentence,
    })
}

fn component_name(c: anova::Component) -> &'static str {
    match c {
        anova::Component::Model => "model",
        anova::Component::Scaffold => "scaffold",
        anova::Component::ModelxScaffold => "model x scaffold",
        anova::Component::Prompt => "prompt",
        anova::Component::Rater => "rater",
        anova::Component::Residual => "residual",
    }
}

/// Coarse direction of a label: the part of the headline a specification must keep.
fn direction(label: Label) -> i8 {
    match label {
        Label::RaisedToCeiling | Label::Improved => 1,
        Label::Equivalent | Label::Inconclusive => 0,
        Label::Worse => -1,
    }
}

fn spec_curve(
    ctx: &Context<'_>,
    dim: &Dimension,
    scaffold: usize,
    main: &[EffectResult],
) -> Option<SpecCurveResult> {
    let plan = &ctx.input.plan;
    let scaffold_id = &ctx.scaffolds[scaffold];
    let main_for: Vec<&EffectResult> = ctx
        .models
        .iter()
        .filter_map(|m| {
            main.iter()
                .find(|e| &e.model == m && &e.scaffold == scaffold_id)
        })
        // A model without a defined effect cannot anchor the contrast.
        .filter(|e| e.effect.value.is_some())
        .collect();
    if main_for.len() < 2 {
        return None;
    }
    // The target: the contrast between the most and the least responsive model.
    let by_effect = |e: &&EffectResult| e.effect.value.unwrap_or(f64::NAN);
    let hi = main_for
        .iter()
        .copied()
        .max_by(|a, b| by_effect(a).total_cmp(&by_effect(b)))?;
    let lo = main_for
        .iter()
        .copied()
        .min_by(|a, b| by_effect(a).total_cmp(&by_effect(b)))?;
    let (hi_m, lo_m) = (
        Context::index(&ctx.models, &hi.model)?,
        Context::index(&ctx.models, &lo.model)?,
    );
    let main_directions: Vec<i8> = main_for.iter().map(|e| direction(e.label)).collect();

    let mut aggregations = vec![Aggregation::Mean, Aggregation::Median];
    aggregations.extend(ctx.humans.iter().map(|h| Aggregation::Rater(h.clone())));
    if ctx.input.observations.iter().any(|o| o.rater == CONSENSUS) {
        aggregations.push(Aggregation::Rater(CONSENSUS.into()));
    }
    let mut thresholds: Vec<Option<f64>> = vec![None];
    if dim.scale == Scale::Ordinal {
        thresholds.extend(dim.levels.iter().skip(1).map(|l| Some(l.value as f64)));
    }
    let mut specifications = Vec::new();
    for aggregation in &aggregations {
        for threshold in &thresholds {
            for exclude_low_agreement in [false, true] {
                for intention_to_treat in [false, true] {
                    let spec = Spec {
                        aggregation: aggregation.clone(),
                        threshold: *threshold,
                        exclude_low_agreement,
                        intention_to_treat,
                    };
                    let tag = format!("{spec:?}");
                    let out = efficacy(ctx, dim, &spec, &tag);
                    // The same models as the registered analysis, in the same order.
                    let effects: Vec<&EffectResult> = main_for
                        .iter()
                        .filter_map(|m| {
                            out.effects
                                .iter()
                                .find(|e| e.model == m.model && &e.scaffold == scaffold_id)
                        })
                        .collect();
                    let directions: Vec<i8> = effects.iter().map(|e| direction(e.label)).collect();
                    let changes: Vec<String> = main_for
                        .iter()
                        .filter_map(|registered| {
                            let here = effects.iter().find(|e| e.model == registered.model);
                            match here {
                                Some(e) if direction(e.label) == direction(registered.label) => {
                                    None
                                }
                                Some(e) => Some(format!(
                                    "{}: {} (registered: {})",
                                    e.model, e.label_text, registered.label_text
                                )),
                                None => Some(format!(
                                    "{}: no estimate (registered: {})",
                                    registered.model, registered.label_text
                                )),
                            }
                        })
                        .collect();
                    let scores = ctx.scores(dim, &spec);
                    let contrast = contrast_estimate(
                        &scores,
                        hi_m,
                        lo_m,
                        scaffold,
                        ctx.baseline,
                        plan,
                        ctx.seed(&["contrast", &tag]),
                    );
                    let is_registered = spec == Spec::registered();
                    specifications.push(SpecResult {
                        choices: vec![
                            ("aggregation".into(), aggregation.describe()),
                            (
                                "scale".into(),
                                threshold.map_or("raw scores".into(), |t| {
                                    format!("binarised at >= {}", t)
                                }),
                            ),
                            (
                                "low-agreement items".into(),
                                if exclude_low_agreement {
                                    "excluded"
                                } else {
                                    "included"
                                }
                                .into(),
                            ),
                            (
                                "failed cells".into(),
                                if intention_to_treat {
                                    "lowest score (ITT)"
                                } else {
                                    "excluded"
                                }
                                .into(),
                            ),
                        ],
                        estimate: contrast,
                        label: effects.first().map_or(Label::Inconclusive, |e| e.label),
                        keeps_conclusion: directions == main_directions,
                        changes,
                        is_registered,
                    });
                }
            }
        }
    }
    let keeping = specifications.iter().filter(|s| s.keeps_conclusion).count();
    Some(SpecCurveResult {
        target: format!(
            "effect of {} vs {}: {} minus {}",
            ctx.scaffolds[scaffold], ctx.scaffolds[ctx.baseline], hi.model, lo.model
        ),
        share_keeping: (!specifications.is_empty())
            .then(|| keeping as f64 / specifications.len() as f64),
        specifications,
    })
}

/// Difference between two models' paired scaffold effects, bootstrapped over shared prompts.
fn contrast_estimate(
    scores: &[Scored],
    a: usize,
    b: usize,
    scaffold: usize,
    baseline: usize,
    plan: &Plan,
    seed: u64,
) -> Estimate {
    let da: BTreeMap<&str, f64> = {
        let t = per_prompt(scores, a, scaffold);
        let base = per_prompt(scores, a, baseline);
        t.into_iter()
            .filter_map(|(p, v)| base.get(p).map(|x| (p, v - x)))
            .collect()
    };
    let db: BTreeMap<&str, f64> = {
        let t = per_prompt(scores, b, scaffold);
        let base = per_prompt(scores, b, baseline);
        t.into_iter()
            .filter_map(|(p, v)| base.get(p).map(|x| (p, v - x)))
            .collect()
    };
    let diffs: Vec<f64> = da
        .iter()
        .filter_map(|(p, x)| db.get(p).map(|y| x - y))
        .collect();
    mean_ci(&diffs, plan, seed)
}

/// The guess names exactly one model: which one.
fn resolve_guess(answer: &str, names: &BTreeMap<String, Vec<String>>) -> Option<String> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let guess = squash(answer);
    let hits: Vec<&String> = names
        .iter()
        .filter(|(_, terms)| {
            terms
                .iter()
                .map(|t| squash(t))
                .any(|t| t.len() >= 3 && guess.contains(&t))
        })
        .map(|(m, _)| m)
        .collect();
    (hits.len() == 1).then(|| hits[0].clone())
}

fn blinding_check(ctx: &Context<'_>) -> BlindingCheck {
    let plan = &ctx.input.plan;
    let humans: Vec<&Guess> = ctx
        .input
        .guesses
        .iter()
        .filter(|g| !is_judge(&g.rater))
        .collect();
    let answered: Vec<&&Guess> = humans
        .iter()
        .filter(|g| !g.answer.trim().is_empty())
        .collect();
    let said_no = answered
        .iter()
        .filter(|g| g.answer.trim().eq_ignore_ascii_case("no"))
        .count();
    let guesses: Vec<&&&Guess> = answered
        .iter()
        .filter(|g| !g.answer.trim().eq_ignore_ascii_case("no"))
        .collect();
    let resolved: Vec<(String, &str)> = guesses
        .iter()
        .filter_map(|g| {
            resolve_guess(&g.answer, &ctx.input.model_names).map(|m| (m, g.model.as_str()))
        })
        .collect();
    let correct = resolved
        .iter()
        .filter(|(guess, truth)| guess == truth)
        .count();
    let chance = (!ctx.models.is_empty()).then(|| 1.0 / ctx.models.len() as f64);
    let n = resolved.len() as u64;
    let p_value = chance
        .filter(|_| n > 0)
        .map(|c| binomial_upper_tail(correct as u64, n, c));
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    let docs: Vec<probe::ProbeDoc> = ctx
        .input
        .texts
        .iter()
        .filter_map(|t| {
            let label = Context::index(&ctx.models, &t.model)?;
            let next = groups.len();
            let group = *groups.entry(t.group.as_str()).or_insert(next);
            Some(crate::blind::round::probe_doc(&t.turns, label, group))
        })
        .collect();
    let style_probe = probe::identifiability(
        &docs,
        ctx.models.len(),
        plan.confidence,
        ctx.seed(&["style-probe"]),
        probe::PERMUTATIONS,
    )
    .map(|p| StyleProbe {
        method: p.method,
        n_items: p.n_items,
        folds: p.folds,
        accuracy: Estimate::new(Some(p.accuracy), p.accuracy_ci),
        chance: p.chance,
        p_value: Some(p.p_value),
        per_model: ctx.models.iter().cloned().zip(p.per_class).collect(),
    });
    BlindingCheck {
        answered: answered.len(),
        said_no,
        guesses: guesses.len(),
        resolved: resolved.len(),
        correct,
        correct_rate: Estimate::new(
            (n > 0).then(|| correct as f64 / n as f64),
            intervals::wilson(correct as u64, n, plan.confidence),
        ),
        chance,
        p_value,
        style_probe,
    }
}

/// P(X >= k) for X ~ Binomial(n, p), exactly.
pub fn binomial_upper_tail(k: u64, n: u64, p: f64) -> f64 {
    use statrs::distribution::{Binomial, DiscreteCDF};
    if k == 0 {
        return 1.0;
    }
    Binomial::new(p, n).map_or(1.0, |b| (1.0 - b.cdf(k - 1)).clamp(0.0, 1.0))
}

/// The scaffold the headline reports: one named like the primary dimension, else the first
/// non-baseline scaffold.
fn headline_scaffold(ctx: &Context<'_>, primary: &str) -> Option<usize> {
    let stem = primary.split('_').next().unwrap_or(primary);
    ctx.scaffolds
        .iter()
        .position(|s| s == stem)
        .filter(|&i| i != ctx.baseline)
        .or_else(|| (0..ctx.scaffolds.len()).find(|&i| i != ctx.baseline))
}

fn fmt_signed(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{v:+.2}"))
}

fn fmt_ci(e: &Estimate) -> String {
    match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => format!("[{lo:.2}, {hi:.2}]"),
        _ => "[n/a]".into(),
    }
}

pub fn analyze(input: &Input<'_>) -> StudyResults {
    let study = input.study;
    let models: Vec<String> = study.crossed_models.clone();
    let scaffolds: Vec<String> = study.scaffolds.iter().map(|s| s.id.clone()).collect();
    let baseline = scaffolds
        .iter()
        .position(|s| *s == input.plan.baseline)
        .unwrap_or(0);
    let humans: Vec<String> = input
        .observations
        .iter()
        .map(|o| o.rater.clone())
        .filter(|r| !is_judge(r) && r != CONSENSUS)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let judges: Vec<String> = input
        .observations
        .iter()
        .map(|o| o.rater.clone())
        .filter(|r| is_judge(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ctx = Context {
        input,
        models: models.clone(),
        scaffolds: scaffolds.clone(),
        baseline,
        humans: humans.clone(),
    };
    let primary = input.plan.primary.clone();
    let headline_s = headline_scaffold(&ctx, &primary);

    let mut dimensions = Vec::new();
    for dim in &study.rubric.dimensions {
        let main = efficacy(&ctx, dim, &Spec::registered(), "main");
        let sensitivity = humans
            .iter()
            .map(|rater| {
                let spec = Spec {
                    aggregation: Aggregation::Rater(rater.clone()),
                    ..Spec::registered()
                };
                let alone = efficacy(&ctx, dim, &spec, &format!("sensitivity-{rater}"));
                RaterSensitivity {
                    rater: rater.clone(),
                    labels: alone
                        .effects
                        .iter()
                        .zip(&main.effects)
                        .map(|(a, m)| {
                            (
                                a.model.clone(),
                                a.scaffold.clone(),
                                a.label_text.clone(),
                                a.label == m.label,
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        let spec_curve = if dim.id == primary {
            headline_s.and_then(|s| spec_curve(&ctx, dim, s, &main.effects))
        } else {
            None
        };
        dimensions.push(DimensionResults {
            id: dim.id.clone(),
            question: dim.question.clone(),
            scale: match dim.scale {
                Scale::Binary => "binary".into(),
                Scale::Ordinal => "ordinal".into(),
            },
            min: dim.min() as f64,
            max: dim.max() as f64,
            margin: input
                .plan
                .margins
                .get(&dim.id)
                .copied()
                .unwrap_or((dim.max() - dim.min()) as f64 / 8.0),
            agreement: agreement(&ctx, dim),
            cells: main.cells,
            effects: main.effects,
            interaction: interaction(&ctx, dim),
            sensitivity,
            variance: variance(&ctx, dim),
            spec_curve,
        });
    }
    let adjusted = hypothesis::holm(
        &dimensions
            .iter()
            .map(|d| d.interaction.as_ref().map(|i| i.p_value))
            .collect::<Vec<_>>(),
    );
    for (d, p) in dimensions.iter_mut().zip(adjusted) {
        if let Some(i) = d.interaction.as_mut() {
            i.p_holm = p;
        }
    }

    let profiles = models
        .iter()
        .flat_map(|m| scaffolds.iter().map(move |s| (m, s)))
        .map(|(m, s)| Profile {
            model: m.clone(),
            scaffold: s.clone(),
            means: dimensions
                .iter()
                .map(|d| {
                    let cell = d.cells.iter().find(|c| &c.model == m && &c.scaffold == s);
                    (d.id.clone(), cell.and_then(|c| c.mean.value))
                })
                .collect(),
        })
        .collect();

    let headline = headline(&ctx, &dimensions, &primary, headline_s);
    StudyResults {
        study: study.name.clone(),
        run: input.run.to_string(),
        rounds: input.rounds.clone(),
        protocol_hash: input.protocol_hash.to_string(),
        hashes: input.hashes.clone(),
        models,
        scaffolds,
        baseline: input.plan.baseline.clone(),
        primary,
        confidence: input.plan.confidence,
        resamples: input.plan.resamples as u32,
        permutations: input.plan.permutations as u32,
        seed: input.plan.seed,
        raters: humans,
        judges,
        n_items: input
            .observations
            .iter()
            .map(|o| o.cell_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        n_ratings: input
            .observations
            .iter()
            .filter(|o| !is_judge(&o.rater))
            .map(|o| (o.cell_id.as_str(), o.rater.as_str()))
            .collect::<BTreeSet<_>>()
            .len(),
        coverage: input.coverage.clone(),
        dimensions,
        profiles,
        blinding: blinding_check(&ctx),
        prereg: input.prereg.clone(),
        headline,
    }
}

fn headline(
    ctx: &Context<'_>,
    dims: &[DimensionResults],
    primary: &str,
    scaffold: Option<usize>,
) -> Headline {
    let Some(dim) = dims.iter().find(|d| d.id == primary) else {
        return Headline::default();
    };
    let Some(s) = scaffold else {
        return Headline::default();
    };
    let scaffold_id = &ctx.scaffolds[s];
    let mut sentences = Vec::new();
    if let Some(p) = ctx
        .input
        .prereg
        .as_ref()
        .filter(|p| !p.deviations.is_empty())
    {
        sentences.push(format!(
            "This analysis deviates from the registered plan ({}); where it deviates it is exploratory.",
            p.deviations.join("; ")
        ));
    }
    for model in &ctx.models {
        let Some(e) = dim
            .effects
            .iter()
            .find(|e| &e.model == model && &e.scaffold == scaffold_id)
        else {
            continue;
        };
        let cell = dim
            .cells
            .iter()
            .find(|c| &c.model == model && &c.scaffold == scaffold_id);
        let ceiling = cell
            .and_then(|c| c.ceiling_share.value)
            .map(|v| format!("; {:.0}% of transcripts at the top level", 100.0 * v))
            .unwrap_or_default();
        sentences.push(format!(
            "{model}: the {scaffold_id} scaffold's effect on {primary} is {} {} vs {}: {}{ceiling}.",
            fmt_signed(e.effect.value),
            fmt_ci(&e.effect),
            ctx.scaffolds[ctx.baseline],
            e.label_text
        ));
    }
    if let Some(i) = &dim.interaction {
        let draws = (!i.exact).then_some(i.permutations);
        let p = hypothesis::p_relation(i.p_value, draws);
        let holm = i
            .p_holm
            .map(|h| {
                // The Holm value of a bound is a bound too.
                let at_floor =
                    draws.is_some_and(|d| hypothesis::at_monte_carlo_floor(i.p_value, d));
                let h = hypothesis::p_relation(h, None);
                let h = match h.strip_prefix("= ") {
                    Some(v) if at_floor => format!("≤ {v}"),
                    _ => h,
                };
                format!(", Holm-adjusted over dimensions: p {h}")
            })
            .unwrap_or_default();
        let alpha = 1.0 - ctx.input.plan.confidence;
        if i.p_holm.unwrap_or(i.p_value) < alpha {
            sentences.push(format!(
                "Scaffold efficacy on {primary} depends on the model: model x scaffold interaction permutation test p {p}{holm}."
            ));
        } else {
            sentences.push(format!(
                "These data do not show that scaffold efficacy on {primary} depends on the model (interaction permutation test p {p}{holm})."
            ));
        }
    }
    if dim.agreement.unreliable {
        sentences.push(format!(
            "Caution: rater agreement on {primary} is below the conventional threshold (Krippendorff's alpha {}), so these numbers rest on unreliable ratings.",
            dim.agreement.krippendorff_alpha.value.map_or("undefined".into(), |a| format!("{a:.3}"))
        ));
    }
    Headline {
        dimension: primary.to_string(),
        scaffold: scaffold_id.clone(),
        sentences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    fn plan() -> Plan {
        Plan::from_study(&defaults::study().unwrap())
    }

    fn estimate(lo: f64, hi: f64) -> Estimate {
        Estimate::new(Some((lo + hi) / 2.0), Some((lo, hi)))
    }

    fn tost(equivalent: bool) -> hypothesis::Tost {
        hypothesis::Tost {
            estimate: 0.0,
            ci: (0.0, 0.0),
            p_lower: 0.0,
            p_upper: 0.0,
            p: if equivalent { 0.001 } else { 0.5 },
            equivalent,
        }
    }

    #[test]
    fn labels_claim_no_change_from_non_significance() {
        let p = plan();
        let check = |ci: (f64, f64), equivalent: bool, ceiling: Option<f64>, expected: Label| {
            let label = label_for(&estimate(ci.0, ci.1), Some(&tost(equivalent)), ceiling, &p);
            assert_eq!(
                label, expected,
                "{ci:?} equivalent={equivalent} ceiling={ceiling:?}"
            );
        };
        check((0.5, 1.5), false, Some(0.95), Label::RaisedToCeiling);
        check((0.5, 1.5), false, Some(0.5), Label::Improved);
        check((-1.5, -0.5), false, None, Label::Worse);
        check((-0.4, 0.3), false, None, Label::Inconclusive);
        check((-0.1, 0.1), true, None, Label::Equivalent);
        // Shown to be smaller than the margin: equivalent, even though it differs from zero.
        check((0.05, 0.2), true, Some(0.0), Label::Equivalent);
        assert_eq!(
            label_for(&Estimate::default(), None, None, &p),
            Label::Inconclusive
        );
    }

    fn scored(model: usize, scaffold: usize, prompt: &str, score: f64) -> Scored {
        Scored {
            model,
            scaffold,
            prompt: prompt.into(),
            repeat: 0,
            score,
            at_ceiling: score >= 1.5,
        }
    }

    #[test]
    fn effects_are_paired_by_prompt_and_unpaired_prompts_left_out() {
        let scores = vec![
            scored(0, 1, "a", 2.0),
            scored(0, 0, "a", 0.5),
            scored(0, 1, "b", 1.0),
            scored(0, 0, "b", 1.0),
            scored(0, 1, "c", 2.0), // no baseline for c
            scored(1, 1, "a", 0.0), // another model
        ];
        assert_eq!(paired_diffs(&scores, 0, 1, 0), vec![1.5, 0.0]);
        let change = ceiling_change(&scores, 0, 1, 0, 2.0, false, 0.95);
        assert_eq!(change.value, Some(0.5), "a: top vs not; b: neither");
    }

    #[test]
    fn low_agreement_depends_on_the_scale() {
        let study = defaults::study().unwrap();
        let ordinal = study.rubric.dimension("verification_support").unwrap();
        assert!(!is_low_agreement(&[0.0, 1.0], ordinal));
        assert!(is_low_agreement(&[0.0, 2.0], ordinal));
        assert!(!is_low_agreement(&[2.0], ordinal));
        let mut binary = ordinal.clone();
        binary.scale = Scale::Binary;
        assert!(is_low_agreement(&[0.0, 1.0], &binary));
    }

    #[test]
    fn guesses_count_only_when_they_name_exactly_one_model() {
        let names: BTreeMap<String, Vec<String>> = [
            (
                "gpt".to_string(),
                vec![
                    "gpt".to_string(),
                    "OpenAI".to_string(),
                    "ChatGPT".to_string(),
                ],
            ),
            (
                "claude".to_string(),
                vec!["claude".to_string(), "Anthropic".to_string()],
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            resolve_guess("my guess: Chat-GPT", &names),
            Some("gpt".into())
        );
        assert_eq!(
            resolve_guess("probably Claude", &names),
            Some("claude".into())
        );
        assert_eq!(
            resolve_guess("Claude or ChatGPT", &names),
            None,
            "ambiguous"
        );
        assert_eq!(resolve_guess("no idea", &names), None);
    }

    #[test]
    fn the_binomial_tail_is_exact() {
        // P(X >= 2) for Binomial(3, 0.5) = 4/8.
        assert!((binomial_upper_tail(2, 3, 0.5) - 0.5).abs() < 1e-12);
        assert_eq!(binomial_upper_tail(0, 3, 0.5), 1.0);
        // P(X >= 3) for Binomial(3, 1/3) = 1/27.
        assert!((binomial_upper_tail(3, 3, 1.0 / 3.0) - 1.0 / 27.0).abs() < 1e-12);
    }

    #[test]
    fn permutation_p_values_at_their_floor_are_bounds() {
        use hypothesis::p_relation;
        assert_eq!(p_relation(1.0 / 10_001.0, Some(10_000)), "< 0.0001");
        assert_eq!(p_relation(1.0 / 1_000.0, Some(999)), "≤ 0.0010");
        assert_eq!(p_relation(0.0312, Some(10_000)), "= 0.0312");
        // An exact p of 1/36 is a value, not a bound.
        assert_eq!(p_relation(1.0 / 36.0, None), "= 0.0278");
    }
}
