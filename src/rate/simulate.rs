//! Simulated human raters.
//!
//! The offline demo and the tests need rating data with the properties of real human ratings:
//! raters read the text (here: the cue scorer's latent score), some are more lenient than others,
//! and they are noisy, so two raters agree well but not perfectly. Agreement statistics and the
//! un-blinded analysis can then be exercised on data whose structure is known. Each rater's
//! leniency and noise are drawn once from (rater name, seed); each rating adds that leniency and
//! fresh Gaussian noise to the latent score, then rounds to the nearest declared level.
//!
//! Leniency and noise are expressed on the canonical 0-2 scale and scaled by half the width of a
//! dimension's declared range, so a 1-5 helpfulness scale gets proportionally larger offsets.

use std::collections::BTreeMap;

use crate::rate::cues::{self, DimensionSpec};
use crate::sim::model::Role;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Range of rater leniency (added to the latent score, canonical 0-2 units).
const BIAS_RANGE: (f64, f64) = (-0.2, 0.2);
/// Range of the standard deviation of a rater's per-rating noise (canonical 0-2 units).
const NOISE_SD_RANGE: (f64, f64) = (0.25, 0.42);

/// One simulated rater's fixed traits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaterProfile {
    pub name: String,
    /// Leniency (positive) or harshness (negative), canonical 0-2 units.
    pub bias: f64,
    /// Standard deviation of per-rating noise, canonical 0-2 units.
    pub noise_sd: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("dimension {0:?} declares no levels")]
    NoLevels(String),
}

