//! The names that give a model away, as data.
//!
//! Raters must not learn which model (or vendor) wrote a transcript, so every model family,
//! product and vendor name we know of is redacted before packets are written. Many of those names
//! are also ordinary words ("meta", "nova", "haiku", "grok", "falcon", "command"), and destroying
//! ordinary English would both hurt the ratings and hint at redaction. Each entry therefore says
//! *when* its name counts as a model or vendor name ([`Bare`], [`VersionRule`], tiers and deny
//! lists); [`crate::blind::redact`] applies those rules. The table is current as of late 2026;
//! studies add their own terms (model aliases, provider-reported versions, the simulated models'
//! identity terms) through [`crate::blind::redact::Term`].
//!
//! [`is_ordinary_word`] decides whether a single id (a scaffold or model alias) can be scanned for
//! in packets without false alarms; it uses a list of common English words derived from SCOWL
//! (`common_words.txt`, with its licence notice).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// What a redacted span is replaced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placeholder {
    Model,
    Company,
    /// An assistant quoting its hidden system prompt.
    Instructions,
}

impl Placeholder {
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::Model => "[MODEL]",
            Placeholder::Company => "[COMPANY]",
            Placeholder::Instructions => "[INSTRUCTIONS]",
        }
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a term is identifying; the blinding key records redaction counts per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ModelName,
    ModelVersion,
    Vendor,
    StudyAlias,
    Extra,
}

/// When the bare name (no version suffix, no model context) is redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bare {
    /// Unambiguous: always (unless the next or previous word is on the deny list).
    Always,
    /// Only when written with a capital first letter ("Google", not "google it").
    Capitalised,
    /// Only capitalised and not at the start of a sentence ("used Perplexity", not
    /// "Perplexity is a measure of ...").
    CapitalisedMidSentence,
    /// Never: only in model context (a version, a vendor before it, "I'm X", "X, an AI ...").
    Never,
}

/// Whether the name takes a version suffix ("-4o", " 3.5 Sonnet", "-20241022", "-8B-Instruct"),
/// and which suffixes put a guarded name ([`Bare`] other than `Always`) in model context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// One built-in model, product or vendor name.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LexiconEntry {
    /// Canonical spelling.
    pub name: &'static str,
    /// Regex over the normalised text (NFKC, default-ignorables removed, `_` read as `-`),
    /// case-insensitive unless it says `(?-i:...)`. `~` stands for an optional separator (space,
    /// hyphen, dot, none). Alternatives are tried in order at each position, so a longer one
    /// that starts like a shorter one must come first ("ernie~bot|(?-i:ERNIE)").
    pub pattern: &'static str,
    pub placeholder: Placeholder,
    pub category: Category,
    pub bare: Bare,
    pub version: VersionRule,
    /// Suffix words that also put a guarded name in model context ("Pro" in "Gemini Pro").
    pub tiers: &'static [&'static str],
    /// A bare match is kept when the next word is one of these ("Claude Shannon").
    pub deny_next: &'static [&'static str],
    /// A bare match is kept when the previous word is one of these ("Jean-Claude").
    pub deny_prev: &'static [&'static str],
    /// A bare match is kept when a hyphen and a letter follow ("Meta-analysis").
    pub deny_hyphenated: bool,
}

impl LexiconEntry {
    /// Whether the name is also an ordinary word or given name, so that the redactor leaves it
    /// alone outside model context.
    pub fn is_guarded(&self) -> bool {
        self.bare != Bare::Always
    }
}

const MODEL: LexiconEntry = LexiconEntry {
    name: "",
    pattern: "",
    placeholder: Placeholder::Model,
    category: Category::ModelName,
    bare: Bare::Always,
    version: VersionRule::Any,
    tiers: &[],
    deny_next: &[],
    deny_prev: &[],
    deny_hyphenated: false,
};

const VENDOR: LexiconEntry = LexiconEntry {
    placeholder: Placeholder::Company,
    category: Category::Vendor,
    version: VersionRule::None,
    ..MODEL
};

const fn model(name: &'static str, pattern: &'static str) -> LexiconEntry {
    LexiconEntry {
        name,
        pattern,
        ..MODEL
    }
}

