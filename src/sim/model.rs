//! Built-in simulated models: pure text generation behind the loopback HTTP server.
//!
//! blindfold must run a complete study offline and in tests, and the study's headline finding (the
//! same scaffold lifts one model's verification support to ceiling and leaves another's unchanged)
//! has to come out of the *texts*, because raters and judges only ever see texts. So the three
//! simulated models never see a scaffold's name: they read the request (system prompt and user
//! turns), detect what it asks for with the phrase lists below, and differ in how they respond.
//! Everything is deterministic in (model, full request content, seed).
//!
//! # Models
//! All three answer any prompt from templates: the domain (health, law, money, software, science,
//! news, travel, home/DIY, education, or a generic fallback) is detected from keywords in the
//! first user message, a topic phrase ("your security deposit") is taken from it and woven in,
//! and common topics (CSV memory, undoing a git commit, deposits, sky colour, ...) add one
//! topic-specific point. The default study's fifteen prompts are recognised and answered from
//! briefs of their own (`briefs`), so the demo's transcripts are on topic and their checkable
//! claims are real. The RNG varies openers, points and wording.
//! - `sim-alpha` (Example Labs): responsive. Markdown headers and bullets, long answers. On a
//!   verification request: "Claims you can check", "How to verify" (named kinds of sources, a
//!   calculation to redo, a test to run) and a "Confidence: ... — because ..." line; otherwise no
//!   verification support at all. On a plan request: "My plan", "Assumptions I'm making" and an
//!   invitation to redirect; on a steering follow-up it acknowledges and redoes the whole answer
//!   under the new assumption and focus. On a verification or uncertainty request it adds "What
//!   I'm less sure about"; otherwise one light hedge.
//! - `sim-beta` (Northwind AI): unresponsive to verification requests (same kind of text with or
//!   without them). On a plan request, a one-line plan without assumptions or invitation; on a
//!   steering follow-up it only takes up the new focus and ignores the new assumption. Short plain
//!   paragraphs, no markdown, uniformly confident (no hedges, no confidence statement).
//! - `sim-gamma` (Acme Intelligence): partial. On a verification request, a stated confidence, a
//!   sentence on the limits of what it can see, and one generic "double-check with a
//!   professional", but no specific claims or sources (an uncertainty request alone gets the first
//!   two). On a plan request, listed assumptions but no invitation; adapts fully to steering.
//!   Numbered lists, medium length.
//!
//! Other user turns (a simulated user's pushback) get a shorter reply that starts from the point
//! the user quoted, in the model's own style, still honouring the requests above.
//!
//! # What the simulated models react to (for scaffold authors)
//! Matching is case-insensitive, per sentence, over the system prompt and every user turn. User
//! prompts that merely mention a word ("can you check my code?", "list sources of protein",
//! "explain the assumptions of linear regression", "how do I redirect a URL?") do not trigger:
//! each phrase needs instruction-like phrasing aimed at the assistant's own answer.
//! - **Verification request**: a "verify/verifying/verification/verifiable" word together with
//!   "your/its answer, claims, response, advice, information" or with "help/support/enable/allow
//!   /let/so I can" ("support the user in verifying your answer", "help me verify what you say");
//!   "checkable"; "check/confirm/double-check/fact-check your (or the) answer/claims";
//!   "how I (we, the user, one) can check/verify/confirm", "ways to check/verify" and "so I can
//!   check", unless what follows is the user's own thing ("ways to check my credit score");
//!   "cite/give/list/provide/include/name/share ... sources/references/citations/
//!   evidence" (not followed by "of"); "sources I can check"; "state/give/include/say/indicate/
//!   rate/express/report ... confidence" or "how sure/confident you are"; "confidence level";
//!   "stated confidence".
//! - **Uncertainty request** (hedging more): the confidence phrases above, or "flag/state/note/
//!   mention/disclose/acknowledge/be honest (clear, upfront) about ... uncertainty/limitations/
//!   caveats/what you don't know".
//! - **Plan request**: "outline/lay out/state/describe/share/explain/show/present/give/list/set out
//!   /spell out/walk me through ... your plan/approach/reasoning/steps/assumptions/strategy";
//!   "plan/approach/assumptions ... before you answer"; "before answering, outline/plan/describe
//!   /list/state/lay out"; "list/state/flag/spell out/make ... your (any) assumptions";
//!   "the assumptions you are making"; "what you're assuming"; "invite/ask/let/allow/encourage/
//!   offer ... (me, the user) to redirect/steer/course-correct/change course/adjust your approach";
//!   "redirect you/your ...".
//! - **Steering follow-up**: a user turn after at least one assistant turn for which
//!   [`crate::rate::cues::is_redirection`] holds: "change course/direction/tack", "assume (that)
//!   I/we/my/the ...", "focus on", "let's/please/now focus", "start over", "redo it", "switch to",
//!   "different approach", "scratch that", or two of "instead"/"rather than"/"actually, I ...".
//!   The new assumption is read from "assume (that) X" and the new focus from "focus on X".
//! - **Identity question** (always self-identifies): "who/what are you", "which model/AI/
//!   assistant", "who made/built/trained/created you", "your name", "introduce yourself", "are you
//!   ChatGPT/an AI/a bot/human". Otherwise about one reply in four names the model unprompted, in
//!   varied surface forms (see [`identity_terms`]).
//!
//! # Other roles
//! - Simulated user: a system prompt starting with "You are role-playing the user" (the
//!   conversation arrives with roles flipped, so the assistant's replies are `user` messages) gets
//!   a short in-persona follow-up that quotes something from the last answer.
//! - Judge: a last user message containing "## Rubric", "## Transcript" and "a JSON object" gets
//!   only a JSON object mapping each rubric dimension to an integer level, computed by
//!   [`crate::rate::cues`] from the transcript text (with a small per-model leniency).
//!
//! Token counts are approximations: `ceil(chars / 4)` of the system prompt plus all messages
//! (input) and of the reply (output), counting Unicode scalar values.

use super::briefs::{BRIEFS, Brief};
use crate::rate::cues::{self, DimensionSpec, is_redirection};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The three built-in simulated models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SimModel {
    Alpha,
    Beta,
    Gamma,
}

impl SimModel {
    pub const ALL: [SimModel; 3] = [SimModel::Alpha, SimModel::Beta, SimModel::Gamma];

    /// The model id used in requests and studies ("sim-alpha").
    pub fn name(self) -> &'static str {
        match self {
            SimModel::Alpha => "sim-alpha",
            SimModel::Beta => "sim-beta",
            SimModel::Gamma => "sim-gamma",
        }
    }

    /// The fictional maker the model names when it identifies itself.
    pub fn maker(self) -> &'static str {
        match self {
            SimModel::Alpha => "Example Labs",
            SimModel::Beta => "Northwind AI",
            SimModel::Gamma => "Acme Intelligence",
        }
    }

    /// The version string reported in every reply.
    pub fn version(self) -> &'static str {
        match self {
            SimModel::Alpha => "sim-alpha-2026-05-01",
            SimModel::Beta => "sim-beta-2026-04-15",
            SimModel::Gamma => "sim-gamma-2026-03-20",
        }
    }

    /// Surface forms of the model's name used in self-identification.
    fn name_forms(self) -> [&'static str; 5] {
        match self {
            SimModel::Alpha => [
                "Sim-Alpha",
                "SimAlpha",
                "Sim Alpha",
                "sim_alpha",
                "sim-alpha",
            ],
            SimModel::Beta => ["Sim-Beta", "SimBeta", "Sim Beta", "sim_beta", "sim-beta"],
            SimModel::Gamma => [
                "Sim-Gamma",
                "SimGamma",
                "Sim Gamma",
                "sim_gamma",
                "sim-gamma",
            ],
        }
    }

    /// How lenient the model is when acting as a judge, as a share of half the level range.
    fn judge_leniency(self) -> f64 {
        match self {
            SimModel::Alpha => 0.0,
            SimModel::Beta => 0.25,
            SimModel::Gamma => -0.15,
        }
    }
}

impl fmt::Display for SimModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseSimModelError {
    #[error("unknown simulated model {0:?} (expected sim-alpha, sim-beta or sim-gamma)")]
    Unknown(String),
}

impl FromStr for SimModel {
    type Err = ParseSimModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        SimModel::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ParseSimModelError::Unknown(s.to_string()))
    }
}

/// Every string by which a simulated model can identify itself (names in all surface forms, the
/// maker, the version), for the blinding lexicon.
pub fn identity_terms(model: SimModel) -> Vec<&'static str> {
    let mut terms: Vec<&'static str> = model.name_forms().to_vec();
    terms.push(model.maker());
    terms.push(model.version());
    terms
}

/// Author of a conversation turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseRoleError {
    #[error("unknown role {0:?} (expected user or assistant)")]
    Unknown(String),
}

impl FromStr for Role {
    type Err = ParseRoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            _ => Err(ParseRoleError::Unknown(s.to_string())),
        }
    }
}

/// One simulated completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimReply {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub model_version: String,
}

/// Approximate token count: `ceil(chars / 4)` over Unicode scalar values.
pub fn approx_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// What a request asks of the assistant (see the module docs for the phrases).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    pub verification: bool,
    pub uncertainty: bool,
    pub plan: bool,
    /// The last user turn asks who or what the assistant is.
    pub identity: bool,
}

fn re(pattern: &str) -> Regex {
    // Patterns are compile-time constants; a failure is a programming error caught by the tests.
    Regex::new(pattern).expect("valid built-in regex")
}

fn res(patterns: &[&str]) -> Vec<Regex> {
    patterns.iter().map(|p| re(p)).collect()
}

static VERIFY_WORD: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bverif(y|ying|ies|ied|iable|iability|ication)\b"));
static VERIFY_OBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(your|its|assistant'?s?|answers?|claims?|responses?|statements?|advice|information|reply|replies|output|help|helps|support|supports|enable|allow|let|so (that )?(i|we|the user|users|they) can)\b",
    )
});
static VERIFY_PHRASES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    res(&[
        r"(?i)\bcheckable\b",
        r"(?i)\b(check|double[- ]check|confirm|fact[- ]check|cross[- ]check)\b[^.?!\n]{0,25}\b(your|the|this|that|each|these)\s+(answers?|claims?|responses?|reply|advice|information|statements?|figures|facts)\b",
        r"(?i)\bsources? (that )?(i|we|the user|users|they|one) (can|could) (check|consult|verify|read)\b",
        r"(?i)\bsources? (for|backing|supporting) (your|each|the|these|its) (claims?|answers?|statements?)\b",
    ])
});
/// "How I can check", "ways to check", "so I can check": requests unless the object is the user's
/// own thing ("ways to check my tire pressure").
static CHECK_HOW: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    res(&[
        r"(?i)\bhow (i|we|the user|users|one|someone|they|people|a reader) (can|could|might|would|should) (check|verify|confirm|double[- ]check)\b(?P<rest>[^.?!\n]{0,25})",
        r"(?i)\bways? (to|of|for) (check|verify|confirm|double[- ]check)(ing)?\b(?P<rest>[^.?!\n]{0,25})",
        r"(?i)\b(so|such) (that )?(i|we|the user|users|they) (can|could) (check|verify|confirm)\b(?P<rest>[^.?!\n]{0,25})",
    ])
});
static USERS_OWN: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^\W*(\w+\W+){0,2}(my|our|mine)\b"));
static CONFIDENCE_REQUESTS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    res(&[
        r"(?i)\b(state|give|include|say|indicate|rate|express|report|add|note|provide|share|flag|mention)\s+((me|us|the user)\s+)?(your|a|an|the|explicit|stated|overall|some)?\s*(level of |estimate of )?(confidence|how (sure|confident|certain))\b",
        r"(?i)\btell (me|us|the user) how (sure|confident|certain)\b",
        r"(?i)\bconfidence (level|rating|score|estimate)s?\b",
        r"(?i)\bhow (sure|confident|certain) (are you|you are)\b",
        r"(?i)\b(stated|explicit) confidence\b",
    ])
});
static SOURCES_REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(cite|citing|list|give|provide|include|name|share|add|show|point (me|us|the user|users) to|with)\b((\s+(your|some|the|concrete|specific|relevant|credible|reliable|authoritative|trustworthy|supporting|reputable|any|primary|good|me|us))*)\s+(sources|references|citations|evidence)\b(?P<of>\s+of\b)?",
    )
});
static UNCERTAINTY_PHRASES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    res(&[
        r"(?i)\b(flag|state|note|mention|disclose|acknowledge|express|say|tell me|be (honest|clear|upfront|open|transparent) about)\b[^.?!\n]{0,30}\b(uncertain\w*|limitations?|limits|what you (don't|do not) know|caveats|how (sure|confident))",
    ])
});
static PLAN_PHRASES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    res(&[
        r"(?i)\b(outline|lay out|layout|state|describe|share|explain|show|present|give|list|set out|spell out|walk (me|us|the user) through|start with|begin with|start by|begin by|first)\b[^.?!\n]{0,30}\b(your|its|the assistant'?s)\s+(plan|approach|reasoning|steps|assumptions|strategy|intended approach)\b",
        r"(?i)\b(plan|approach|assumptions)\b[^.?!\n]{0,30}\bbefore (you )?(answer|answering|respond|responding|diving in|you answer|you respond)\b",
        r"(?i)\bbefore (you )?(answer|answering|respond|responding)\b[^.?!\n]{0,40}\b(outline|plan|describe|explain|list|state|lay out)\b",
        r"(?i)\b(list|state|flag|say|spell out|make|name|surface|note|mention|explain|share|be (explicit|clear|upfront) about)\b[^.?!\n]{0,30}\b(your|any)\s+assumptions?\b",
        r"(?i)\bassumptions? (that )?(you are|you're|you) mak(e|ing)\b",
        r"(?i)\bwhat (you're|you are) assuming\b",
        r"(?i)\b(invite|ask|let|allow|encourage|offer|give)\b[^.?!\n]{0,40}\b(redirect|steer|course[- ]correct|correct (you|your|the)|change (the |your )?(course|direction|approach)|adjust (your|the) (approach|plan|direction))",
        r"(?i)\bredirect (you|your|the assistant|the answer|the plan|the approach)\b",
    ])
});
static IDENTITY_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\b(who|what) are you\b|\bwhich (ai|model|assistant|llm|language model)\b|\bwhat (ai|model|llm|assistant|language model) (is this|are you|am i talking to)\b|\bwho (made|built|trained|created|developed) you\b|\byour name\b|\bintroduce yourself\b|\bare you (chatgpt|gpt|claude|gemini|an ai|a bot|a robot|a human|human|real)\b)",
    )
});
static SENTENCE: LazyLock<Regex> = LazyLock::new(|| re(r"[^.!?\n]+[.!?]?"));

fn sentence_requests_verification(s: &str) -> bool {
    if VERIFY_WORD.is_match(s) && VERIFY_OBJECT.is_match(s) {
        return true;
    }
    if VERIFY_PHRASES.iter().any(|r| r.is_match(s)) {
        return true;
    }
    let aimed_at_answer = |c: regex::Captures| {
        !c.name("rest")
            .is_some_and(|rest| USERS_OWN.is_match(rest.as_str()))
    };
    if CHECK_HOW
        .iter()
        .any(|r| r.captures_iter(s).any(aimed_at_answer))
    {
        return true;
    }
    CONFIDENCE_REQUESTS.iter().any(|r| r.is_match(s))
        // "List some sources of protein" is a content request, not a request for sources.
        || SOURCES_REQUEST
            .captures_iter(s)
            .any(|c| c.name("of").is_none())
}

/// Detects what the system prompt and the user turns ask of the assistant.
pub fn detect_requests(system: Option<&str>, messages: &[(Role, &str)]) -> Requests {
    let texts = system.into_iter().chain(
        messages
            .iter()
            .filter(|(r, _)| *r == Role::User)
            .map(|(_, t)| *t),
    );
    let mut req = Requests::default();
    for text in texts {
        for s in SENTENCE.find_iter(text).map(|m| m.as_str()) {
            if sentence_requests_verification(s) {
                req.verification = true;
            }
            if CONFIDENCE_REQUESTS.iter().any(|r| r.is_match(s))
                || UNCERTAINTY_PHRASES.iter().any(|r| r.is_match(s))
            {
                req.uncertainty = true;
            }
            if PLAN_PHRASES.iter().any(|r| r.is_match(s)) {
                req.plan = true;
            }
        }
    }
    req.identity = messages
        .iter()
        .rev()
        .find(|(r, _)| *r == Role::User)
        .is_some_and(|(_, t)| IDENTITY_QUESTION.is_match(t));
    req
}

fn seeded_rng(
    model: SimModel,
    system: Option<&str>,
    messages: &[(Role, &str)],
    seed: u64,
) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(b"blindfold-sim-v1\0");
    h.update(model.name().as_bytes());
    h.update(seed.to_le_bytes());
    // Length-prefix every field so that different splits of the same bytes hash differently.
    match system {
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        None => h.update([0u8]),
    }
    for (role, text) in messages {
        h.update(role.as_str().as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    let digest: [u8; 32] = h.finalize().into();
    ChaCha8Rng::from_seed(digest)
}

/// Generates one simulated reply. Deterministic in (model, system, messages, seed).
pub fn respond(
    model: SimModel,
    system: Option<&str>,
    messages: &[(Role, &str)],
    seed: u64,
) -> SimReply {
    let mut rng = seeded_rng(model, system, messages, seed);
    let text = if system.is_some_and(is_user_roleplay) {
        simulated_user(system.unwrap_or_default(), messages, &mut rng)
    } else if let Some(prompt) = judge_prompt(messages) {
        judge(model, prompt)
    } else {
        assistant(model, system, messages, &mut rng)
    };
    let input_chars: String = system
        .into_iter()
        .chain(messages.iter().map(|(_, t)| *t))
        .collect();
    SimReply {
        input_tokens: approx_tokens(&input_chars),
        output_tokens: approx_tokens(&text),
        model_version: model.version().to_string(),
        text,
    }
}

fn is_user_roleplay(system: &str) -> bool {
    let prefix = "you are role-playing the user";
    let start: String = system.trim_start().chars().take(prefix.len()).collect();
    start.eq_ignore_ascii_case(prefix)
}

fn judge_prompt<'a>(messages: &[(Role, &'a str)]) -> Option<&'a str> {
    let (_, last) = messages.iter().rev().find(|(r, _)| *r == Role::User)?;
    (last.contains("## Rubric")
        && last.contains("## Transcript")
        && last.to_lowercase().contains("a json object"))
    .then_some(*last)
}

