//! One blinding round: redacted items with random ids, the assignment to raters, the key, the
//! identifiability audit and the leak gate's verdict on the items. The packet files are rendered
//! one rater at a time ([`Round::write_files`]), so only one packet is in memory at once.
//! Pure: the caller reads the run and writes the files (into a folder renamed into place only if
//! the gate passes).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::anchors::Confounding;
use super::assign::{self, AssignError};
use super::gate::{self, Leak, Seen};
use super::lexicon::{self, Category, FingerprintKind};
use super::names::StudyTerm;
use super::normalise::Invisible;
use super::packet::{self, Item, Packet, Turn};
use super::parts::{self, PartOf};
use super::redact::{self, RedactOptions, Redactor, TurnRole, study_term};
use super::visible::markdown_units;
use crate::analyze::probe::{self, ProbeDoc, ProbeResult};
use crate::hash::{derive_seed, sha256_hex};
use crate::provider::{ProviderKind, Role};
use crate::run::record::TranscriptRecord;
use crate::sim::model::{SimModel, identity_terms};
use crate::store::to_json_bytes;
use crate::study::{FingerprintSwitches, Rubric, Study};

pub const KEY_FILE: &str = "key.json";
pub const PACKETS_DIR: &str = "packets";
pub const MANIFEST_FILE: &str = "manifest.json";
/// In the round folder, outside `packets/`: it names what leaked where, so it is kept like the
/// key.
pub const LEAK_REPORT_FILE: &str = "leak-report.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedSource {
    /// Given with --seed.
    Given,
    /// Drawn from the operating system's entropy, then recorded in the key.
    Random,
}

/// `key.json`: the only file that links item ids to conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub format: u32,
    pub round: String,
    pub run: String,
    pub protocol_hash: String,
    pub created_at: String,
    pub seed: u64,
    pub seed_source: SeedSource,
    pub raters: Vec<String>,
    pub per_item: u32,
    pub items: Vec<KeyItem>,
    /// The identifiability audit in full (per-class accuracies included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiability: Option<Identifiability>,
    /// Conditions only this round holds, and how much being in the round tells per model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confounding: Option<Confounding>,
    /// The round whose disagreements this adjudication round holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjudicates: Option<String>,
    /// The cap that split packets into parts (packets/manifest.json lists the parts), recorded
    /// so that the round can be rebuilt from the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items_per_packet: Option<u32>,
}

/// Why an item is in a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemRole {
    /// Rated here for the first time (or again with `--all`).
    #[default]
    New,
    /// A transcript rated in an earlier round, mixed in to measure drift and calibrate.
    Anchor,
    /// A transcript whose raters disagreed, for a rater who has not seen it.
    Adjudication,
}

impl ItemRole {
    pub fn is_new(&self) -> bool {
        *self == ItemRole::New
    }
}

/// An item whose raters are decided before the round's assignment (an anchor, an adjudication).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedItem {
    pub role: ItemRole,
    pub raters: Vec<String>,
    /// The earlier round it refers to.
    pub from_round: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyItem {
    pub item_id: String,
    pub cell_id: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
    pub raters: Vec<String>,
    /// Redactions (placeholders inserted, spans removed), per category.
    pub redactions: BTreeMap<Category, u32>,
    /// Spans where the assistant quoted its hidden system prompt (also in `redactions` as
    /// `system_prompt`).
    pub quoted_instructions: u32,
    /// Invisible characters removed, per class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed_characters: BTreeMap<Invisible, u32>,
    /// Anchors and adjudications; new items leave it out.
    #[serde(default, skip_serializing_if = "ItemRole::is_new")]
    pub role: ItemRole,
    /// For an anchor or an adjudication: the earlier round it refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_round: Option<String>,
}

/// The identifiability audit: how well simple classifiers predict the condition from the items
/// as raters see them (see [`crate::analyze::probe`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identifiability {
    /// Predicting the model; `None` with fewer than two models or too few groups.
    pub model: Option<ProbeResult>,
    pub scaffold: Option<ProbeResult>,
    /// Class names, in the order of `per_class`.
    pub models: Vec<String>,
    pub scaffolds: Vec<String>,
    /// The `[blinding] identifiability_margin` the warnings used.
    pub margin: f64,
}

