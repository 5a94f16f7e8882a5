//! The names and phrases that give a model away, as data.
//!
//! Raters must not learn which model (or vendor) wrote a transcript, so every model family,
//! product, vendor, host and founder name we know of is redacted before packets are written.
//! The list lives in `lexicon.toml` (embedded in the binary; docs/blinding.md says how to extend
//! it): one `[[family]]` per maker, each with its terms and the rules for when a term counts as
//! a name. Many names are also ordinary words ("meta", "nova", "haiku", "grok", "falcon"), and
//! destroying ordinary English would both hurt the ratings and hint at redaction, so a term says
//! *when* it is a name ([`Bare`], [`VersionRule`], tiers and deny lists) and the shared
//! `[context]` phrases say what model context looks like; [`crate::blind::names`] applies them.
//! The file also holds the fingerprints that are not names (knowledge-cutoff statements, vendor
//! boilerplate, chat-template tokens, talk about hidden instructions).
//!
//! [`is_ordinary_word`] decides whether a single id (a scaffold or model alias) is an ordinary
//! word; it uses a list of common English words derived from SCOWL (`common_words.txt`, with its
//! licence notice).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::LazyLock;

/// What every redaction is replaced with, whatever it stood for: a placeholder that differed by
/// kind would itself tell ("trained by [MODEL]" against "trained by [COMPANY]"). The key keeps
/// the kind.
pub const PLACEHOLDER: &str = "[REDACTED]";

/// Why a span was redacted or removed; the blinding key counts redactions per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ModelName,
    ModelVersion,
    Vendor,
    Product,
    Host,
    Person,
    StudyAlias,
    ScaffoldId,
    Extra,
    KnowledgeCutoff,
    Boilerplate,
    TemplateToken,
    InstructionTalk,
    /// An assistant quoting its hidden system prompt.
    SystemPrompt,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ModelName => "model name",
            Category::ModelVersion => "model version",
            Category::Vendor => "vendor",
            Category::Product => "product",
            Category::Host => "host",
            Category::Person => "person",
            Category::StudyAlias => "study alias",
            Category::ScaffoldId => "scaffold id",
            Category::Extra => "extra redaction term",
            Category::KnowledgeCutoff => "knowledge cutoff",
            Category::Boilerplate => "vendor boilerplate",
            Category::TemplateToken => "chat-template token",
            Category::InstructionTalk => "talk about instructions",
            Category::SystemPrompt => "system-prompt sentence",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a lexicon term names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    Vendor,
    #[default]
    Model,
    Product,
    Host,
    Person,
}

impl TermKind {
    pub fn category(self) -> Category {
        match self {
            TermKind::Vendor => Category::Vendor,
            TermKind::Model => Category::ModelName,
            TermKind::Product => Category::Product,
            TermKind::Host => Category::Host,
            TermKind::Person => Category::Person,
        }
    }

    /// Vendors and hosts give model context to a guarded name next to them ("Google's Gemini").
    pub fn is_maker(self) -> bool {
        matches!(self, TermKind::Vendor | TermKind::Host)
    }
}

/// When the bare name (no version suffix, no model context) is redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Bare {
    /// Unambiguous: always (unless the next or previous word is on the deny list).
    #[default]
    Always,
    /// Only when written with a capital first letter ("Google", not "google it").
    Capitalised,
    /// Only capitalised and not at the start of a sentence ("used Perplexity", not
    /// "Perplexity is a measure of ...").
    MidSentence,
    /// Only in model context (a version, a vendor next to it, "I'm X", "X, an AI ...", a
    /// signature, a JSON value, or written so as to evade matching).
    Context,
}

/// Whether the name takes a version suffix ("-4o", " 3.5 Sonnet", "-20241022", "-8B-Instruct"),
/// and which suffixes put a guarded name in model context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionRule {
    /// Takes no suffix (vendors).
    None,
    /// Any suffix token with a digit ("Grok 3", "gemini-2.5-flash").
    Any,
    /// A digit token joined without a space ("glm-4", "palm2"), since "GLM 2" may be statistics.
    Joined,
    /// A Claude tier version: first token a single digit 3-9 ("Sonnet 4.5", "opus-4-1"), so that
    /// "Shakespeare's Sonnet 18" and "Opus 27" stay.
    ClaudeTier,
    /// A parameter-count token such as "40B" or "8x7B" ("Falcon-40B" but not "Falcon 9").
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    #[default]
    Any,
    /// Letters must be written as in the form ("PaLM", "AWS", "Command R").
    Exact,
}

