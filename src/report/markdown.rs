//! report.md: the study's results written so that the level of the evidence cannot be missed.
//!
//! The paper behind blindfold argues that alignment claims must be indexed to the level at which
//! the evidence was collected (model, response, interaction, deployment). A scaffold that lifts
//! one model to ceiling and leaves another unchanged shows how easily an interaction-level result
//! gets quoted as a property of "the model" or of "the system". So the report opens by naming its
//! level and what it is not, keeps every number beside its interval, its reliability and its
//! protocol hash, and closes with what it would take to reach a deployment claim, using the
//! study's own numbers rather than boilerplate.
//!
//! The renderer only formats: every statistic comes from `StudyResults`. User-supplied text
//! (ids, questions, sentences, deviations) is escaped so that it renders literally. Figures are
//! marked by HTML comments (`<!-- figure: KIND DIMENSION -->`) that the HTML renderer replaces
//! with inline SVG; report.md also links the SVG files `report` writes beside it.

use std::fmt::Write as _;

use super::format::{
    NA, code, count, effect, estimate, estimate_prose, fixed, level, md, p_value, percent,
    permutation_p, range, tost_level,
};
use super::html::{FigureKind, figure_key, figure_path};

mod agreement;
mod efficacy;
mod interaction;
pub(crate) mod rounds;
use crate::analyze::interaction::{Claim, claim as interaction_claim, tests_text};
use crate::analyze::results::{
    DimensionResults, EffectResult, InteractionResult, Label, StudyResults,
};
use agreement::agreement;
use efficacy::efficacy;
use rounds::rounds;

/// report.md, with the figure files linked.
pub fn report_markdown(results: &StudyResults) -> String {
    render(results, Flavor::File)
}

/// The same Markdown without the image lines, for the HTML report (which inlines the figures at
/// the placeholders instead).
pub(crate) fn markdown_for_html(results: &StudyResults) -> String {
    render(results, Flavor::Html)
}

/// report.md links the figure files; the Markdown behind report.html marks wide tables for
/// styling instead (figures are inlined at the placeholders in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    File,
    Html,
}

/// A single-rater verdict that agrees with the pooled one.
pub(crate) const SAME: &str = "same";

/// Krippendorff's (2004, Content Analysis, 2nd ed.) lowest alpha for tentative conclusions;
/// `Agreement::unreliable` is set from it by the analysis (on alpha's interval).
const ALPHA_FLOOR: &str = "0.667";

/// The mark of a dimension whose alpha is not shown to reach 0.667 (its interval reaches below).
pub(crate) fn unreliable_flag() -> String {
    format!("FLAGGED: α not shown ≥ {ALPHA_FLOOR}")
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}
use Align::{Left, Right};

/// A GFM table. Cells are Markdown already (escaped by the caller).
fn table(out: &mut String, header: &[(&str, Align)], rows: &[Vec<String>]) {
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    out.push_str(&line(header.iter().map(|(h, _)| h.to_string()).collect()));
    out.push_str(&line(
        header
            .iter()
            .map(|(_, a)| match a {
                Left => "---".to_string(),
                Right => "--:".to_string(),
            })
            .collect(),
    ));
    for row in rows {
        let mut cells = row.clone();
        cells.resize(header.len(), String::new());
        out.push_str(&line(cells));
    }
    out.push('\n');
}

/// A table with several estimate [CI] columns: in HTML, every interval goes under its estimate,
/// so that the table fits the page without some cells wrapping and others not.
fn stacked_table(out: &mut String, flavor: Flavor, header: &[(&str, Align)], rows: &[Vec<String>]) {
    if flavor == Flavor::Html {
        out.push_str("<div class=\"stacked\">\n\n");
        table(out, header, rows);
        out.push_str("</div>\n\n");
    } else {
        table(out, header, rows);
    }
}

fn figure(out: &mut String, kind: FigureKind, dimension: &str, alt: &str, flavor: Flavor) {
    let _ = writeln!(out, "<!-- figure: {} -->", figure_key(kind, dimension));
    if flavor == Flavor::File {
        let _ = writeln!(out, "![{}]({})", md(alt), figure_path(kind, dimension));
    }
    out.push('\n');
}

/// "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

fn ids(items: &[String]) -> String {
    and_list(&items.iter().map(|s| md(s)).collect::<Vec<_>>())
}

fn find_dimension<'a>(results: &'a StudyResults, id: &str) -> Option<&'a DimensionResults> {
    results.dimensions.iter().find(|d| d.id == id)
}

fn find_effect<'a>(
    d: &'a DimensionResults,
    model: &str,
    scaffold: &str,
) -> Option<&'a EffectResult> {
    d.effects
        .iter()
        .find(|e| e.model == model && e.scaffold == scaffold)
}

/// The dimension the headline is about: the headline's, else the primary one.
pub(crate) fn headline_dimension(results: &StudyResults) -> Option<&DimensionResults> {
    find_dimension(results, &results.headline.dimension)
        .or_else(|| find_dimension(results, &results.primary))
}

/// The model x scaffold means of one dimension, rows = models, plus the headline scaffold's
/// effect and verdict per model when there is one. Shared with the terminal table.
pub(crate) struct HeadlineGrid {
    pub scaffolds: Vec<String>,
    pub rows: Vec<HeadlineRow>,
    /// The headline scaffold when it has effects in this dimension.
    pub effect_scaffold: Option<String>,
}