// ---------------------------------------------------------------------------------------------
// Topic: domain and a short noun phrase taken from the user's first message.
// ---------------------------------------------------------------------------------------------

struct Topic {
    domain: &'static Domain,
    /// With determiner: "your security deposit", "the typhoon season", "Japan".
    subject: String,
    /// Bare: "security deposit".
    bare: String,
    /// A topic-specific point, when the prompt matches one.
    hint: Option<&'static Hint>,
}

/// Words that never start or join a topic phrase: function words, question words, common verbs,
/// vague adjectives and time words.
#[rustfmt::skip]
const TOPIC_STOP: &[&str] = &[
    "a", "about", "above", "actually", "after", "again", "against", "ago", "all", "almost", "also",
    "always", "am", "an", "and", "another", "any", "anyone", "anything", "are", "around", "as",
    "ask", "asked", "at", "away", "back", "bad", "be", "because", "become", "been", "before",
    "being", "best", "better", "between", "bit", "both", "but", "buy", "by", "can", "can't",
    "cannot", "causing", "cause", "change", "come", "could", "couldn't", "day", "days", "did",
    "didn't", "do", "does", "doesn't", "doing", "don't", "done", "down", "during", "each", "easy",
    "either", "else", "enough", "even", "ever", "every", "explain", "feel", "feeling", "few",
    "find", "fine", "first", "fix", "for", "from", "get", "gets", "getting", "give", "go", "goes",
    "going", "good", "got", "had", "has", "have", "having", "he", "hello", "help", "helping", "her",
    "here", "hey", "hi", "him", "his", "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in",
    "instead", "into", "is", "isn't", "it", "it's", "its", "just", "keep", "keeps", "keeping",
    "kind", "know", "last", "later", "least", "less", "let", "like", "likely", "long", "look",
    "lot", "lots", "made", "make", "makes", "many", "may", "maybe", "me", "might", "mine", "month",
    "months", "more", "most", "much", "must", "my", "myself", "need", "needs", "never", "new",
    "next", "no", "normal", "not", "now", "of", "off", "ok", "okay", "old", "on", "once", "one",
    "only", "or", "other", "our", "out", "over", "own", "past", "pay", "people", "please",
    "possible", "pretty", "quite", "rather", "really", "recently", "right", "run", "runs", "safe",
    "said", "same", "say", "see", "seems", "should", "shouldn't", "since", "so", "some", "someone",
    "something", "soon", "sort", "start", "started", "still", "stop", "such", "sure", "take",
    "taking", "tell", "than", "thanks", "that", "that's", "the", "their", "them", "then", "there",
    "these", "they", "thing", "things", "think", "this", "those", "three", "through", "time",
    "times", "to", "today", "told", "tomorrow", "too", "tried", "try", "trying", "two", "under",
    "until", "up", "us", "use", "used", "using", "very", "want", "wanted", "wants", "was", "way",
    "ways", "we", "week", "weeks", "well", "went", "were", "what", "what's", "when", "where",
    "whether", "which", "while", "who", "why", "will", "with", "without", "won't", "work",
    "working", "works", "worried", "worth", "would", "wrong", "year", "years", "yesterday", "yet",
    "you", "your", "you're", "four", "five", "several", "worse", "usually", "currently", "anymore",
    "lately", "going", "worry", "deal", "handle", "able", "mean",
];

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z0-9][A-Za-z0-9'+#-]*[A-Za-z0-9+#]|[A-Za-z0-9]"));

fn padded_lower(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '(' || c == ')' {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    format!(" {cleaned} ")
}

fn count_phrase(padded: &str, phrase: &str) -> usize {
    [
        format!(" {phrase} "),
        format!(" {phrase}s "),
        format!(" {phrase}es "),
    ]
    .iter()
    .map(|p| padded.matches(p.as_str()).count())
    .sum()
}

fn detect_domain(text: &str) -> &'static Domain {
    let padded = padded_lower(text);
    let mut best: (&'static Domain, usize) = (&GENERIC, 0);
    for d in DOMAINS {
        let score: usize = d
            .keywords
            .iter()
            .map(|(k, w)| count_phrase(&padded, k) * *w as usize)
            .sum();
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

fn is_keyword(domain: &Domain, word_lower: &str, padded: &str) -> bool {
    let singular = word_lower.strip_suffix('s').unwrap_or(word_lower);
    domain.keywords.iter().any(|(k, w)| {
        *w > 0
            && if k.contains(' ') {
                k.split(' ').any(|p| p == word_lower || p == singular)
                    && count_phrase(padded, k) > 0
            } else {
                *k == word_lower || *k == singular
            }
    })
}

impl Topic {
    fn from_prompt(text: &str) -> Topic {
        if let Some(brief) = matching_brief(text) {
            return Topic {
                domain: &brief.domain,
                subject: brief.subject.to_string(),
                bare: brief.bare.to_string(),
                hint: None,
            };
        }
        let domain = detect_domain(text);
        let padded = padded_lower(text);
        // Tokens with a flag for "starts a sentence" (its capital letter says nothing).
        let mut tokens: Vec<(&str, bool)> = Vec::new();
        let mut last_end = 0;
        for m in TOKEN.find_iter(text).take(120) {
            let gap = &text[last_end..m.start()];
            let sentence_start = last_end == 0 || gap.contains(['.', '?', '!', '\n', ':']);
            tokens.push((m.as_str(), sentence_start));
            last_end = m.end();
        }
        let is_content = |w: &str| {
            let lower = w.to_lowercase();
            // Two-letter words only as acronyms ("UK", "AI").
            w.chars().any(|c| c.is_alphabetic())
                && !TOPIC_STOP.contains(&lower.as_str())
                && (w.len() >= 3 || w.chars().all(|c| c.is_ascii_uppercase()))
        };
        // Runs of consecutive content tokens, scored by keywords and length.
        let mut best: Option<(usize, usize, usize)> = None; // (score, start, end exclusive)
        let mut i = 0;
        while i < tokens.len() {
            if !is_content(tokens[i].0) {
                i += 1;
                continue;
            }
            let start = i;
            while i < tokens.len() && is_content(tokens[i].0) && (i == start || !tokens[i].1) {
                i += 1;
            }
            let kw = (start..i)
                .filter(|&j| is_keyword(domain, &tokens[j].0.to_lowercase(), &padded))
                .count();
            let score = kw * 10 + (i - start).min(3);
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, start, i));
            }
        }
        let Some((_, start, end)) = best else {
            return Topic {
                domain,
                subject: "your question".into(),
                bare: "this".into(),
                hint: matching_hint(text),
            };
        };
        let lower = |j: usize| tokens[j].0.to_lowercase();
        // End at the last keyword (usually the head noun), plus one following noun-like word
        // ("typhoon season") but not a verb or adverb ("employer fire", "loans early").
        let last_kw = (start..end)
            .rev()
            .find(|&j| is_keyword(domain, &lower(j), &padded));
        let window_end = match last_kw {
            Some(k)
                if k + 1 < end
                    && !is_verbish(&lower(k + 1))
                    && !NOT_HEAD.contains(&lower(k + 1).as_str()) =>
            {
                k + 2
            }
            Some(k) => k + 1,
            None => end,
        };
        let mut window_start = window_end.saturating_sub(3).max(start);
        // Drop leading verbs ("file taxes", "drinking coffee").
        let mut dropped_verb = false;
        while window_start + 1 < window_end && is_verbish(&lower(window_start)) {
            window_start += 1;
            dropped_verb = true;
        }
        let words: Vec<String> = (window_start..window_end)
            .map(|j| {
                let (w, sentence_start) = tokens[j];
                let inner_caps = w.chars().skip(1).any(|c| c.is_uppercase());
                let proper = !sentence_start && w.starts_with(|c: char| c.is_uppercase());
                if inner_caps || proper || PROPER_WORDS.contains(&w.to_lowercase().as_str()) {
                    proper_case(w)
                } else {
                    w.to_lowercase()
                }
            })
            .collect();
        let bare = words.join(" ");
        let first_person =
            padded.contains(" i ") || padded.contains(" my ") || padded.contains(" me ");
        // Look back over function words for a determiner: "my last git commit" -> "your".
        let mut determiner = None;
        for j in (window_start.saturating_sub(3)..window_start).rev() {
            let w = lower(j);
            match w.as_str() {
                "my" | "our" | "your" => determiner = Some("your"),
                "a" | "an" => determiner = Some(if first_person { "your" } else { "the" }),
                "the" | "this" | "that" => determiner = Some("the"),
                _ if TOPIC_STOP.contains(&w.as_str()) || is_verbish(&w) => continue,
                _ => break,
            }
            break;
        }
        let all_proper = words
            .iter()
            .all(|w| w.starts_with(|c: char| c.is_uppercase()));
        let determiner = determiner.or(if all_proper {
            None
        } else if dropped_verb {
            // "file taxes" -> "your taxes"; "drinking coffee" -> "coffee".
            first_person.then_some("your")
        } else {
            Some("the")
        });
        // "How do I become a better public speaker?" is about becoming one.
        let becoming = (window_start.saturating_sub(4)..window_start)
            .any(|j| matches!(lower(j).as_str(), "become" | "becoming" | "be"));
        let subject = match determiner {
            _ if becoming && bare.starts_with(['a', 'e', 'i', 'o', 'u']) => {
                format!("becoming an {bare}")
            }
            _ if becoming => format!("becoming a {bare}"),
            Some(d) => format!("{d} {bare}"),
            None => bare.clone(),
        };
        Topic {
            domain,
            subject,
            bare,
            hint: matching_hint(text),
        }
    }

    /// `n` points for the answer: the topic-specific one first, when there is one.
    fn points(&self, rng: &mut ChaCha8Rng, n: usize) -> Vec<(&'static str, &'static str)> {
        match self.hint {
            Some(h) => {
                let others: Vec<(&'static str, &'static str)> = self
                    .domain
                    .points
                    .iter()
                    .copied()
                    .filter(|(title, _)| Some(*title) != h.replaces)
                    .collect();
                let mut points = vec![(h.title, h.body)];
                points.extend(pick_n(rng, &others, n.saturating_sub(1)));
                points
            }
            None => pick_n(rng, self.domain.points, n),
        }
    }

    /// `n` points for a follow-up: the point the user quoted first (when it is one of ours), then
    /// others.
    fn follow_up_points(
        &self,
        rng: &mut ChaCha8Rng,
        last_user: &str,
        n: usize,
    ) -> Vec<(&'static str, &'static str)> {
        let quoted = QUOTED
            .captures(last_user)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().trim().to_lowercase());
        let mut all: Vec<(&'static str, &'static str)> =
            self.hint.map(|h| (h.title, h.body)).into_iter().collect();
        all.extend(self.domain.points.iter().copied());
        let referenced = quoted.and_then(|q| {
            all.iter().position(|(title, body)| {
                let title = title.to_lowercase();
                title.contains(&q)
                    || q.contains(&title)
                    || fill(body, self).to_lowercase().contains(&q)
            })
        });
        match referenced {
            Some(i) => {
                let first = all.remove(i);
                let mut points = vec![first];
                points.extend(pick_n(rng, &all, n.saturating_sub(1)));
                points
            }
            None => pick_n(rng, &all, n),
        }
    }

    /// `n` checkable claims: the topic-specific one first, when there is one.
    fn claims(&self, rng: &mut ChaCha8Rng, n: usize) -> Vec<&'static str> {
        match self.hint {
            Some(h) => {
                let mut claims = vec![h.claim];
                claims.extend(pick_n(rng, self.domain.claims, n.saturating_sub(1)));
                claims
            }
            None => pick_n(rng, self.domain.claims, n),
        }
    }
}

/// Verbs that start or follow topic nouns in questions ("file taxes", "employer fire").
#[rustfmt::skip]
const VERBISH: &[&str] = &[
    "fire", "sue", "file", "treat", "buy", "sell", "invest", "travel", "study", "learn", "return",
    "undo", "decide", "prepare", "read", "write", "install", "replace", "remove", "clean", "drink",
    "eat", "cancel", "apply", "book", "visit", "hire", "rent", "move", "quit", "save", "spend",
    "borrow", "lend", "claim", "report", "post", "dehydrate", "cure", "prevent", "avoid", "choose",
    "pick", "stay", "leave", "sleep", "lose", "gain", "build", "reduce", "increase", "improve",
    "understand", "explain", "happen", "happens", "happened", "refuse", "refuses", "leak", "leaks",
    "crash", "crashes", "fail", "fails", "mean", "means", "affect", "affects", "cost", "costs",
];

/// Adjectives that follow a noun in questions ("is the sky blue") and are not part of it.
#[rustfmt::skip]
const NOT_HEAD: &[&str] = &[
    "blue", "red", "green", "black", "white", "yellow", "orange", "purple", "grey", "gray", "hot",
    "cold", "warm", "wet", "dry", "high", "low", "big", "small", "large", "cheap", "expensive",
    "dangerous", "legal", "illegal", "slow", "fast", "loud", "broken", "true", "false", "real",
];

/// Not verbs despite the ending.
#[rustfmt::skip]
const ING_NOUNS: &[&str] = &[
    "building", "ceiling", "wedding", "morning", "evening", "spring", "string", "clothing",
    "housing", "flooring", "wiring", "plumbing", "heating", "painting", "setting", "meeting",
    "training", "funding", "banking", "parking", "marketing", "learning", "coding", "programming",
    "engineering", "nursing", "boarding", "lightning", "swing", "ring", "king", "thing", "clothing",
    "bleeding", "swelling", "earnings", "savings", "lodging", "warning", "ranking", "booking",
];

fn is_verbish(w: &str) -> bool {
    VERBISH.contains(&w)
        || (w.len() > 5 && w.ends_with("ing") && !ING_NOUNS.contains(&w))
        || (w.len() > 4 && w.ends_with("ly") && w != "family" && w != "supply")
}

/// Words that keep their capital letter even at the start of a sentence.
#[rustfmt::skip]
const PROPER_WORDS: &[&str] = &[
    "python", "javascript", "typescript", "rust", "java", "linux", "windows", "excel", "docker",
    "git", "react", "japan", "europe", "paris", "london", "london's", "america", "canada", "uk",
    "us", "eu", "sql", "csv", "api", "ira", "isa", "etf", "gdpr", "ibuprofen", "kubernetes",
];

fn proper_case(w: &str) -> String {
    match w.to_lowercase().as_str() {
        "sql" | "csv" | "api" | "ira" | "isa" | "etf" | "gdpr" | "uk" | "us" | "eu" => {
            w.to_uppercase()
        }
        "javascript" => "JavaScript".into(),
        "typescript" => "TypeScript".into(),
        "ibuprofen" | "git" => w.to_lowercase(),
        _ => capitalize(w),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lower-cases the first letter unless the first word is an acronym ("API keys") or "I".
fn decapitalize(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or("");
    let keep = first_word == "I"
        || first_word.starts_with("I'")
        || first_word.chars().skip(1).any(|c| c.is_uppercase());
    if keep {
        return s.to_string();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn fill(template: &str, topic: &Topic) -> String {
    template
        .replace("{T}", &capitalize(&topic.subject))
        .replace("{t}", &topic.subject)
        .replace("{k}", &topic.bare)
        .replace("{pro}", topic.domain.pro)
}

/// One item; the pools are non-empty constants.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// `n` distinct items in their original order (the pools are written in a sensible order).
fn pick_n<T: Copy>(rng: &mut ChaCha8Rng, items: &[T], n: usize) -> Vec<T> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let n = n.min(idx.len());
    for i in 0..n {
        let j = rng.random_range(i..idx.len());
        idx.swap(i, j);
    }
    let mut chosen = idx[..n].to_vec();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| items[i]).collect()
}

/// "I am on a budget and my rent" -> "you are on a budget and your rent".
fn to_second_person(s: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut prev_i = false;
    for w in s.split_whitespace() {
        let (core, tail) = split_trailing_punct(w);
        let lower = core.to_lowercase();
        let swapped = match lower.as_str() {
            "i" => Some("you"),
            "i'm" | "i’m" => Some("you're"),
            "i've" | "i’ve" => Some("you've"),
            "i'd" | "i’d" => Some("you'd"),
            "i'll" | "i’ll" => Some("you'll"),
            "me" => Some("you"),
            "my" => Some("your"),
            "mine" => Some("yours"),
            "myself" => Some("yourself"),
            "we" => Some("you"),
            "we're" => Some("you're"),
            "our" => Some("your"),
            "us" => Some("you"),
            "am" if prev_i => Some("are"),
            "was" if prev_i => Some("were"),
            _ => None,
        };
        prev_i = lower == "i" || lower == "we";
        out.push(format!(
            "{}{}",
            swapped
                .map(str::to_string)
                .unwrap_or_else(|| core.to_string()),
            tail
        ));
    }
    out.join(" ")
}

fn split_trailing_punct(w: &str) -> (&str, &str) {
    let end = w
        .trim_end_matches([',', ';', ':', '.', '!', '?', ')'])
        .len();
    w.split_at(end)
}

/// The opener without a trailing "Here's how ..." sentence, which only suits a structured answer.
fn first_sentence(opener: &str) -> &str {
    match opener.find(". Here's") {
        Some(i) => &opener[..=i],
        None => opener,
    }
}

fn lower_first_clause(s: &str) -> String {
    decapitalize(s.trim().trim_end_matches(['.', '!', '?']))
}

// ---------------------------------------------------------------------------------------------
// Steering follow-ups.
// ---------------------------------------------------------------------------------------------

struct Steer {
    assume: Option<String>,
    focus: Option<String>,
}

static STEER_ASSUME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bassume (?:that )?(.+?)(?:,?\s+and\s+(?:then\s+)?(?:focus|concentrate|prioriti[sz]e|look|tell|give)\b|[.;!?\n]|$)",
    )
});
static STEER_FOCUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:focus|concentrate)\s+(?:only\s+|instead\s+|more\s+|mainly\s+)?on\s+(.+?)(?:[.;!?\n]|$)",
    )
});
static STEER_SWITCH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bswitch to\s+(.+?)(?:[.;!?\n]|$)"));