/// One term of the lexicon: the forms of one name and when they count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LexiconTerm {
    pub family: String,
    /// The first form: how the leak report names the term.
    pub name: String,
    pub kind: TermKind,
    pub forms: Vec<String>,
    #[serde(flatten)]
    pub rules: TermRules,
}

/// How one name is matched and when it counts (lexicon.toml's term fields; study terms get
/// plain rules).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermRules {
    pub case: Case,
    pub bare: Bare,
    pub version: VersionRule,
    pub tiers: Vec<String>,
    pub context_after: Vec<String>,
    pub deny_next: Vec<String>,
    pub deny_prev: Vec<String>,
    pub deny_hyphenated: bool,
    /// The forms' separators must be written ("x.ai", not "xai").
    pub separators_required: bool,
}

impl TermRules {
    /// Whether the name is also an ordinary word or given name, so that the redactor leaves it
    /// alone outside model context.
    pub fn is_guarded(&self) -> bool {
        self.bare != Bare::Always
    }
}

/// Phrases that make model context, shared by every term (see lexicon.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ContextPhrases {
    pub self_before: Vec<String>,
    pub made_by_before: Vec<String>,
    pub after_name: Vec<String>,
    pub after_name_at_start: Vec<String>,
    pub model_nouns: Vec<String>,
    pub key_names: Vec<String>,
    pub glue_suffixes: Vec<String>,
    pub glue_prefixes: Vec<String>,
}

/// A fingerprint that is not a name; each kind can be switched off in `[blinding.fingerprints]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerprintKind {
    KnowledgeCutoff,
    Boilerplate,
    TemplateToken,
    InstructionTalk,
}

impl FingerprintKind {
    pub const ALL: [FingerprintKind; 4] = [
        FingerprintKind::KnowledgeCutoff,
        FingerprintKind::Boilerplate,
        FingerprintKind::TemplateToken,
        FingerprintKind::InstructionTalk,
    ];