/// The audit's headline figures, as `packets/manifest.json` records them (no per-class figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditFigure {
    pub accuracy: f64,
    pub chance: f64,
    pub p_value: f64,
    pub n_items: usize,
    pub n_groups: usize,
    pub folds: usize,
    pub permutations: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub method: String,
    pub model: Option<AuditFigure>,
    pub scaffold: Option<AuditFigure>,
}

impl Identifiability {
    pub fn summary(&self) -> AuditSummary {
        let figure = |r: &Option<ProbeResult>| {
            r.as_ref().map(|r| AuditFigure {
                accuracy: r.accuracy,
                chance: r.chance,
                p_value: r.p_value,
                n_items: r.n_items,
                n_groups: r.n_groups,
                folds: r.folds,
                permutations: r.permutations,
            })
        };
        AuditSummary {
            method: self
                .model
                .as_ref()
                .or(self.scaffold.as_ref())
                .map_or_else(String::new, |r| r.method.clone()),
            model: figure(&self.model),
            scaffold: figure(&self.scaffold),
        }
    }

    /// Lines for the terminal, and warnings for figures above the margin.
    pub fn report(&self) -> (Vec<String>, Vec<String>) {
        let mut lines = Vec::new();
        let mut warnings = Vec::new();
        for (what, result) in [("model", &self.model), ("scaffold", &self.scaffold)] {
            let Some(r) = result else {
                lines.push(format!(
                    "Identifiability of the {what}: not computed (fewer than two {what}s, or too few cells to cross-validate)."
                ));
                continue;
            };
            let items = match r.sampled_from {
                Some(all) => format!("a random sample of {} of {all} items", r.n_items),
                None => format!("{} items", r.n_items),
            };
            lines.push(format!(
                "Identifiability of the {what}: a classifier on the items as raters see them is right {:.2} of the time (chance {:.2}, p = {:.3}; {items} in {} cells, {}-fold, grouped by cell).",
                r.accuracy, r.chance, r.p_value, r.n_groups, r.folds
            ));
            if r.accuracy - r.chance > self.margin && r.p_value <= 0.05 {
                warnings.push(format!(
                    "the {what} can be predicted from the packets well above chance ({:.2} against {:.2}; text {:.2}, style {:.2}): raters who learn the styles could tell the {what}s apart ([blinding] identifiability_margin = {})",
                    r.accuracy, r.chance, r.text_accuracy, r.style_accuracy, self.margin
                ));
            }
        }
        (lines, warnings)
    }
}

/// `packets/manifest.json`: what the raters may see about the round, and the key's commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundManifest {
    pub format: u32,
    pub round: String,
    pub created_at: String,
    pub raters: Vec<String>,
    pub per_item: u32,
    pub packets: BTreeMap<String, PacketEntry>,
    pub rubric: Rubric,
    pub csv_columns: Vec<String>,
    /// SHA-256 of key.json as written: un-blinding refuses a key that does not match it.
    pub key_sha256: String,
    /// The identifiability audit's headline figures, committed with the round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiability: Option<AuditSummary>,
    /// The round holds conditions no earlier round held (which ones is in the key only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confounded: bool,
    /// `[blinding] max_items_per_packet` (or the flag) when packets were split into parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items_per_packet: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacketEntry {
    pub packet_id: String,
    /// Item ids in the order the rater sees them (a split packet: its parts' items, part after
    /// part).
    pub items: Vec<String>,
    /// A packet above `max_items_per_packet`: its parts, in order (`parts[0]` is part-01).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartEntry>,
}

/// One part of a rater's packet: a complete form of its own (`RATER-part-01.html`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartEntry {
    /// The part's own packet id (its form autosaves under it).
    pub packet_id: String,
    /// Item ids in the order the rater sees them in this part.
    pub items: Vec<String>,
}