const fn vendor(name: &'static str, pattern: &'static str) -> LexiconEntry {
    LexiconEntry {
        name,
        pattern,
        ..VENDOR
    }
}

/// A model name that is also an ordinary word: only in model context.
const fn guarded_model(
    name: &'static str,
    pattern: &'static str,
    version: VersionRule,
    tiers: &'static [&'static str],
) -> LexiconEntry {
    LexiconEntry {
        name,
        pattern,
        bare: Bare::Never,
        version,
        tiers,
        ..MODEL
    }
}

const fn capitalised_vendor(
    name: &'static str,
    pattern: &'static str,
    bare: Bare,
    deny_next: &'static [&'static str],
) -> LexiconEntry {
    LexiconEntry {
        name,
        pattern,
        bare,
        deny_next,
        ..VENDOR
    }
}

/// Products named in ordinary advice ("search Google Scholar", "open it in Microsoft Excel"):
/// redacting the vendor there would garble the answer without hiding any model's identity.
const GOOGLE_PRODUCTS: &[&str] = &[
    "scholar",
    "maps",
    "search",
    "docs",
    "drive",
    "sheets",
    "slides",
    "translate",
    "calendar",
    "play",
    "chrome",
    "earth",
    "trends",
    "flights",
    "forms",
    "photos",
    "meet",
    "account",
    "pay",
];
const MICROSOFT_PRODUCTS: &[&str] = &[
    "excel",
    "word",
    "teams",
    "office",
    "outlook",
    "windows",
    "edge",
    "access",
    "powerpoint",
    "onedrive",
    "365",
    "authenticator",
    "store",
    "defender",
    "sql",
    "azure",
];

/// Words after "Meta" that make it the prefix, not the company ("Meta data", "Meta analysis").
const META_NOT_COMPANY: &[&str] = &[
    "analysis",
    "analyses",
    "analytic",
    "analytical",
    "data",
    "tag",
    "tags",
    "description",
    "descriptions",
    "level",
    "learning",
    "information",
    "programming",
    "ethics",
    "ethical",
    "physics",
    "cognition",
    "cognitive",
    "narrative",
    "commentary",
    "question",
    "questions",
    "discussion",
    "joke",
    "humor",
    "humour",
    "game",
    "gaming",
    "class",
    "classes",
    "object",
    "objects",
    "character",
    "key",
    "keys",
    "field",
    "fields",
    "study",
    "studies",
    "review",
    "reviews",
    "regression",
    "heuristic",
    "heuristics",
    "reasoning",
    "theory",
    "language",
    "awareness",
    "knowledge",
    "mathematics",
    "prompt",
    "prompting",
    "comment",
    "comments",
    "point",
    "argument",
];

const CLAUDE_NOT_MODEL: &[&str] = &[
    "shannon",
    "monet",
    "debussy",
    "levi",
    "lévi",
    "bernard",
    "chabrol",
    "lorrain",
    "rains",
    "makelele",
    "makélélé",
    "giroud",
    "van",
    "cahun",
    "lelouch",
    "berri",
    "pompidou",
    "frollo",
];