    pub fn category(self) -> Category {
        match self {
            FingerprintKind::KnowledgeCutoff => Category::KnowledgeCutoff,
            FingerprintKind::Boilerplate => Category::Boilerplate,
            FingerprintKind::TemplateToken => Category::TemplateToken,
            FingerprintKind::InstructionTalk => Category::InstructionTalk,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerprintAction {
    /// Replaced by the placeholder.
    Redact,
    /// Deleted (chat-template tokens and reasoning blocks, which carry nothing for raters).
    Remove,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintSpec {
    pub kind: FingerprintKind,
    pub action: FingerprintAction,
    /// Extend each match to the end of its clause.
    #[serde(default)]
    pub clause: bool,
    pub patterns: Vec<String>,
}

/// The whole lexicon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lexicon {
    pub context: ContextPhrases,
    pub terms: Vec<LexiconTerm>,
    pub fingerprints: Vec<FingerprintSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("lexicon: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("lexicon: family '{family}' has a term without forms")]
    NoForms { family: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    context: ContextPhrases,
    family: Vec<RawFamily>,
    #[serde(default)]
    fingerprint: Vec<FingerprintSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    name: String,
    term: Vec<RawTerm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerm {
    #[serde(default)]
    kind: TermKind,
    forms: Vec<String>,
    #[serde(default)]
    case: Case,
    #[serde(default)]
    bare: Bare,
    version: Option<VersionRule>,
    #[serde(default)]
    tiers: Vec<String>,
    #[serde(default)]
    context_after: Vec<String>,
    #[serde(default)]
    deny_next: Vec<String>,
    #[serde(default)]
    deny_prev: Vec<String>,
    #[serde(default)]
    deny_hyphenated: bool,
    #[serde(default)]
    separators_required: bool,
}

const LEXICON_TOML: &str = include_str!("lexicon.toml");

/// Parses a lexicon file (the built-in one is `lexicon.toml`).
pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
    let raw: RawLexicon = toml::from_str(text)?;
    let lower =
        |v: Vec<String>| -> Vec<String> { v.into_iter().map(|s| s.to_lowercase()).collect() };
    let mut terms = Vec::new();
    for family in raw.family {
        for t in family.term {
            let Some(name) = t.forms.first().cloned() else {
                return Err(LexiconError::NoForms {
                    family: family.name.clone(),
                });
            };
            let version = t.version.unwrap_or(match t.kind {
                TermKind::Model | TermKind::Product => VersionRule::Any,
                _ => VersionRule::None,
            });
            terms.push(LexiconTerm {
                family: family.name.clone(),
                name,
                kind: t.kind,
                forms: t.forms,
                rules: TermRules {
                    case: t.case,
                    bare: t.bare,
                    version,
                    tiers: lower(t.tiers),
                    context_after: lower(t.context_after),
                    deny_next: lower(t.deny_next),
                    deny_prev: lower(t.deny_prev),
                    deny_hyphenated: t.deny_hyphenated,
                    separators_required: t.separators_required,
                },
            });
        }
    }
    let c = raw.context;
    Ok(Lexicon {
        context: ContextPhrases {
            self_before: lower(c.self_before),
            made_by_before: lower(c.made_by_before),
            after_name: lower(c.after_name),
            after_name_at_start: lower(c.after_name_at_start),
            model_nouns: lower(c.model_nouns),
            key_names: lower(c.key_names),
            glue_suffixes: lower(c.glue_suffixes),
            glue_prefixes: lower(c.glue_prefixes),
        },
        terms,
        fingerprints: raw.fingerprint,
    })
}

static BUILTIN: LazyLock<Lexicon> =
    LazyLock::new(|| parse(LEXICON_TOML).expect("lexicon.toml is valid (a unit test parses it)"));

/// The built-in lexicon.
pub fn builtin() -> &'static Lexicon {
    &BUILTIN
}

static COMMON_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_words.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .collect()
});

/// Inflections stripped to find a listed base ("books" -> "book", "running" -> "run"). The word
/// list was pruned with exactly these rules, so they must not change without regenerating it.
pub(crate) fn inflection_bases(word: &str) -> Vec<String> {
    const RULES: &[(&str, &str)] = &[
        ("ies", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ing", ""),
        ("ing", "e"),
        ("ly", ""),
        ("er", ""),
        ("er", "e"),
        ("ers", ""),
        ("ers", "e"),
        ("est", ""),
        ("est", "e"),
        ("ness", ""),
        ("ment", ""),
        ("ments", ""),
    ];
    let mut bases = Vec::new();
    for (suffix, replacement) in RULES {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.len() >= 3
        {
            bases.push(format!("{stem}{replacement}"));
        }
    }
    for suffix in ["ed", "ing", "er", "est"] {
        if let Some(stem) = word.strip_suffix(suffix) {
            let b = stem.as_bytes();
            if b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] {
                bases.push(stem[..stem.len() - 1].to_string());
            }
        }
    }
    bases
}

/// Whether `id` names built-in terms, and if so whether all of them are guarded. Exact-case
/// terms ("LLaMA") compare exactly, the others in lowercase.
fn lexicon_verdict(id: &str, lowercase: &str) -> Option<bool> {
    let mut found = None;
    for term in &builtin().terms {
        let names_it = term.forms.iter().any(|form| match term.rules.case {
            Case::Exact => form == id,
            Case::Any => form.to_lowercase() == lowercase,
        });
        if names_it {
            found = Some(found.unwrap_or(true) && term.rules.is_guarded());
        }
    }
    found
}

pub(crate) fn is_common_word(word: &str) -> bool {
    COMMON_WORDS.contains(word) || inflection_bases(word).iter().any(|b| is_common_word(b))
}

/// Whether a scaffold or model id is an ordinary word that cannot be scanned for in packets
/// without false alarms; the caller turns such ids into a warning instead of scanning.
///
/// The rule, in order:
/// 1. An id with anything but letters (a digit, a separator, punctuation, a space) is
///    distinctive ("verif-v2", "sim-alpha", "gpt4o"), and so is one with a capital inside that
///    is not all capitals ("SimAlpha", "xAI"). An empty id is ordinary (there is nothing to scan).
/// 2. A built-in lexicon name is ordinary exactly when the redactor guards it
///    ([`TermRules::is_guarded`]): "gemini", "meta", "llama" are, "claude", "deepseek" are not.
/// 3. Otherwise it is ordinary when it is a common English word (SCOWL levels 10 and 20 plus a
///    few study-design words such as "baseline", "placebo", "vanilla"), possibly inflected
///    ("verified", "controls"), or two such words of at least three letters run together
///    ("baseline", "steerability" = "steer" + "ability", "selfcheck").
pub fn is_ordinary_word(id: &str) -> bool {
    let id = id.trim();
    if id.is_empty() {
        return true;
    }
    if !id.chars().all(char::is_alphabetic) {
        return false;
    }
    let all_upper = id.chars().all(char::is_uppercase);
    if !all_upper && id.chars().skip(1).any(char::is_uppercase) {
        return false;
    }
    let word = id.to_lowercase();
    if let Some(guarded) = lexicon_verdict(id, &word) {
        return guarded;
    }
    if is_common_word(&word) {
        return true;
    }
    word.char_indices().skip(3).any(|(i, _)| {
        word.len() - i >= 3 && is_common_word(&word[..i]) && is_common_word(&word[i..])
    })
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_and_distinctive_ids() {
        let table = [
            // The brief's examples.
            ("verification", true),
            ("baseline", true),
            ("steerability", true),
            ("alpha", true),
            ("verification-steerability", false),
            ("verif-v2", false),
            ("sim-alpha", false),
            ("gpt4o", false),
            // Inflections and compounds.
            ("controls", true),
            ("verified", true),
            ("running", true),
            ("selfcheck", true),
            ("Baseline", true),
            ("BASELINE", true),
            // Guarded lexicon names are ordinary, unambiguous ones are not.
            ("gemini", true),
            ("meta", true),
            ("llama", true),
            ("haiku", true),
            ("claude", false),
            ("deepseek", false),
            ("anthropic", false),
            ("tencent", false),
            ("gpt", false),
            // Mixed case, digits, separators, made-up words.
            ("SimAlpha", false),
            ("xAI", false),
            ("cot2", false),
            ("zqxv", false),
            ("verif", false),
            ("", true),
        ];
        for (id, expected) in table {
            assert_eq!(is_ordinary_word(id), expected, "{id:?}");
        }
    }

    #[test]
    fn the_builtin_lexicon_parses_and_covers_every_family_of_the_issue() {
        let lexicon = builtin();
        let families: HashSet<&str> = lexicon.terms.iter().map(|t| t.family.as_str()).collect();
        for family in [
            "OpenAI",
            "Anthropic",
            "Google",
            "Meta",
            "Mistral",
            "Alibaba",
            "DeepSeek",
            "xAI",
            "Microsoft",
            "Amazon",
            "Cohere",
            "AI21",
            "Moonshot",
            "Zhipu",
            "Baidu",
            "ByteDance",
            "Tencent",
            "01.AI",
            "IBM",
            "NVIDIA",
            "TII",
            "Reka",
            "Perplexity",
        ] {
            assert!(families.contains(family), "{family}");
        }
        for kind in FingerprintKind::ALL {
            assert!(
                lexicon.fingerprints.iter().any(|f| f.kind == kind),
                "{kind:?}"
            );
        }
        assert!(lexicon.terms.iter().any(|t| t.kind == TermKind::Person));
        assert!(matches!(
            parse(
                "[context]\nself_before = []\n[[family]]\nname = \"x\"\n[[family.term]]\nforms = []\n"
            ),
            Err(LexiconError::Toml(_)) | Err(LexiconError::NoForms { .. })
        ));
    }

    #[test]
    fn word_list_is_loaded_with_inflections() {
        assert!(COMMON_WORDS.len() > 5000);
        for w in [
            "the", "book", "books", "happily", "stopped", "placebo", "vanilla",
        ] {
            assert!(is_common_word(w), "{w}");
        }
        assert!(!is_common_word("qwen"));
    }
}