pub(crate) struct HeadlineRow {
    pub model: String,
    /// "mean [lo, hi]" per scaffold, in study order.
    pub means: Vec<String>,
    /// The headline scaffold's effect and verdict text.
    pub effect: Option<(String, String)>,
}

pub(crate) fn headline_grid(results: &StudyResults, d: &DimensionResults) -> HeadlineGrid {
    let headline_scaffold = &results.headline.scaffold;
    let has_effects = !headline_scaffold.is_empty()
        && headline_scaffold != &results.baseline
        && d.effects.iter().any(|e| &e.scaffold == headline_scaffold);
    let rows = results
        .models
        .iter()
        .map(|model| {
            let means = results
                .scaffolds
                .iter()
                .map(|scaffold| {
                    d.cells
                        .iter()
                        .find(|c| &c.model == model && &c.scaffold == scaffold)
                        .map(|c| estimate(&c.mean, 2))
                        .unwrap_or_else(|| NA.to_string())
                })
                .collect();
            let effect_cell = has_effects.then(|| {
                find_effect(d, model, headline_scaffold)
                    .map(|e| (effect(&e.effect), e.label_text.clone()))
                    .unwrap_or_else(|| (NA.to_string(), String::new()))
            });
            HeadlineRow {
                model: model.clone(),
                means,
                effect: effect_cell,
            }
        })
        .collect();
    HeadlineGrid {
        scaffolds: results.scaffolds.clone(),
        rows,
        effect_scaffold: has_effects.then(|| headline_scaffold.clone()),
    }
}

/// The significance level implied by the confidence level (0.95 -> 0.05).
fn alpha_level(results: &StudyResults) -> f64 {
    1.0 - results.confidence
}

fn interaction_p_text(i: &InteractionResult) -> String {
    let (p, at_floor) = if i.exact {
        (p_value(Some(i.p_value)), false)
    } else {
        (
            permutation_p(Some(i.p_value), i.permutations),
            super::format::at_permutation_floor(i.p_value, i.permutations),
        )
    };
    match i.p_holm {
        Some(h) => {
            // The Holm value of a bound is a bound too.
            let holm = if at_floor && !p_value(Some(h)).starts_with('<') {
                format!("≤ {}", p_value(Some(h)))
            } else {
                p_value(Some(h))
            };
            format!("p {}, Holm-adjusted {}", relation(&p), relation(&holm))
        }
        None => format!("p {}", relation(&p)),
    }
}

/// "= 0.0213" or "< 0.0001" / "≤ 0.0010" as they stand.
fn relation(p: &str) -> String {
    if p.starts_with('<') || p.starts_with('≤') || p == NA {
        p.to_string()
    } else {
        format!("= {p}")
    }
}

