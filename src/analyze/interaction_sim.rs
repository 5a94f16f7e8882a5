//! Seeded simulations of the interaction analysis (ignored by default; run with
//! `cargo test --release --lib interaction_sim -- --ignored --nocapture`). docs/statistics.md
//! quotes their output.
//!
//! The design is the study's: 3 models x 4 scaffolds x 15 prompts, one transcript per cell,
//! 2 raters per transcript, on the 0–2 primary dimension of the default study. A transcript's
//! latent level is `βₘ + δₘₛ + πₚ + σ_t·N(0, 1)` with prompt effects `πₚ ~ N(0, 0.5²)`; each rater
//! adds `σ_r·N(0, 1)` and rounds to the nearest level in {0, 1, 2}. The whole analysis
//! (`study::analyze`) runs on every simulated study, so the headline's claim is the one the
//! report would print.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::hypothesis::{self, Block};
use super::interaction::{self, Claim, InteractionKind};
use super::results::StudyResults;
use super::study::{self, Input, Observation, Plan};
use crate::plan::ProtocolHashes;
use crate::study::defaults;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

const PROMPT_SD: f64 = 0.5;
/// Transcript and rater noise (latent SDs).
#[derive(Debug, Clone, Copy)]
struct Noise {
    transcript: f64,
    rater: f64,
}

/// The coverage simulation's noise (analyze::coverage).
const NOISY: Noise = Noise {
    transcript: 0.5,
    rater: 0.4,
};
/// Consistent models and raters: what an equivalence margin of an eighth of the scale needs at
/// 15 prompts.
const CONSISTENT: Noise = Noise {
    transcript: 0.25,
    rater: 0.25,
};
const RATERS: usize = 2;

/// Latent means `βₘ + δₘₛ`, `[model][scaffold]`.
type Means = [[f64; 4]; 3];

fn simulate(means: &Means, noise: Noise, seed: u64) -> StudyResults {
    let study = defaults::study().expect("default study");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dim = &study.analysis.primary;
    let mut observations = Vec::new();
    for prompt in &study.prompts {
        let pi = PROMPT_SD * normal(&mut rng);
        for (m, model) in study.crossed_models.iter().enumerate() {
            for (s, scaffold) in study.scaffolds.iter().enumerate() {
                let latent = means[m][s] + pi + noise.transcript * normal(&mut rng);
                for r in 0..RATERS {
                    let score = (latent + noise.rater * normal(&mut rng) + 0.5)
                        .floor()
                        .clamp(0.0, 2.0);
                    observations.push(Observation {
                        round: "r1".into(),
                        cell_id: format!("{m}-{s}-{}", prompt.id),
                        model: model.clone(),
                        scaffold: scaffold.id.clone(),
                        prompt: prompt.id.clone(),
                        repeat: 0,
                        rater: format!("rater{r}"),
                        dimension: dim.clone(),
                        score,
                        role: Default::default(),
                    });
                }
            }
        }
    }
    let mut plan = Plan::from_study(&study);
    plan.resamples = 100;
    plan.permutations = 999;
    let hashes = ProtocolHashes {
        scaffolds: Default::default(),
        prompts: Default::default(),
        rubric: String::new(),
        models: Default::default(),
    };
    let input = Input {
        study: &study,
        run: "sim",
        protocol_hash: "",
        hashes: &hashes,
        rounds: vec!["r1".into()],
        observations,
        guesses: Vec::new(),
        texts: Vec::new(),
        coverage: Default::default(),
        failed_cells: Vec::new(),
        model_names: Default::default(),
        plan,
        prereg: None,
    };
    study::analyze(&input)
}

#[derive(Debug, Default)]
struct Tally {
    studies: usize,
    depends: usize,
    observed_significant: usize,
    latent_significant: usize,
    non_removable: usize,
    separation: usize,
}

