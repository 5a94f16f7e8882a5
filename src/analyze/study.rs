//! From un-blinded ratings to [`StudyResults`]: pooling across rounds, per-transcript scores,
//! and the assembly of every analysis (agreement, efficacy, the interaction test, sensitivity,
//! variance decomposition, the specification curve, profiles, the blinding check, the headline).
//!
//! Units: a transcript is a cell (`cell_id`); its score on a dimension is an aggregate of its
//! human raters' scores (the mean, in the registered analysis). Prompts are the independent
//! unit of every interval: transcripts of one prompt (its repeats, its scaffolds) travel
//! together. Every random stream is seeded from the plan's seed and a label.

use std::collections::{BTreeMap, BTreeSet};

use super::blinding::blinding_check;
use super::clm;
use super::efficacy::{self, Efficacy};
use super::gtheory::{self, Facet, Rating};
use super::hypothesis::{self, Block};
use super::interaction::{self, Claim};
use super::pooling::{self, Rated};
use super::reliability::agreement;
use super::results::*;
use super::spec_curve::spec_curve;
use crate::blind::round::ItemRole;
use crate::hash::derive_seed;
use crate::plan::ProtocolHashes;
use crate::rate::import::is_judge;
use crate::study::{AdjudicationRule, Dimension, Family, Scale, Specifications, Study};

/// One rating of one transcript on one dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub round: String,
    pub cell_id: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
    pub rater: String,
    pub dimension: String,
    pub score: f64,
    /// A new item, an anchor or an adjudication (from the round's key).
    pub role: ItemRole,
}

impl Rated for Observation {
    fn key(&self) -> (&str, &str, &str) {
        (&self.cell_id, &self.rater, &self.dimension)
    }
    fn round(&self) -> &str {
        &self.round
    }
    fn role(&self) -> ItemRole {
        self.role
    }
}

/// A rater's answer to "could you tell which system wrote this?".
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    pub round: String,
    pub cell_id: String,
    pub model: String,
    pub rater: String,
    /// "" (not answered), "no", or the guess.
    pub answer: String,
}

impl Rated for Guess {
    fn key(&self) -> (&str, &str, &str) {
        (&self.cell_id, &self.rater, "")
    }
    fn round(&self) -> &str {
        &self.round
    }
}

/// A blinded transcript as raters saw it in one round, for the style probe.
#[derive(Debug, Clone, PartialEq)]
pub struct BlindedText {
    pub round: String,
    pub cell_id: String,
    pub model: String,
    /// The cell's model × scaffold × prompt: items of one group share a fold.
    pub group: String,
    pub turns: Vec<crate::blind::packet::Turn>,
}

impl Rated for BlindedText {
    fn key(&self) -> (&str, &str, &str) {
        (&self.cell_id, "", "")
    }
    fn round(&self) -> &str {
        &self.round
    }
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
    pub min_prompts: usize,
    pub family: Family,
    pub scaffold: Option<String>,
    pub contrast: Option<Vec<String>>,
    pub specifications: Specifications,
    pub adjudication: AdjudicationRule,
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
            min_prompts: (a.min_prompts as usize).max(2),
            family: a.family,
            scaffold: a.scaffold.clone(),
            contrast: a.contrast.clone(),
            specifications: a.specifications.clone(),
            adjudication: a.adjudication,
        }
    }

    /// The significance level, 1 - confidence, without the float noise of the subtraction
    /// (1 - 0.95 is 0.050000000000000044, which would count p = 0.05 as significant).
    pub fn alpha(&self) -> f64 {
        ((1.0 - self.confidence) * 1e12).round() / 1e12
    }

    /// The dimension's equivalence margin: the registered one, else an eighth of its range.
    pub fn margin(&self, dim: &Dimension) -> f64 {
        self.margins
            .get(&dim.id)
            .copied()
            .unwrap_or((dim.max() - dim.min()) as f64 / 8.0)
    }
}