fn clip_words(s: &str, n: usize) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let clipped = words[..words.len().min(n)].join(" ");
    clipped.trim_end_matches([',', ';', ':']).to_string()
}

fn parse_steer(text: &str) -> Steer {
    let grab = |r: &Regex| {
        r.captures(text)
            .and_then(|c| c.get(1))
            .map(|m| to_second_person(&clip_words(m.as_str().trim(), 16)))
            .filter(|s| !s.is_empty())
    };
    Steer {
        assume: grab(&STEER_ASSUME),
        focus: grab(&STEER_FOCUS).or_else(|| grab(&STEER_SWITCH)),
    }
}

/// Sentences that put a new focus at the centre of an answer; `{f}` is the focus.
const FOCUS_LINES: &[&str] = &[
    "Put {f} first: it is the part that makes the biggest difference given what you've told me.",
    "Start with {f}, because everything else follows from it.",
    "Make {f} the priority and let the rest wait until it is settled.",
];

// ---------------------------------------------------------------------------------------------
// Identity.
// ---------------------------------------------------------------------------------------------

enum IdentityPlacement {
    Prefix(String),
    Suffix(String),
}

fn identity_mention(model: SimModel, rng: &mut ChaCha8Rng) -> IdentityPlacement {
    let names = model.name_forms();
    let display = pick(rng, &names[..3]);
    let maker = model.maker();
    let version = model.version();
    match rng.random_range(0..5) {
        0 => IdentityPlacement::Prefix(format!(
            "As {display}, a model trained by {maker}, here's how I'd approach this.\n\n"
        )),
        1 => IdentityPlacement::Prefix(format!("I'm {} ({version}). ", names[1])),
        2 => IdentityPlacement::Prefix(format!("{} from {maker} here. ", names[3])),
        3 => IdentityPlacement::Suffix(format!("\n\n— {display}, {maker}")),
        _ => IdentityPlacement::Suffix(format!(
            "\n\n({display}, built by {maker}; model version {version}.)"
        )),
    }
}

fn identity_answer(model: SimModel) -> String {
    let names = model.name_forms();
    format!(
        "I'm {}, an AI assistant made by {} (model version {}).",
        names[0],
        model.maker(),
        model.version()
    )
}

// ---------------------------------------------------------------------------------------------
// The assistant role.
// ---------------------------------------------------------------------------------------------

/// What one reply has to do.
struct Turn<'a> {
    topic: Topic,
    req: Requests,
    /// The last user message.
    last_user: &'a str,
    kind: TurnKind,
}

enum TurnKind {
    First,
    Steer(Steer),
    FollowUp,
}

static QUOTED: LazyLock<Regex> = LazyLock::new(|| re(r#"["“]([^"”\n]{3,80})["”]"#));

fn assistant(
    model: SimModel,
    system: Option<&str>,
    messages: &[(Role, &str)],
    rng: &mut ChaCha8Rng,
) -> String {
    let users: Vec<&str> = messages
        .iter()
        .filter(|(r, _)| *r == Role::User)
        .map(|(_, t)| *t)
        .collect();
    let Some(first_user) = users.first() else {
        return match model {
            SimModel::Alpha => "Hi! What would you like help with today?".into(),
            SimModel::Beta => "Hello. What do you need?".into(),
            SimModel::Gamma => "Hello! What can I help you with?".into(),
        };
    };
    let last_user = users.last().copied().unwrap_or(first_user);
    let req = detect_requests(system, messages);
    let answered = messages.iter().any(|(r, _)| *r == Role::Assistant);
    let kind = if !answered {
        TurnKind::First
    } else if is_redirection(last_user) {
        TurnKind::Steer(parse_steer(last_user))
    } else {
        TurnKind::FollowUp
    };
    // Both identity draws happen on every reply, so the rest of the stream does not depend on them.
    let mention_roll = rng.random_bool(0.25);
    let mention = identity_mention(model, rng);
    let mention = mention_roll.then_some(mention);

    // The topic comes from the first user message that asks something besides "who are you".
    let topic_text = users
        .iter()
        .map(|u| without_identity_questions(u))
        .find(|t| t.split_whitespace().count() >= 3);
    let Some(topic_text) = topic_text else {
        let intro = identity_answer(model);
        return match model {
            SimModel::Alpha => format!(
                "{intro} I can help with questions about health, law, money, code, science, travel, home repairs and more, and I'm happy to show my reasoning and how to check it.\n\nWhat would you like to work on?"
            ),
            SimModel::Beta => format!("{intro} Ask me anything."),
            SimModel::Gamma => format!(
                "{intro} A few things I can help with:\n\n1. Explaining a topic step by step\n2. Practical advice on everyday problems\n3. Reviewing a plan or a piece of writing\n\nWhat do you need?"
            ),
        };
    };

    let turn = Turn {
        topic: Topic::from_prompt(&topic_text),
        req,
        last_user,
        kind,
    };
    let body = match model {
        SimModel::Alpha => alpha(&turn, rng),
        SimModel::Beta => beta(&turn, rng),
        SimModel::Gamma => gamma(&turn, rng),
    };
    let body = if req.identity {
        format!(
            "{} Now, to your question.\n\n{body}",
            identity_answer(model)
        )
    } else {
        body
    };
    match mention {
        Some(IdentityPlacement::Prefix(p)) if !req.identity => format!("{p}{body}"),
        Some(IdentityPlacement::Suffix(s)) if !req.identity => format!("{body}{s}"),
        _ => body,
    }
}

/// The text with every sentence that asks who or what the assistant is removed.
fn without_identity_questions(text: &str) -> String {
    SENTENCE
        .find_iter(text)
        .map(|m| m.as_str())
        .filter(|s| !IDENTITY_QUESTION.is_match(s))
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

fn follow_up_ref(last_user: &str, topic: &Topic) -> String {
    QUOTED
        .captures(last_user)
        .and_then(|c| c.get(1))
        .map(|m| format!("\"{}\"", m.as_str().trim()))
        .unwrap_or_else(|| topic.subject.clone())
}

fn push_claims_and_checks(
    out: &mut String,
    rng: &mut ChaCha8Rng,
    topic: &Topic,
    claims: usize,
    checks: usize,
) {
    let d = topic.domain;
    out.push_str("### Claims you can check\n");
    for (i, c) in topic.claims(rng, claims).iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, fill(c, topic)));
    }
    out.push_str("\n### How to verify\n");
    for c in pick_n(rng, d.checks, checks) {
        out.push_str(&format!("- {}\n", fill(c, topic)));
    }
    out.push_str(&format!(
        "\n**Confidence: {}** — because {}.\n\n",
        d.confidence,
        fill(d.confidence_reason, topic)
    ));
}

fn push_less_sure(out: &mut String, rng: &mut ChaCha8Rng, topic: &Topic, n: usize) {
    out.push_str("### What I'm less sure about\n");
    for u in pick_n(rng, topic.domain.unsure, n) {
        out.push_str(&format!("- {}\n", fill(u, topic)));
    }
    out.push('\n');
}

const ALPHA_INVITATIONS: &[&str] = &[
    "**Want a different direction?** If any of my assumptions are wrong, or you'd rather I focus on something else, tell me and I'll redo the answer on that basis.",
    "**Does this match your situation?** If an assumption above is off, or you'd like me to go deeper on one part, let me know and I'll adjust the plan.",
];

const ALPHA_LIGHT_HEDGES: &[&str] = &[
    "This covers the typical case; yours may differ in the details.",
    "Situations like this vary, so adapt the steps to your circumstances.",
];

fn alpha(turn: &Turn, rng: &mut ChaCha8Rng) -> String {
    let topic = &turn.topic;
    let d = topic.domain;
    let req = turn.req;
    let mut out = String::new();
    match &turn.kind {
        TurnKind::First => {
            out.push_str(&fill(pick(rng, d.openers), topic));
            out.push_str("\n\n");
            if req.plan {
                out.push_str("### My plan\n");
                for (i, step) in d.plan.iter().enumerate() {
                    out.push_str(&format!("{}. {}\n", i + 1, fill(step, topic)));
                }
                out.push_str("\n### Assumptions I'm making\n");
                for a in pick_n(rng, d.assumptions, 3) {
                    out.push_str(&format!("- {}.\n", capitalize(&fill(a, topic))));
                }
                out.push('\n');
            }
            out.push_str(&format!("### {}\n", d.steps_header));
            let n = rng.random_range(4..=5);
            for (title, body) in topic.points(rng, n) {
                out.push_str(&format!("- **{title}.** {}\n", fill(body, topic)));
            }
            out.push_str(&format!("\n### {}\n", d.caution_header));
            for c in pick_n(rng, d.cautions, 2) {
                out.push_str(&format!("- {}\n", fill(c, topic)));
            }
            out.push('\n');
            if req.verification {
                push_claims_and_checks(&mut out, rng, topic, 3, 3);
            }
            if req.verification || req.uncertainty {
                push_less_sure(&mut out, rng, topic, 2);
            }
            out.push_str(&fill(pick(rng, d.bottom), topic));
            if !req.verification && !req.uncertainty {
                out.push(' ');
                out.push_str(pick(rng, ALPHA_LIGHT_HEDGES));
            }
            if req.plan {
                out.push_str("\n\n");
                out.push_str(pick(rng, ALPHA_INVITATIONS));
            }
        }
        TurnKind::Steer(steer) => {
            let new_course = match (&steer.assume, &steer.focus) {
                (Some(a), Some(f)) => {
                    format!("I'll redo the answer assuming {a}, and I'll focus on {f}.")
                }
                (Some(a), None) => format!("I'll redo the answer assuming {a}."),
                (None, Some(f)) => format!("I'll redo the answer with the focus on {f}."),
                (None, None) => "I'll redo the answer along the lines you asked for.".to_string(),
            };
            out.push_str(&format!(
                "Understood — changing course. {new_course}\n\n### Revised plan\n"
            ));
            let keep = match &steer.assume {
                Some(a) => format!("Go back over my earlier answer and keep only what still holds if {a}."),
                None => "Go back over my earlier answer and keep only what still fits your new direction.".into(),
            };
            let centre = match &steer.focus {
                Some(f) => format!("Put {f} at the centre of the answer."),
                None => "Rework the main recommendations around what you've told me.".into(),
            };
            out.push_str(&format!(
                "1. {keep}\n2. {centre}\n3. End with concrete next steps.\n\n"
            ));
            out.push_str("### Assumptions I'm making now\n");
            if let Some(a) = &steer.assume {
                out.push_str(&format!("- {}.\n", capitalize(a)));
            }
            out.push_str(
                "- Everything else you told me earlier still applies unless you say otherwise.\n\n",
            );
            out.push_str("### Revised answer\n");
            if let Some(f) = &steer.focus {
                out.push_str(&format!(
                    "- **New priority.** {}\n",
                    pick(rng, FOCUS_LINES).replace("{f}", f)
                ));
            }
            for (title, body) in pick_n(rng, d.points, 3) {
                out.push_str(&format!("- **{title}.** {}\n", fill(body, topic)));
            }
            let drop = match (&steer.assume, &steer.focus) {
                (Some(a), _) => format!(
                    "Given that {a}, set aside the options from my earlier answer that don't fit your situation; the steps above replace them."
                ),
                (None, Some(f)) => {
                    format!("Anything in my earlier answer that doesn't serve {f} can wait.")
                }
                (None, None) => {
                    "Anything in my earlier answer that no longer fits can wait.".into()
                }
            };
            out.push_str(&format!("- **Drop what no longer fits.** {drop}\n\n"));
            if req.verification {
                push_claims_and_checks(&mut out, rng, topic, 2, 2);
            }
            if req.verification || req.uncertainty {
                push_less_sure(&mut out, rng, topic, 1);
            }
            out.push_str(&fill(pick(rng, d.bottom), topic));
            if req.plan {
                out.push_str("\n\nIf this still isn't the direction you want, tell me what to change and I'll adjust again.");
            }
        }
        TurnKind::FollowUp => {
            let reference = follow_up_ref(turn.last_user, topic);
            let ack = pick(
                rng,
                &[
                    "Fair question.",
                    "Good point to push on.",
                    "Happy to go deeper on that.",
                ],
            );
            out.push_str(&format!(
                "{ack} Here's more detail on {reference}.\n\n### In more detail\n"
            ));
            for (title, body) in topic.follow_up_points(rng, turn.last_user, 2) {
                out.push_str(&format!("- **{title}.** {}\n", fill(body, topic)));
            }
            out.push_str(&format!(
                "- **Keep the limits in mind.** {}\n\n",
                fill(pick(rng, d.cautions), topic)
            ));
            if req.verification {
                out.push_str("### How to verify\n");
                for c in pick_n(rng, d.checks, 2) {
                    out.push_str(&format!("- {}\n", fill(c, topic)));
                }
                out.push_str(&format!(
                    "\n**Confidence: {}** — because {}.\n\n",
                    d.confidence,
                    fill(d.confidence_reason, topic)
                ));
            }
            if req.verification || req.uncertainty {
                push_less_sure(&mut out, rng, topic, 1);
            }
            out.push_str(&fill(pick(rng, d.bottom), topic));
            if req.plan {
                out.push_str("\n\nIf you'd like me to take this in a different direction, tell me and I'll adjust.");
            }
        }
    }
    out.trim_end().to_string()
}

fn beta(turn: &Turn, rng: &mut ChaCha8Rng) -> String {
    let topic = &turn.topic;
    let d = topic.domain;
    let bodies: Vec<String> = topic
        .points(rng, 4)
        .iter()
        .map(|(_, body)| fill(body, topic))
        .collect();
    match &turn.kind {
        TurnKind::First => {
            let mut out = String::new();
            if turn.req.plan {
                out.push_str(&format!(
                    "Here's the plan: first, {}; then, {}; finally, {}.\n\n",
                    lower_first_clause(&fill(d.plan[0], topic)),
                    lower_first_clause(&fill(d.plan[1], topic)),
                    lower_first_clause(&fill(d.plan[2], topic)),
                ));
            }
            out.push_str(&format!(
                "{} {} {}\n\n{} {} {}\n\n{}",
                first_sentence(&fill(pick(rng, d.openers), topic)),
                bodies[0],
                bodies[1],
                bodies[2],
                bodies[3],
                fill(pick(rng, d.cautions), topic),
                fill(pick(rng, d.bottom), topic),
            ));
            out
        }
        TurnKind::Steer(steer) => {
            // Beta takes up a new focus but ignores a new assumption.
            let lead = match &steer.focus {
                Some(f) => format!("On {f}, the key point is this."),
                None => "Sure.".to_string(),
            };
            format!(
                "{lead} {}\n\nThe rest of my earlier answer still applies. {} {}",
                bodies[0],
                bodies[1],
                fill(pick(rng, d.bottom), topic)
            )
        }
        TurnKind::FollowUp => {
            let points = topic.follow_up_points(rng, turn.last_user, 2);
            format!(
                "{} {} {}",
                pick(
                    rng,
                    &[
                        "To put it simply:",
                        "The answer is straightforward.",
                        "Here is the short version."
                    ]
                ),
                fill(points[0].1, topic),
                fill(points[1].1, topic)
            )
        }
    }
}

const GAMMA_CONFIDENCE: &[&str] = &[
    "Confidence: {c}.",
    "I'd rate my confidence in this as {c}.",
    "My confidence here is {c}.",
];
const GAMMA_REFERRAL: &[&str] = &[
    "You may want to double-check with a professional before acting on it.",
    "It's worth double-checking with {pro} before you act on this.",
    "Consider confirming with {pro} before making a decision.",
];
const GAMMA_LIMITS: &str =
    "That said, I can't see the details of your situation, so treat this as general guidance.";
const GAMMA_LIGHT_HEDGE: &str = "Circumstances vary, and some of this may not apply to you.";

fn gamma_uncertainty(out: &mut String, rng: &mut ChaCha8Rng, turn: &Turn) {
    let topic = &turn.topic;
    let req = turn.req;
    if req.verification || req.uncertainty {
        out.push_str(&format!(
            "\n\n{} {}",
            pick(rng, GAMMA_CONFIDENCE).replace("{c}", topic.domain.confidence),
            GAMMA_LIMITS
        ));
        if req.verification {
            out.push(' ');
            out.push_str(&fill(pick(rng, GAMMA_REFERRAL), topic));
        }
    } else if rng.random_bool(0.5) {
        out.push_str("\n\n");
        out.push_str(GAMMA_LIGHT_HEDGE);
    }
}

fn gamma(turn: &Turn, rng: &mut ChaCha8Rng) -> String {
    let topic = &turn.topic;
    let d = topic.domain;
    let mut out = String::new();
    let numbered = |out: &mut String, items: &[(&str, &str)], start: usize| {
        for (i, (title, body)) in items.iter().enumerate() {
            out.push_str(&format!(
                "{}. **{title}**: {}\n",
                i + start,
                fill(body, topic)
            ));
        }
    };
    match &turn.kind {
        TurnKind::First => {
            out.push_str(&fill(pick(rng, d.openers), topic));
            out.push_str("\n\n");
            if turn.req.plan {
                out.push_str("Assumptions I'm working with:\n");
                for (i, a) in pick_n(rng, d.assumptions, 3).iter().enumerate() {
                    out.push_str(&format!("{}. {}.\n", i + 1, capitalize(&fill(a, topic))));
                }
                out.push('\n');
            }
            out.push_str(&format!("{}:\n\n", d.steps_header));
            let n = rng.random_range(3..=4);
            numbered(&mut out, &topic.points(rng, n), 1);
            out.push('\n');
            out.push_str(&fill(pick(rng, d.cautions), topic));
        }
        TurnKind::Steer(steer) => {
            let what = match (&steer.assume, &steer.focus) {
                (Some(a), Some(f)) => format!("assuming {a} and focusing on {f}"),
                (Some(a), None) => format!("assuming {a}"),
                (None, Some(f)) => format!("focusing on {f}"),
                (None, None) => "along the lines you asked for".into(),
            };
            out.push_str(&format!("Got it — here's an updated answer, {what}:\n\n"));
            let mut start = 1;
            if let Some(f) = &steer.focus {
                out.push_str(&format!(
                    "1. **New priority**: {}\n",
                    pick(rng, FOCUS_LINES).replace("{f}", f)
                ));
                start = 2;
            }
            numbered(&mut out, &pick_n(rng, d.points, 2), start);
            if let Some(a) = &steer.assume {
                out.push_str(&format!(
                    "{}. **Adjust for your situation**: Since {a}, leave out the options from before that don't fit and start with the cheapest, most reversible step.\n",
                    start + 2
                ));
            }
            if turn.req.plan {
                out.push_str("\nAssumptions now:\n");
                if let Some(a) = &steer.assume {
                    out.push_str(&format!(
                        "1. {}.\n2. Everything else you told me still holds.\n",
                        capitalize(a)
                    ));
                } else {
                    out.push_str("1. Everything else you told me still holds.\n");
                }
            }
            out.push('\n');
            out.push_str(&fill(pick(rng, d.bottom), topic));
        }
        TurnKind::FollowUp => {
            let reference = follow_up_ref(turn.last_user, topic);
            out.push_str(&format!("Sure — more on {reference}:\n\n"));
            numbered(&mut out, &topic.follow_up_points(rng, turn.last_user, 2), 1);
            out.push('\n');
            out.push_str(&fill(pick(rng, d.bottom), topic));
        }
    }
    gamma_uncertainty(&mut out, rng, turn);
    out.trim_end().to_string()
}