fn run(name: &str, means: &Means, noise: Noise, studies: usize, seed: u64) -> Tally {
    let mut t = Tally::default();
    for i in 0..studies {
        let r = simulate(means, noise, seed.wrapping_add(i as u64));
        let d = r
            .dimensions
            .iter()
            .find(|d| d.id == r.primary)
            .expect("primary");
        t.studies += 1;
        t.depends += usize::from(interaction::claim(d, 0.05) == Claim::DependsOnModel);
        t.observed_significant +=
            usize::from(d.interaction.as_ref().is_some_and(|x| x.p_value < 0.05));
        t.latent_significant += usize::from(d.latent.as_ref().is_some_and(|x| x.p_value < 0.05));
        t.separation += usize::from(d.latent.as_ref().is_some_and(|x| !x.separation.is_empty()));
        t.non_removable +=
            usize::from(d.kinds.iter().any(|k| {
                k.scaffold == "verification" && k.kind == InteractionKind::PresentVsAbsent
            }));
    }
    let share = |k: usize| k as f64 / t.studies as f64;
    println!(
        "{name} ({noise:?}): {} studies (seed {seed}): \"depends on the model\" {:.3}; observed-scale test \
         p < 0.05 {:.3}; latent-scale test p < 0.05 {:.3}; a present-vs-absent pair under \
         verification {:.3}; separation reported {:.3}",
        t.studies,
        share(t.depends),
        share(t.observed_significant),
        share(t.latent_significant),
        share(t.non_removable),
        share(t.separation),
    );
    t
}

#[test]
#[ignore = "simulation: run on demand with --release -- --ignored --nocapture"]
fn additive_latent_effect_with_a_model_near_the_ceiling() {
    // Every scaffold moves every model by the same latent amount; sim-gamma starts near 2.
    let delta = [0.0, 0.7, 0.4, 0.9];
    let beta = [0.5, 0.8, 1.9];
    let means: Means = std::array::from_fn(|m| std::array::from_fn(|s| beta[m] + delta[s]));
    for noise in [NOISY, CONSISTENT] {
        let t = run("additive latent, ceiling", &means, noise, 400, 15_001);
        assert!(t.depends as f64 / t.studies as f64 <= 0.10);
    }
}

#[test]
#[ignore = "simulation: run on demand with --release -- --ignored --nocapture"]
fn a_present_versus_absent_interaction_is_found_and_classified() {
    // Under verification sim-alpha and sim-gamma rise by one level, sim-beta not at all.
    // sim-beta sits within level 0, the others start at 0.3 and sim-alpha and sim-gamma gain a
    // whole level under verification.
    let mut means: Means = [[0.3; 4], [0.0; 4], [0.3; 4]];
    means[0][1] += 1.0;
    means[2][1] += 1.0;
    // The issue's target: detected on scale-free evidence (the headline's "depends on the
    // model") in at least 80% of studies. The per-pair label "present vs absent" needs sim-beta's
    // equivalence interval inside ±0.25 at 15 prompts: 10% of studies with noisy ratings, 35%
    // with consistent ones (docs/statistics.md).
    for noise in [NOISY, CONSISTENT] {
        let t = run("present vs absent", &means, noise, 400, 15_003);
        assert!(t.depends as f64 / t.studies as f64 >= 0.80);
    }
}

/// Scores of prompt blocks with additive effects and model-specific noise (no interaction).
fn heteroscedastic_blocks(sd: [f64; 3], rng: &mut ChaCha8Rng) -> Vec<Block> {
    (0..15)
        .map(|_| {
            let prompt = normal(rng);
            (0..3)
                .map(|m| {
                    (0..4)
                        .map(|s| {
                            Some(prompt + 0.3 * m as f64 + 0.2 * s as f64 + sd[m] * normal(rng))
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

#[test]
#[ignore = "simulation: run on demand with --release -- --ignored --nocapture"]
fn robust_test_holds_its_size_when_models_differ_in_noise() {
    let (datasets, seed) = (2000, 15_002);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut robust, mut permutation) = (0, 0);
    for i in 0..datasets {
        let blocks = heteroscedastic_blocks([0.2, 0.5, 1.2], &mut rng);
        let t = interaction::robust_interaction_test(&blocks, 999, i).expect("test");
        robust += usize::from(t.p_value < 0.05);
        let old = hypothesis::interaction_permutation_test(&blocks, 999, i).expect("test");
        permutation += usize::from(old.p_value < 0.05);
    }
    let size = robust as f64 / datasets as f64;
    println!(
        "equal effects, noise SD 0.2 / 0.5 / 1.2: {datasets} datasets (seed {seed}): size of the \
         robust test {size:.4}; of the row-permutation test it replaces {:.4}",
        permutation as f64 / datasets as f64
    );
    assert!(size <= 0.06);
}