pub struct Input<'a> {
    pub study: &'a Study,
    pub run: &'a str,
    pub protocol_hash: &'a str,
    pub hashes: &'a ProtocolHashes,
    /// The rounds analysed, in the order they were blinded (earliest first): the order the
    /// pooling rule (`analyze::pooling`) keeps the first rating by.
    pub rounds: Vec<String>,
    /// Every rating of every round, re-ratings included; pooling happens here, not before.
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
pub(super) enum Aggregation {
    Mean,
    Median,
    Rater(String),
}

impl Aggregation {
    pub(super) fn describe(&self) -> String {
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
pub(super) struct Scored {
    pub model: usize,
    pub scaffold: usize,
    pub prompt: String,
    pub repeat: u32,
    pub score: f64,
    /// At the top level: every rater gave it (the median did, for the median aggregation).
    pub at_top: bool,
}

/// Choices that shape the per-transcript scores (the specification curve varies them).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spec {
    pub aggregation: Aggregation,
    /// Binarise each rating at `rating >= threshold` (ordinal scales), or keep the raw scale.
    pub threshold: Option<f64>,
    pub exclude_low_agreement: bool,
    /// Count planned cells without a transcript as the lowest score (intention to treat).
    pub intention_to_treat: bool,
    /// Score adjudicated items by the plan's adjudication rule (the registered analysis does).
    pub adjudicated: bool,
    /// Subtract each round's drift, measured on its anchor items, from its ratings.
    pub drift_adjusted: bool,
}

impl Spec {
    pub(super) fn registered() -> Self {
        Spec {
            aggregation: Aggregation::Mean,
            threshold: None,
            exclude_low_agreement: false,
            intention_to_treat: false,
            adjudicated: true,
            drift_adjusted: false,
        }
    }

    /// The range the scores lie in: the dimension's, or [0, 1] once binarised.
    pub(super) fn bounds(&self, dim: &Dimension) -> (f64, f64) {
        if self.threshold.is_some() {
            (0.0, 1.0)
        } else {
            (dim.min() as f64, dim.max() as f64)
        }
    }
}

/// The data every analysis reads: the input, with ratings pooled across rounds.
pub(super) struct Context<'a> {
    pub input: &'a Input<'a>,
    /// One rating per (transcript, rater, dimension): the earliest round's.
    pub observations: Vec<Observation>,
    /// Re-ratings from later rounds (test–retest data only), same-rater anchor ratings among
    /// them.
    pub later: Vec<Observation>,
    /// Every rating of an anchor item (drift and calibration only).
    pub anchors: Vec<Observation>,
    /// The plan's score of each adjudicated (transcript, dimension).
    pub adjudicated: BTreeMap<(String, String), f64>,
    /// Adjudication ratings, by round: (round, transcript) pairs.
    pub adjudication_rounds: BTreeSet<String>,
    /// Each later round's drift per dimension, measured on its anchors: (round, dimension).
    pub drift: BTreeMap<(String, String), super::drift::DriftAdjustment>,
    pub guesses: Vec<Guess>,
    pub texts: Vec<BlindedText>,
    pub models: Vec<String>,
    pub scaffolds: Vec<String>,
    pub baseline: usize,
    pub humans: Vec<String>,
}

pub(super) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

pub(super) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