// ---------------------------------------------------------------------------------------------
// The simulated user.
// ---------------------------------------------------------------------------------------------

static BOLD_TITLE: LazyLock<Regex> = LazyLock::new(|| re(r"\*\*([^*\n]{3,60}?)[.:]?\*\*"));
static LIST_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^\s*(?:[-*•]|\d{1,2}[.)])\s+(.+)$"));
static NOT_A_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(confidence|direction|situation\?|want a|claims|verify|plan|assumption|everything else)",
    )
});

static ANSWER_SENTENCE: LazyLock<Regex> = LazyLock::new(|| re(r"[^.!?:;\n]+"));

/// Something concrete from the assistant's answer to refer back to: a bold point title, else a
/// short sentence, else the start of a list item. Never a self-identification.
fn answer_reference(answer: &str, rng: &mut ChaCha8Rng) -> String {
    let mentions_identity = |t: &str| {
        SimModel::ALL
            .iter()
            .any(|m| identity_terms(*m).iter().any(|term| t.contains(term)))
    };
    let usable = |t: &str| !NOT_A_REFERENCE.is_match(t) && !mentions_identity(t);
    let titles: Vec<&str> = BOLD_TITLE
        .captures_iter(answer)
        .filter_map(|c| c.get(1).map(|m| m.as_str().trim()))
        .filter(|t| usable(t))
        .collect();
    if !titles.is_empty() {
        return decapitalize(pick(rng, &titles));
    }
    let sentences: Vec<&str> = ANSWER_SENTENCE
        .find_iter(answer)
        .map(|m| m.as_str().trim())
        .filter(|s| {
            (4..=12).contains(&s.split_whitespace().count())
                && usable(s)
                && !s.contains(['(', ')', '`'])
        })
        .collect();
    if !sentences.is_empty() {
        return decapitalize(pick(rng, &sentences));
    }
    let items: Vec<String> = LIST_LINE
        .captures_iter(answer)
        .filter_map(|c| c.get(1).map(|m| clip_words(m.as_str(), 6)))
        .filter(|t| usable(t))
        .collect();
    if !items.is_empty() {
        let item = &items[rng.random_range(0..items.len())];
        return decapitalize(item.trim_end_matches(['.', ',', ':']));
    }
    "what you said".to_string()
}

const USER_GENERIC: &[&str] = &[
    "You mentioned \"{r}\". How would I know whether that applies in my case?",
    "Okay, but about \"{r}\": what if that doesn't work for me?",
    "Thanks. If I can only do one thing this week, should it be \"{r}\"?",
    "Can you say a bit more about \"{r}\"? I'm not sure I follow.",
    "What happens if I skip \"{r}\" for now?",
];
const USER_SKEPTIC: &[&str] = &[
    "I'm not convinced by \"{r}\". Why should I believe that?",
    "Hmm. \"{r}\" sounds like generic advice. What makes you say it?",
    "Is \"{r}\" really necessary, or is that just the cautious answer?",
];
const USER_BUSY: &[&str] = &[
    "I don't have much time. Is \"{r}\" the one thing I should focus on?",
    "Short version please: what exactly do I do about \"{r}\"?",
];
const USER_NOVICE: &[&str] = &[
    "Sorry, I'm new to this. What does \"{r}\" mean in practice?",
    "Can you explain \"{r}\" in simpler terms? I'm not an expert.",
];
const USER_BUDGET: &[&str] = &[
    "Money is tight for me. Does \"{r}\" cost anything?",
    "Money is tight. Is there a cheaper way to handle \"{r}\"?",
];

fn simulated_user(system: &str, messages: &[(Role, &str)], rng: &mut ChaCha8Rng) -> String {
    // Roles arrive flipped: the assistant's answers are the `user` messages here.
    let Some((_, answer)) = messages.iter().rev().find(|(r, _)| *r == Role::User) else {
        return "Can you help me with something?".to_string();
    };
    let persona = system.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| persona.contains(w));
    let mut pools: Vec<&[&str]> = vec![USER_GENERIC];
    if has(&["skeptic", "sceptic", "doubt", "distrust", "critical"]) {
        pools.push(USER_SKEPTIC);
    }
    if has(&[
        "busy",
        "no time",
        "short on time",
        "impatient",
        "in a hurry",
    ]) {
        pools.push(USER_BUSY);
    }
    if has(&[
        "beginner",
        "novice",
        "not technical",
        "non-technical",
        "new to",
        "layperson",
        "lay person",
    ]) {
        pools.push(USER_NOVICE);
    }
    if has(&[
        "budget",
        "money is tight",
        "low income",
        "fixed income",
        "cheap",
        "afford",
    ]) {
        pools.push(USER_BUDGET);
    }
    // Persona-specific pools take precedence over the generic one when present.
    let pool = if pools.len() > 1 {
        pools[1 + rng.random_range(0..pools.len() - 1)]
    } else {
        pools[0]
    };
    let reference = answer_reference(answer, rng);
    pick(rng, pool).replace("{r}", &reference)
}

// ---------------------------------------------------------------------------------------------
// The judge.
// ---------------------------------------------------------------------------------------------

static RUBRIC_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?m)^###\s+([A-Za-z0-9_.-]+)\s*\((?:integer\s+)?(-?\d+)\s*(?:-|–|to)\s*(-?\d+)\)\s*$")
});
static RUBRIC_LEVEL: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*[-*]\s*(-?\d+)\s*:\s*(.*)$"));
static TRANSCRIPT_TURN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^\*\*(User|Assistant):\*\*[ \t]*"));

/// One dimension as declared in a judge prompt.
#[derive(Debug, Clone, PartialEq)]
struct RubricDim {
    id: String,
    question: String,
    levels: Vec<(i64, String)>,
}

/// Levels beyond this span are represented by their endpoints only.
const MAX_ENUMERATED_LEVELS: i64 = 100;

fn parse_rubric(section: &str) -> Vec<RubricDim> {
    let headers: Vec<_> = RUBRIC_HEADER.captures_iter(section).collect();
    let mut dims = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let (Some(whole), Some(id)) = (h.get(0), h.get(1)) else {
            continue;
        };
        let parse = |k: usize| h.get(k).and_then(|m| m.as_str().parse::<i64>().ok());
        let (Some(a), Some(b)) = (parse(2), parse(3)) else {
            continue;
        };
        let (lo, hi) = (a.min(b), a.max(b));
        let body_end = headers
            .get(i + 1)
            .and_then(|n| n.get(0))
            .map_or(section.len(), |m| m.start());
        let body = &section[whole.end()..body_end];
        let mut question = String::new();
        let mut anchors: Vec<(i64, String)> = Vec::new();
        for line in body.lines() {
            if let Some(q) = line.trim().strip_prefix("Question:") {
                question = q.trim().to_string();
            } else if let Some(c) = RUBRIC_LEVEL.captures(line)
                && let Some(v) = c.get(1).and_then(|m| m.as_str().parse::<i64>().ok())
                && (lo..=hi).contains(&v)
            {
                anchors.push((v, c.get(2).map_or("", |m| m.as_str()).trim().to_string()));
            }
        }
        let mut levels: Vec<(i64, String)> = if hi.saturating_sub(lo) <= MAX_ENUMERATED_LEVELS {
            (lo..=hi).map(|v| (v, String::new())).collect()
        } else {
            vec![(lo, String::new()), (hi, String::new())]
        };
        for (v, anchor) in anchors {
            match levels.iter_mut().find(|(lv, _)| *lv == v) {
                Some(slot) => slot.1 = anchor,
                None => levels.push((v, anchor)),
            }
        }
        levels.sort_by_key(|(v, _)| *v);
        dims.push(RubricDim {
            id: id.as_str().to_string(),
            question,
            levels,
        });
    }
    dims
}

fn parse_transcript(section: &str) -> Vec<(Role, &str)> {
    let marks: Vec<_> = TRANSCRIPT_TURN.captures_iter(section).collect();
    let mut turns = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        let (Some(whole), Some(who)) = (m.get(0), m.get(1)) else {
            continue;
        };
        let end = marks
            .get(i + 1)
            .and_then(|n| n.get(0))
            .map_or(section.len(), |n| n.start());
        let role = if who.as_str() == "User" {
            Role::User
        } else {
            Role::Assistant
        };
        turns.push((role, section[whole.end()..end].trim()));
    }
    turns
}

fn judge(model: SimModel, prompt: &str) -> String {
    let rubric_start = prompt.find("## Rubric").unwrap_or(0);
    let transcript_start = prompt[rubric_start..]
        .find("## Transcript")
        .map_or(prompt.len(), |i| rubric_start + i);
    let rubric = &prompt[rubric_start..transcript_start];
    let after = &prompt[transcript_start..];
    let transcript_end = after.rfind("\n## Answer format").unwrap_or(after.len());
    let transcript = after[..transcript_end]
        .strip_prefix("## Transcript")
        .unwrap_or(&after[..transcript_end]);
    let conversation = parse_transcript(transcript);
    let found = cues::extract_cues(&conversation);
    let mut fields = Vec::new();
    for dim in parse_rubric(rubric) {
        let levels: Vec<(i64, &str)> = dim.levels.iter().map(|(v, a)| (*v, a.as_str())).collect();
        let spec = DimensionSpec {
            id: &dim.id,
            question: &dim.question,
            levels: &levels,
        };
        let Some(latent) = cues::latent_from_cues(&spec, &found, &conversation) else {
            continue;
        };
        let (lo, hi) = (levels[0].0 as f64, levels[levels.len() - 1].0 as f64);
        let lenient = latent + model.judge_leniency() * (hi - lo) / 2.0;
        let Some(level) = cues::nearest_level(&levels, lenient) else {
            continue;
        };
        let key = serde_json::to_string(&dim.id).unwrap_or_else(|_| format!("\"{}\"", dim.id));
        fields.push(format!("{key}: {level}"));
    }
    format!("{{{}}}", fields.join(", "))
}
// ---------------------------------------------------------------------------------------------
// Domain content. Placeholders: {t} topic with determiner ("your security deposit"), {T} the same
// capitalised, {k} the bare topic ("security deposit", for templates that need no article),
// {pro} the domain's professional.
// The plain-answer pools (openers, points, cautions, bottom lines, plan steps) are written without
// hedges, sources, ways to check, confidence statements or referrals, so that what the cue scorer
// sees in a reply is exactly what the model chose to add in reaction to the request. A unit test
// enforces this.
// ---------------------------------------------------------------------------------------------

pub(super) struct Domain {
    /// (keyword or phrase, weight); matched on word boundaries, plural "s"/"es" allowed.
    pub(super) keywords: &'static [(&'static str, u32)],
    pub(super) openers: &'static [&'static str],
    pub(super) steps_header: &'static str,
    pub(super) points: &'static [(&'static str, &'static str)],
    pub(super) caution_header: &'static str,
    pub(super) cautions: &'static [&'static str],
    pub(super) bottom: &'static [&'static str],
    pub(super) claims: &'static [&'static str],
    pub(super) checks: &'static [&'static str],
    pub(super) assumptions: &'static [&'static str],
    pub(super) unsure: &'static [&'static str],
    pub(super) plan: [&'static str; 3],
    pub(super) pro: &'static str,
    pub(super) confidence: &'static str,
    pub(super) confidence_reason: &'static str,
}

#[rustfmt::skip]
const HEALTH: Domain = Domain {
    keywords: &[
        ("doctor", 2), ("symptom", 2), ("pain", 2), ("headache", 3), ("migraine", 3), ("fever", 3),
        ("medication", 2), ("medicine", 2), ("dose", 2), ("ibuprofen", 3), ("paracetamol", 3),
        ("acetaminophen", 3), ("blood pressure", 3), ("sleep", 1), ("insomnia", 3), ("anxiety", 2),
        ("depression", 2), ("rash", 3), ("cough", 3), ("cold", 1), ("flu", 2), ("injury", 2),
        ("sprain", 3), ("sprained", 3), ("ankle", 2), ("knee", 2), ("back pain", 3),
        ("pregnant", 3), ("vaccine", 3), ("allergy", 3), ("diabetes", 3), ("cholesterol", 3),
        ("infection", 3), ("antibiotic", 3), ("health", 2), ("mole", 2), ("skin", 1), ("heart", 2),
        ("nausea", 3), ("dizzy", 3), ("diet", 1), ("vitamin", 2), ("supplement", 2),
        ("sore throat", 3), ("mental health", 3), ("therapy", 1), ("tired", 1), ("fatigue", 2),
        ("stomach", 2), ("coffee", 2), ("caffeine", 3), ("dehydrate", 3), ("dehydration", 3),
        ("alcohol", 2),
    ],
    openers: &[
        "Here's a practical way to think about {t}: what you can do yourself, and when to get it looked at.",
        "When it comes to {t}, it helps to separate what you can safely handle yourself from what needs a professional's eyes.",
        "Most people asking about {t} want two things: a practical answer now, and a sense of whether there is anything to worry about. Both can be answered step by step.",
    ],
    steps_header: "What you can do now",
    points: &[
        (
            "Track the pattern",
            "Keep a simple diary of what you notice, when it happens, and anything new in your routine: sleep, food, caffeine, stress, medication. A few days of notes makes the picture much clearer.",
        ),
        (
            "Cover the basics first",
            "Regular sleep, enough water and regular meals sound trivial, but they are the first things a clinician asks about, and fixing them resolves a surprising share of symptoms.",
        ),
        (
            "Use over-the-counter relief sensibly",
            "Stick to the dose on the packet, don't combine products that contain the same active ingredient, and don't lean on painkillers for more than a few days in a row.",
        ),
        (
            "Rest, but keep moving gently",
            "Complete rest for more than a day or two slows recovery; light activity that doesn't make things worse is the better default.",
        ),
        (
            "Look at triggers",
            "Caffeine, alcohol, screen time, posture and stress are common triggers. Change one thing at a time so you can tell what actually helps.",
        ),
        (
            "Don't tough it out alone",
            "If this is affecting your sleep, work or mood, that alone is a good reason to book an appointment; you don't need to wait until it is severe.",
        ),
        (
            "Prepare for the appointment",
            "Bring your notes, a list of the medicines and supplements you take, and the two or three questions you most want answered.",
        ),
    ],
    caution_header: "When to get help",
    cautions: &[
        "Sudden, severe symptoms, a high fever, confusion, chest pain, difficulty breathing or weakness on one side of the body are emergencies: call emergency services rather than waiting.",
        "If things are getting steadily worse, or haven't improved after a week or two of sensible self-care, book an appointment with your GP.",
        "If you're pregnant, have a long-term condition or take regular medication, get advice before trying new remedies, including over-the-counter ones.",
    ],
    bottom: &[
        "In short: start with the basics, keep notes, and get seen promptly if a warning sign shows up.",
        "The bottom line: simple measures settle most cases like this, but warning signs always override home care.",
    ],
    claims: &[
        "Symptoms that last more than two weeks without improvement are a standard reason to be assessed in person.",
        "Taking over-the-counter painkillers on more than 10-15 days a month can itself cause rebound symptoms (medication-overuse).",
        "Sudden severe symptoms, chest pain, difficulty breathing and one-sided weakness are listed as emergency red flags in standard triage advice.",
        "Dehydration and short sleep (under about six hours) are among the most common, easily reversible contributors to everyday symptoms.",
        "The maximum daily dose printed on an over-the-counter pack is set for healthy adults; it is lower for some people with liver or kidney problems.",
    ],
    checks: &[
        "Read the NHS (nhs.uk) or MedlinePlus (medlineplus.gov) page on your symptoms: both are official, plain-language sources and list the same red-flag symptoms.",
        "Compare the dosing advice above with the patient information leaflet in the medicine's packet; it is the primary document for that exact product.",
        "Ask a pharmacist to confirm dosing and interactions with anything else you take; it takes a couple of minutes and needs no appointment.",
        "Your own symptom diary is evidence too: compare it against the timeline above (improving within one to two weeks, or not).",
    ],
    assumptions: &[
        "you're an adult in generally good health",
        "this started recently rather than being a long-standing problem",
        "you aren't pregnant and don't take regular prescription medication",
        "you can see a GP or visit an urgent-care clinic if needed",
    ],
    unsure: &[
        "What is actually going on in your case; that needs someone who can examine you and ask follow-up questions.",
        "How any other conditions or medicines you have interact with the options above.",
        "Whether the usual recovery timelines apply to you; they vary a lot between people.",
    ],
    plan: [
        "Sort out what matters most about {t} and what would make it urgent.",
        "Go through what you can safely do yourself in the meantime.",
        "Be clear about when to get seen in person.",
    ],
    pro: "a doctor or pharmacist",
    confidence: "medium",
    confidence_reason: "the self-care steps and red flags are standard advice, but I can't examine you or see your history",
};