impl PacketEntry {
    /// The part of the packet holding each item (`None` for a whole packet).
    pub fn part_of(&self) -> HashMap<&str, PartOf> {
        let of = self.parts.len();
        self.parts
            .iter()
            .enumerate()
            .flat_map(|(p, entry)| {
                entry
                    .items
                    .iter()
                    .map(move |i| (i.as_str(), PartOf { part: p + 1, of }))
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlindError {
    #[error(transparent)]
    Assign(#[from] AssignError),
    #[error("cannot build the redactor: {0}")]
    Redactor(#[from] redact::RedactError),
    #[error(
        "rater '{0}' has the name of a part of rater '{1}''s packet ({0}.html): rename the rater, \
         or change max_items_per_packet"
    )]
    PartNameClash(String, String),
}

pub struct RoundInput<'a> {
    pub study: &'a Study,
    pub run: &'a str,
    pub protocol_hash: &'a str,
    pub round: &'a str,
    /// The transcripts to blind: one ok record per cell.
    pub transcripts: Vec<&'a TranscriptRecord>,
    pub raters: &'a [String],
    pub per_item: u32,
    pub seed: u64,
    pub seed_source: SeedSource,
    /// Extra terms to redact (command line), beyond the study's.
    pub extra_redact: &'a [String],
    /// Item ids used by earlier rounds, never reused.
    pub taken_ids: &'a HashSet<String>,
    pub created_at: &'a str,
    /// Items (by cell id) whose raters are already decided: anchors, adjudications.
    pub fixed: &'a BTreeMap<String, FixedItem>,
    pub confounding: Option<Confounding>,
    pub adjudicates: Option<String>,
    /// Split each packet above this many items into numbered parts.
    pub max_items_per_packet: Option<u32>,
}

pub struct Round {
    /// The redacted items, in key order.
    items: Vec<Item>,
    /// Per rater: indices into `items`, in the order the rater sees them.
    packet_items: Vec<Vec<usize>>,
    packet_ids: Vec<String>,
    /// Per rater: its parts (packet id, range of `packet_items[r]`); empty for a whole packet.
    parts: Vec<Vec<(String, std::ops::Range<usize>)>>,
    raters: Vec<String>,
    rubric: Rubric,
    manifest_bytes: Vec<u8>,
    key_bytes: Vec<u8>,
    pub key: Key,
    pub key_sha256: String,
    /// What the gate found in the items and the page (not yet the files: see `write_files`).
    pub leaks: Vec<Leak>,
    pub warnings: Vec<String>,
    pub unpaired: Vec<(String, String)>,
    /// The identifiability audit's lines for the terminal.
    pub audit_lines: Vec<String>,
}

/// Crockford base32 without the easily confused letters: ids that are easy to read aloud.
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn random_code(rng: &mut ChaCha8Rng, len: usize) -> String {
    let mut code = String::with_capacity(len + 1);
    for i in 0..len {
        if i == len / 2 {
            code.push('-');
        }
        code.push(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char);
    }
    code
}

/// The terms the redactor strips, from everything the study knows about its models and
/// scaffolds, and warnings about what it cannot look for.
fn redaction_terms(input: &RoundInput<'_>) -> (Vec<StudyTerm>, Vec<String>) {
    let mut terms = Vec::new();
    let mut warnings = Vec::new();
    let mut push = |text: &str, category| {
        if text.trim().chars().count() >= 2 {
            terms.push(study_term(text, category));
        }
    };
    for model in &input.study.models {
        push(&model.id, Category::StudyAlias);
        push(&model.model, Category::ModelName);
        if model.provider == ProviderKind::Sim
            && let Ok(sim) = model.model.parse::<SimModel>()
        {
            for term in identity_terms(sim) {
                let category = if term == sim.maker() {
                    Category::Vendor
                } else {
                    Category::ModelName
                };
                push(term, category);
            }
        }
    }
    for version in reported_versions(&input.transcripts) {
        push(&version, Category::ModelVersion);
    }
    for scaffold in &input.study.scaffolds {
        if lexicon::is_ordinary_word(&scaffold.id) {
            warnings.push(format!(
                "scaffold id '{}' is an ordinary word, so it is neither redacted nor looked for \
                 (a distinctive id such as '{}-v1' is; see docs/blinding.md)",
                scaffold.id, scaffold.id
            ));
        } else {
            push(&scaffold.id, Category::ScaffoldId);
        }
        let adds_user_text = scaffold.first_turn.trim() != "{{ prompt }}"
            || !scaffold.follow_ups.is_empty()
            || scaffold.user_sim.is_some();
        if adds_user_text {
            warnings.push(format!(
                "scaffold '{}' writes user turns of its own (template text, follow-ups or a simulated \
                 user); raters see user turns, so these can hint at the condition",
                scaffold.id
            ));
        }
    }
    for extra in input.study.blinding.redact.iter().chain(input.extra_redact) {
        push(extra, Category::Extra);
    }
    (terms, warnings)
}

fn reported_versions(transcripts: &[&TranscriptRecord]) -> BTreeSet<String> {
    transcripts
        .iter()
        .filter_map(|t| t.model_version.clone())
        .collect()
}

fn enabled_fingerprints(switches: &FingerprintSwitches) -> BTreeSet<FingerprintKind> {
    [
        (FingerprintKind::KnowledgeCutoff, switches.knowledge_cutoff),
        (FingerprintKind::Boilerplate, switches.boilerplate),
        (FingerprintKind::TemplateToken, switches.template_tokens),
        (FingerprintKind::InstructionTalk, switches.instruction_talk),
    ]
    .into_iter()
    .filter_map(|(kind, on)| on.then_some(kind))
    .collect()
}

/// The study-derived text of the page around the items, by field.
fn page_fields(study: &Study, raters: &[String]) -> Vec<(String, String)> {
    let rubric = &study.rubric;
    let mut fields = vec![(
        "rubric.instructions".to_string(),
        packet::instructions(rubric).to_string(),
    )];
    if let Some(name) = &rubric.name {
        fields.push(("rubric.name".to_string(), name.clone()));
    }
    for d in &rubric.dimensions {
        fields.push((format!("rubric.{}.id", d.id), d.id.clone()));
        fields.push((format!("rubric.{}.question", d.id), d.question.clone()));
        for l in &d.levels {
            fields.push((
                format!("rubric.{}.{}.label", d.id, l.value),
                l.label.clone(),
            ));
            fields.push((
                format!("rubric.{}.{}.anchor", d.id, l.value),
                l.anchor.clone(),
            ));
        }
    }
    for r in raters {
        fields.push(("rater name".to_string(), r.clone()));
    }
    fields
}

/// The items as raters see them, for the identifiability audit: (model docs, scaffold docs).
/// Only the items in `chosen` (all with `None`) become documents; groups and classes are
/// numbered over every item, so a sample keeps them.
fn audit_docs(
    items: &[Item],
    key_items: &[KeyItem],
    chosen: Option<&[usize]>,
) -> (Vec<ProbeDoc>, Vec<ProbeDoc>) {
    let mut models: Vec<&str> = Vec::new();
    let mut scaffolds: Vec<&str> = Vec::new();
    let mut cells: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let (mut by_model, mut by_scaffold) = (Vec::new(), Vec::new());
    let mut next_chosen = chosen.map(|c| c.iter().copied().peekable());
    for (i, (item, key)) in items.iter().zip(key_items).enumerate() {
        let model = models
            .iter()
            .position(|m| *m == key.model)
            .unwrap_or_else(|| {
                models.push(&key.model);
                models.len() - 1
            });
        let scaffold = scaffolds
            .iter()
            .position(|m| *m == key.scaffold)
            .unwrap_or_else(|| {
                scaffolds.push(&key.scaffold);
                scaffolds.len() - 1
            });
        let next = cells.len();
        let group = *cells
            .entry((&key.model, &key.scaffold, &key.prompt))
            .or_insert(next);
        if let Some(next_chosen) = &mut next_chosen {
            if next_chosen.peek() != Some(&i) {
                continue;
            }
            next_chosen.next();
        }
        let doc = probe_doc(&item.turns, 0, group);
        by_model.push(ProbeDoc {
            label: model,
            ..doc.clone()
        });
        by_scaffold.push(ProbeDoc {
            label: scaffold,
            ..doc
        });
    }
    (by_model, by_scaffold)
}

/// One item as the audit reads it: the visible text of every turn, the assistant's markdown.
pub fn probe_doc(turns: &[Turn], label: usize, group: usize) -> ProbeDoc {
    let mut text = String::new();
    let mut markdown = String::new();
    for t in turns {
        text.extend(markdown_units(&t.content).into_iter().map(|u| u.0));
        text.push_str("\n\n");
        if t.role == Role::Assistant {
            markdown.push_str(&t.content);
            markdown.push_str("\n\n");
        }
    }
    ProbeDoc {
        text,
        markdown,
        turns: turns.len(),
        label,
        group,
    }
}

/// One transcript's turns as raters see them, with the redactions and removed characters.
type RedactedItem = (Vec<Turn>, BTreeMap<Category, u32>, BTreeMap<Invisible, u32>);

fn redact_transcript(redactor: &Redactor, t: &TranscriptRecord) -> RedactedItem {
    let mut redactions: BTreeMap<Category, u32> = BTreeMap::new();
    let mut removed: BTreeMap<Invisible, u32> = BTreeMap::new();
    let turns: Vec<Turn> = t
        .messages
        .iter()
        .filter(|m| matches!(m.role, Role::User | Role::Assistant))
        .map(|m| {
            let role = if m.role == Role::User {
                TurnRole::User
            } else {
                TurnRole::Assistant
            };
            let redacted = redactor.redact(&m.content, role);
            for (category, n) in redacted.counts {
                *redactions.entry(category).or_default() += n;
            }
            for (class, n) in redacted.removed {
                *removed.entry(class).or_default() += n;
            }
            Turn {
                role: m.role,
                content: redacted.text,
            }
        })
        .collect();
    (turns, redactions, removed)
}

/// Builds a round. Randomness: one seed, split into independent streams for item ids, the
/// assignment, packet ids and the audit, each derived with the round's name.
pub fn build_round(input: &RoundInput<'_>) -> Result<Round, BlindError> {
    let study = input.study;
    let system_prompts: Vec<&str> = study
        .scaffolds
        .iter()
        .filter_map(|s| s.system.as_deref())
        .collect();
    let (terms, mut warnings) = redaction_terms(input);
    let options = RedactOptions {
        fingerprints: enabled_fingerprints(&study.blinding.fingerprints),
        ..RedactOptions::default()
    };
    let redactor = Redactor::new(&terms, &system_prompts, &options)?;
    warnings.extend(
        redactor
            .warnings()
            .iter()
            .map(|w| format!("redaction: {w}")),
    );

    let mut transcripts = input.transcripts.clone();
    transcripts.sort_by(|a, b| a.cell_id.cmp(&b.cell_id));
    let seed_text = input.seed.to_string();
    let mut id_rng = ChaCha8Rng::seed_from_u64(derive_seed(&["item-ids", &seed_text, input.round]));
    let mut assign_rng =
        ChaCha8Rng::seed_from_u64(derive_seed(&["assign", &seed_text, input.round]));
    let mut packet_rng =
        ChaCha8Rng::seed_from_u64(derive_seed(&["packets", &seed_text, input.round]));

    let mut used: HashSet<String> = input.taken_ids.clone();
    let mut items: Vec<Item> = Vec::with_capacity(transcripts.len());
    let mut key_items: Vec<KeyItem> = Vec::with_capacity(transcripts.len());
    // Redaction is per item and independent of the ids: in parallel, collected in order.
    let redacted: Vec<RedactedItem> = transcripts
        .par_iter()
        .map(|t| redact_transcript(&redactor, t))
        .collect();
    for (t, (turns, redactions, removed)) in transcripts.iter().zip(redacted) {
        let item_id = loop {
            let code = random_code(&mut id_rng, 8);
            if used.insert(code.clone()) {
                break code;
            }
        };
        items.push(Item {
            item_id: item_id.clone(),
            turns,
        });
        key_items.push(KeyItem {
            item_id,
            cell_id: t.cell_id.clone(),
            model: t.model.clone(),
            scaffold: t.scaffold.clone(),
            prompt: t.prompt.clone(),
            repeat: t.repeat,
            raters: Vec::new(),
            quoted_instructions: redactions
                .get(&Category::SystemPrompt)
                .copied()
                .unwrap_or(0),
            redactions,
            removed_characters: removed,
            role: input
                .fixed
                .get(&t.cell_id)
                .map_or_else(ItemRole::default, |f| f.role),
            from_round: input.fixed.get(&t.cell_id).map(|f| f.from_round.clone()),
        });
    }

    let index_of =
        |list: &[String], x: &str| list.iter().position(|y| y == x).unwrap_or(list.len());
    let model_ids: Vec<String> = study.models.iter().map(|m| m.id.clone()).collect();
    let scaffold_ids: Vec<String> = study.scaffolds.iter().map(|s| s.id.clone()).collect();
    // Items with decided raters keep them; the others go through the balanced assignment.
    let free: Vec<usize> = (0..key_items.len())
        .filter(|&i| !input.fixed.contains_key(&key_items[i].cell_id))
        .collect();
    let strata: Vec<(usize, usize)> = free
        .iter()
        .map(|&i| {
            let k = &key_items[i];
            (
                index_of(&model_ids, &k.model),
                index_of(&scaffold_ids, &k.scaffold),
            )
        })
        .collect();
    let assignment = if free.is_empty() {
        None
    } else {
        Some(assign::assign(
            &strata,
            input.raters.len(),
            input.per_item as usize,
            &mut assign_rng,
        )?)
    };
    if let Some(a) = &assignment {
        for (j, raters) in a.raters_of.iter().enumerate() {
            key_items[free[j]].raters = raters.iter().map(|&r| input.raters[r].clone()).collect();
        }
    }
    let unpaired = assignment
        .as_ref()
        .map(|a| assign::unpaired(a, input.raters.len()))
        .unwrap_or_default()
        .into_iter()
        .map(|(a, b)| (input.raters[a].clone(), input.raters[b].clone()))
        .collect();
    let mut packets_of: Vec<Vec<usize>> = match &assignment {
        Some(a) if free.len() == key_items.len() => a.packets.clone(),
        _ => {
            for k in key_items.iter_mut() {
                if let Some(f) = input.fixed.get(&k.cell_id) {
                    k.raters = f.raters.clone();
                }
            }
            // Fixed and assigned items in one packet, shuffled together: an anchor sits among
            // the new items like any of them.
            let mut packets = vec![Vec::new(); input.raters.len()];
            for (i, k) in key_items.iter().enumerate() {
                for r in &k.raters {
                    if let Some(p) = input.raters.iter().position(|x| x == r) {
                        packets[p].push(i);
                    }
                }
            }
            for p in &mut packets {
                p.shuffle(&mut assign_rng);
            }
            packets
        }
    };

    // Packets above the cap in parts, each balanced across conditions; a stream of its own, so
    // a round without parts draws exactly what it always did.
    let mut parts_rng =
        ChaCha8Rng::seed_from_u64(derive_seed(&["packet-parts", &seed_text, input.round]));
    let condition_of = |i: usize| {
        let k = &key_items[i];
        index_of(&model_ids, &k.model) * (scaffold_ids.len() + 1)
            + index_of(&scaffold_ids, &k.scaffold)
    };
    let mut part_ranges: Vec<Vec<(String, std::ops::Range<usize>)>> =
        vec![Vec::new(); input.raters.len()];
    if let Some(max) = input.max_items_per_packet {
        for (r, packet) in packets_of.iter_mut().enumerate() {
            let split = parts::split(packet, condition_of, max as usize, &mut parts_rng);
            if split.len() < 2 {
                continue;
            }
            let mut start = 0;
            for part in &split {
                let id = random_code(&mut parts_rng, 8);
                part_ranges[r].push((id, start..start + part.len()));
                start += part.len();
            }
            *packet = split.concat();
        }
        check_part_names(input.raters, &part_ranges)?;
    }

    // The identifiability audit, on the items exactly as raters will see them.
    let audit_seed = derive_seed(&["identifiability", &seed_text, input.round]);
    // Above probe::MAX_ITEMS the audit looks at a seeded sample: only those items become documents.
    let chosen = probe::sample(items.len(), audit_seed);
    let (by_model, by_scaffold) = audit_docs(&items, &key_items, chosen.as_deref());
    let permutations = study.blinding.audit_permutations as usize;
    let confidence = study.analysis.confidence;
    let class_names = |docs: &[ProbeDoc], name: &dyn Fn(&KeyItem) -> &str| -> Vec<String> {
        let mut names = vec![String::new(); docs.iter().map(|d| d.label + 1).max().unwrap_or(0)];
        let keys: Vec<&KeyItem> = match &chosen {
            Some(c) => c.iter().map(|&i| &key_items[i]).collect(),
            None => key_items.iter().collect(),
        };
        for (d, k) in docs.iter().zip(keys) {
            names[d.label] = name(k).to_string();
        }
        names
    };
    let audit = |docs: &[ProbeDoc], what: &str| {
        probe::identifiability_of_sample(
            docs,
            items.len(),
            docs.iter().map(|d| d.label + 1).max().unwrap_or(0),
            confidence,
            derive_seed(&[what, &audit_seed.to_string()]),
            permutations,
        )
    };
    let identifiability = Identifiability {
        model: audit(&by_model, "model"),
        scaffold: audit(&by_scaffold, "scaffold"),
        models: class_names(&by_model, &|k| &k.model),
        scaffolds: class_names(&by_scaffold, &|k| &k.scaffold),
        margin: study.blinding.identifiability_margin,
    };
    let (audit_lines, audit_warnings) = identifiability.report();
    warnings.extend(audit_warnings);
    let summary = identifiability.summary();

    let key = Key {
        format: 1,
        round: input.round.to_string(),
        run: input.run.to_string(),
        protocol_hash: input.protocol_hash.to_string(),
        created_at: input.created_at.to_string(),
        seed: input.seed,
        seed_source: input.seed_source,
        raters: input.raters.to_vec(),
        per_item: input.per_item,
        items: key_items,
        identifiability: Some(identifiability),
        confounding: input.confounding.clone(),
        adjudicates: input.adjudicates.clone(),
        max_items_per_packet: input.max_items_per_packet,
    };
    let key_bytes = to_json_bytes(&key);
    let key_sha256 = sha256_hex(&key_bytes);

    let mut packets = BTreeMap::new();
    let mut packet_ids = Vec::with_capacity(input.raters.len());
    for (r, rater) in input.raters.iter().enumerate() {
        let packet_id = random_code(&mut packet_rng, 8);
        packets.insert(
            rater.clone(),
            PacketEntry {
                packet_id: packet_id.clone(),
                items: packets_of[r]
                    .iter()
                    .map(|&i| items[i].item_id.clone())
                    .collect(),
                parts: part_ranges[r]
                    .iter()
                    .map(|(id, range)| PartEntry {
                        packet_id: id.clone(),
                        items: packets_of[r][range.clone()]
                            .iter()
                            .map(|&i| items[i].item_id.clone())
                            .collect(),
                    })
                    .collect(),
            },
        );
        packet_ids.push(packet_id);
    }
    let manifest = RoundManifest {
        format: 1,
        round: input.round.to_string(),
        created_at: input.created_at.to_string(),
        raters: input.raters.to_vec(),
        per_item: input.per_item,
        packets,
        rubric: study.rubric.clone(),
        csv_columns: packet::csv_columns(&study.rubric),
        key_sha256: key_sha256.clone(),
        identifiability: Some(summary),
        confounded: input.confounding.is_some(),
        max_items_per_packet: input.max_items_per_packet,
    };

    // The leak gate over every item once, and the page around them; the files are checked for
    // invisible characters as they are rendered (`packet_files`).
    let mut leaks: Vec<Leak> = items
        .par_iter()
        .flat_map_iter(|item| gate::gate_item(&redactor, item))
        .collect();
    leaks.extend(gate::gate_page(
        &redactor,
        &page_fields(study, input.raters),
    ));
    Ok(Round {
        items,
        packet_items: packets_of,
        packet_ids,
        parts: part_ranges,
        raters: input.raters.to_vec(),
        rubric: study.rubric.clone(),
        manifest_bytes: to_json_bytes(&manifest),
        key_bytes,
        key,
        key_sha256,
        leaks,
        warnings,
        unpaired,
        audit_lines,
    })
}

impl Round {
    /// One line per rater whose packet was split: "r1: 120 items in 4 parts (r1-part-01 to
    /// r1-part-04, 30 items each)".
    pub fn part_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (r, rater_parts) in self.parts.iter().enumerate() {
            let of = rater_parts.len();
            if of == 0 {
                continue;
            }
            let rater = &self.raters[r];
            let sizes: BTreeSet<usize> = rater_parts.iter().map(|(_, range)| range.len()).collect();
            let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
            lines.push(format!(
                "{rater}: {} items in {of} parts ({} to {}, {} items each)",
                self.packet_items[r].len(),
                PartOf { part: 1, of }.file_stem(rater),
                PartOf { part: of, of }.file_stem(rater),
                sizes.join(" or ")
            ));
        }
        lines
    }

    /// One rater's packet files (relative to the round folder), rendered one packet at a time
    /// and handed to `emit`: a whole packet's HTML form, CSV and JSON; a split packet's parts'
    /// forms, sheets and JSON, then the whole JSON for programs (judges, `collect`, simulated
    /// raters), which nobody rates by hand.
    fn packet_files<E>(
        &self,
        r: usize,
        emit: &mut impl FnMut(&str, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let rater = &self.raters[r];
        let packet_of = |packet_id, range: std::ops::Range<usize>| Packet {
            rater,
            packet_id,
            items: self.packet_items[r][range]
                .iter()
                .map(|&i| &self.items[i])
                .collect(),
        };
        let whole = packet_of(&self.packet_ids[r], 0..self.packet_items[r].len());
        if self.parts[r].is_empty() {
            emit(
                &format!("{PACKETS_DIR}/{rater}.html"),
                &packet::render_html(&whole, &self.rubric),
            )?;
            emit(
                &format!("{PACKETS_DIR}/{rater}.csv"),
                &packet::render_csv(&whole, &self.rubric),
            )?;
        } else {
            let of = self.parts[r].len();
            for (p, (packet_id, range)) in self.parts[r].iter().enumerate() {
                let part = PartOf { part: p + 1, of };
                let packet = packet_of(packet_id, range.clone());
                let stem = format!("{PACKETS_DIR}/{}", part.file_stem(rater));
                emit(
                    &format!("{stem}.html"),
                    &packet::render_part_html(&packet, &self.rubric, part),
                )?;
                emit(
                    &format!("{stem}.csv"),
                    &packet::render_csv(&packet, &self.rubric),
                )?;
                let mut json = packet::packet_json(&packet, &self.rubric);
                json.part = Some(part);
                emit(&format!("{stem}.json"), &to_json_bytes(&json))?;
            }
        }
        emit(
            &format!("{PACKETS_DIR}/{rater}.json"),
            &to_json_bytes(&packet::packet_json(&whole, &self.rubric)),
        )
    }

    /// Every file of the round in the order they are written, rendered one at a time and handed
    /// to `write` with the invisible characters the gate found in it: the packets, the round
    /// manifest, then the key. The leak report comes last, from the caller (it needs every leak).
    pub fn write_files<E>(
        &self,
        mut write: impl FnMut(&str, &[u8]) -> Result<(), E>,
    ) -> Result<Vec<Leak>, E> {
        let mut leaks = Vec::new();
        // Every file raters get, each part's included, is checked byte for byte.
        let mut emit = |path: &str, bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            leaks.extend(gate::invisible_leaks(&text, Seen::File, path));
            write(path, bytes)
        };
        for r in 0..self.raters.len() {
            self.packet_files(r, &mut emit)?;
        }
        emit(
            &format!("{PACKETS_DIR}/{MANIFEST_FILE}"),
            &self.manifest_bytes,
        )?;
        write(KEY_FILE, &self.key_bytes)?;
        Ok(leaks)
    }
}

/// A part's file name must not be another rater's packet (`r1-part-01` beside a split `r1`).
fn check_part_names(
    raters: &[String],
    parts: &[Vec<(String, std::ops::Range<usize>)>],
) -> Result<(), BlindError> {
    let names: HashSet<&str> = raters.iter().map(String::as_str).collect();
    for (rater, rater_parts) in raters.iter().zip(parts) {
        let of = rater_parts.len();
        for part in 1..=of {
            let stem = PartOf { part, of }.file_stem(rater);
            if names.contains(stem.as_str()) {
                return Err(BlindError::PartNameClash(stem, rater.clone()));
            }
        }
    }
    Ok(())
}