impl Context<'_> {
    pub(super) fn index(list: &[String], x: &str) -> Option<usize> {
        list.iter().position(|y| y == x)
    }

    /// Per-transcript scores on `dim` under `spec`.
    pub(super) fn scores(&self, dim: &Dimension, spec: &Spec) -> Vec<Scored> {
        // Per transcript: its first observation (for the condition) and every rater's score.
        let mut by_cell: BTreeMap<&str, (&Observation, Vec<f64>)> = BTreeMap::new();
        for o in self.observations.iter().filter(|o| o.dimension == dim.id) {
            let wanted = match &spec.aggregation {
                Aggregation::Rater(r) => o.rater == *r,
                _ => self.humans.contains(&o.rater),
            };
            if wanted {
                // The key is built only when the specification adjusts for drift: two string
                // copies per rating and specification were most of this loop's cost.
                let adjustment = spec
                    .drift_adjusted
                    .then(|| self.drift.get(&(o.round.clone(), o.dimension.clone())))
                    .flatten();
                let score = adjustment.map_or(o.score, |a| a.adjust(&o.cell_id, o.score));
                by_cell
                    .entry(o.cell_id.as_str())
                    .or_insert_with(|| (o, Vec::new()))
                    .1
                    .push(score);
            }
        }
        // Adjudicated items: the plan's rule gives one score for the pooled aggregations.
        if spec.adjudicated && !matches!(spec.aggregation, Aggregation::Rater(_)) {
            for (cell, (_, values)) in by_cell.iter_mut() {
                if let Some(&v) = self.adjudicated.get(&(cell.to_string(), dim.id.clone())) {
                    *values = vec![v];
                }
            }
        }
        let (lowest, top) = spec.bounds(dim);
        let mut out = Vec::new();
        for (first, values) in by_cell.values() {
            let (Some(model), Some(scaffold)) = (
                Self::index(&self.models, &first.model),
                Self::index(&self.scaffolds, &first.scaffold),
            ) else {
                continue;
            };
            if spec.exclude_low_agreement && is_low_agreement(values, dim) {
                continue;
            }
            // Binarising applies to each rating, so "at the top" still means every rater.
            let mut values: Vec<f64> = match spec.threshold {
                Some(t) => values.iter().map(|&v| f64::from(v >= t)).collect(),
                None => values.clone(),
            };
            let (score, at_top) = match spec.aggregation {
                Aggregation::Median => {
                    let m = median(&mut values);
                    (m, m >= top)
                }
                _ => (
                    mean(&values).expect("at least one rating"),
                    values.iter().all(|&v| v >= top),
                ),
            };
            out.push(Scored {
                model,
                scaffold,
                prompt: first.prompt.clone(),
                repeat: first.repeat,
                score,
                at_top,
            });
        }
        if spec.intention_to_treat {
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
                        at_top: false,
                    });
                }
            }
        }
        out
    }

    pub(super) fn seed(&self, parts: &[&str]) -> u64 {
        let root = self.input.plan.seed.to_string();
        let mut all = vec!["analysis", root.as_str()];
        all.extend_from_slice(parts);
        derive_seed(&all)
    }
}