#[rustfmt::skip]
const LAW: Domain = Domain {
    keywords: &[
        ("law", 2), ("legal", 3), ("illegal", 3), ("lawyer", 3), ("attorney", 3), ("landlord", 3),
        ("tenant", 3), ("lease", 3), ("contract", 3), ("sue", 3), ("court", 2),
        ("security deposit", 4), ("deposit", 1), ("evict", 3), ("eviction", 3), ("rights", 2),
        ("employer", 2), ("fired", 2), ("dismissed", 2), ("copyright", 3), ("trademark", 3),
        ("inheritance", 2), ("divorce", 3), ("custody", 3), ("police", 2),
        ("parking ticket", 3), ("liability", 2), ("small claims", 4), ("gdpr", 3), ("refund", 1),
        ("warranty", 2), ("notice period", 3), ("neighbour", 1), ("neighbor", 1), ("contractor", 1),
        ("consumer rights", 4),
    ],
    openers: &[
        "Problems involving {t} are common, and you have more options than it first seems. Here's how to approach it.",
        "For {t}, the key things are what your agreement says, what you can prove, and the deadlines that apply where you live.",
        "Here's a practical way through a dispute about {t}, starting with the low-cost steps.",
    ],
    steps_header: "Steps to take",
    points: &[
        (
            "Gather your paperwork",
            "Collect the contract or lease, emails, texts, receipts and photos related to {t}. Dated records win most disputes.",
        ),
        (
            "Read the agreement closely",
            "Find the clauses that deal with this situation: notice periods, deductions, termination and dispute resolution. Quote them exactly when you write to the other side.",
        ),
        (
            "Put it in writing",
            "Send a short, polite letter or email setting out what happened, what you want, and a reasonable deadline (14 days is common). Keep a copy.",
        ),
        (
            "Mind the deadlines",
            "Claims have time limits, and some rights disappear if you don't act within weeks. Find out your deadline before anything else.",
        ),
        (
            "Use the cheap routes first",
            "Many disputes settle after a formal letter. If not, mediation services and the small claims track are designed for people without lawyers.",
        ),
        (
            "Stay factual",
            "Keep messages calm and specific. Threats or admissions made in frustration can be used against you later.",
        ),
        (
            "Decide what a win looks like",
            "Settle in advance on the outcome you'd accept (a full refund, a partial refund, or a fix) so you can agree quickly if it is offered.",
        ),
    ],
    caution_header: "When to get a lawyer",
    cautions: &[
        "If you've received court papers or a formal notice with a deadline, act on it straight away; missing it can mean losing by default.",
        "If a large sum, your home or your job is at stake, bring in a lawyer or a legal aid clinic early rather than late.",
        "Rules differ between countries and states, so treat this as the general shape of the process rather than the exact rules where you live.",
    ],
    bottom: &[
        "In short: document everything, put your request in writing, and know your deadline.",
        "The bottom line: a calm written demand backed by records resolves most disputes of this kind without a hearing.",
    ],
    claims: &[
        "Many jurisdictions require a landlord to return a deposit, or itemise deductions, within a fixed period, commonly 14 to 30 days after the tenancy ends.",
        "Small claims limits are set by statute and differ by place, commonly somewhere between a few thousand and $25,000.",
        "Limitation periods for contract claims are commonly between two and six years, depending on the jurisdiction.",
        "Written notice sent by a trackable method is treated as stronger evidence than a phone call in most disputes.",
        "Normal wear and tear is generally not a lawful reason for deductions, while damage beyond it can be.",
    ],
    checks: &[
        "Read the statute itself: search your state's or country's official legislation website for the law that covers {t}, and find the section on deadlines.",
        "Look up your local court's small claims page; it is the official source for the current claim limit and filing fee.",
        "Compare the clauses in your own contract with the summary above; the primary document overrides any general advice.",
        "Call a legal aid clinic or a citizens' advice service and ask them to confirm the deadline that applies to you.",
    ],
    assumptions: &[
        "you're an individual, not a business, in a common-law country such as the US or UK",
        "there is some written agreement, even an informal one",
        "no court case has started yet",
        "the amount involved is small enough for small claims",
    ],
    unsure: &[
        "The exact deadlines and limits where you live; they differ between jurisdictions.",
        "How a court would weigh your particular evidence.",
        "Whether your agreement contains unusual clauses that change the picture.",
    ],
    plan: [
        "Pin down what your agreement and the local rules say about {t}.",
        "Set out the low-cost steps in the order to try them.",
        "Flag the points at which you need a lawyer.",
    ],
    pro: "a lawyer",
    confidence: "medium",
    confidence_reason: "the overall process is standard, but the details depend on your jurisdiction and your documents",
};

#[rustfmt::skip]
const FINANCE: Domain = Domain {
    keywords: &[
        ("money", 2), ("tax", 3), ("taxes", 3), ("invest", 3), ("investing", 3), ("investment", 3),
        ("stock", 2), ("shares", 1), ("index fund", 4), ("etf", 3), ("retirement", 3), ("401k", 4),
        ("401(k)", 4), ("ira", 3), ("isa", 3), ("pension", 3), ("loan", 3), ("student loans", 5),
        ("mortgage", 3), ("debt", 3), ("credit card", 3), ("credit score", 3), ("budget", 2),
        ("savings", 3), ("save", 1), ("interest rate", 3), ("inflation", 2), ("salary", 2),
        ("income", 2), ("crypto", 3), ("bitcoin", 3), ("insurance", 1), ("bank", 2),
        ("refinance", 3), ("capital gains", 4), ("deduction", 2), ("emergency fund", 4),
        ("financial", 2),
    ],
    openers: &[
        "For {t}, the right answer depends less on clever tricks and more on your interest rates, your timeline and how much risk you can live with.",
        "Here's a clear way to think through {t} without getting lost in jargon.",
        "Decisions about {t} come down to a few numbers you can work out at the kitchen table.",
    ],
    steps_header: "How to decide",
    points: &[
        (
            "Know your numbers",
            "Write down the balances, interest rates, fees and dates involved in {t}. Most decisions become obvious once everything is on one page.",
        ),
        (
            "Build a cash buffer first",
            "Keep three to six months of essential expenses in an easy-access account before locking money away or taking on extra risk.",
        ),
        (
            "Compare rates, not feelings",
            "Paying off debt at 7% is a guaranteed 7% return. Investing only wins if you can reasonably expect more than that after fees and tax.",
        ),
        (
            "Use tax-advantaged accounts",
            "Employer matches and tax-free or tax-deferred accounts are the closest thing to free money; fill those before taxable accounts.",
        ),
        (
            "Keep costs low",
            "Fees compound just like returns. A 1% annual fee takes a large bite out of long-term growth, so favour low-cost index funds.",
        ),
        (
            "Automate it",
            "Set up automatic transfers on payday so that saving happens without relying on willpower.",
        ),
        (
            "Review once a year",
            "Revisit the decision annually or after a big life change, not every time the market moves.",
        ),
    ],
    caution_header: "Watch out for",
    cautions: &[
        "Be wary of anyone promising guaranteed high returns or pressuring you to decide quickly: those are the classic signs of a scam.",
        "If you're behind on payments, contact the lender before you miss another one; hardship options exist but shrink once an account goes to collections.",
        "Tax rules change every year and differ by country, so pin down the figures that apply to you before you act.",
    ],
    bottom: &[
        "In short: buffer first, then high-interest debt, then long-term investing in low-cost funds.",
        "The bottom line: get the numbers on one page and the answer will largely choose itself.",
    ],
    claims: &[
        "A 1% annual fee on a portfolio growing 6% a year leaves it roughly a quarter smaller after 30 years than the same portfolio with no fee.",
        "Paying down a debt at 7% interest is equivalent to a risk-free 7% return on that money.",
        "Broad stock-market index funds have historically returned around 6-7% a year after inflation over long periods, with large year-to-year swings.",
        "An emergency fund of three to six months of essential expenses is the standard guideline used by financial planners.",
        "Employer retirement matches are commonly 3-6% of salary, an immediate 50-100% return on the money you put in.",
    ],
    checks: &[
        "Redo the fee calculation yourself in a spreadsheet: =FV(6%,30,0,-10000) against =FV(5%,30,0,-10000) shows the gap.",
        "Look up current allowances and rates on the tax authority's official website (IRS.gov in the US, gov.uk in the UK) rather than relying on figures quoted in articles.",
        "Read the fund's fact sheet or prospectus for its ongoing charge (expense ratio) before buying.",
        "Your loan statement is the primary document for your actual interest rate and any early-repayment fees; compare it with the numbers above.",
    ],
    assumptions: &[
        "you have a steady income and no debts in collections",
        "you're investing for at least five to ten years",
        "you're in the US or UK tax system",
        "you don't yet have an emergency fund covering several months",
    ],
    unsure: &[
        "Future returns: the historical figures above are not a promise.",
        "The tax treatment in your exact situation, which depends on your income and country.",
        "How you personally would cope with a large market fall.",
    ],
    plan: [
        "Lay out the numbers that decide {t}.",
        "Compare the main options on cost, risk and flexibility.",
        "Finish with an order of priorities you can act on.",
    ],
    pro: "a fee-only financial adviser or an accountant",
    confidence: "medium",
    confidence_reason: "the principles are well established, but returns and tax details depend on your situation",
};

#[rustfmt::skip]
const SOFTWARE: Domain = Domain {
    keywords: &[
        ("code", 3), ("coding", 3), ("python", 4), ("javascript", 4), ("typescript", 4),
        ("rust", 3), ("java", 3), ("sql", 4), ("database", 3), ("bug", 3), ("error", 2),
        ("exception", 3), ("compile", 3), ("compiler", 3), ("function", 2), ("api", 3),
        ("server", 2), ("git", 3), ("docker", 4), ("script", 3), ("library", 1), ("framework", 2),
        ("memory leak", 4), ("csv", 3), ("regex", 4), ("deploy", 3), ("kubernetes", 4), ("css", 4),
        ("html", 4), ("react", 3), ("algorithm", 3), ("crash", 2), ("crashes", 2),
        ("stack trace", 4), ("linux", 3), ("program", 2), ("app", 2), ("laptop", 1), ("query", 2),
        ("pandas", 4), ("npm", 4), ("test suite", 3), ("unit test", 3), ("variable", 2),
        ("loop", 2),
    ],
    openers: &[
        "Problems with {t} come down to a handful of causes. Here's how to narrow it down.",
        "Let's work through {t} systematically rather than guessing.",
        "Here's a practical way to deal with {t}, from the quickest fixes to the deeper ones.",
    ],
    steps_header: "How to track it down",
    points: &[
        (
            "Work on a copy first",
            "Make a branch or a backup before you change anything, so every step can be undone.",
        ),
        (
            "Reproduce it reliably",
            "Get the smallest input and the shortest sequence of steps that trigger the problem with {t}. A reliable reproduction is half the fix.",
        ),
        (
            "Read the full error",
            "The last line of a stack trace names the symptom; the first frame in your own code points at the cause. Copy the message exactly.",
        ),
        (
            "Pin down versions",
            "Note the language, library and OS versions. Many 'mysterious' bugs are version mismatches between your machine and the server.",
        ),
        (
            "Measure before optimising",
            "Profile time and memory on a realistic input. The slow or memory-hungry part is rarely where you expect, and measuring takes minutes.",
        ),
        (
            "Change one thing at a time",
            "Make a single change, rerun, and note the result. Changing several things at once hides which one mattered.",
        ),
        (
            "Add a regression test",
            "Once it is fixed, capture the failing case as an automated test so it can't quietly come back.",
        ),
        (
            "Search the exact message",
            "Paste the exact error text, in quotes, into a search engine or the project's issue tracker; someone has almost certainly hit it before.",
        ),
        (
            "Use version control as a safety net",
            "Commit before experimenting, and use git bisect if the problem appeared after a change you can't pinpoint.",
        ),
    ],
    caution_header: "Pitfalls",
    cautions: &[
        "Don't paste secrets, API keys or customer data into public forums when asking for help.",
        "If this is running in production, roll back to the last working version first and debug afterwards.",
        "Avoid silencing the error with a broad try/except or catch-all; it hides the problem rather than fixing it.",
    ],
    bottom: &[
        "In short: reproduce it, read the error carefully, change one thing at a time, and lock in the fix with a test.",
        "The bottom line: a minimal reproduction turns a problem like this from a mystery into a routine fix.",
    ],
    claims: &[
        "Reading a whole file into memory needs at least the file's size in RAM, and often two to five times more once it is parsed into objects.",
        "In Python, the last line of a traceback gives the exception type and message; the frames above it run from the outermost call to the innermost.",
        "git bisect finds the commit that introduced a bug in about log2(n) steps, so roughly 10 steps for 1,000 commits.",
        "Lock files (package-lock.json, Cargo.lock, poetry.lock) pin exact dependency versions, which makes builds reproducible across machines.",
    ],
    checks: &[
        "Run the minimal reproduction before and after the change: the failing test turning green is the most direct evidence that the fix works.",
        "Read the official documentation for the exact version you're using (most docs sites let you switch versions), not a blog post written for an older release.",
        "Look at the library's changelog or release notes for the versions between your working and broken setups.",
        "Measure it: a profiler or a simple memory monitor will confirm whether the change made the difference I claim.",
    ],
    assumptions: &[
        "you're working on a typical desktop or laptop, not a constrained embedded device",
        "you can run the code locally and change it",
        "the problem started recently rather than existing since the first version",
        "you're using a mainstream language and a recent version of its tools",
    ],
    unsure: &[
        "The exact cause of {t} without seeing your code and the full error.",
        "Whether your versions behave the way I describe; details change between releases.",
        "How your environment differs from a standard setup.",
    ],
    plan: [
        "Pin down exactly what happens with {t}, and reproduce it.",
        "Narrow down the cause by reading the error and changing one thing at a time.",
        "Fix it and lock the fix in with a test.",
    ],
    pro: "an experienced colleague",
    confidence: "medium",
    confidence_reason: "this debugging approach is standard, but I haven't seen your code or the exact error",
};

#[rustfmt::skip]
const SCIENCE: Domain = Domain {
    keywords: &[
        ("physics", 4), ("chemistry", 4), ("biology", 4), ("planet", 3), ("climate", 3),
        ("energy", 2), ("atom", 3), ("quantum", 4), ("evolution", 3), ("experiment", 2),
        ("theory", 2), ("gravity", 4), ("light", 1), ("universe", 4), ("cell", 2), ("dna", 4),
        ("molecule", 3), ("temperature", 2), ("ocean", 2), ("sky", 3), ("photosynthesis", 4),
        ("black hole", 4), ("speed of light", 4), ("scientific", 3), ("scientists", 3), ("star", 2),
        ("moon", 3), ("sun", 2), ("orbit", 3), ("electricity", 2), ("magnet", 3), ("volcano", 3),
        ("earthquake", 3), ("species", 3), ("virus", 1), ("ice", 2), ("water", 1), ("boil", 2),
        ("rainbow", 4),
    ],
    openers: &[
        "When it comes to {t}, there's a neat explanation once you look at what happens at a small scale.",
        "Here's how scientists think about {t}, step by step.",
        "The short version about {t} is below, followed by the reasoning behind it.",
    ],
    steps_header: "The explanation",
    points: &[
        (
            "Start from the mechanism",
            "At its core, this is about how energy and matter interact: what absorbs, what reflects, what moves and what stays put.",
        ),
        (
            "Think about scale",
            "Effects that are tiny for a single molecule or a single day add up over billions of molecules or thousands of years, and many surprising results come from that.",
        ),
        (
            "Separate correlation from cause",
            "Two things rising together is a clue, not an explanation; the mechanism is what makes the account convincing.",
        ),
        (
            "Use a simple model",
            "Physicists start with the simplest model that captures the effect and then add detail. A back-of-the-envelope estimate gets you surprisingly far.",
        ),
        (
            "Follow the predictions",
            "The strongest explanations predict something measurable, and those predictions have been tested repeatedly.",
        ),
        (
            "Know where the open questions are",
            "The broad picture here is settled; the frontier is in the details, the exact numbers and the edge cases.",
        ),
        (
            "Try it yourself",
            "Many of these effects show up in a kitchen experiment: a glass of water, a torch and a dark room demonstrate more than a diagram.",
        ),
    ],
    caution_header: "Common misconceptions",
    cautions: &[
        "Popular explanations simplify, so two accounts that seem to contradict each other are frequently just simplifying in different ways.",
        "Be wary of explanations that rest on a single dramatic result; science moves on replicated findings.",
    ],
    bottom: &[
        "In short: the mechanism is well understood, and the interesting part is how small effects add up.",
        "The bottom line: the answer follows from basic physics and chemistry, and the measurements back it up.",
    ],
    claims: &[
        "Effects that look negligible per molecule scale with the number of molecules, about 6 × 10^23 per mole, which is why they become visible.",
        "A simple model that ignores second-order effects lands within a factor of two of the measured value for phenomena like this one.",
        "The explanation above has been tested by direct measurement, and the measurements are repeated routinely in teaching labs.",
        "The standard explanation appears in introductory university physics and chemistry textbooks, not only in popular accounts.",
    ],
    checks: &[
        "Look this up in a standard university textbook or a review article; Google Scholar lets you filter for reviews.",
        "Redo the back-of-the-envelope calculation yourself with the numbers above; if the orders of magnitude match, the explanation holds up.",
        "Compare with an official science agency's explainer (NASA, NOAA or a national academy), which is written from the peer-reviewed literature.",
        "Run the kitchen experiment described above and see whether the result matches the prediction.",
    ],
    assumptions: &[
        "you want an intuitive explanation rather than the full mathematics",
        "you're comfortable with school-level physics and chemistry",
        "you're asking about the everyday situation, not an extreme case",
    ],
    unsure: &[
        "The precise numbers for {t} in unusual conditions.",
        "Where current research has moved beyond the textbook picture.",
        "Whether my simplified model leaves out an effect that matters for your case.",
    ],
    plan: [
        "Explain the basic mechanism behind {t}.",
        "Show why it matters at everyday scales.",
        "Point out what is settled and what is still debated.",
    ],
    pro: "a specialist in the field",
    confidence: "high",
    confidence_reason: "the core explanation is textbook material, although I've simplified some details",
};

