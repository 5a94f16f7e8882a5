//! One blinding round, built entirely in memory: redacted items with random ids, the assignment
//! to raters, every packet file, the key, and the leak gate's verdict on the packets. Pure: the
//! caller reads the run and writes the files (all at once, or none).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::assign::{self, AssignError};
use super::lexicon::{self, Category, Placeholder};
use super::packet::{self, Item, Packet, Turn};
use super::redact::{self, Hit, Needle, NeedleCategory, Redactor, Scanner, Term, TurnRole};
use crate::hash::{derive_seed, sha256_hex};
use crate::provider::{ProviderKind, Role};
use crate::run::record::TranscriptRecord;
use crate::sim::model::{SimModel, identity_terms};
use crate::store::to_json_bytes;
use crate::study::{Rubric, Study};

pub const KEY_FILE: &str = "key.json";
pub const PACKETS_DIR: &str = "packets";
pub const MANIFEST_FILE: &str = "manifest.json";

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
    /// Placeholders inserted, per category of identifying term.
    pub redactions: BTreeMap<Category, u32>,
    /// Spans where the assistant quoted its hidden system prompt.
    pub quoted_instructions: u32,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacketEntry {
    pub packet_id: String,
    /// Item ids in the order the rater sees them.
    pub items: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlindError {
    #[error(transparent)]
    Assign(#[from] AssignError),
    #[error("cannot build the redactor: {0}")]
    Redactor(#[from] redact::RedactError),
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
}

/// A leak: an identifying string found in a packet file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leak {
    pub file: String,
    pub hit: Hit,
}

pub struct Round {
    /// Files relative to the round folder, ready to write.
    pub files: Vec<(String, Vec<u8>)>,
    pub key: Key,
    pub key_sha256: String,
    pub leaks: Vec<Leak>,
    pub warnings: Vec<String>,
    pub unpaired: Vec<(String, String)>,
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

/// The terms the redactor strips, from everything the study knows about its models.
fn redaction_terms(input: &RoundInput<'_>) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut push = |text: &str, placeholder, category| {
        if text.trim().chars().count() >= 2 {
            terms.push(Term::new(text.trim(), placeholder, category));
        }
    };
    for model in &input.study.models {
        push(&model.id, Placeholder::Model, Category::StudyAlias);
        push(&model.model, Placeholder::Model, Category::ModelName);
        if model.provider == ProviderKind::Sim
            && let Ok(sim) = model.model.parse::<SimModel>()
        {
            for term in identity_terms(sim) {
                let placeholder = if term == sim.maker() {
                    Placeholder::Company
                } else {
                    Placeholder::Model
                };
                let category = if placeholder == Placeholder::Company {
                    Category::Vendor
                } else {
                    Category::ModelName
                };
                push(term, placeholder, category);
            }
        }
    }
    for version in reported_versions(&input.transcripts) {
        push(&version, Placeholder::Model, Category::ModelVersion);
    }
    for extra in input.study.blinding.redact.iter().chain(input.extra_redact) {
        push(extra, Placeholder::Model, Category::Extra);
    }
    terms
}

fn reported_versions(transcripts: &[&TranscriptRecord]) -> BTreeSet<String> {
    transcripts
        .iter()
        .filter_map(|t| t.model_version.clone())
        .collect()
}

/// Everything the leak gate looks for, and warnings about what it cannot look for.
fn needles(input: &RoundInput<'_>) -> (Vec<Needle>, Vec<String>) {
    let mut needles = Vec::new();
    let mut warnings = Vec::new();
    let study = input.study;
    for model in &study.models {
        if lexicon::is_ordinary_word(&model.id) {
            warnings.push(format!(
                "model id '{}' is an ordinary word, so the leak gate cannot scan for it without false \
                 alarms; it is still redacted in model context (give models distinctive ids)",
                model.id
            ));
        } else {
            needles.push(Needle::new(&model.id, NeedleCategory::ModelId));
        }
        if !lexicon::is_ordinary_word(&model.model) {
            needles.push(Needle::new(&model.model, NeedleCategory::ModelName));
        }
        if model.provider != ProviderKind::Sim {
            needles.push(Needle::new(
                model.provider.as_str(),
                NeedleCategory::Provider,
            ));
        }
        if model.provider == ProviderKind::Sim
            && let Ok(sim) = model.model.parse::<SimModel>()
        {
            for term in identity_terms(sim) {
                let category = if term == sim.maker() {
                    NeedleCategory::Vendor
                } else {
                    NeedleCategory::ModelName
                };
                needles.push(Needle::new(term, category));
            }
        }
    }
    // Built-in names that are never ordinary words (Anthropic, ChatGPT, DeepSeek, ...).
    for entry in lexicon::builtin().iter().filter(|e| !e.is_guarded()) {
        let category = if entry.category == Category::Vendor {
            NeedleCategory::Vendor
        } else {
            NeedleCategory::ModelName
        };
        needles.push(Needle::new(entry.name, category));
    }
    for version in reported_versions(&input.transcripts) {
        needles.push(Needle::new(version, NeedleCategory::ModelVersion));
    }
    for scaffold in &study.scaffolds {
        if lexicon::is_ordinary_word(&scaffold.id) {
            warnings.push(format!(
                "scaffold id '{}' is an ordinary word, so the leak gate cannot scan packets for it \
                 without false alarms (distinctive ids such as '{}-v1' can be scanned; see docs/blinding.md)",
                scaffold.id, scaffold.id
            ));
        } else {
            needles.push(Needle::new(&scaffold.id, NeedleCategory::ScaffoldId));
        }
        if let Some(system) = &scaffold.system {
            for sentence in redact::distinctive_sentences(system) {
                needles.push(Needle::new(sentence, NeedleCategory::SystemPromptSentence));
            }
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
    for extra in study.blinding.redact.iter().chain(input.extra_redact) {
        needles.push(Needle::new(extra, NeedleCategory::Extra));
    }
    (needles, warnings)
}

/// Builds a round. Randomness: one seed, split into independent streams for item ids, the
/// assignment and packet ids, each derived with the round's name.
pub fn build_round(input: &RoundInput<'_>) -> Result<Round, BlindError> {
    let study = input.study;
    let system_prompts: Vec<&str> = study
        .scaffolds
        .iter()
        .filter_map(|s| s.system.as_deref())
        .collect();
    let redactor = Redactor::new(&redaction_terms(input), &system_prompts)?;

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
    for t in &transcripts {
        let item_id = loop {
            let code = random_code(&mut id_rng, 8);
            if used.insert(code.clone()) {
                break code;
            }
        };
        let mut redactions: BTreeMap<Category, u32> = BTreeMap::new();
        let mut quoted = 0;
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
                quoted += redacted.quoted_instructions;
                Turn {
                    role: m.role,
                    content: redacted.text,
                }
            })
            .collect();
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
            redactions,
            quoted_instructions: quoted,
        });
    }

    let index_of =
        |list: &[String], x: &str| list.iter().position(|y| y == x).unwrap_or(list.len());
    let model_ids: Vec<String> = study.models.iter().map(|m| m.id.clone()).collect();
    let scaffold_ids: Vec<String> = study.scaffolds.iter().map(|s| s.id.clone()).collect();
    let strata: Vec<(usize, usize)> = key_items
        .iter()
        .map(|k| {
            (
                index_of(&model_ids, &k.model),
                index_of(&scaffold_ids, &k.scaffold),
            )
        })
        .collect();
    let assignment = assign::assign(
        &strata,
        input.raters.len(),
        input.per_item as usize,
        &mut assign_rng,
    )?;
    for (item, raters) in assignment.raters_of.iter().enumerate() {
        key_items[item].raters = raters.iter().map(|&r| input.raters[r].clone()).collect();
    }
    let unpaired = assign::unpaired(&assignment, input.raters.len())
        .into_iter()
        .map(|(a, b)| (input.raters[a].clone(), input.raters[b].clone()))
        .collect();

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
    };
    let key_bytes = to_json_bytes(&key);
    let key_sha256 = sha256_hex(&key_bytes);

    let mut files = Vec::new();
    let mut packets = BTreeMap::new();
    for (r, rater) in input.raters.iter().enumerate() {
        let packet_id = random_code(&mut packet_rng, 8);
        let packet = Packet {
            rater,
            packet_id: &packet_id,
            items: assignment.packets[r].iter().map(|&i| &items[i]).collect(),
        };
        files.push((
            format!("{PACKETS_DIR}/{rater}.html"),
            packet::render_html(&packet, &study.rubric),
        ));
        files.push((
            format!("{PACKETS_DIR}/{rater}.csv"),
            packet::render_csv(&packet, &study.rubric),
        ));
        files.push((
            format!("{PACKETS_DIR}/{rater}.json"),
            to_json_bytes(&packet::packet_json(&packet, &study.rubric)),
        ));
        packets.insert(
            rater.clone(),
            PacketEntry {
                packet_id: packet_id.clone(),
                items: packet.items.iter().map(|i| i.item_id.clone()).collect(),
            },
        );
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
    };
    files.push((
        format!("{PACKETS_DIR}/{MANIFEST_FILE}"),
        to_json_bytes(&manifest),
    ));

    let (needles, mut warnings) = needles(input);
    warnings.extend(
        redactor
            .warnings()
            .iter()
            .map(|w| format!("redaction: {w}")),
    );
    let scanner = Scanner::new(&needles);
    let mut leaks = Vec::new();
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for hit in scanner.scan(&text) {
            leaks.push(Leak {
                file: path.clone(),
                hit,
            });
        }
    }
    files.push((KEY_FILE.to_string(), key_bytes));
    Ok(Round {
        files,
        key,
        key_sha256,
        leaks,
        warnings,
        unpaired,
    })
}