fn render(results: &StudyResults, flavor: Flavor) -> String {
    let mut out = String::new();
    title(&mut out, results);
    evidence_level(&mut out, results);
    headline(&mut out, results, flavor);
    protocol(&mut out, results);
    agreement(&mut out, results, flavor);
    efficacy(&mut out, results, flavor);
    rounds(&mut out, results);
    profiles(&mut out, results);
    blinding(&mut out, results);
    prereg(&mut out, results);
    robustness(&mut out, results, flavor);
    inferential_distance(&mut out, results);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn title(out: &mut String, r: &StudyResults) {
    let _ = writeln!(out, "# {}: blinded stress-test report\n", md(&r.study));
    let rounds = if r.rounds.is_empty() {
        String::new()
    } else {
        format!(
            " ({} {})",
            if r.rounds.len() == 1 {
                "round"
            } else {
                "rounds"
            },
            ids(&r.rounds)
        )
    };
    let _ = writeln!(
        out,
        "Run {}{rounds}; protocol {}. Written by blindfold {} from the un-blinded ratings.\n",
        code(&r.run),
        code(&r.protocol_hash),
        env!("CARGO_PKG_VERSION"),
    );
}

fn evidence_level(out: &mut String, r: &StudyResults) {
    out.push_str("## Evidence level: interaction-level\n\n");
    let judges = if r.judges.is_empty() {
        String::new()
    } else {
        format!(
            " {} ({}) rated the same transcripts; {} reported beside the humans' and \
             does not stand in for them.",
            plural(r.judges.len(), "automated judge", "automated judges"),
            ids(&r.judges),
            if r.judges.len() == 1 {
                "its agreement is"
            } else {
                "their agreement is"
            }
        )
    };
    let _ = writeln!(
        out,
        "The evidence here is blinded human ratings of transcripts. {} ({}) were each run under \
         {} ({}) on the same {}; {} ({}), who were not told which model or scaffold produced a \
         transcript, rated the {} ({}) on {}.{judges}\n",
        plural(r.models.len(), "model", "models"),
        ids(&r.models),
        plural(
            r.scaffolds.len(),
            "fixed scaffolding protocol",
            "fixed scaffolding protocols"
        ),
        ids(&r.scaffolds),
        plural(r.hashes.prompts.len(), "prompt", "prompts"),
        plural(r.raters.len(), "human rater", "human raters"),
        ids(&r.raters),
        plural(r.n_items, "transcript", "transcripts"),
        plural(r.n_ratings, "rating", "ratings"),
        plural(r.dimensions.len(), "rubric dimension", "rubric dimensions"),
    );
    out.push_str(
        "That makes it interaction-level evidence: it describes what these models did inside \
         these protocols. It is not model-level evidence: it says nothing about how the models \
         behave outside these protocols (under other system prompts, scaffolds, settings or \
         prompts), and no score below is a property of a model. Nor is it deployment-level \
         evidence: there were no real users, no real tasks and no deployment context, so it \
         does not show how any deployed system built on these models behaves in use.\n\n",
    );
}

fn headline(out: &mut String, r: &StudyResults, flavor: Flavor) {
    out.push_str("## Headline\n\n");
    if !r.headline.sentences.is_empty() {
        // One finding per line: a list reads better than a paragraph of numbers.
        for sentence in &r.headline.sentences {
            let _ = writeln!(out, "- {}", md(sentence));
        }
        out.push('\n');
    }
    let Some(d) = headline_dimension(r) else {
        out.push_str("No dimension was analysed.\n\n");
        return;
    };
    let grid = headline_grid(r, d);
    let ci = level(r.confidence);
    match &grid.effect_scaffold {
        Some(s) => {
            let _ = writeln!(
                out,
                "**{}** (primary dimension, {}): mean score [{ci} CI] by model and scaffold, and \
                 the effect of {} versus {} (mean paired difference over prompts).\n",
                md(&d.id),
                range(d.min, d.max),
                md(s),
                md(&r.baseline),
            );
        }
        None => {
            let _ = writeln!(
                out,
                "**{}** (primary dimension, {}): mean score [{ci} CI] by model and scaffold.\n",
                md(&d.id),
                range(d.min, d.max),
            );
        }
    }
    let effect_header = grid
        .effect_scaffold
        .as_ref()
        .map(|s| format!("{} − {}", md(s), md(&r.baseline)));
    let mut header: Vec<(String, Align)> = vec![("Model".into(), Left)];
    header.extend(grid.scaffolds.iter().map(|s| (md(s), Right)));
    if let Some(h) = &effect_header {
        header.push((h.clone(), Right));
        header.push(("Verdict".into(), Left));
    }
    let rows: Vec<Vec<String>> = grid
        .rows
        .iter()
        .map(|grid_row| {
            let mut row = vec![md(&grid_row.model)];
            row.extend(grid_row.means.iter().cloned());
            if let Some((e, label)) = &grid_row.effect {
                row.push(e.clone());
                row.push(md(label));
            }
            row
        })
        .collect();
    let header_refs: Vec<(&str, Align)> = header.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    stacked_table(out, flavor, &header_refs, &rows);
    if d.agreement.unreliable {
        let _ = writeln!(
            out,
            "**{}**: the raters' agreement on {} (Krippendorff's α = {}) is not shown to \
             reach {ALPHA_FLOOR}, too low to carry this headline.\n",
            unreliable_flag(),
            md(&d.id),
            estimate(&d.agreement.krippendorff_alpha, 3)
        );
    }
}

fn protocol(out: &mut String, r: &StudyResults) {
    out.push_str("## Fixed protocol\n\n");
    out.push_str(
        "The transcripts were generated under a protocol fixed by content hashes (SHA-256, from \
         the run manifest): changing a scaffold, a prompt, the rubric or a model's generation \
         settings changes its hash and the protocol hash.\n\n",
    );
    let mut rows = vec![
        vec!["Protocol".to_string(), code(&r.protocol_hash)],
        vec!["Rubric".to_string(), code(&r.hashes.rubric)],
    ];
    // Study order first; anything the manifest lists beyond it afterwards.
    let ordered = |ids: &[String], map: &std::collections::BTreeMap<String, String>| {
        let mut keys: Vec<&String> = ids.iter().filter(|i| map.contains_key(*i)).collect();
        keys.extend(map.keys().filter(|k| !ids.contains(k)));
        keys.into_iter()
            .map(|k| (k.clone(), map[k].clone()))
            .collect::<Vec<_>>()
    };
    for (id, hash) in ordered(&r.scaffolds, &r.hashes.scaffolds) {
        rows.push(vec![format!("Scaffold {}", md(&id)), code(&hash)]);
    }
    for (id, hash) in ordered(&r.models, &r.hashes.models) {
        rows.push(vec![format!("Model settings {}", md(&id)), code(&hash)]);
    }
    table(out, &[("Component", Left), ("SHA-256", Left)], &rows);
    if !r.hashes.prompts.is_empty() {
        let _ = writeln!(
            out,
            "<details>\n<summary>{}: content hashes</summary>\n",
            plural(r.hashes.prompts.len(), "prompt", "prompts")
        );
        let rows: Vec<Vec<String>> = r
            .hashes
            .prompts
            .iter()
            .map(|(id, hash)| vec![md(id), code(hash)])
            .collect();
        table(out, &[("Prompt", Left), ("SHA-256", Left)], &rows);
        out.push_str("</details>\n\n");
    }
    out.push_str("Analysis settings:\n\n");
    let _ = writeln!(
        out,
        "- seed {}; {} bootstrap resamples; {} permutations for the interaction test",
        r.seed,
        count(r.resamples as usize),
        count(r.permutations as usize)
    );
    let _ = writeln!(
        out,
        "- {} confidence intervals ({} for the equivalence tests, TOST)",
        level(r.confidence),
        tost_level(r.confidence)
    );
    let _ = writeln!(
        out,
        "- baseline scaffold: {}; primary dimension: {}",
        md(&r.baseline),
        md(&r.primary)
    );
    let margins: Vec<String> = r
        .dimensions
        .iter()
        .map(|d| {
            format!(
                "{} ±{}",
                md(&d.id),
                crate::analyze::results::trim_number(d.margin)
            )
        })
        .collect();
    if !margins.is_empty() {
        let _ = writeln!(out, "- equivalence margins: {}", margins.join(", "));
    }
    out.push('\n');
}

fn profiles(out: &mut String, r: &StudyResults) {
    out.push_str("## Alignment profiles\n\n");
    out.push_str(
        "Mean score per model and scaffold on every dimension, each on its own scale. A profile \
         describes behaviour under one protocol; it is not a ranking of models.\n\n",
    );
    if r.profiles.is_empty() {
        out.push_str("No profiles were computed.\n\n");
        return;
    }
    let headers: Vec<String> = r
        .dimensions
        .iter()
        .map(|d| {
            format!(
                "{} ({}){}",
                md(&d.id),
                range(d.min, d.max),
                if d.agreement.unreliable { " †" } else { "" }
            )
        })
        .collect();
    let mut header: Vec<(&str, Align)> = vec![("Model", Left), ("Scaffold", Left)];
    header.extend(headers.iter().map(|h| (h.as_str(), Right)));
    let rows: Vec<Vec<String>> = r
        .profiles
        .iter()
        .map(|p| {
            let mut row = vec![md(&p.model), md(&p.scaffold)];
            row.extend(
                r.dimensions
                    .iter()
                    .map(|d| fixed(p.means.get(&d.id).copied().flatten(), 2)),
            );
            row
        })
        .collect();
    table(out, &header, &rows);
    if let Some(d) = headline_dimension(r) {
        interaction::profile_kinds(out, d);
    }
    let unreliable: Vec<String> = r
        .dimensions
        .iter()
        .filter(|d| d.agreement.unreliable)
        .map(|d| md(&d.id))
        .collect();
    if !unreliable.is_empty() {
        let _ = writeln!(
            out,
            "† Reliability not established (the interval of Krippendorff's α reaches below \
             {ALPHA_FLOOR}): read with caution.\n"
        );
    }
}

fn blinding(out: &mut String, r: &StudyResults) {
    out.push_str("## Blinding check\n\n");
    let b = &r.blinding;
    let alpha = alpha_level(r);
    out.push_str(
        "After each rating, raters were asked whether they could tell which model wrote the \
         transcript.\n\n",
    );
    table(
        out,
        &[("", Left), ("Ratings", Right)],
        &[
            vec!["Identity question answered".into(), count(b.answered)],
            vec!["\"No, I could not tell\"".into(), count(b.said_no)],
            vec!["Guessed a model".into(), count(b.guesses)],
            vec![
                "Guess named exactly one of the study's models".into(),
                count(b.resolved),
            ],
            vec!["Guess was correct".into(), count(b.correct)],
        ],
    );
    if b.resolved > 0 {
        let _ = writeln!(
            out,
            "{} of the {} guesses that named one model were correct: a rate of {}, against {} \
             expected by chance (one-sided exact binomial p {}).\n",
            count(b.correct),
            count(b.resolved),
            estimate_prose(&b.correct_rate, 2, r.confidence),
            fixed(b.chance, 2),
            relation(&p_value(b.p_value)),
        );
    }
    if let Some(probe) = &b.style_probe {
        let _ = writeln!(
            out,
            "**Style probe.** A classifier ({}; {} folds, {}) identified the model from the \
             blinded text with accuracy {}, against {} by chance (p {}).\n",
            md(&probe.method),
            count(probe.folds),
            plural(probe.n_items, "transcript", "transcripts"),
            estimate_prose(&probe.accuracy, 2, r.confidence),
            fixed(Some(probe.chance), 2),
            relation(&p_value(probe.p_value)),
        );
        if !probe.per_model.is_empty() {
            let rows: Vec<Vec<String>> = r
                .models
                .iter()
                .filter(|m| probe.per_model.contains_key(*m))
                .chain(probe.per_model.keys().filter(|m| !r.models.contains(m)))
                .map(|m| vec![md(m), fixed(probe.per_model[m], 2)])
                .collect();
            table(
                out,
                &[("Model", Left), ("Share identified correctly", Right)],
                &rows,
            );
        }
    }

    // What it means, in plain words.
    let mut meaning = Vec::new();
    match (b.guesses, b.p_value) {
        (0, _) if b.answered > 0 => {
            meaning.push("No rater ventured a guess at the model, so the blinding held for the raters as far as this check can tell.".to_string());
        }
        (_, Some(p)) if p < alpha => meaning.push(format!(
            "Raters who guessed named the right model more often than chance would (p {}): \
             for those ratings the blinding may not have held, and scores could reflect \
             expectations about a model rather than the transcript.",
            relation(&p_value(Some(p)))
        )),
        (_, Some(p)) => {
            let most = if b.answered > 0 && b.said_no * 2 > b.answered {
                format!(
                    ", and in {} of {} ratings the rater said they could not tell",
                    count(b.said_no),
                    count(b.answered)
                )
            } else {
                String::new()
            };
            meaning.push(format!(
                "Raters' guesses were not better than chance (p {}){most}: as far as this \
                 check can show, the blinding held for the raters.",
                relation(&p_value(Some(p)))
            ));
        }
        _ => {}
    }
    if let Some(probe) = &b.style_probe {
        match probe.p_value {
            Some(p) if p < alpha => meaning.push(
                "The models nonetheless remain identifiable from their style: removing names \
                 does not remove how a model writes. Blinding hid the labels, not the models, \
                 so a rater who learned the styles could tell them apart; the raters' own \
                 guesses above are the check that matters for their scores."
                    .to_string(),
            ),
            Some(_) => meaning.push(
                "The style probe did not identify the models better than chance in these \
                 transcripts."
                    .to_string(),
            ),
            None => {}
        }
    }
    if !meaning.is_empty() {
        let _ = writeln!(out, "{}\n", meaning.join(" "));
    }
}

fn prereg(out: &mut String, r: &StudyResults) {
    out.push_str("## Pre-registration\n\n");
    match &r.prereg {
        Some(p) => {
            let _ = writeln!(
                out,
                "The analysis plan was registered in {} (SHA-256 {}), and this analysis was \
                 checked against it.\n",
                md(&p.source),
                code(&p.document_sha256)
            );
            if p.deviations.is_empty() {
                out.push_str("Deviations from the registered plan: none.\n\n");
            } else {
                let _ = writeln!(
                    out,
                    "Deviations from the registered plan ({}):\n",
                    count(p.deviations.len())
                );
                for dev in &p.deviations {
                    let _ = writeln!(out, "- {}", md(dev));
                }
                out.push('\n');
            }
        }
        None => out.push_str(
            "The analysis was not pre-registered, so every result in this report is \
             exploratory: the primary dimension, the baseline, the equivalence margins and the \
             analysis choices were not fixed in a registered plan before the ratings were seen. \
             Intervals and p-values describe these data; they do not confirm a hypothesis.\n\n",
        ),
    }
}

fn robustness(out: &mut String, r: &StudyResults, flavor: Flavor) {
    out.push_str("## Specification curves and variance decomposition\n\n");
    let any = r
        .dimensions
        .iter()
        .any(|d| d.spec_curve.is_some() || d.variance.is_some());
    if !any {
        out.push_str("No specification curve or variance decomposition was computed.\n\n");
        return;
    }
    for d in &r.dimensions {
        if d.spec_curve.is_none() && d.variance.is_none() {
            continue;
        }
        let _ = writeln!(out, "### {}\n", md(&d.id));
        if let Some(curve) = &d.spec_curve {
            let n = curve.specifications.len();
            let keeping = curve
                .specifications
                .iter()
                .filter(|s| s.keeps_conclusion)
                .count();
            let _ = writeln!(
                out,
                "Specification curve of the contrast \"{}\" ({}): {} of {} specifications ({}) \
                 keep the headline conclusion, i.e. every model's verdict on this scaffold is the \
                 same verdict as in the registered analysis (\"inconclusive\" and \"no verdict\" \
                 are verdicts of their own). The contrast and the choices varied were registered \
                 in the analysis plan; each specification's verdicts are adjusted over the same \
                 family as the registered ones.\n",
                md(&curve.target),
                if curve.declared {
                    "declared in the plan"
                } else {
                    "the plan's default: the study's first two models"
                },
                count(keeping),
                count(n),
                percent(curve.share_keeping),
            );
            figure(
                out,
                FigureKind::SpecCurve,
                &d.id,
                &format!("Specification curve for {}", curve.target),
                flavor,
            );
            let describe = |choices: &[(String, String)]| {
                choices
                    .iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            md(k)
                        } else {
                            format!("{}: {}", md(k), md(v))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            if let Some(reg) = curve.specifications.iter().find(|s| s.is_registered) {
                let _ = writeln!(
                    out,
                    "The registered specification ({}) gives a difference of {}.\n",
                    describe(&reg.choices),
                    effect(&reg.estimate),
                );
            }
            let changing: Vec<String> = curve
                .specifications
                .iter()
                .filter(|s| !s.keeps_conclusion)
                .map(|s| {
                    format!(
                        "- {}: difference {}; {}",
                        describe(&s.choices),
                        effect(&s.estimate),
                        md(&s.changes.join("; "))
                    )
                })
                .collect();
            if !changing.is_empty() {
                out.push_str("Specifications that change the conclusion:\n\n");
                for line in changing {
                    let _ = writeln!(out, "{line}");
                }
                out.push('\n');
            }
        }
        if let Some(v) = &d.variance {
            variance_components(out, v);
        }
    }
}

fn variance_components(out: &mut String, v: &crate::analyze::results::VarianceShares) {
    if v.components.is_empty() {
        // A results.json from before the variance components: its Type I shares depend on
        // the order of the facets, so they are not shown as a decomposition.
        let _ = writeln!(
            out,
            "This results.json holds order-dependent Type I shares from an older version; \
             re-run `blindfold report` for the variance components.\n"
        );
        return;
    }
    let _ = writeln!(
        out,
        "Variance components (Henderson's Method I, which does not depend on the order of the \
         facets; 95% intervals from {} bootstrap resamples of prompts; {}):\n",
        v.bootstrap_replicates,
        plural(v.n_obs, "rating", "ratings")
    );
    let number = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let rows: Vec<Vec<String>> = v
        .components
        .iter()
        .map(|c| {
            let mark = if c.truncated { " *" } else { "" };
            vec![
                md(&c.component),
                format!("{}{mark}", number(c.variance)),
                match (c.ci_low, c.ci_high) {
                    (Some(lo), Some(hi)) => format!("{lo:.3} to {hi:.3}"),
                    _ => "n/a".into(),
                },
                percent(c.share),
            ]
        })
        .collect();
    table(
        out,
        &[
            ("Component", Left),
            ("Variance", Right),
            ("95% interval", Right),
            ("Share", Right),
        ],
        &rows,
    );
    if v.components.iter().any(|c| c.truncated) {
        out.push_str("\\* The estimate was negative and is shown as 0.\n\n");
    }
    match (v.g_raters, v.raters_per_item) {
        (Some(g), Some(k)) => {
            let ci = v.g_raters_ci.map_or(String::new(), |(lo, hi)| {
                format!(" (95% interval {lo:.2} to {hi:.2})")
            });
            let _ = writeln!(
                out,
                "G coefficient for raters: {g:.2}{ci}, the reliability of the mean of {k:.1} \
                 ratings per transcript.\n"
            );
        }
        _ => out.push_str(
            "G coefficient for raters: n/a (no transcript has two ratings, so transcript and \
             rating error cannot be separated).\n\n",
        ),
    }
    if !v.sentence.trim().is_empty() {
        let _ = writeln!(out, "{}\n", md(v.sentence.trim()));
    }
}

fn inferential_distance(out: &mut String, r: &StudyResults) {
    out.push_str("## Inferential distance\n\n");
    let _ = writeln!(
        out,
        "What these data support is a statement of the form: under protocol {}, on these {} \
         and as judged by these {}, scaffold S changed model M's rated behaviour by this much. \
         A claim about a deployed system is a further inference, and each step of it needs \
         evidence of its own: the deployed scaffold, system prompt, tools and settings, not \
         the fixed protocols used here; the users and tasks the system actually serves, whose \
         requests, follow-ups and reliance on answers differ from scripted prompts; outcomes \
         observed in use (whether users in fact verified, steered or caught errors) rather \
         than raters' judgements of transcripts; and monitoring after release, because models, \
         prompts and usage drift once a study ends. A model-level claim needs the converse: \
         behaviour sampled across many protocols rather than measured under {}.\n",
        code(short_hash(&r.protocol_hash)),
        plural(r.hashes.prompts.len(), "prompt", "prompts"),
        plural(r.raters.len(), "rater", "raters"),
        plural(r.scaffolds.len(), "fixed one", "fixed ones"),
    );

    let alpha = alpha_level(r);
    if let Some(d) = headline_dimension(r) {
        let scaffold = &r.headline.scaffold;
        let per_model: Vec<String> = r
            .models
            .iter()
            .filter_map(|m| find_effect(d, m, scaffold))
            .map(|e| {
                format!(
                    "{} {}, {}",
                    md(&e.model),
                    effect(&e.effect),
                    md(&e.label_text)
                )
            })
            .collect();
        let effects = if per_model.is_empty() {
            String::new()
        } else {
            format!(
                " The effects of {} versus {} were: {}.",
                md(scaffold),
                md(&r.baseline),
                per_model.join("; ")
            )
        };
        let tests = md(&tests_text(d));
        match interaction_claim(d, alpha) {
            Claim::DependsOnModel => {
                let _ = writeln!(
                    out,
                    "Nor do the results carry over from one model to another. On {}, the \
                     scaffold effects depended on the model in a way no rescaling of the rating \
                     scale can remove ({tests}).{effects} A scaffold shown to work with one \
                     model is therefore not evidence that it works with another, and still less \
                     with a deployed system built on a model that was not tested.\n",
                    md(&d.id),
                );
            }
            Claim::PossibleArtefact => {
                let _ = writeln!(
                    out,
                    "On {}, the scaffold effects differed between models on the rating scale, \
                     but no pair of models shows a crossover or an effect present for one and \
                     shown absent for the other, and the latent-scale test does not show an \
                     interaction ({tests}).{effects} The difference may be a floor or ceiling \
                     artefact of the bounded scale; the per-model effects above are the safer \
                     summary.\n",
                    md(&d.id),
                );
            }
            Claim::NotShown => {
                let _ = writeln!(
                    out,
                    "On {}, these data do not show that the scaffold effects depend on the model \
                     ({tests}).{effects} That is an absence of evidence, not evidence that the \
                     scaffolds work the same way for every model: with {} a moderate dependence \
                     could go undetected, and the per-model effects above are the safer \
                     summary.\n",
                    md(&d.id),
                    plural(
                        d.interaction.as_ref().map_or(0, |i| i.blocks_used),
                        "prompt block",
                        "prompt blocks"
                    ),
                );
            }
            Claim::Untested => {
                let _ = writeln!(
                    out,
                    "No interaction test is available for {}, so these data say nothing either \
                     way about whether the scaffold effects depend on the model.{effects}\n",
                    md(&d.id),
                );
            }
        }
    }

    let others: Vec<&DimensionResults> = r
        .dimensions
        .iter()
        .filter(|d| Some(d.id.as_str()) != headline_dimension(r).map(|h| h.id.as_str()))
        .filter(|d| interaction_claim(d, alpha) != Claim::Untested)
        .collect();
    if !others.is_empty() {
        let dependent: Vec<String> = others
            .iter()
            .filter(|d| interaction_claim(d, alpha) == Claim::DependsOnModel)
            .map(|d| format!("{} ({})", md(&d.id), md(&tests_text(d))))
            .collect();
        let sentence = if dependent.is_empty() {
            format!(
                "On the other {}, the interaction tests do not show model dependence at the {} \
                 level.",
                plural(others.len(), "dimension", "dimensions"),
                percent_level(alpha)
            )
        } else {
            format!(
                "Among the other dimensions, the effects also depended on the model for {}.",
                and_list(&dependent)
            )
        };
        let _ = writeln!(out, "{sentence}\n");
    }

    let unreliable: Vec<String> = r
        .dimensions
        .iter()
        .filter(|d| d.agreement.unreliable)
        .map(|d| {
            format!(
                "{} (α = {})",
                md(&d.id),
                fixed(d.agreement.krippendorff_alpha.value, 3)
            )
        })
        .collect();
    if !unreliable.is_empty() {
        let _ = writeln!(
            out,
            "Results on {} should support no claim at any level: the raters did not agree on \
             {} well enough to say what was measured.\n",
            and_list(&unreliable),
            if unreliable.len() == 1 { "it" } else { "them" }
        );
    }
    if r.prereg.is_none() {
        out.push_str(
            "Because the analysis was not pre-registered, these findings are exploratory and \
             need a registered replication before they support even an interaction-level \
             claim.\n\n",
        );
    }
}

fn percent_level(alpha: f64) -> String {
    format!("{}%", crate::analyze::results::trim_number(alpha * 100.0))
}

fn short_hash(hash: &str) -> &str {
    match hash.char_indices().nth(12) {
        Some((i, _)) => &hash[..i],
        None => hash,
    }
}

/// Label texts that appear in the report, with the verdict they stand for (for styling).
pub(crate) fn label_texts(results: &StudyResults) -> Vec<(String, Option<Label>)> {
    let all = [
        Label::RaisedToCeiling,
        Label::Improved,
        Label::ImprovedWithinMargin,
        Label::Equivalent,
        Label::Inconclusive,
        Label::WorseWithinMargin,
        Label::Worse,
    ];
    let mut texts: Vec<(String, Option<Label>)> = Vec::new();
    let mut add = |text: String, label: Option<Label>| {
        if !texts.iter().any(|(t, _)| *t == text) {
            texts.push((text, label));
        }
    };
    for d in &results.dimensions {
        for label in all {
            add(label.text(d.margin), Some(label));
        }
        for e in &d.effects {
            add(e.label_text.clone(), e.label);
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn snapshot(name: &str, text: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.add_filter(r"blindfold \d+\.\d+\.\d+\S*", "blindfold [version]");
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    #[test]
    fn report_markdown_matches_snapshot() {
        snapshot("report_md", &report_markdown(&fixture::results()));
    }

    /// Section headings in the order of the reporting template.
    #[test]
    fn sections_follow_the_template() {
        let md = report_markdown(&fixture::results());
        let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
        assert_eq!(
            headings,
            [
                "## Evidence level: interaction-level",
                "## Headline",
                "## Fixed protocol",
                "## Raters and agreement",
                "## Efficacy by dimension",
                "## Alignment profiles",
                "## Blinding check",
                "## Pre-registration",
                "## Specification curves and variance decomposition",
                "## Inferential distance",
            ]
        );
    }

    #[test]
    fn figures_are_placeholders_followed_by_their_files() {
        let r = fixture::results();
        let md = report_markdown(&r);
        let lines: Vec<&str> = md.lines().collect();
        let mut found = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some(key) = line
                .strip_prefix("<!-- figure: ")
                .and_then(|l| l.strip_suffix(" -->"))
            {
                let (kind, dim) = key.split_once(' ').unwrap();
                let image = lines[i + 1];
                assert!(
                    image.starts_with("![")
                        && image.ends_with(&format!("(figures/{kind}-{dim}.svg)")),
                    "{image}"
                );
                found.push(key.to_string());
            }
        }
        let mut expected = Vec::new();
        for d in &r.dimensions {
            expected.push(format!("heatmap {}", d.id));
            expected.push(format!("effects {}", d.id));
        }
        expected.push("spec-curve verification_support".to_string());
        found.sort();
        expected.sort();
        assert_eq!(found, expected);
        // The HTML flavour keeps the placeholders and drops the image lines.
        let for_html = markdown_for_html(&r);
        assert_eq!(for_html.matches("<!-- figure: ").count(), expected.len());
        assert!(!for_html.contains("](figures/"));
    }

    #[test]
    fn the_unreliable_dimension_is_flagged_everywhere_it_is_reported() {
        let md = report_markdown(&fixture::results());
        let flag = unreliable_flag();
        // Agreement table and the dimension's efficacy section.
        // Three dimensions have alpha's interval reaching below 0.667, each flagged in the
        // agreement table and in its efficacy section; the reliable-or-uncertain one is not.
        assert_eq!(md.matches(&format!("**{flag}**")).count(), 6, "{md}");
        assert!(md.contains("uncertainty_disclosure (0–2) †"));
        assert!(md.contains("verification_support (0–2) |"));
        assert!(md.contains(
            "Results on process_steerability (α = 0.734), uncertainty_disclosure (α = 0.412) and \
             helpfulness (α = 0.688) should support no claim"
        ));
    }

    #[test]
    fn undefined_values_print_as_na() {
        let md = report_markdown(&fixture::results());
        // The unrated cell, its effect, Fleiss' kappa of helpfulness, a missing judge alpha.
        assert!(
            md.contains("| sim-gamma | verification-steerability | 0 (0) | n/a | n/a |"),
            "{md}"
        );
        // No verdict without data, and the note under the table says why.
        assert!(md.contains(
            "| sim-gamma | verification-steerability | 0 | n/a | n/a | [n/a] | n/a | no verdict | n/a |"
        ));
        assert!(md.contains(
            "- sim-gamma / verification-steerability: no prompt was rated under both scaffolds"
        ));
        assert!(md.contains(
            "| helpfulness | ordinal | 144 | 0.791 [0.731, 0.851] | 0.688 [0.607, 0.755] | n/a |"
        ));
        let bad = regex::Regex::new(r"\bNaN\b|\binf\b|-0\.00\b").unwrap();
        assert!(!bad.is_match(&md), "{:?}", bad.find(&md));
    }

    #[test]
    fn user_text_cannot_break_tables_or_inject_html() {
        let mut r = fixture::results();
        r.models[0] = "evil|<script>alert(1)</script>\nnext".into();
        for d in &mut r.dimensions {
            for c in &mut d.cells {
                if c.model == "sim-alpha" {
                    c.model = r.models[0].clone();
                }
            }
        }
        r.headline
            .sentences
            .push("<!-- figure: heatmap helpfulness -->".into());
        let md = report_markdown(&r);
        assert!(
            md.contains("evil\\|\\<script>alert(1)\\</script> next"),
            "{md}"
        );
        let mut html = String::new();
        pulldown_cmark::html::push_html(
            &mut html,
            pulldown_cmark::Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES),
        );
        assert!(!html.contains("<script"));
        assert!(html.contains("evil|&lt;script&gt;alert(1)&lt;/script&gt; next"));
        // Only our own placeholders are comments.
        let placeholders = md
            .lines()
            .filter(|l| l.starts_with("<!-- figure: heatmap helpfulness -->"))
            .count();
        assert_eq!(placeholders, 1);
        assert!(md.contains("\\<!-- figure: heatmap helpfulness -->"));
        // Every table row of a table has as many cells as its header.
        check_tables(&md);
    }

    /// Every GFM table row has the header's number of (unescaped) pipes.
    fn check_tables(md: &str) {
        let pipes = |line: &str| {
            let mut n = 0;
            let mut escaped = false;
            for c in line.chars() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '|' if !escaped => n += 1,
                    _ => escaped = false,
                }
                if c != '\\' {
                    escaped = false;
                }
            }
            n
        };
        let mut expected = None;
        for line in md.lines() {
            if line.starts_with('|') {
                let n = pipes(line);
                match expected {
                    None => expected = Some(n),
                    Some(e) => assert_eq!(n, e, "{line}"),
                }
            } else {
                expected = None;
            }
        }
    }

    #[test]
    fn tables_are_rectangular() {
        check_tables(&report_markdown(&fixture::results()));
    }

    #[test]
    fn no_preregistration_is_called_exploratory() {
        let mut r = fixture::results();
        r.prereg = None;
        let md = report_markdown(&r);
        assert!(md.contains(
            "The analysis was not pre-registered, so every result in this report is exploratory"
        ));
        assert!(md.contains("need a registered replication"));
        r.prereg = Some(Default::default());
        assert!(report_markdown(&r).contains("Deviations from the registered plan: none."));
    }

    #[test]
    fn model_dependence_is_claimed_only_on_scale_free_evidence() {
        use crate::analyze::interaction::InteractionKind;
        let depends = "depended on the model in a way no rescaling";
        let md = report_markdown(&fixture::results());
        let distance = md.split("## Inferential distance").nth(1).unwrap();
        assert!(distance.contains(depends), "{distance}");

        // Neither test significant and no non-removable pair: nothing is claimed.
        let mut r = fixture::results();
        let d = &mut r.dimensions[0];
        let i = d.interaction.as_mut().unwrap();
        i.p_value = 0.41;
        i.p_holm = Some(0.82);
        d.latent.as_mut().unwrap().p_value = 0.3;
        d.kinds.retain(|k| !k.kind.is_non_removable());
        let md = report_markdown(&r);
        let distance = md.split("## Inferential distance").nth(1).unwrap();
        assert!(distance.contains(
            "On verification_support, these data do not show that the scaffold effects depend on \
             the model (robust observed-scale test p = 0.4100, Holm-adjusted over dimensions: \
             p = 0.8200; latent-scale (cumulative-link) LR test χ²(6) = 23.98 after dividing by \
             the design effect 1.31, p = 0.3000)."
        ), "{distance}");
        assert!(!distance.contains(depends));

        // Only the observed scale shows it, and the pairs differ only in size: a possible artefact.
        let d = &mut r.dimensions[0];
        let i = d.interaction.as_mut().unwrap();
        i.p_value = 0.001;
        i.p_holm = Some(0.004);
        assert!(
            d.kinds
                .iter()
                .any(|k| k.kind == InteractionKind::SameDirection)
        );
        let md = report_markdown(&r);
        let distance = md.split("## Inferential distance").nth(1).unwrap();
        assert!(
            distance.contains("may be a floor or ceiling artefact"),
            "{distance}"
        );
        assert!(!distance.contains(depends));
    }

    #[test]
    fn interaction_p_at_the_floor_is_a_bound() {
        let md = report_markdown(&fixture::results());
        assert!(
            md.contains("statistic 11.73, p ≤ 0.0001, Holm-adjusted ≤ 0.0004."),
            "{md}"
        );
        assert!(md.contains("the smallest attainable p is 1/10,001"));
        let mut r = fixture::results();
        let i = r.dimensions[0].interaction.as_mut().unwrap();
        i.permutations = 999;
        i.p_value = 0.001;
        i.p_holm = Some(0.004);
        let md = report_markdown(&r);
        assert!(md.contains("p ≤ 0.0010, Holm-adjusted ≤ 0.0040"), "{md}");
    }
}