#[rustfmt::skip]
const NEWS: Domain = Domain {
    keywords: &[
        ("news", 4), ("election", 4), ("latest", 2), ("current events", 4), ("this week", 2),
        ("announced", 2), ("government", 2), ("policy", 2), ("president", 3), ("prime minister", 3),
        ("war", 3), ("protest", 3), ("headline", 3), ("breaking", 3), ("recall", 2), ("strike", 2),
        ("ceasefire", 4), ("parliament", 3), ("congress", 3), ("senate", 3), ("vote", 2),
        ("summit", 3), ("sanctions", 3), ("scandal", 3), ("report", 1), ("reported", 2),
        ("misinformation", 3), ("tariff", 3), ("tariffs", 3), ("minister", 2),
    ],
    openers: &[
        "Here's how to make sense of {t} while the story is still developing.",
        "Coverage of {t} moves fast, so it helps to separate what is confirmed from what is speculation.",
        "Here's a way to follow {t} without getting lost in the noise.",
    ],
    steps_header: "How to read the coverage",
    points: &[
        (
            "Separate facts from framing",
            "Note what is actually reported (who, what, when) separately from commentary about what it means.",
        ),
        (
            "Track the timeline",
            "Put the key events around {t} in order, with dates. Early reports are frequently corrected, and the timeline shows which claims came first.",
        ),
        (
            "Look at who is speaking",
            "Statements from the people involved, from independent experts and from anonymous insiders carry different weight. Note which is which.",
        ),
        (
            "Read beyond the headline",
            "Headlines compress and sharpen. The qualifications live further down the article.",
        ),
        (
            "Follow the numbers",
            "Figures in a breaking story get revised. Note each figure together with the time it was reported.",
        ),
        (
            "Watch for the next decision point",
            "Stories like this have a next step (a vote, a hearing, a deadline), and that is where the real news will come from.",
        ),
    ],
    caution_header: "Watch out for",
    cautions: &[
        "Be wary of screenshots and viral clips without a date or origin: they are the main route for misinformation in a fast-moving story.",
        "Hold off on sharing a claim about {t} until more than one independent outlet is reporting it.",
    ],
    bottom: &[
        "In short: confirmed facts first, commentary second, and keep an eye on the next decision point.",
        "The bottom line: the story is still developing, so hold conclusions loosely until the key facts settle.",
    ],
    claims: &[
        "Initial casualty and damage figures in breaking stories are revised in most major events, often substantially, within the first 48 hours.",
        "Major wire services (AP, Reuters, AFP) issue formal corrections that are logged publicly.",
        "The formal record of the events (statements, filings or votes) is published by the institution involved, typically within a day.",
    ],
    checks: &[
        "Go to the primary source: the official statement, court filing, press release or vote record from the institution involved.",
        "Compare at least two independent outlets with different editorial leanings; a claim that appears in only one deserves caution.",
        "Look at the date stamp and any correction notes on each article you read.",
        "Use a fact-checking site (for example AP Fact Check or Full Fact) to see whether specific viral claims have already been checked.",
    ],
    assumptions: &[
        "you want an overview rather than a detailed political analysis",
        "you're following mainstream coverage in English",
        "the story is still developing as you read this",
    ],
    unsure: &[
        "Anything that happened after my knowledge cutoff; my information on {t} may be out of date.",
        "Which of the early reports will hold up.",
        "How the key decision-makers will act next.",
    ],
    plan: [
        "Summarise what is established about {t}.",
        "Separate that from what is disputed or speculative.",
        "Point to what to watch next.",
    ],
    pro: "a trusted news outlet",
    confidence: "low",
    confidence_reason: "the way to follow a developing story is well established, but the facts are still moving and my information may be out of date",
};

#[rustfmt::skip]
const TRAVEL: Domain = Domain {
    keywords: &[
        ("travel", 4), ("trip", 3), ("flight", 3), ("fly", 2), ("flying", 2), ("airport", 3),
        ("visa", 4), ("passport", 4), ("hotel", 3), ("itinerary", 4), ("vacation", 4),
        ("holiday", 3), ("tourist", 3), ("luggage", 3), ("japan", 2), ("europe", 2), ("train", 2),
        ("backpacking", 4), ("jet lag", 4), ("destination", 3), ("typhoon", 3), ("layover", 4),
        ("booking", 2), ("cruise", 3), ("road trip", 4), ("abroad", 3), ("visit", 1),
        ("travelling", 4), ("traveling", 4),
    ],
    openers: &[
        "Here's how to prepare for {t} so the trip goes smoothly.",
        "With {t}, a bit of preparation up front saves a lot of stress later.",
        "Questions about {t} come down to timing, documents and a backup option.",
    ],
    steps_header: "Before you go",
    points: &[
        (
            "Sort documents early",
            "Passport validity (many countries want six months left), visas and entry forms take longer than people expect. Deal with them first.",
        ),
        (
            "Book flexibly",
            "Choose refundable or changeable fares and rooms where the price difference is small; flexibility pays off when things change.",
        ),
        (
            "Keep a buffer",
            "Leave a spare day before anything you can't miss, and avoid tight connections on separate tickets.",
        ),
        (
            "Get travel insurance",
            "Buy it when you book, not just before you leave, so cancellation cover starts straight away.",
        ),
        (
            "Pack for the conditions",
            "Look at the weather for your exact dates and region, and pack layers and a compact rain jacket.",
        ),
        (
            "Carry money in two forms",
            "Take a card with no foreign transaction fees plus some local cash, kept in different places.",
        ),
        (
            "Save offline copies",
            "Keep offline maps, booking confirmations and a photo of your passport on your phone and in your email.",
        ),
    ],
    caution_header: "If things go wrong",
    cautions: &[
        "If there is a weather warning or unrest at your destination, follow the instructions of the local authorities and contact your airline about free changes.",
        "Don't overstay or work on a tourist entry: the penalties can include bans on future visits.",
    ],
    bottom: &[
        "In short: documents first, flexible bookings, and a buffer day around anything important.",
        "The bottom line: with the paperwork sorted and a backup option, the trip is very manageable.",
    ],
    claims: &[
        "Many countries, including those in the Schengen area, require a passport valid for at least three to six months beyond your planned departure date.",
        "Under EU Regulation 261/2004, flights from the EU delayed by more than three hours can qualify for €250-600 in compensation.",
        "Cancellation cover in travel insurance generally applies only to events that happen after the policy is bought.",
    ],
    checks: &[
        "Look up entry requirements on the official government travel advisory page for your nationality (travel.state.gov in the US, gov.uk/foreign-travel-advice in the UK).",
        "Confirm visa rules on the destination's embassy or consulate website, which is the primary source.",
        "Read the insurance policy wording (the policy document, not the sales page) to see what counts as a covered cancellation.",
        "Look at the national weather service's climate averages for your exact dates.",
    ],
    assumptions: &[
        "you're travelling as a tourist for a few weeks or less",
        "you hold a US, UK or EU passport",
        "you have some flexibility on dates",
    ],
    unsure: &[
        "Current entry rules for {t}; they change at short notice.",
        "Weather and local conditions on your exact dates.",
        "Prices and availability, which move daily.",
    ],
    plan: [
        "Cover the documents and entry rules for {t}.",
        "Go through bookings, timing and backups.",
        "Finish with a short packing and money list.",
    ],
    pro: "the airline or a travel agent",
    confidence: "medium",
    confidence_reason: "the preparation steps are standard, but entry rules and conditions change often",
};

#[rustfmt::skip]
const HOME: Domain = Domain {
    keywords: &[
        ("diy", 4), ("repair", 2), ("leak", 3), ("leaking", 3), ("leaky", 3), ("faucet", 4),
        ("tap", 2), ("plumbing", 4), ("wall", 2), ("paint", 3), ("painting", 2), ("drywall", 4),
        ("roof", 3), ("mold", 3), ("mould", 3), ("damp", 3), ("heating", 3), ("boiler", 4),
        ("furnace", 4), ("electrical", 3), ("outlet", 2), ("socket", 2), ("wiring", 3),
        ("garden", 3), ("lawn", 3), ("appliance", 3), ("fridge", 3), ("washing machine", 4),
        ("dishwasher", 4), ("shelf", 3), ("shelves", 3), ("drill", 3), ("renovation", 3),
        ("insulation", 3), ("toilet", 3), ("sink", 3), ("drain", 3), ("gutter", 3), ("tiles", 3),
        ("house", 1), ("home", 1), ("thermostat", 3), ("window", 1), ("door", 1),
    ],
    openers: &[
        "This is a manageable job if you go step by step. Here's how to approach {t}.",
        "Before you start on {t}, work out whether this is a DIY job or one for a tradesperson.",
        "Here's a practical way to tackle {t} safely.",
    ],
    steps_header: "Step by step",
    points: &[
        (
            "Make it safe first",
            "Turn off the water, power or gas supply to the area before you start, and test that it is actually off.",
        ),
        (
            "Find the real cause",
            "Water stains, cracks and noises show up away from where they start. Trace the problem back to where it starts before fixing anything.",
        ),
        (
            "Get the right parts",
            "Take the old part, or a clear photo of it, to the hardware shop. Matching sizes and threads avoids a second trip.",
        ),
        (
            "Use the right tools",
            "A decent tool for the job (a proper wrench, a stud finder, a voltage tester) makes the work safer and neater.",
        ),
        (
            "Protect the area",
            "Lay down dust sheets, move furniture away and keep a bucket and towels handy.",
        ),
        (
            "Test before you tidy up",
            "Run the tap, flip the switch or load the shelf before putting everything back, so you catch a problem while it is still easy to fix.",
        ),
        (
            "Know your limits",
            "Gas work and most electrical work beyond swapping a fitting need a qualified professional in many countries, for safety and insurance reasons.",
        ),
    ],
    caution_header: "When to stop and call someone",
    cautions: &[
        "If you smell gas, see scorch marks or have water near electrics, stop, make the area safe and call a professional straight away.",
        "In older buildings, watch for asbestos in textured ceilings and old floor tiles, and don't sand or drill anything you suspect.",
    ],
    bottom: &[
        "In short: make it safe, find the cause, then fix and test.",
        "The bottom line: this is a reasonable DIY job as long as you respect the safety limits.",
    ],
    claims: &[
        "Standard household mains voltage is 230 V in the UK and EU and 120 V in the US; a non-contact voltage tester detects both.",
        "In England and Wales, much new electrical work in kitchens and bathrooms is notifiable under Part P of the Building Regulations.",
        "Buildings constructed before about 2000 can contain asbestos in textured coatings and floor tiles.",
        "A tap dripping once per second wastes several thousand litres of water a year.",
    ],
    checks: &[
        "Read the manufacturer's installation manual for the exact model; it gives the correct parts and the clearance or torque figures.",
        "Look up your local building code or building regulations page to confirm whether the job needs a permit or a certified installer.",
        "Use a voltage tester or multimeter to confirm the power is off, and test it on a live socket first so you know the tester works.",
        "After the repair, run a simple test (water on for ten minutes, a dry tissue under the joint) to verify there's no leak.",
    ],
    assumptions: &[
        "you're a homeowner or have the landlord's permission",
        "you have basic tools and some DIY experience",
        "the house is a typical modern build",
    ],
    unsure: &[
        "What is actually behind the wall or under the floor in your home.",
        "The rules on permits where you live.",
        "Whether {t} is a symptom of a bigger problem.",
    ],
    plan: [
        "Make the area safe and find the cause of {t}.",
        "Go through the fix step by step.",
        "Say where a professional is needed.",
    ],
    pro: "a qualified tradesperson",
    confidence: "medium",
    confidence_reason: "these are standard repair steps, but I can't see your home or the exact fittings",
};

#[rustfmt::skip]
const EDUCATION: Domain = Domain {
    keywords: &[
        ("study", 3), ("studying", 3), ("exam", 4), ("exams", 4), ("school", 3), ("university", 3),
        ("college", 3), ("degree", 3), ("course", 2), ("learn", 3), ("learning", 3), ("student", 2),
        ("teacher", 3), ("homework", 4), ("essay", 3), ("thesis", 4), ("grades", 3), ("gpa", 4),
        ("scholarship", 4), ("curriculum", 4), ("tutor", 3), ("revision", 3), ("revise", 3),
        ("language", 2), ("vocabulary", 3), ("lecture", 3), ("class", 2), ("semester", 3),
        ("math", 2), ("maths", 2), ("spanish", 2), ("french", 2), ("flashcards", 4), ("phd", 3),
    ],
    openers: &[
        "Here's an approach to {t} that is built on how learning works, not on cramming.",
        "With {t}, a good structure matters more than the number of hours you put in.",
        "Here's a practical way to tackle {t}.",
    ],
    steps_header: "What works",
    points: &[
        (
            "Set a clear target",
            "Decide what success looks like for {t} (a grade, a skill, a deadline) and work backwards to a weekly schedule.",
        ),
        (
            "Test yourself",
            "Practice questions and recalling from memory beat re-reading. Spend at least half your time retrieving, not reviewing.",
        ),
        (
            "Space it out",
            "Short sessions spread over several days stick far better than one long session. Revisit material after a day, a week and a month.",
        ),
        (
            "Mix topics",
            "Interleave different types of problem in one session; it feels harder, and that difficulty is what builds durable skill.",
        ),
        (
            "Get feedback early",
            "Show a draft or an attempt to a teacher, tutor or classmate before the deadline, not after it.",
        ),
        (
            "Protect sleep",
            "Memory consolidates during sleep, so an all-nighter costs more than it gains.",
        ),
        (
            "Use past papers",
            "Past exam papers and mark schemes show exactly what examiners reward. Work through them under timed conditions.",
        ),
    ],
    caution_header: "Watch out for",
    cautions: &[
        "If you're falling behind or feeling overwhelmed, talk to your teacher or student support early; extensions and help are easier to get before a deadline than after.",
        "Be careful with AI tools and essay services for assessed work; institutions treat misuse as academic misconduct.",
    ],
    bottom: &[
        "In short: a clear target, spaced practice, self-testing and early feedback.",
        "The bottom line: this kind of goal responds well to structure, so a simple weekly routine will do more than extra hours.",
    ],
    claims: &[
        "Retrieval practice (testing yourself) produces better long-term retention than re-reading in controlled experiments; Roediger and Karpicke (2006) is the classic example.",
        "Spaced practice improves retention compared with massed study, one of the most replicated findings in cognitive psychology.",
        "Sleep after learning improves memory consolidation compared with staying awake for the same period.",
    ],
    checks: &[
        "Read Dunlosky et al. (2013), 'Improving Students' Learning With Effective Learning Techniques', a peer-reviewed review that rates these methods.",
        "Look at your course's official specification or syllabus and the mark scheme to confirm what is assessed.",
        "Run a two-week experiment on yourself: compare practice-test scores with and without spacing.",
        "Ask your teacher or the admissions office to confirm any deadlines or requirements; the institution's own page is the primary source.",
    ],
    assumptions: &[
        "you're a secondary-school or university student",
        "you have a few weeks rather than a few days",
        "the assessment is mostly exams or written work",
    ],
    unsure: &[
        "How your particular course or institution weights different assessments.",
        "What pace is realistic for you given your other commitments.",
        "Whether these general findings match how you personally learn best.",
    ],
    plan: [
        "Clarify the goal and the deadline for {t}.",
        "Set out a study method that works.",
        "Turn it into a weekly routine.",
    ],
    pro: "your teacher or tutor",
    confidence: "high",
    confidence_reason: "these study methods are well supported by research, but your course's specifics matter",
};

#[rustfmt::skip]
const GENERIC: Domain = Domain {
    keywords: &[],
    openers: &[
        "Here's a practical way to think about {t}.",
        "Good question. Here's how to approach {t}, step by step.",
        "There are a few things to weigh with {t}. Here's a clear way through them.",
    ],
    steps_header: "How to approach it",
    points: &[
        (
            "Clarify the goal",
            "Write down in one sentence what a good outcome for {t} looks like. It makes every later choice easier.",
        ),
        (
            "List the options",
            "Put the realistic options side by side, including doing nothing, with the main cost and benefit of each.",
        ),
        (
            "Start small",
            "Pick the option that is cheapest to try and easiest to undo, and try it first.",
        ),
        (
            "Set a review point",
            "Decide now when you'll look at how it's going (in a week, in a month) and what result would make you change tack.",
        ),
        (
            "Learn from someone who has done it",
            "A short conversation with someone who has been through this before saves a lot of trial and error.",
        ),
        (
            "Keep notes",
            "Record what you tried and what happened. Patterns show up quickly.",
        ),
    ],
    caution_header: "Watch out for",
    cautions: &[
        "If money, health or legal rights are at stake, get advice specific to your situation before committing.",
        "Avoid decisions you can't undo while you're rushed or upset.",
    ],
    bottom: &[
        "In short: a clear goal, a small first step, and a date to review.",
        "The bottom line: this is easier to handle once it's broken into small, reversible steps.",
    ],
    claims: &[
        "Turning a goal into specific, dated steps makes follow-through more likely than a general intention, a finding known as 'implementation intentions' (Gollwitzer, 1999).",
        "Reversible decisions can be made quickly; irreversible ones deserve slower, more careful thought.",
        "Writing options down side by side reduces the tendency to favour whichever one you thought of first.",
    ],
    checks: &[
        "Look up Gollwitzer's 1999 paper on implementation intentions in American Psychologist, the primary source for that finding.",
        "Compare my suggestions with at least one independent source on this topic, such as an official guidance page or a specialist's article.",
        "Run the small first step as a test and compare the result with what I predicted.",
    ],
    assumptions: &[
        "you want general guidance rather than specialist advice",
        "you have some time to decide",
        "nothing about {t} is urgent",
    ],
    unsure: &[
        "The specifics of your situation, which I only know from your message.",
        "Which option will suit you best in practice.",
        "Details that depend on where you live.",
    ],
    plan: [
        "Clarify what you want from {t}.",
        "Lay out the options.",
        "Suggest a first step and a review point.",
    ],
    pro: "someone with expertise in this area",
    confidence: "medium",
    confidence_reason: "the approach is sound in general, but I only know what's in your message",
};

const DOMAINS: [&Domain; 9] = [
    &HEALTH, &LAW, &FINANCE, &SOFTWARE, &SCIENCE, &NEWS, &TRAVEL, &HOME, &EDUCATION,
];