/// The built-in lexicon. Order matters only for ties (same span): earlier entries win.
pub const BUILTIN: &[LexiconEntry] = &[
    // OpenAI.
    vendor("OpenAI", r"openai|open-ai|(?-i:Open AI)"),
    model("ChatGPT", "chat~gpt"),
    LexiconEntry {
        deny_next: &[
            "partition",
            "partitions",
            "partitioned",
            "partitioning",
            "disk",
            "disks",
            "table",
            "header",
            "scheme",
            "drive",
            "drives",
            "format",
            "formatted",
            "layout",
            "label",
        ],
        tiers: &["oss", "image", "realtime", "audio"],
        ..model("GPT", "gpts?")
    },
    guarded_model(
        "o1",
        "o[1345]",
        VersionRule::Joined,
        &["mini", "pro", "preview", "high", "low", "medium", "deep"],
    ),
    model("DALL-E", "dall~e"),
    LexiconEntry {
        bare: Bare::Capitalised,
        ..model("Sora", "sora")
    },
    guarded_model("Codex", "codex", VersionRule::Any, &["cli", "mini"]),
    // Anthropic.
    LexiconEntry {
        deny_next: &[
            "principle",
            "principles",
            "bias",
            "reasoning",
            "argument",
            "arguments",
            "coincidence",
            "coincidences",
            "selection",
            "considerations",
        ],
        ..vendor("Anthropic", "anthropic")
    },
    LexiconEntry {
        deny_next: CLAUDE_NOT_MODEL,
        deny_prev: &["jean"],
        ..model("Claude", "claude")
    },
    guarded_model("Sonnet", "opus|sonnet|haiku", VersionRule::ClaudeTier, &[]),
    model("3.5 Sonnet", r"[3-9]\.[0-9]~(?:opus|sonnet|haiku)"),
    // Google.
    capitalised_vendor("Google", "google", Bare::Capitalised, GOOGLE_PRODUCTS),
    vendor("Google DeepMind", "google~deep-?mind"),
    vendor("DeepMind", "deep-?mind"),
    guarded_model(
        "Gemini",
        "gemini",
        VersionRule::Any,
        &[
            "pro", "flash", "ultra", "nano", "advanced", "live", "cli", "lite", "exp",
        ],
    ),
    guarded_model("Gemma", "gemma", VersionRule::Any, &["it"]),
    guarded_model("Bard", "bard", VersionRule::None, &[]),
    model("PaLM", "(?-i:PaLM)"),
    guarded_model("PaLM", "palm", VersionRule::Joined, &[]),
    model("LaMDA", "(?-i:LaMDA)"),
    model("NotebookLM", "notebook~lm"),
    guarded_model("Imagen", "imagen", VersionRule::Any, &[]),
    guarded_model("Veo", "veo", VersionRule::Any, &[]),
    // Meta.
    LexiconEntry {
        deny_next: META_NOT_COMPANY,
        deny_hyphenated: true,
        ..capitalised_vendor("Meta", "meta", Bare::Capitalised, &[])
    },
    vendor("Meta AI", "meta~ai"),
    vendor("Meta Platforms", "meta~platforms"),
    model("Meta Llama", "meta~llama"),
    guarded_model("Llama", "llama", VersionRule::Any, &["guard"]),
    model("LLaMA", "(?-i:LLaMA|LLAMA)"),
    model("Code Llama", "code~llama"),
    // Mistral.
    vendor("Mistral AI", "mistral~ai"),
    capitalised_vendor("Mistral", "mistral", Bare::Capitalised, &["wind", "winds"]),
    guarded_model(
        "Mistral",
        "mistral",
        VersionRule::Any,
        &[
            "large", "medium", "small", "tiny", "nemo", "saba", "instruct",
        ],
    ),
    model(
        "Mixtral",
        "mixtral|codestral|pixtral|ministral|magistral|devstral|voxtral",
    ),
    LexiconEntry {
        version: VersionRule::None,
        ..model("Le Chat", "(?-i:Le Chat)")
    },
    // Cohere.
    capitalised_vendor("Cohere", "cohere", Bare::CapitalisedMidSentence, &[]),
    vendor("Cohere For AI", "cohere~(?:for~ai|labs|ai)"),
    LexiconEntry {
        version: VersionRule::None,
        ..model(
            "Command R+",
            r"(?-i:Command R\+)|command-r-plus|command-r7b",
        )
    },
    guarded_model(
        "Command R",
        "command-(?:r|a)|(?-i:Command [RA])",
        VersionRule::Any,
        &[
            "plus",
            "vision",
            "reasoning",
            "translate",
            "light",
            "nightly",
        ],
    ),
    guarded_model("Aya", "aya", VersionRule::Any, &["expanse", "vision"]),
    // xAI.
    vendor("xAI", r"(?-i:xAI)|x\.ai|xai-org|x-ai"),
    guarded_model(
        "Grok",
        "grok",
        VersionRule::Any,
        &["heavy", "beta", "mini", "code"],
    ),
    // DeepSeek (company and model share the name).
    vendor("DeepSeek", "deep-?seek(?:~ai)?"),
    guarded_model(
        "DeepSeek",
        "deep-?seek",
        VersionRule::Any,
        &["chat", "coder", "reasoner", "math", "prover", "vl"],
    ),
    // Alibaba.
    model("Qwen", "qwen|qwq"),
    vendor("Alibaba", "alibaba"),
    model("Tongyi", "tongyi(?:~qianwen)?"),
    // Microsoft.
    LexiconEntry {
        deny_next: MICROSOFT_PRODUCTS,
        ..vendor("Microsoft", "microsoft")
    },
    LexiconEntry {
        bare: Bare::Capitalised,
        ..model("Copilot", "copilot")
    },
    LexiconEntry {
        bare: Bare::Capitalised,
        version: VersionRule::None,
        deny_prev: &["chandler"],
        ..model("Bing", "bing")
    },
    model("Bing Chat", "bing~chat"),
    guarded_model("Phi", "phi", VersionRule::Any, &[]),
    // Amazon.
    LexiconEntry {
        deny_prev: &["the"],
        ..capitalised_vendor(
            "Amazon",
            "amazon",
            Bare::Capitalised,
            &[
                "rainforest",
                "rainforests",
                "rain",
                "river",
                "basin",
                "jungle",
                "forest",
                "forests",
                "delta",
                "region",
                "warrior",
                "warriors",
                "women",
                "parrot",
                "parrots",
                "tribe",
                "tribes",
                "biome",
            ],
        )
    },
    vendor("Amazon Web Services", "amazon~web~services"),
    // "AWS" is mostly the cloud in everyday answers ("an AWS access key"); only in model context.
    LexiconEntry {
        bare: Bare::Never,
        ..vendor("AWS", "(?-i:AWS)")
    },
    LexiconEntry {
        bare: Bare::Never,
        ..vendor("Bedrock", "bedrock")
    },
    model("Amazon Nova", "amazon~nova"),
    guarded_model(
        "Nova",
        "nova",
        VersionRule::Any,
        &[
            "pro", "lite", "micro", "premier", "canvas", "reel", "sonic", "act",
        ],
    ),
    model("Amazon Titan", "amazon~titan"),
    guarded_model(
        "Titan",
        "titan",
        VersionRule::Joined,
        &[
            "text",
            "embed",
            "embeddings",
            "image",
            "express",
            "lite",
            "premier",
            "multimodal",
        ],
    ),
    // AI21.
    vendor("AI21", "ai21(?:~labs)?"),
    guarded_model(
        "Jamba",
        "jamba",
        VersionRule::Any,
        &["mini", "large", "instruct"],
    ),
    // Perplexity.
    vendor("Perplexity AI", "perplexity~ai"),
    capitalised_vendor(
        "Perplexity",
        "perplexity",
        Bare::CapitalisedMidSentence,
        &["score", "scores", "metric"],
    ),
    guarded_model(
        "Perplexity",
        "perplexity",
        VersionRule::Any,
        &["pro", "sonar"],
    ),
    guarded_model(
        "Sonar",
        "sonar",
        VersionRule::Any,
        &["pro", "reasoning", "deep"],
    ),
    // Reka.
    vendor("Reka", "reka"),
    guarded_model(
        "Reka",
        "reka",
        VersionRule::Any,
        &["core", "flash", "edge", "spark"],
    ),
    // Inflection.
    vendor("Inflection AI", "inflection~ai"),
    capitalised_vendor(
        "Inflection",
        "inflection",
        Bare::CapitalisedMidSentence,
        &["point", "points"],
    ),
    LexiconEntry {
        version: VersionRule::None,
        ..model(
            "Inflection Pi",
            r"inflection~pi|(?-i:Pi), your personal ai|pi\.ai",
        )
    },
    // 01.AI.
    vendor("01.AI", "01[-.·]?ai|lingyiwanwu"),
    guarded_model(
        "Yi",
        "yi",
        VersionRule::Size,
        &["large", "lightning", "vision", "medium", "spark"],
    ),
    // Zhipu.
    vendor("Zhipu", r"zhipu(?:~ai)?|z\.ai|zai-org|thudm"),
    guarded_model("GLM", "glm", VersionRule::Joined, &[]),
    model("ChatGLM", "chat~glm"),
    // Moonshot.
    vendor("Moonshot AI", "moonshot~ai"),
    LexiconEntry {
        bare: Bare::Never,
        ..vendor("Moonshot", "moonshot")
    },
    guarded_model("Kimi", "kimi", VersionRule::Any, &[]),
    // MiniMax.
    vendor("MiniMax", "(?-i:MiniMax)"),
    guarded_model("MiniMax", "minimax", VersionRule::Joined, &["text"]),
    // Baidu.
    vendor("Baidu", "baidu"),
    model("ERNIE", "ernie~bot|(?-i:ERNIE)"),
    guarded_model("ERNIE", "ernie", VersionRule::Any, &[]),
    // Tencent.
    vendor("Tencent", "tencent"),
    model("Hunyuan", "hunyuan"),
    // IBM.
    vendor("IBM", "(?-i:IBM)"),
    model("IBM Granite", "ibm~granite"),
    guarded_model("Granite", "granite", VersionRule::Any, &[]),
    // NVIDIA.
    vendor("NVIDIA", "nvidia"),
    model("Nemotron", "nemotron"),
    // TII.
    vendor("TII", "(?-i:TII)|tiiuae|technology~innovation~institute"),
    guarded_model("Falcon", "falcon", VersionRule::Size, &[]),
    // LMSYS.
    vendor("LMSYS", "lmsys"),
    guarded_model("Vicuna", "vicuna", VersionRule::Size, &[]),
    // Hosts and hubs.
    vendor("Hugging Face", r"huggingface|hf\.co"),
    capitalised_vendor("Hugging Face", "hugging~face", Bare::Capitalised, &[]),
    model("HuggingChat", "hugging~chat"),
    vendor("OpenRouter", "openrouter|(?-i:Open ?Router)"),
    vendor("Together AI", r"together\.ai|togetherai|together-ai"),
    capitalised_vendor(
        "Together AI",
        "(?-i:Together AI)",
        Bare::CapitalisedMidSentence,
        &[],
    ),
    vendor("Groq", "groq"),
    vendor("Fireworks AI", "fireworks~ai"),
    vendor("Cerebras", "cerebras"),
    vendor("Ollama", "ollama"),
    vendor("Databricks", "databricks"),
    model("DBRX", "dbrx"),
    model("Snowflake Arctic", "snowflake~arctic"),
    vendor("Character.AI", r"character\.ai|(?-i:Character AI)"),
    // Others.
    vendor("Nous Research", "nous~research"),
    guarded_model("Hermes", "hermes", VersionRule::Any, &[]),
    vendor(
        "Allen Institute for AI",
        "allen~institute~for~ai|allen~ai|(?-i:AI2|Ai2)",
    ),
    model("OLMo", "(?-i:OLMo)"),
    guarded_model("OLMo", "olmo", VersionRule::Any, &[]),
    guarded_model("Tülu", "t[uü]lu", VersionRule::Any, &[]),
    vendor("ByteDance", "byte~dance"),
    model("Doubao", "doubao"),
    model("Baichuan", "baichuan"),
    model("InternLM", "intern~lm"),
    vendor("StepFun", "stepfun"),
    vendor("SenseTime", "sensetime"),
    model("SenseNova", "sensenova"),
    model("Apple Intelligence", "(?-i:Apple Intelligence)"),
    model("Midjourney", "midjourney"),
];

/// The built-in lexicon as data.
pub fn builtin() -> &'static [LexiconEntry] {
    BUILTIN
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

/// Whether `id` names built-in entries, and if so whether all of them are guarded. Case-sensitive
/// entries ("LLaMA") compare exactly, the others in lowercase; an entry's names are its canonical
/// name and the plain-word alternatives of its pattern ("opus|sonnet|haiku").
fn lexicon_verdict(id: &str, lowercase: &str) -> Option<bool> {
    let mut found = None;
    for entry in BUILTIN {
        let case_sensitive = entry.pattern.starts_with("(?-i:");
        let plain = entry
            .pattern
            .split('|')
            .filter(|alt| alt.chars().all(|c| c.is_ascii_lowercase()));
        let names_it = std::iter::once(entry.name).chain(plain).any(|name| {
            if case_sensitive {
                name == id
            } else {
                name.to_lowercase() == lowercase
            }
        });
        if names_it {
            found = Some(found.unwrap_or(true) && entry.is_guarded());
        }
    }
    found
}

fn is_common_word(word: &str) -> bool {
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
///    ([`LexiconEntry::is_guarded`]): "gemini", "meta", "llama" are, "claude", "deepseek" are not.
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