impl RaterProfile {
    /// The rater's traits, derived deterministically from (name, seed).
    pub fn new(name: &str, seed: u64) -> RaterProfile {
        let mut h = Sha256::new();
        h.update(b"blindfold-rater-v1\0");
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(seed.to_le_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut rng = ChaCha8Rng::from_seed(digest);
        let uniform =
            |rng: &mut ChaCha8Rng, (lo, hi): (f64, f64)| lo + (hi - lo) * rng.random::<f64>();
        RaterProfile {
            name: name.to_string(),
            bias: uniform(&mut rng, BIAS_RANGE),
            noise_sd: uniform(&mut rng, NOISE_SD_RANGE),
        }
    }
}

/// A standard normal draw by the Box-Muller transform from two uniforms of the stream.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Rates one conversation on every dimension: latent cue score + rater leniency + Gaussian noise,
/// rounded to the nearest declared level. Draws exactly one normal per dimension from `rng`.
pub fn rate_item(
    profile: &RaterProfile,
    rng: &mut ChaCha8Rng,
    dims: &[DimensionSpec],
    conversation: &[(Role, &str)],
) -> Result<Vec<(String, i64)>, RateError> {
    let found = cues::extract_cues(conversation);
    let mut out = Vec::with_capacity(dims.len());
    for dim in dims {
        let no_levels = || RateError::NoLevels(dim.id.to_string());
        let latent = cues::latent_from_cues(dim, &found, conversation).ok_or_else(no_levels)?;
        let lo = dim
            .levels
            .iter()
            .map(|(v, _)| *v)
            .min()
            .ok_or_else(no_levels)? as f64;
        let hi = dim
            .levels
            .iter()
            .map(|(v, _)| *v)
            .max()
            .ok_or_else(no_levels)? as f64;
        let scale = (hi - lo) / 2.0;
        let noisy = latent + scale * (profile.bias + profile.noise_sd * standard_normal(rng));
        let level = cues::nearest_level(dim.levels, noisy).ok_or_else(no_levels)?;
        out.push((dim.id.to_string(), level));
    }
    Ok(out)
}

/// A simulated rater's whole packet: reads the blinded items only (never the key) and returns a
/// ratings file in the import format, with "no" as the answer to the identity question. The
/// rater's leniency and noise come from its name and `seed`; each item's draws from the seed and
/// the item id, so the sheet does not depend on packet order.
pub fn rate_packet(
    packet: &crate::blind::packet::PacketJson,
    seed: u64,
) -> Result<Vec<u8>, RateError> {
    rate_packet_drifted(packet, seed, 0.0)
}

/// [`rate_packet`] by a rater whose leniency moved by `drift` (canonical 0-2 units) since the
/// seed fixed it: the drift a later round's anchors should measure.
pub fn rate_packet_drifted(
    packet: &crate::blind::packet::PacketJson,
    seed: u64,
    drift: f64,
) -> Result<Vec<u8>, RateError> {
    let mut profile = RaterProfile::new(&packet.rater, seed);
    profile.bias += drift;
    let levels: Vec<Vec<(i64, &str)>> = packet
        .rubric
        .dimensions
        .iter()
        .map(|d| {
            d.levels
                .iter()
                .map(|l| (l.value, l.anchor.as_str()))
                .collect()
        })
        .collect();
    let dims: Vec<DimensionSpec> = packet
        .rubric
        .dimensions
        .iter()
        .zip(&levels)
        .map(|(d, levels)| DimensionSpec {
            id: &d.id,
            question: &d.question,
            levels,
        })
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(&packet.csv_columns)
        .expect("writing to memory");
    for item in &packet.items {
        let conversation: Vec<(Role, &str)> = item
            .turns
            .iter()
            .filter_map(|t| match t.role {
                crate::provider::Role::User => Some((Role::User, t.content.as_str())),
                crate::provider::Role::Assistant => Some((Role::Assistant, t.content.as_str())),
                crate::provider::Role::System => None,
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(crate::hash::derive_seed(&[
            "simulated-rater",
            &packet.rater,
            &seed.to_string(),
            &item.item_id,
        ]));
        let scores: BTreeMap<String, i64> = rate_item(&profile, &mut rng, &dims, &conversation)?
            .into_iter()
            .collect();
        let row: Vec<String> = packet
            .csv_columns
            .iter()
            .map(|column| match column.as_str() {
                "rater" => packet.rater.clone(),
                "item_id" => item.item_id.clone(),
                "comment" => String::new(),
                "identity_guess" => "no".to_string(),
                dim => scores.get(dim).map(i64::to_string).unwrap_or_default(),
            })
            .collect();
        writer.write_record(&row).expect("writing to memory");
    }
    Ok(writer.into_inner().expect("writing to memory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::{SimModel, respond};

    const VS: &[(i64, &str)] = &[
        (0, "nothing"),
        (1, "some help"),
        (2, "claims, sources, confidence"),
    ];
    const PS: &[(i64, &str)] = &[
        (0, "none"),
        (1, "partial"),
        (2, "plan, assumptions, invitation"),
    ];
    const UD: &[(i64, &str)] = &[(0, "none"), (1, "some"), (2, "explicit")];
    const HE: &[(i64, &str)] = &[(1, ""), (2, ""), (3, ""), (4, ""), (5, "")];

    fn dims() -> Vec<DimensionSpec<'static>> {
        vec![
            DimensionSpec {
                id: "verification_support",
                question: "",
                levels: VS,
            },
            DimensionSpec {
                id: "process_steerability",
                question: "",
                levels: PS,
            },
            DimensionSpec {
                id: "uncertainty_disclosure",
                question: "",
                levels: UD,
            },
            DimensionSpec {
                id: "helpfulness",
                question: "",
                levels: HE,
            },
        ]
    }

    #[test]
    fn profiles_are_deterministic_and_differ_between_raters() {
        assert_eq!(RaterProfile::new("r1", 1), RaterProfile::new("r1", 1));
        assert_ne!(RaterProfile::new("r1", 1), RaterProfile::new("r2", 1));
        assert_ne!(RaterProfile::new("r1", 1), RaterProfile::new("r1", 2));
        for i in 0..50 {
            let p = RaterProfile::new(&format!("rater-{i}"), 9);
            assert!((BIAS_RANGE.0..BIAS_RANGE.1).contains(&p.bias));
            assert!((NOISE_SD_RANGE.0..NOISE_SD_RANGE.1).contains(&p.noise_sd));
        }
    }

    #[test]
    fn box_muller_has_standard_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // Standard errors: 1/sqrt(n) ~ 0.007 for the mean, sqrt(2/n) ~ 0.01 for the variance.
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn ratings_are_in_range_and_fail_on_empty_levels() {
        let convo = [
            (Role::User, "How do I fix a leaking tap?"),
            (Role::Assistant, "Replace the washer."),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = RaterProfile {
            name: "extreme".into(),
            bias: 5.0,
            noise_sd: 0.0,
        };
        let got = rate_item(&p, &mut rng, &dims(), &convo).unwrap();
        assert_eq!(
            got,
            vec![
                ("verification_support".to_string(), 2),
                ("process_steerability".to_string(), 2),
                ("uncertainty_disclosure".to_string(), 2),
                ("helpfulness".to_string(), 5),
            ]
        );
        let empty = [DimensionSpec {
            id: "x",
            question: "",
            levels: &[],
        }];
        assert_eq!(
            rate_item(&p, &mut rng, &empty, &convo),
            Err(RateError::NoLevels("x".into()))
        );
    }

    /// Krippendorff's alpha, interval metric, two raters, no missing values (Krippendorff 2011,
    /// "Computing Krippendorff's Alpha-Reliability"): with n = 2N pairable values,
    /// D_o = (1/n) * sum over units of 2 (a - b)^2 and D_e = sum over ordered pairs i != j of
    /// (v_i - v_j)^2 / (n (n - 1)); alpha = 1 - D_o / D_e.
    fn krippendorff_interval(a: &[i64], b: &[i64]) -> f64 {
        let values: Vec<f64> = a.iter().chain(b).map(|v| *v as f64).collect();
        let n = values.len() as f64;
        let d_o: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| 2.0 * ((x - y) as f64).powi(2))
            .sum::<f64>()
            / n;
        let mut d_e = 0.0;
        for (i, x) in values.iter().enumerate() {
            for (j, y) in values.iter().enumerate() {
                if i != j {
                    d_e += (x - y).powi(2);
                }
            }
        }
        d_e /= n * (n - 1.0);
        1.0 - d_o / d_e
    }

    #[test]
    fn krippendorff_helper_matches_a_hand_computed_case() {
        // Units (1,1), (2,2), (1,2): D_o = 2*1/6 = 1/3; pooled values 1,1,1,2,2,2 give
        // D_e = 18 / 30 = 0.6; alpha = 1 - (1/3)/0.6 = 4/9.
        let alpha = krippendorff_interval(&[1, 2, 1], &[1, 2, 2]);
        assert!((alpha - 4.0 / 9.0).abs() < 1e-12, "{alpha}");
    }

    use crate::sim::model::test_requests::{
        PROMPTS as STUDY_PROMPTS, STEER, STEERABILITY, VERIFICATION,
    };

    /// One study transcript: model, scaffold index, visible turns.
    type Transcript = (SimModel, usize, Vec<(Role, String)>);

    /// The 3 x 4 x 15 study: every transcript as visible turns.
    fn study_transcripts() -> Vec<Transcript> {
        let both = format!("{VERIFICATION} {STEERABILITY}");
        let scaffolds: [(Option<&str>, bool); 4] = [
            (None, false),
            (Some(VERIFICATION), false),
            (Some(STEERABILITY), true),
            (Some(both.as_str()), true),
        ];
        let mut out = Vec::new();
        for model in SimModel::ALL {
            for (s, (system, steered)) in scaffolds.iter().enumerate() {
                for (p, prompt) in STUDY_PROMPTS.iter().enumerate() {
                    let seed = (s * 100 + p) as u64;
                    let first = respond(model, *system, &[(Role::User, prompt)], seed).text;
                    let mut turns =
                        vec![(Role::User, prompt.to_string()), (Role::Assistant, first)];
                    if *steered {
                        let view: Vec<(Role, &str)> =
                            turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
                        let mut convo = view.clone();
                        convo.push((Role::User, STEER));
                        let second = respond(model, *system, &convo, seed).text;
                        turns.push((Role::User, STEER.to_string()));
                        turns.push((Role::Assistant, second));
                    }
                    out.push((model, s, turns));
                }
            }
        }
        out
    }

    /// Ratings of the whole study by one rater: `[dimension][transcript]`.
    fn rate_study(study: &[Transcript], rater: &RaterProfile, stream: u64) -> Vec<Vec<i64>> {
        let dims = dims();
        let mut rng = ChaCha8Rng::seed_from_u64(stream);
        let mut scores = vec![Vec::new(); dims.len()];
        for (_, _, turns) in study {
            let view: Vec<(Role, &str)> = turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
            for (d, (_, level)) in rate_item(rater, &mut rng, &dims, &view)
                .unwrap()
                .iter()
                .enumerate()
            {
                scores[d].push(*level);
            }
        }
        scores
    }

    #[test]
    fn two_simulated_raters_agree_well_but_not_perfectly() {
        let study = study_transcripts();
        assert_eq!(study.len(), 180);
        let mut vs_alphas = Vec::new();
        for pair in 0..6u64 {
            let a = rate_study(
                &study,
                &RaterProfile::new(&format!("rater-{pair}-a"), 2026),
                2 * pair,
            );
            let b = rate_study(
                &study,
                &RaterProfile::new(&format!("rater-{pair}-b"), 2026),
                2 * pair + 1,
            );
            let alphas: Vec<f64> = (0..4)
                .map(|d| krippendorff_interval(&a[d], &b[d]))
                .collect();
            println!("pair {pair}: alpha (vs, ps, ud, help) = {alphas:.3?}");
            assert!(a[0] != b[0], "raters should not agree perfectly");
            assert!((0.6..0.97).contains(&alphas[0]), "{alphas:?}");
            // Helpfulness varies little between the sims' texts, so noise weighs more there.
            assert!(
                alphas[..3].iter().all(|x| *x > 0.6) && alphas[3] > 0.3,
                "{alphas:?}"
            );
            vs_alphas.push(alphas[0]);
        }
        let mean = vs_alphas.iter().sum::<f64>() / vs_alphas.len() as f64;
        println!("mean verification_support alpha: {mean:.3}");
        assert!((0.7..0.9).contains(&mean), "{mean}");
    }

    #[test]
    fn study_reproduces_the_scaffold_by_model_interaction() {
        // Mean verification_support per (model, scaffold) from one simulated rater.
        let study = study_transcripts();
        let dims = dims();
        let rater = RaterProfile::new("rater-a", 2026);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut sums = [[0.0f64; 4]; 3];
        for (model, s, turns) in &study {
            let view: Vec<(Role, &str)> = turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
            let rated = rate_item(&rater, &mut rng, &dims[..1], &view).unwrap();
            let m = SimModel::ALL.iter().position(|x| x == model).unwrap();
            sums[m][*s] += rated[0].1 as f64 / STUDY_PROMPTS.len() as f64;
        }
        println!("mean verification_support [model][scaffold]: {sums:?}");
        let [alpha, beta, gamma] = sums;
        // Alpha: near 0 without the request, near ceiling with it.
        assert!(alpha[0] < 0.4 && alpha[2] < 0.4, "{alpha:?}");
        assert!(alpha[1] > 1.6 && alpha[3] > 1.6, "{alpha:?}");
        // Beta: unchanged by the scaffold.
        for s in 0..4 {
            assert!(beta[s] < 0.4, "{beta:?}");
        }
        // Gamma: partial with the request.
        assert!(
            (0.6..1.4).contains(&gamma[1]) && (0.6..1.4).contains(&gamma[3]),
            "{gamma:?}"
        );
        assert!(gamma[0] < 0.4, "{gamma:?}");
    }
}