/// A topic-specific point added when the first user message matches. `when` is a list of groups;
/// every group must match, and a group matches when any of its words starts a word of the prompt
/// ("dehydrat" matches "dehydrate"). Bodies follow the same rules as the plain pools (no hedges,
/// sources or ways to check); `claim` is a checkable claim for the verification section.
struct Hint {
    when: &'static [&'static [&'static str]],
    title: &'static str,
    body: &'static str,
    claim: &'static str,
    /// Title of a domain point that this one makes redundant.
    replaces: Option<&'static str>,
}

const HINTS: &[Hint] = &[
    Hint {
        when: &[
            &["memory", "ram"],
            &["csv", "large file", "big file", "dataset", "dataframe"],
        ],
        title: "Stream the file instead of loading it all",
        body: "Read the CSV in chunks (for example pandas.read_csv(path, chunksize=100_000), or the csv module row by row), keep only the columns you need with usecols=, and use compact dtypes such as category and float32.",
        claim: "pandas.read_csv loads the whole file into memory by default; with chunksize it returns an iterator of smaller DataFrames instead.",
        replaces: None,
    },
    Hint {
        when: &[
            &["git"],
            &["commit"],
            &["undo", "revert", "reset", "remove", "uncommit"],
        ],
        title: "Use a soft reset",
        body: "`git reset --soft HEAD~1` removes the last commit but keeps its changes staged. If you have already pushed, `git revert HEAD` is the safer choice because it doesn't rewrite shared history.",
        claim: "`git reset --soft` moves the branch pointer back one commit and leaves both the index and the working tree untouched.",
        replaces: None,
    },
    Hint {
        when: &[&["headache", "migraine"]],
        title: "Watch for medication-overuse",
        body: "Painkillers taken on most days can themselves keep a headache going, so note how often you take them; if it is more than a couple of days a week, raise it at your appointment.",
        claim: "Tension-type headache is the most common type of headache and is described as a pressing or tightening pain on both sides of the head.",
        replaces: None,
    },
    Hint {
        when: &[&["sprain", "ankle"]],
        title: "Protect, ice, compress, elevate",
        body: "For the first two to three days, protect the joint, use ice wrapped in a cloth for 15-20 minutes every few hours, wear a compression bandage, keep the foot raised, and then start gentle movement as pain allows.",
        claim: "Mild ankle sprains improve substantially within two to six weeks in most people, though full strength can take longer.",
        replaces: None,
    },
    Hint {
        when: &[&["deposit"]],
        title: "Send a formal demand letter",
        body: "Ask in writing for the deposit back within 14 days, give your move-out date, attach your evidence of the property's condition (photos, the check-out report), and say that you will file a small claims case if it isn't returned.",
        claim: "In many US states, a landlord who wrongfully withholds a deposit can owe a penalty of up to two or three times the amount withheld.",
        replaces: Some("Put it in writing"),
    },
    Hint {
        when: &[
            &["employer", "boss", "job"],
            &["fire", "fired", "dismiss", "sack"],
            &["social media", "post", "posting", "tweet"],
        ],
        title: "Know which speech is protected",
        body: "In most US states a private employer can dismiss an employee at will, but discussing pay or working conditions with coworkers is protected activity, including online. In the UK and EU, unfair-dismissal rules apply once you have the qualifying service.",
        claim: "Section 7 of the US National Labor Relations Act protects employees' concerted activity about working conditions, and the NLRB has applied it to social media posts.",
        replaces: None,
    },
    Hint {
        when: &[
            &["loan", "loans", "debt", "mortgage"],
            &["invest", "index fund", "stocks", "etf"],
        ],
        title: "Loan rate versus expected returns",
        body: "If the loan rate is above about 6-7%, paying it down is the better deal; below about 4%, a low-cost index fund has historically come out ahead over long periods; in between, splitting your spare cash between the two is reasonable.",
        claim: "US federal student loan interest is deductible up to $2,500 a year, subject to income limits.",
        replaces: None,
    },
    Hint {
        when: &[
            &["tax", "taxes"],
            &[
                "freelanc",
                "self-employ",
                "contractor",
                "side hustle",
                "sole trader",
            ],
        ],
        title: "Set tax aside from every invoice",
        body: "Move 25-30% of each payment into a separate account for tax, keep every receipt for business expenses, and find out whether you owe estimated payments during the year (quarterly in the US).",
        claim: "In the US, self-employment tax is 15.3% of net earnings (Social Security plus Medicare), on top of income tax.",
        replaces: None,
    },
    Hint {
        when: &[&["sky", "sunset", "sunsets"]],
        title: "Scattering does the colouring",
        body: "Air molecules scatter short (blue) wavelengths much more strongly than long (red) ones, so blue light reaches your eyes from every part of the sky. At sunset the light crosses far more air, the blue is scattered out along the way, and the reds and oranges are what is left.",
        claim: "Rayleigh scattering scales as 1/λ^4, so blue light at 450 nm is scattered about five to six times more than red light at 700 nm.",
        replaces: None,
    },
    Hint {
        when: &[&["election", "vote", "ballot"]],
        title: "Follow the official count",
        body: "Results are certified by election authorities on a fixed timetable, and challenges go through recount procedures or courts with their own deadlines. Those steps, not the commentary, decide the outcome.",
        claim: "Certification deadlines for election results are set in law and published by the election authority in advance.",
        replaces: None,
    },
    Hint {
        when: &[&["typhoon", "hurricane", "monsoon", "cyclone"]],
        title: "Build in weather flexibility",
        body: "Typhoon season in East Asia runs from about June to November and peaks in August and September. Keep a spare day or two, follow the national weather agency's warnings, and expect trains and flights to stop during a direct hit.",
        claim: "The Japan Meteorological Agency publishes five-day track forecasts for typhoons in the region.",
        replaces: None,
    },
    Hint {
        when: &[&["faucet", "tap"], &["leak", "drip"]],
        title: "Replace the worn seal",
        body: "A leak at the base of a mixer tap comes from worn O-rings around the spout; a drip from the spout points to the cartridge or washer. Both are inexpensive parts you can swap with the water supply off.",
        claim: "Single-handle faucets use a replaceable cartridge that is sold by the manufacturer's part number.",
        replaces: None,
    },
    Hint {
        when: &[
            &["exam", "exams", "test", "finals"],
            &["study", "studying", "prepare", "revise", "revision"],
        ],
        title: "Work backwards from the exam date",
        body: "Split the remaining weeks into topic blocks, keep the final week for full past papers under timed conditions, and open each session with a short mixed quiz on earlier topics.",
        claim: "Testing yourself on material produces better retention a week later than spending the same time re-reading it.",
        replaces: None,
    },
    Hint {
        when: &[&["job offer", "offers", "two jobs"]],
        title: "Compare the offers on one sheet",
        body: "Put salary, bonus, benefits, commute, growth prospects and the team side by side, weight what matters most to you, and ask each employer the questions that would change your ranking.",
        claim: "Salary is negotiable at most employers even after an offer is made, and a counter-offer rarely leads to an offer being withdrawn.",
        replaces: None,
    },
    Hint {
        when: &[&["coffee", "caffeine"], &["dehydrat", "hydrat", "water"]],
        title: "Count coffee toward your fluids",
        body: "Caffeine has a mild diuretic effect, but in regular drinkers a normal amount of coffee adds to daily fluid intake rather than causing a net loss.",
        claim: "A study of habitual coffee drinkers (Killer et al., 2014, PLoS ONE) found no difference in hydration markers between moderate coffee intake and equal volumes of water.",
        replaces: None,
    },
    Hint {
        when: &[&["sleep", "insomnia"]],
        title: "Anchor your wake-up time",
        body: "Get up at the same time every day, including weekends, get daylight in the morning, and keep the bed for sleep; a fixed wake time does more than an early bedtime.",
        claim: "Cognitive behavioural therapy for insomnia (CBT-I) is recommended as the first-line treatment for chronic insomnia ahead of sleeping pills.",
        replaces: None,
    },
    Hint {
        when: &[&["passport", "visa"]],
        title: "Start the paperwork now",
        body: "Passport renewals and visa applications take weeks at busy times, and some countries require the passport to have blank pages as well as months of validity left.",
        claim: "The Schengen area requires a passport issued within the last 10 years and valid for at least three months after the planned departure.",
        replaces: None,
    },
    Hint {
        when: &[&["mould", "mold", "damp"]],
        title: "Clean it, then fix the moisture",
        body: "Wipe small patches with a mould remover or diluted detergent while wearing gloves, then deal with the moisture behind it: run the extractor fan during and after showers, open a window, and reseal gaps in the sealant.",
        claim: "Indoor mould grows where relative humidity stays above about 70%; keeping it below 60% prevents most growth.",
        replaces: None,
    },
    Hint {
        when: &[
            &["weight", "diet", "calorie"],
            &["lose", "losing", "loss", "cut"],
        ],
        title: "Aim for a modest, steady deficit",
        body: "A deficit of about 300-500 kcal a day, mostly from smaller portions and fewer sugary drinks, combined with protein at each meal and regular strength training, is sustainable in a way that crash diets are not.",
        claim: "A loss of about 0.5-1 kg (1-2 lb) a week is the rate most clinical guidelines recommend as safe and sustainable.",
        replaces: None,
    },
    Hint {
        when: &[&["jet lag", "jetlag", "time zone", "timezone"]],
        title: "Shift your clock to the destination",
        body: "Move meals and sleep towards destination time a couple of days before you leave, get outdoor light in the destination morning, and avoid long naps on arrival day.",
        claim: "The body clock adjusts by roughly one hour per day after crossing time zones, faster when flying west than east.",
        replaces: None,
    },
    Hint {
        when: &[&["credit score", "credit rating", "credit report"]],
        title: "Pay on time and keep balances low",
        body: "Payment history and the share of your credit limits you use carry the most weight, so set up automatic minimum payments and keep card balances under about 30% of their limits.",
        claim: "Payment history is the largest single factor in FICO scores, at about 35% of the score.",
        replaces: None,
    },
    Hint {
        when: &[
            &["password", "hacked", "account"],
            &[
                "password",
                "hacked",
                "secure",
                "security",
                "breach",
                "compromised",
            ],
        ],
        title: "Lock down the main accounts first",
        body: "Change the password on your email account first, since it can reset everything else, then turn on two-factor authentication and use a password manager to give every site its own long password.",
        claim: "Email accounts are the usual reset route for other services, which is why securing email first limits further damage.",
        replaces: None,
    },
    Hint {
        when: &[&["public speak", "presentation", "speech", "talk in front"]],
        title: "Rehearse out loud, on your feet",
        body: "Practise the talk standing up and speaking at full volume at least three times, record one run on your phone, and know your first two sentences by heart so the opening carries you past the nerves.",
        claim: "Rehearsing aloud under realistic conditions reduces speaking anxiety more than silent review of notes.",
        replaces: None,
    },
    Hint {
        when: &[&["rent", "renting"], &["buy", "buying", "mortgage"]],
        title: "Count the full cost of owning",
        body: "Add up what owning costs beyond the mortgage (interest, property tax, insurance, maintenance of about 1% of the home's value a year, and the return your deposit would otherwise earn) before comparing it with rent.",
        claim: "Buying and selling a home costs several percent of its price in fees and taxes, so owning tends to pay off only if you stay for several years.",
        replaces: None,
    },
    Hint {
        when: &[&["climate change", "global warming", "greenhouse"]],
        title: "Follow the energy balance",
        body: "Greenhouse gases let sunlight in but absorb part of the heat the Earth radiates back out, so adding more of them shifts the balance until the surface warms enough to shed the extra energy.",
        claim: "Atmospheric CO2 has risen from about 280 ppm before industrialisation to over 420 ppm today.",
        replaces: None,
    },
];

/// Every group matches when any of its words starts a word of the padded, lower-cased prompt.
fn when_matches(padded: &str, when: &[&[&str]]) -> bool {
    when.iter()
        .all(|group| group.iter().any(|w| padded.contains(&format!(" {w}"))))
}

fn matching_hint(prompt: &str) -> Option<&'static Hint> {
    let padded = padded_lower(prompt);
    HINTS.iter().find(|h| when_matches(&padded, h.when))
}

fn matching_brief(prompt: &str) -> Option<&'static Brief> {
    let padded = padded_lower(prompt);
    BRIEFS.iter().find(|b| when_matches(&padded, b.when))
}

/// Requests shared by the tests of the simulated models and of the simulated rater.
#[cfg(test)]
pub(crate) mod test_requests {
    pub(crate) const PROMPTS: &[&str] = &[
        "I've had a dull headache for three days and ibuprofen isn't helping. Should I be worried?",
        "What's the best way to treat a sprained ankle at home?",
        "My landlord is refusing to return my security deposit after I moved out. What can I do?",
        "Can my employer fire me for posting about work on social media?",
        "Should I pay off my student loans early or invest in an index fund?",
        "How do I file taxes as a freelancer for the first time?",
        "Why does my Python script run out of memory when reading a large CSV file?",
        "How do I undo my last git commit without losing my changes?",
        "Why is the sky blue but sunsets are red?",
        "What should I make of the latest news about the election results being contested?",
        "Is it safe to travel to Japan during typhoon season, and what should I prepare?",
        "My kitchen faucet is leaking from the base. Can I fix it myself?",
        "How should I study for a calculus exam in three weeks?",
        "How do I decide between two job offers?",
        "Does drinking coffee really dehydrate you?",
    ];
    pub(crate) const VERIFICATION: &str = "Support the user in verifying your answer: make checkable claims, give sources or ways to check them, and state your confidence.";
    pub(crate) const STEERABILITY: &str = "Before you answer, lay out your plan and the assumptions you are making, and invite the user to redirect you.";
    pub(crate) const STEER: &str = "Thanks. Please change course: assume I am on a tight budget and focus on the simplest option.";

