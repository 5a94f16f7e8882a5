//! The blinding check: could the raters tell which model wrote a transcript? Their own guesses,
//! scored against chance, and a style probe that tries to tell the models apart from the blinded
//! text alone.

use std::collections::BTreeMap;

use super::intervals;
use super::probe;
use super::results::{BlindingCheck, Estimate, StyleProbe};
use super::study::{Context, Guess};
use crate::rate::import::is_judge;

/// The guess names exactly one model: which one.
pub(super) fn resolve_guess(answer: &str, names: &BTreeMap<String, Vec<String>>) -> Option<String> {
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

/// Guesses and texts as pooled by the context: one guess per (transcript, rater), one blinded
/// text per transcript (from its earliest round), so an overlapping round neither counts a guess
/// twice nor puts the same text on both sides of the probe's cross-validation.
pub(super) fn blinding_check(ctx: &Context<'_>) -> BlindingCheck {
    let plan = &ctx.input.plan;
    let humans: Vec<&Guess> = ctx.guesses.iter().filter(|g| !is_judge(&g.rater)).collect();
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
    // (text, label, group) of every text the probe can use; the group ids are the ones the docs
    // would get, in text order.
    let labelled: Vec<(usize, usize, usize)> = ctx
        .texts
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let label = Context::index(&ctx.models, &t.model)?;
            let next = groups.len();
            let group = *groups.entry(t.group.as_str()).or_insert(next);
            Some((i, label, group))
        })
        .collect();
    let seed = ctx.seed(&["style-probe"]);
    // Above probe::MAX_ITEMS the probe looks at a seeded sample (as `identifiability` would draw
    // it): only those texts become documents, which are large.
    let chosen = probe::sample(labelled.len(), seed);
    let doc = |&(i, label, group): &(usize, usize, usize)| {
        crate::blind::round::probe_doc(&ctx.texts[i].turns, label, group)
    };
    let docs: Vec<probe::ProbeDoc> = match &chosen {
        Some(chosen) => chosen.iter().map(|&c| doc(&labelled[c])).collect(),
        None => labelled.iter().map(doc).collect(),
    };
    let style_probe = probe::identifiability_of_sample(
        &docs,
        labelled.len(),
        ctx.models.len(),
        plan.confidence,
        seed,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