/// Raters more than one level apart (ordinal), or disagreeing at all (binary).
pub(super) fn is_low_agreement(values: &[f64], dim: &Dimension) -> bool {
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

fn interaction(ctx: &Context<'_>, dim: &Dimension) -> Option<InteractionResult> {
    let scores = ctx.scores(dim, &Spec::registered());
    let prompts: BTreeSet<&str> = scores.iter().map(|s| s.prompt.as_str()).collect();
    let tables: Vec<Vec<BTreeMap<&str, f64>>> = (0..ctx.models.len())
        .map(|m| {
            (0..ctx.scaffolds.len())
                .map(|s| {
                    efficacy::per_prompt(&scores, m, s)
                        .into_iter()
                        .map(|(p, v)| (p, v.mean))
                        .collect()
                })
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
    let test = interaction::robust_interaction_test(
        &blocks,
        ctx.input.plan.permutations,
        ctx.seed(&["interaction", &dim.id]),
    )?;
    Some(InteractionResult {
        statistic: test.statistic,
        df: test.df,
        p_value: test.p_value,
        p_holm: None,
        permutations: test.draws,
        exact: test.exact,
        blocks_used: test.blocks_used,
        blocks_dropped: test.blocks_dropped,
    })
}

/// The latent-scale test on the human ratings of `dim` (levels counted from the scale's
/// minimum), or why there is none.
fn latent(ctx: &Context<'_>, dim: &Dimension) -> (Option<clm::LatentTest>, Option<String>) {
    let prompts: Vec<String> = ctx
        .observations
        .iter()
        .map(|o| o.prompt.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ratings: Vec<clm::Rating> = ctx
        .observations
        .iter()
        .filter(|o| o.dimension == dim.id)
        .filter_map(|o| {
            let level = o.score - dim.min() as f64;
            Some(clm::Rating {
                model: Context::index(&ctx.models, &o.model)?,
                scaffold: Context::index(&ctx.scaffolds, &o.scaffold)?,
                prompt: prompts.iter().position(|p| *p == o.prompt)?,
                rater: ctx.humans.iter().position(|h| *h == o.rater)?,
                level: (level >= 0.0 && level.fract() == 0.0).then_some(level as usize)?,
            })
        })
        .collect();
    let used = |f: fn(&clm::Rating) -> usize| ratings.iter().map(f).collect::<BTreeSet<_>>().len();
    if used(|r| r.model) < 2 || used(|r| r.scaffold) < 2 {
        return (
            None,
            Some("fewer than two models or scaffolds were rated".into()),
        );
    }
    let names = clm::Names {
        models: &ctx.models,
        scaffolds: &ctx.scaffolds,
        prompts: &prompts,
        raters: &ctx.humans,
    };
    match clm::latent_interaction_test(&ratings, &names) {
        Ok(t) => (Some(t), None),
        Err(e) => (
            None,
            Some(format!(
                "the cumulative-link model could not be fitted: {e}"
            )),
        ),
    }
}

/// Bootstrap replicates behind the variance components' intervals.
const VARIANCE_REPLICATES: usize = 500;

fn variance(ctx: &Context<'_>, dim: &Dimension) -> Option<VarianceShares> {
    let prompts: Vec<&str> = ctx
        .observations
        .iter()
        .map(|o| o.prompt.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ratings: Vec<Rating> = ctx
        .observations
        .iter()
        .filter(|o| o.dimension == dim.id)
        .filter_map(|o| {
            Some(Rating {
                model: Context::index(&ctx.models, &o.model)?,
                scaffold: Context::index(&ctx.scaffolds, &o.scaffold)?,
                prompt: prompts.iter().position(|p| *p == o.prompt)?,
                rater: ctx.humans.iter().position(|h| *h == o.rater)?,
                y: o.score,
            })
        })
        .collect();
    let c = gtheory::components(
        &ratings,
        VARIANCE_REPLICATES,
        ctx.seed(&["variance", &dim.id]),
    )?;
    let total: f64 = c.components.iter().filter_map(|e| e.variance).sum();
    let exceeds = gtheory::exceeds(&c);
    let sentence = variance_sentence(&c, exceeds);
    Some(VarianceShares {
        shares: Vec::new(),
        components: c
            .components
            .iter()
            .map(|e| VarianceComponent {
                component: e.facet.name().to_string(),
                variance: e.variance,
                truncated: e.truncated,
                share: e.variance.filter(|_| total > 0.0).map(|v| v / total),
                ci_low: e.ci.map(|ci| ci.0),
                ci_high: e.ci.map(|ci| ci.1),
            })
            .collect(),
        g_raters: c.g,
        g_raters_ci: c.g_ci,
        raters_per_item: Some(c.raters_per_item),
        bootstrap_replicates: c.replicates,
        interaction_exceeds_model: exceeds,
        n_obs: c.n_obs,
        sentence,
    })
}

/// Compares the model × scaffold and model components only as far as their intervals allow.
fn variance_sentence(c: &gtheory::Components, exceeds: bool) -> String {
    let describe = |f: Facet| {
        let e = c.get(f)?;
        let (lo, hi) = e.ci?;
        Some((
            format!("{:.2} (95% CI {lo:.2} to {hi:.2})", e.variance?),
            lo,
            hi,
        ))
    };
    let (Some((mxs, mxs_lo, mxs_hi)), Some((model, model_lo, _))) =
        (describe(Facet::ModelxScaffold), describe(Facet::Model))
    else {
        return "The design does not separate the model and model × scaffold components on \
                this dimension, so they are not compared."
            .into();
    };
    if exceeds {
        format!(
            "The model × scaffold variance component, {mxs}, exceeds the model component, \
             {model}, with intervals that do not overlap: a model-level score, which averages \
             over scaffolds, would hide how differently the models respond to the same protocol."
        )
    } else if mxs_hi < model_lo {
        format!(
            "The model component, {model}, exceeds the model × scaffold component, {mxs}, with \
             intervals that do not overlap: scaffold effects differ less between these models \
             than the models differ."
        )
    } else if mxs_lo > 0.0 {
        format!(
            "The model × scaffold component is {mxs} and the model component {model}: the \
             interaction is present, but the intervals overlap, so these data do not say which \
             is larger."
        )
    } else {
        format!(
            "The model × scaffold component is {mxs} and the model component {model}: the \
             intervals overlap, so these data do not say which is larger."
        )
    }
}

/// The scaffold the headline reports: the plan's, else one named like the primary dimension,
/// else the first non-baseline scaffold.
pub(super) fn headline_scaffold(ctx: &Context<'_>, primary: &str) -> Option<usize> {
    if let Some(declared) = &ctx.input.plan.scaffold
        && let Some(i) = Context::index(&ctx.scaffolds, declared).filter(|&i| i != ctx.baseline)
    {
        return Some(i);
    }
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

/// Builds the pooled context: one rating per (transcript, rater, dimension), one guess per
/// (transcript, rater), one blinded text per transcript.
fn context<'a>(input: &'a Input<'a>) -> Context<'a> {
    let study = input.study;
    let scaffolds: Vec<String> = study.scaffolds.iter().map(|s| s.id.clone()).collect();
    let baseline = scaffolds
        .iter()
        .position(|s| *s == input.plan.baseline)
        .unwrap_or(0);
    let ratings = pooling::pool(input.observations.clone(), &input.rounds);
    let humans: Vec<String> = ratings
        .kept
        .iter()
        .map(|o| o.rater.clone())
        .filter(|r| !is_judge(r) && r != CONSENSUS)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let kept_keys: BTreeSet<(&str, &str, &str)> = ratings.kept.iter().map(|o| o.key()).collect();
    let mut later = ratings.later.clone();
    later.extend(
        ratings
            .anchors
            .iter()
            .filter(|a| kept_keys.contains(&a.key()))
            .cloned(),
    );
    let adjudicated = super::drift::adjudicated_scores(
        &ratings.kept,
        &ratings.adjudications,
        &humans,
        input.plan.adjudication,
    );
    let drift =
        super::drift::round_adjustments(&ratings.kept, &ratings.anchors, &humans, &input.rounds);
    Context {
        input,
        adjudication_rounds: ratings
            .adjudications
            .iter()
            .map(|o| o.round.clone())
            .collect(),
        adjudicated,
        drift,
        anchors: ratings.anchors,
        observations: ratings.kept,
        later,
        guesses: pooling::pool(input.guesses.clone(), &input.rounds).kept,
        texts: pooling::pool(input.texts.clone(), &input.rounds).kept,
        models: study.crossed_models.clone(),
        scaffolds,
        baseline,
        humans,
    }
}

pub fn analyze(input: &Input<'_>) -> StudyResults {
    let study = input.study;
    let ctx = context(input);
    let plan = &input.plan;
    let primary = plan.primary.clone();
    let headline_s = headline_scaffold(&ctx, &primary);
    let judges: Vec<String> = ctx
        .observations
        .iter()
        .map(|o| o.rater.clone())
        .filter(|r| is_judge(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // Efficacy first, for every dimension: the verdicts need the whole family's p-values.
    let mut main: Vec<Efficacy> = study
        .rubric
        .dimensions
        .iter()
        .map(|dim| efficacy::efficacy(&ctx, dim, &Spec::registered()))
        .collect();
    efficacy::adjust_families(&mut main, plan);
    let cross_round = super::drift::cross_round_pairs(&ctx);
    for e in main.iter_mut().flat_map(|m| m.effects.iter_mut()) {
        e.cross_round = cross_round.contains(&(e.model.clone(), e.scaffold.clone()));
    }
    // Re-analyses of one dimension (single raters, specifications) keep the family: under a
    // study-wide family the other dimensions' registered p-values stay in it.
    let others = |i: usize| -> Vec<Option<f64>> {
        if plan.family != Family::Study {
            return Vec::new();
        }
        main.iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, e)| e.p_values())
            .collect()
    };

    let mut dimensions = Vec::new();
    for (i, (dim, main)) in study.rubric.dimensions.iter().zip(main.iter()).enumerate() {
        let sensitivity = sensitivity(&ctx, dim, main, &others(i));
        let spec_curve = if dim.id == primary {
            headline_s.and_then(|s| spec_curve(&ctx, dim, s, main, &others(i)))
        } else {
            None
        };
        let latent_test = latent(&ctx, dim);
        dimensions.push(DimensionResults {
            id: dim.id.clone(),
            question: dim.question.clone(),
            scale: match dim.scale {
                Scale::Binary => "binary".into(),
                Scale::Ordinal => "ordinal".into(),
            },
            min: dim.min() as f64,
            max: dim.max() as f64,
            margin: plan.margin(dim),
            agreement: agreement(&ctx, dim),
            cells: main.cells.clone(),
            effects: main.effects.clone(),
            interaction: interaction(&ctx, dim),
            latent: latent_test.0,
            latent_note: latent_test.1,
            kinds: interaction::classify(
                &interaction::Verdicts {
                    effects: &main.effects,
                    cells: &main.cells,
                    baseline: &plan.baseline,
                    min: dim.min() as f64,
                    max: dim.max() as f64,
                    margin: plan.margin(dim),
                },
                &ctx.models,
            ),
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
    // A variance comparison is read as model dependence only when a scale-free test or a
    // non-removable pair shows it.
    for d in dimensions.iter_mut() {
        if interaction::claim(d, plan.alpha()) != Claim::DependsOnModel
            && let Some(v) = d.variance.as_mut()
            && v.interaction_exceeds_model
        {
            v.sentence = format!(
                "The model × scaffold variance component's interval lies above the model \
                 component's, but no scale-free test or pair of models shows a model x scaffold \
                 interaction on {}, so this is not evidence that efficacy depends on the model.",
                d.id
            );
        }
    }

    let profiles = ctx
        .models
        .iter()
        .flat_map(|m| ctx.scaffolds.iter().map(move |s| (m, s)))
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
    let others_primary = study
        .rubric
        .dimensions
        .iter()
        .position(|d| d.id == primary)
        .map(others)
        .unwrap_or_default();
    let human_pairs = |obs: &[Observation]| -> BTreeSet<(String, String)> {
        obs.iter()
            .filter(|o| ctx.humans.contains(&o.rater))
            .map(|o| (o.cell_id.clone(), o.rater.clone()))
            .collect()
    };
    StudyResults {
        study: study.name.clone(),
        run: input.run.to_string(),
        rounds: input.rounds.clone(),
        protocol_hash: input.protocol_hash.to_string(),
        hashes: input.hashes.clone(),
        models: ctx.models.clone(),
        scaffolds: ctx.scaffolds.clone(),
        baseline: plan.baseline.clone(),
        primary,
        confidence: plan.confidence,
        resamples: plan.resamples as u32,
        permutations: plan.permutations as u32,
        seed: plan.seed,
        raters: ctx.humans.clone(),
        judges,
        n_items: ctx
            .observations
            .iter()
            .map(|o| o.cell_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        n_ratings: human_pairs(&ctx.observations).len(),
        n_rerated: human_pairs(&ctx.later).len(),
        min_prompts: plan.min_prompts as u32,
        family: plan.family.as_str().to_string(),
        coverage: input.coverage.clone(),
        dimensions,
        profiles,
        blinding: blinding_check(&ctx),
        prereg: input.prereg.clone(),
        headline,
        rounds_analysis: super::drift::rounds_analysis(&ctx, &main, &cross_round, &others_primary),
    }
}

/// Each human rater alone: the whole efficacy analysis redone from their scores, each verdict
/// compared with the pooled one.
fn sensitivity(
    ctx: &Context<'_>,
    dim: &Dimension,
    main: &Efficacy,
    others: &[Option<f64>],
) -> Vec<RaterSensitivity> {
    ctx.humans
        .iter()
        .map(|rater| {
            let spec = Spec {
                aggregation: Aggregation::Rater(rater.clone()),
                ..Spec::registered()
            };
            let mut alone = vec![efficacy::efficacy(ctx, dim, &spec)];
            efficacy::adjust_with(&mut alone, others, &ctx.input.plan);
            RaterSensitivity {
                rater: rater.clone(),
                labels: alone[0]
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
        .collect()
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
            .map(|v| {
                format!(
                    "; {:.0}% of transcripts at the top level (every rater)",
                    100.0 * v
                )
            })
            .unwrap_or_default();
        let note = e
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        sentences.push(format!(
            "{model}: the {scaffold_id} scaffold's effect on {primary} is {} {} vs {}: {}{note}{ceiling}.",
            fmt_signed(e.effect.value),
            fmt_ci(&e.effect),
            ctx.scaffolds[ctx.baseline],
            e.label_text
        ));
    }
    sentences.extend(interaction_sentence(dim, ctx.input.plan.alpha()));
    if dim.agreement.unreliable {
        let a = &dim.agreement.krippendorff_alpha;
        let alpha = match (a.value, a.ci_low, a.ci_high) {
            (Some(v), Some(l), Some(h)) => format!("{v:.3} [{l:.3}, {h:.3}]"),
            (Some(v), _, _) => format!("{v:.3}, no interval"),
            _ => "undefined".into(),
        };
        sentences.push(format!(
            "Caution: rater agreement on {primary} is not shown to reach the 0.667 that even tentative conclusions need (Krippendorff's alpha {alpha}), so these numbers may rest on unreliable ratings."
        ));
    }
    Headline {
        dimension: primary.to_string(),
        scaffold: scaffold_id.clone(),
        sentences,
    }
}

/// The headline's interaction sentence: "depends on the model" only with a non-removable
/// interaction (a crossover, or present vs absent) or a significant latent-scale test.
fn interaction_sentence(dim: &DimensionResults, alpha: f64) -> Option<String> {
    let primary = &dim.id;
    let tests = interaction::tests_text(dim);
    Some(match interaction::claim(dim, alpha) {
        Claim::Untested => return None,
        Claim::DependsOnModel => {
            let non_removable: Vec<String> = dim
                .kinds
                .iter()
                .filter(|k| k.kind.is_non_removable())
                .map(|k| {
                    format!(
                        "{} vs {} under {} ({})",
                        k.model_a,
                        k.model_b,
                        k.scaffold,
                        k.kind.text()
                    )
                })
                .collect();
            let why = if non_removable.is_empty() {
                "the interaction holds on the latent scale".to_string()
            } else {
                format!("non-removable interaction: {}", non_removable.join("; "))
            };
            format!("Scaffold efficacy on {primary} depends on the model ({why}; {tests}).")
        }
        Claim::PossibleArtefact => format!(
            "The model x scaffold interaction on {primary} shown on the rating scale may be a scale (floor or ceiling) artefact: no pair of models shows a crossover or a present-vs-absent effect, and the latent-scale test does not show an interaction ({tests})."
        ),
        Claim::NotShown => format!(
            "These data do not show that scaffold efficacy on {primary} depends on the model ({tests})."
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

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
    fn permutation_p_values_at_their_floor_are_bounds() {
        use hypothesis::p_relation;
        assert_eq!(p_relation(1.0 / 10_001.0, Some(10_000)), "≤ 0.0001");
        assert_eq!(p_relation(1.0 / 1_000.0, Some(999)), "≤ 0.0010");
        assert_eq!(p_relation(0.0312, Some(10_000)), "= 0.0312");
        // An exact p of 1/36 is a value, not a bound.
        assert_eq!(p_relation(1.0 / 36.0, None), "= 0.0278");
    }
}