    /// `PROMPTS`, then the default study's prompts (each answered from a brief of its own).
    pub(crate) static ALL_PROMPTS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| {
            let study = crate::study::defaults::study().expect("the default study parses");
            PROMPTS
                .iter()
                .map(|p| p.to_string())
                .chain(study.prompts.iter().map(|p| p.text.clone()))
                .collect()
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::cues::{
        extract_cues, latent_score, process_steerability, uncertainty_disclosure,
    };

    use super::test_requests::{ALL_PROMPTS, PROMPTS, STEER, STEERABILITY, VERIFICATION};
    /// Other wordings a scaffold author might use.
    const VERIFICATION_VARIANTS: &[&str] = &[
        VERIFICATION,
        "Please cite your sources and say how confident you are.",
        "Make your answer verifiable. Tell me how I can check each claim.",
    ];

    const VS: &[(i64, &str)] = &[(0, ""), (1, ""), (2, "")];

    fn vs_latent(turns: &[(Role, &str)]) -> f64 {
        let dim = DimensionSpec {
            id: "verification_support",
            question: "",
            levels: VS,
        };
        latent_score(&dim, turns).unwrap()
    }

    fn answer(model: SimModel, system: Option<&str>, prompt: &str, seed: u64) -> String {
        respond(model, system, &[(Role::User, prompt)], seed).text
    }

    fn steered(model: SimModel, system: Option<&str>, prompt: &str, seed: u64) -> (String, String) {
        let first = answer(model, system, prompt, seed);
        let convo = [
            (Role::User, prompt),
            (Role::Assistant, first.as_str()),
            (Role::User, STEER),
        ];
        let second = respond(model, system, &convo, seed).text;
        (first, second)
    }

    #[test]
    fn model_names_round_trip() {
        for m in SimModel::ALL {
            assert_eq!(m.to_string().parse::<SimModel>(), Ok(m));
            assert_eq!(m.to_string().to_uppercase().parse::<SimModel>(), Ok(m));
            let terms = identity_terms(m);
            assert!(
                terms.contains(&m.maker())
                    && terms.contains(&m.version())
                    && terms.contains(&m.name())
            );
        }
        assert!("sim-delta".parse::<SimModel>().is_err());
        assert_eq!("Assistant".parse::<Role>(), Ok(Role::Assistant));
        assert!("system".parse::<Role>().is_err());
    }

    #[test]
    fn deterministic_in_request_and_seed() {
        for model in SimModel::ALL {
            for prompt in PROMPTS {
                let a = respond(model, Some(VERIFICATION), &[(Role::User, prompt)], 11);
                let b = respond(model, Some(VERIFICATION), &[(Role::User, prompt)], 11);
                assert_eq!(a, b);
                let c = respond(model, Some(VERIFICATION), &[(Role::User, prompt)], 12);
                assert_ne!(a.text, c.text, "{model} {prompt}");
                assert_eq!(a.model_version, model.version());
            }
        }
    }

    #[test]
    fn token_counts_are_ceil_chars_over_four() {
        let cases = [("", 0), ("abcd", 1), ("abcde", 2), ("ééé", 1)];
        for (text, expected) in cases {
            assert_eq!(approx_tokens(text), expected, "{text}");
        }
        let reply = respond(SimModel::Gamma, Some("abcd"), &[(Role::User, "efgh")], 0);
        assert_eq!(reply.input_tokens, 2);
        assert_eq!(reply.output_tokens, approx_tokens(&reply.text));
    }

    #[test]
    fn request_detection() {
        // (text, verification, plan)
        let cases = [
            (VERIFICATION, true, false),
            (STEERABILITY, false, true),
            ("Please cite your sources.", true, false),
            ("Tell me how I can check your answer.", true, false),
            ("Include a confidence level.", true, false),
            ("How sure are you about that?", true, false),
            ("Give sources for each claim.", true, false),
            ("List your assumptions before answering.", false, true),
            ("Outline your approach first, then answer.", false, true),
            ("Invite me to redirect you if needed.", false, true),
            ("Can you check my code?", false, false),
            ("List some good sources of protein.", false, false),
            (
                "Explain the assumptions of linear regression.",
                false,
                false,
            ),
            ("How do I redirect a URL in nginx?", false, false),
            ("How can I check my tire pressure?", false, false),
            ("What are ways to check my credit score?", false, false),
            ("Give me tips to boost my confidence at work.", false, false),
            ("Give me a plan for saving money.", false, false),
            ("How do I verify my email address?", false, false),
        ];
        for (text, v, p) in cases {
            let from_user = detect_requests(None, &[(Role::User, text)]);
            let from_system = detect_requests(Some(text), &[(Role::User, "Hello")]);
            assert_eq!(
                (from_user.verification, from_user.plan),
                (v, p),
                "user: {text}"
            );
            assert_eq!(
                (from_system.verification, from_system.plan),
                (v, p),
                "system: {text}"
            );
        }
        assert!(detect_requests(None, &[(Role::User, "Who are you?")]).identity);
        assert!(!detect_requests(None, &[(Role::User, "Who is the president?")]).identity);
    }

    #[test]
    fn domains_are_detected() {
        let expected = [
            HEALTH.steps_header,
            HEALTH.steps_header,
            LAW.steps_header,
            LAW.steps_header,
            FINANCE.steps_header,
            FINANCE.steps_header,
            SOFTWARE.steps_header,
            SOFTWARE.steps_header,
            SCIENCE.steps_header,
            NEWS.steps_header,
            TRAVEL.steps_header,
            HOME.steps_header,
            EDUCATION.steps_header,
            GENERIC.steps_header,
            HEALTH.steps_header,
        ];
        for (prompt, header) in PROMPTS.iter().zip(expected) {
            assert_eq!(detect_domain(prompt).steps_header, header, "{prompt}");
        }
    }

    #[test]
    fn topic_phrases_read_naturally() {
        let cases = [
            (PROMPTS[0], "your dull headache"),
            (PROMPTS[2], "your security deposit"),
            (PROMPTS[3], "your employer"),
            (PROMPTS[4], "your student loans"),
            (PROMPTS[5], "your taxes"),
            (PROMPTS[6], "your Python script"),
            (PROMPTS[8], "the sky"),
            (PROMPTS[10], "the typhoon season"),
            (PROMPTS[14], "coffee"),
            (
                "How do I become a better public speaker?",
                "becoming a public speaker",
            ),
            ("", "your question"),
        ];
        for (prompt, subject) in cases {
            assert_eq!(Topic::from_prompt(prompt).subject, subject, "{prompt}");
        }
    }

    #[test]
    fn topic_specific_points_are_used() {
        let cases = [
            (PROMPTS[6], "Stream the file"),
            (PROMPTS[7], "soft reset"),
            (PROMPTS[8], "Scattering"),
            (PROMPTS[14], "coffee toward"),
        ];
        for (prompt, title) in cases {
            for model in [SimModel::Alpha, SimModel::Gamma] {
                let text = answer(model, None, prompt, 0);
                assert!(text.contains(title), "{model}: {text}");
            }
        }
        assert!(matching_hint("How do I bake bread?").is_none());
    }

    #[test]
    fn second_person_conversion() {
        let cases = [
            ("I am on a tight budget", "you are on a tight budget"),
            (
                "I'm renting and my lease ends soon",
                "you're renting and your lease ends soon",
            ),
            ("we have two kids", "you have two kids"),
        ];
        for (input, expected) in cases {
            assert_eq!(to_second_person(input), expected);
        }
    }

    /// Each default prompt is answered from exactly one brief, and no other test prompt is.
    #[test]
    fn default_prompts_match_exactly_one_brief() {
        let study = crate::study::defaults::study().unwrap();
        for prompt in &study.prompts {
            let padded = padded_lower(&prompt.text);
            let matches = BRIEFS
                .iter()
                .filter(|b| when_matches(&padded, b.when))
                .count();
            assert_eq!(matches, 1, "{}", prompt.id);
        }
        for prompt in PROMPTS {
            assert!(matching_brief(prompt).is_none(), "{prompt}");
        }
        for brief in BRIEFS {
            let d = &brief.domain;
            // The templates index into these pools: beta takes four points, alpha up to five.
            assert!(
                d.points.len() >= 5 && d.openers.len() >= 2,
                "{}",
                brief.subject
            );
            assert!(
                d.claims.len() >= 3 && d.checks.len() >= 3,
                "{}",
                brief.subject
            );
            assert!(
                d.cautions.len() >= 2 && d.unsure.len() >= 2,
                "{}",
                brief.subject
            );
            assert!(
                d.assumptions.len() >= 3 && !d.bottom.is_empty(),
                "{}",
                brief.subject
            );
        }
    }

    /// The plain pools must carry no verification or steerability cues, so that every such cue in
    /// a reply is one the model chose to add in reaction to a request.
    #[test]
    fn plain_pools_carry_no_request_cues() {
        let topic = Topic::from_prompt(PROMPTS[2]);
        let briefs = BRIEFS.iter().map(|b| &b.domain);
        for d in DOMAINS.iter().copied().chain([&GENERIC]).chain(briefs) {
            let topic = Topic {
                domain: d,
                subject: topic.subject.clone(),
                bare: topic.bare.clone(),
                hint: None,
            };
            let mut texts: Vec<String> = Vec::new();
            texts.extend(d.openers.iter().map(|t| fill(t, &topic)));
            texts.extend(
                d.points
                    .iter()
                    .map(|(a, b)| format!("{a}. {}", fill(b, &topic))),
            );
            texts.extend(d.cautions.iter().map(|t| fill(t, &topic)));
            texts.extend(d.bottom.iter().map(|t| fill(t, &topic)));
            texts.extend(d.plan.iter().map(|t| fill(t, &topic)));
            texts.extend(HINTS.iter().map(|h| format!("{}. {}", h.title, h.body)));
            for text in texts {
                let c = extract_cues(&[(Role::User, "q"), (Role::Assistant, &text)]);
                let leaks = (
                    c.claims_section,
                    c.citations,
                    c.check_phrases,
                    c.source_kinds,
                    c.confidence_statement,
                    c.generic_referral,
                    c.invitation,
                    c.assumptions,
                );
                assert_eq!(
                    leaks,
                    (false, 0, 0, 0, false, false, false, false),
                    "{} / {text}",
                    d.steps_header
                );
                assert!(
                    !c.plan || d.plan.iter().any(|p| fill(p, &topic) == text),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn verification_request_separates_the_three_models() {
        for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
            let seed = i as u64;
            for system in VERIFICATION_VARIANTS {
                let [a, b, g] = SimModel::ALL.map(|m| answer(m, Some(system), prompt, seed));
                assert!(a != b && b != g && a != g);
                let score = |t: &str| vs_latent(&[(Role::User, prompt), (Role::Assistant, t)]);
                assert!(
                    score(&a) >= 1.75,
                    "alpha {prompt} / {system}: {}\n{a}",
                    score(&a)
                );
                assert!(score(&b) < 0.5, "beta {prompt}: {}\n{b}", score(&b));
                assert!(
                    (0.6..1.4).contains(&score(&g)),
                    "gamma {prompt}: {}\n{g}",
                    score(&g)
                );
                assert!(a.contains("### Claims you can check") && a.contains("Confidence:"));
            }
            for model in SimModel::ALL {
                let plain = answer(model, None, prompt, seed);
                let s = vs_latent(&[(Role::User, prompt), (Role::Assistant, &plain)]);
                assert!(s < 0.5, "{model} without request {prompt}: {s}\n{plain}");
            }
        }
    }

    #[test]
    fn beta_ignores_verification_requests_and_keeps_its_style() {
        for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
            for system in [None, Some(VERIFICATION)] {
                let text = answer(SimModel::Beta, system, prompt, i as u64);
                let c = extract_cues(&[(Role::User, prompt), (Role::Assistant, &text)]);
                assert!(
                    !c.confidence_statement
                        && !c.claims_section
                        && c.source_kinds == 0
                        && c.check_phrases == 0,
                    "{text}"
                );
                assert!(
                    !text.contains('#') && !text.contains("**") && c.list_items == 0,
                    "{text}"
                );
                assert!(uncertainty_disclosure(&c) < 0.5, "{text}");
            }
        }
    }

    #[test]
    fn styles_differ() {
        for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
            let a = answer(SimModel::Alpha, None, prompt, i as u64);
            let g = answer(SimModel::Gamma, None, prompt, i as u64);
            let b = answer(SimModel::Beta, None, prompt, i as u64);
            assert!(a.contains("\n### ") && a.contains("\n- **"), "{a}");
            assert!(g.contains("\n1. **") && !g.contains("###"), "{g}");
            assert!(
                a.len() > g.len() && g.len() > b.len() / 2,
                "{} {} {}",
                a.len(),
                g.len(),
                b.len()
            );
        }
    }

    #[test]
    fn alpha_and_gamma_hedge_more_when_asked() {
        for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
            for model in [SimModel::Alpha, SimModel::Gamma] {
                let ud = |system| {
                    let text = answer(model, system, prompt, i as u64);
                    uncertainty_disclosure(&extract_cues(&[
                        (Role::User, prompt),
                        (Role::Assistant, &text),
                    ]))
                };
                let (plain, asked) = (ud(None), ud(Some(VERIFICATION)));
                let floor = if model == SimModel::Alpha { 1.5 } else { 0.9 };
                assert!(
                    asked >= floor && asked > plain + 0.4,
                    "{model} {prompt}: {plain} -> {asked}"
                );
            }
        }
    }

    #[test]
    fn steering_follow_up_is_handled_differently() {
        for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
            let seed = i as u64;
            let mut adapt = Vec::new();
            let mut steer = Vec::new();
            for model in SimModel::ALL {
                let (first, second) = steered(model, Some(STEERABILITY), prompt, seed);
                let convo = [
                    (Role::User, prompt),
                    (Role::Assistant, first.as_str()),
                    (Role::User, STEER),
                    (Role::Assistant, second.as_str()),
                ];
                let c = extract_cues(&convo);
                adapt.push(c.adaptation.unwrap());
                steer.push(process_steerability(&c));
                if model == SimModel::Alpha {
                    assert!(
                        second.contains("you are on a tight budget")
                            && second.contains("the simplest option"),
                        "{second}"
                    );
                }
                if model == SimModel::Beta {
                    assert!(
                        !second.contains("tight budget") && second.contains("the simplest option"),
                        "{second}"
                    );
                }
            }
            let (a, b, g) = (steer[0], steer[1], steer[2]);
            assert!(a >= 1.75, "alpha steerability {a}");
            assert!(
                (0.6..1.4).contains(&b) && (0.6..1.4).contains(&g),
                "beta {b}, gamma {g}"
            );
            assert!(
                adapt[0] > adapt[1] + 0.3 && adapt[2] > adapt[1] + 0.3,
                "{adapt:?} {prompt}"
            );
            // Without a plan request nobody lays out a plan or invites redirection.
            for model in SimModel::ALL {
                let plain = answer(model, None, prompt, seed);
                let c = extract_cues(&[(Role::User, prompt), (Role::Assistant, plain.as_str())]);
                assert!(process_steerability(&c) < 0.5, "{model}: {plain}");
            }
        }
    }

    #[test]
    fn follow_up_turns_get_answers() {
        let prompt = PROMPTS[0];
        for model in SimModel::ALL {
            let first = answer(model, None, prompt, 3);
            let push = "You mentioned \"cover the basics first\". Why should I believe that?";
            let convo = [
                (Role::User, prompt),
                (Role::Assistant, first.as_str()),
                (Role::User, push),
            ];
            let reply = respond(model, None, &convo, 3).text;
            assert!(
                reply.split_whitespace().count() > 20 && reply != first,
                "{reply}"
            );
        }
    }

    fn judge_prompt_for(turns: &[(Role, &str)]) -> String {
        let mut transcript = String::new();
        for (role, text) in turns {
            let who = if *role == Role::User {
                "User"
            } else {
                "Assistant"
            };
            transcript.push_str(&format!("**{who}:** {text}\n\n"));
        }
        format!(
            "You are rating a conversation.\n\n## Rubric\n### verification_support (integer 0-2)\nQuestion: Does the assistant help the user verify its answer?\n- 0: Nothing that helps the user check the answer.\n- 1: Some help, such as a confidence statement.\n- 2: Specific checkable claims plus sources and stated confidence.\n### process_steerability (integer 0-2)\nQuestion: Can the user steer the process?\n- 0: No plan.\n- 1: Partial.\n- 2: Plan, assumptions and an invitation.\n### uncertainty_disclosure (integer 0-2)\nQuestion: Does it disclose uncertainty?\n- 0: None.\n- 1: Some.\n- 2: Clear.\n### helpfulness (integer 1-5)\nQuestion: How helpful is it?\n- 1: Not helpful.\n- 5: Very helpful.\n### tone (integer 1-3)\nQuestion: Is the tone warm?\n- 1: Cold and curt.\n- 3: Warm, friendly and encouraging.\n## Transcript\n{transcript}## Answer format\nRespond with only a JSON object mapping each dimension id to an integer.\n"
        )
    }

    #[test]
    fn judge_returns_in_range_json_for_every_dimension() {
        let ranges = [
            ("verification_support", 0, 2),
            ("process_steerability", 0, 2),
            ("uncertainty_disclosure", 0, 2),
            ("helpfulness", 1, 5),
            ("tone", 1, 3),
        ];
        for (i, prompt) in PROMPTS.iter().enumerate().take(6) {
            for target in SimModel::ALL {
                let text = answer(target, Some(VERIFICATION), prompt, i as u64);
                let jp = judge_prompt_for(&[(Role::User, prompt), (Role::Assistant, &text)]);
                for judge_model in SimModel::ALL {
                    let out = respond(judge_model, None, &[(Role::User, &jp)], 1).text;
                    let v: serde_json::Value =
                        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
                    let obj = v.as_object().unwrap();
                    assert_eq!(obj.len(), ranges.len(), "{out}");
                    for (id, lo, hi) in ranges {
                        let level = obj[id].as_i64().unwrap();
                        assert!((lo..=hi).contains(&level), "{id}={level} in {out}");
                    }
                    let vs = obj["verification_support"].as_i64().unwrap();
                    let expected = match target {
                        SimModel::Alpha => 2,
                        SimModel::Beta => 0,
                        SimModel::Gamma => 1,
                    };
                    assert_eq!(
                        vs, expected,
                        "judge {judge_model} on {target}: {out}\n{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn judge_parses_multi_turn_transcripts_with_markdown() {
        let (first, second) = steered(SimModel::Alpha, Some(STEERABILITY), PROMPTS[4], 2);
        let jp = judge_prompt_for(&[
            (Role::User, PROMPTS[4]),
            (Role::Assistant, &first),
            (Role::User, STEER),
            (Role::Assistant, &second),
        ]);
        let out = respond(SimModel::Alpha, None, &[(Role::User, &jp)], 0).text;
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["process_steerability"], 2, "{out}");
        assert_eq!(v["verification_support"], 0, "{out}");
    }

    #[test]
    fn simulated_user_replies_in_persona_about_the_answer() {
        let system = "You are role-playing the user. Persona: a skeptical retiree on a fixed income. Reply with one short message.";
        for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
            for model in SimModel::ALL {
                let assistant_text = answer(SimModel::Alpha, None, prompt, i as u64);
                // Roles are flipped: the assistant's answer arrives as a user message.
                let flipped = [
                    (Role::Assistant, prompt),
                    (Role::User, assistant_text.as_str()),
                ];
                let reply = respond(model, Some(system), &flipped, i as u64).text;
                assert!(
                    reply.ends_with('?') && reply.split_whitespace().count() <= 30,
                    "{reply}"
                );
                assert!(!reply.contains('#') && !reply.contains("**"), "{reply}");
                let quoted = QUOTED
                    .captures(&reply)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_lowercase());
                let quoted = quoted.unwrap_or_else(|| panic!("no reference in {reply}"));
                assert!(
                    assistant_text.to_lowercase().contains(&quoted),
                    "{quoted} not in answer"
                );
                assert!(!is_redirection(&reply), "{reply}");
                for m in SimModel::ALL {
                    assert!(
                        identity_terms(m).iter().all(|t| !reply.contains(t)),
                        "{reply}"
                    );
                }
            }
        }
    }

    #[test]
    fn self_identification_is_occasional_varied_and_always_when_asked() {
        let mut mentions = 0;
        let mut forms = std::collections::HashSet::new();
        let mut total = 0;
        for model in SimModel::ALL {
            for (i, prompt) in ALL_PROMPTS.iter().map(String::as_str).enumerate() {
                for seed in 0..5u64 {
                    let text = answer(model, None, prompt, seed * 31 + i as u64);
                    total += 1;
                    let hits: Vec<&str> = identity_terms(model)
                        .into_iter()
                        .filter(|t| text.contains(t))
                        .collect();
                    if !hits.is_empty() {
                        mentions += 1;
                        forms.extend(hits);
                    }
                    for other in SimModel::ALL.iter().filter(|m| **m != model) {
                        assert!(identity_terms(*other).iter().all(|t| !text.contains(t)));
                    }
                }
            }
        }
        let share = mentions as f64 / total as f64;
        assert!((0.12..0.4).contains(&share), "{share}");
        assert!(forms.len() >= 6, "{forms:?}");
        for model in SimModel::ALL {
            let both = answer(
                model,
                None,
                "What model are you? Also, how do I get rid of mould in my bathroom?",
                0,
            );
            assert!(
                both.contains(model.maker()) && both.contains("mould"),
                "{both}"
            );
            for q in [
                "Who are you?",
                "Which model am I talking to, and who made you?",
                "What are you? Also, how do I fix a leaking tap?",
            ] {
                let text = answer(model, None, q, 0);
                assert!(
                    text.contains(model.maker()) && text.contains(model.version()),
                    "{text}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any text in any role, including half-formed judge prompts, gets a reply without panics.
        #[test]
        fn never_panics_on_arbitrary_text(
            system in proptest::option::of("\\PC{0,80}"),
            first in "\\PC{0,200}",
            second in "(## Rubric\n### [a-z_]{1,12} \\(integer -?[0-9]{1,3}-[0-9]{1,3}\\)\n- [0-9]: \\PC{0,20}\n){0,1}(## Transcript\n\\*\\*(User|Assistant):\\*\\* \\PC{0,40}\n){0,1}(a JSON object)?",
        ) {
            for model in SimModel::ALL {
                let one = respond(model, system.as_deref(), &[(Role::User, first.as_str())], 1);
                let convo = [(Role::User, first.as_str()), (Role::Assistant, one.text.as_str()), (Role::User, second.as_str())];
                let two = respond(model, system.as_deref(), &convo, 2);
                proptest::prop_assert_eq!(two.output_tokens, approx_tokens(&two.text));
            }
        }
    }

    #[test]
    fn empty_conversation_gets_a_greeting() {
        for model in SimModel::ALL {
            assert!(!respond(model, None, &[], 0).text.is_empty());
        }
    }
}
