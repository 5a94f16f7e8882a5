//! Cue-based scoring of blinded conversations.
//!
//! The simulated judge and the simulated human raters need a notion of "how good is this transcript
//! on dimension X" that is computed from the text alone, never from which model or scaffold produced
//! it: otherwise a study run on simulated ratings would only measure our own bookkeeping. This module
//! reads the visible turns and turns surface cues that any model's text can show into a latent score
//! inside the dimension's declared range. The cues are deliberately generic (headers, list items,
//! "you can verify", named kinds of sources, URLs, "Confidence:", "would you like me to", hedges),
//! so a real model's transcript is scored by the same rules as a simulated one.
//!
//! Known dimension ids and their cues (each scored on a canonical scale, then mapped linearly onto
//! the declared range, so a rubric that declares e.g. 0-3 still works):
//! - `verification_support` (canonical 0-2): a claims section (a header mentioning claims/facts to
//!   check followed by at least two list items), concrete ways to check ("you can verify", "how to
//!   verify", "compare it with", "redo the calculation", "run the test"), kinds of sources named in
//!   a checking context (official guidance, documentation, statute, leaflet, changelog, ...),
//!   citations (URLs, bare domains, author-year, `[1]`), an explicit confidence statement, and a
//!   generic referral ("double-check with a professional"). Claims + at least three ways/sources +
//!   confidence is the ceiling; confidence plus a generic referral alone lands near 1.
//! - `process_steerability` (canonical 0-2): a stated plan/approach, stated assumptions, an
//!   invitation to redirect ("would you like me to", "let me know if", "tell me and I'll redo"),
//!   and, when a user turn redirects the assistant, how well the next reply adapts (acknowledges the
//!   change and reuses the redirection's content words); a reply that ignores a redirection loses
//!   points.
//! - `uncertainty_disclosure` (canonical 0-2): an explicit confidence statement, statements about
//!   the limits of what the assistant knows, and the density of hedges.
//! - `helpfulness` (canonical 1-5): length, structure, specificity and lexical responsiveness to the
//!   user's questions.
//!
//! Unknown dimension ids fall back to lexical overlap: each level's anchor text is reduced to its
//! content-word stems, the overlap with the assistant's text is measured as the share of the anchor's
//! stems present, and the latent score is the mean of the level values weighted by squared overlap
//! (the range midpoint when no anchor overlaps at all).

use crate::sim::model::Role;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

/// One rubric dimension as the scorer needs it. `levels` are `(value, anchor text)` pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DimensionSpec<'a> {
    pub id: &'a str,
    pub question: &'a str,
    pub levels: &'a [(i64, &'a str)],
}

/// Surface cues read from a conversation. Public so scorers and tests can explain a score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cues {
    /// A header about claims/facts to check followed by at least two list items.
    pub claims_section: bool,
    /// URLs, bare domains, author-year citations, numbered references (capped at 5).
    pub citations: usize,
    /// Distinct concrete ways to check ("you can verify", "redo the calculation", ...).
    pub check_phrases: usize,
    /// Distinct kinds of sources named in a sentence that is about checking or reading.
    pub source_kinds: usize,
    /// An explicit statement of confidence ("Confidence: medium", "I'm fairly confident").
    pub confidence_statement: bool,
    /// A generic suggestion to check with someone ("double-check with a professional").
    pub generic_referral: bool,
    /// A stated plan or approach.
    pub plan: bool,
    /// Stated assumptions.
    pub assumptions: bool,
    /// An invitation to redirect or adjust.
    pub invitation: bool,
    /// Mean adaptation quality (0-1) of replies that follow a user redirection; None if none.
    pub adaptation: Option<f64>,
    /// Hedge words and phrases ("might", "usually", "it depends", ...).
    pub hedges: usize,
    /// Statements about the limits of what the assistant knows or can see.
    pub knowledge_limits: bool,
    /// Mean words per assistant turn.
    pub words: f64,
    /// List items across assistant turns.
    pub list_items: usize,
    /// Markdown headers across assistant turns.
    pub headers: usize,
    /// Mean paragraphs (blank-line separated blocks) per assistant turn.
    pub paragraphs: f64,
    /// Numbers, bold phrases and "for example" markers (capped at 20).
    pub specifics: usize,
    /// Share of the user's content words echoed by the replies, 0-1.
    pub responsiveness: f64,
}

fn re(pattern: &str) -> Regex {
    // Patterns are compile-time constants; a failure is a programming error caught by the tests.
    Regex::new(pattern).expect("valid built-in regex")
}

static HEADER_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(#{1,6}\s+\S|\*\*[^*]+\*\*:?\s*$)"));
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*([-*•]|\d{1,2}[.)])\s+\S"));
static CLAIMS_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(claims?|key facts|facts (you|to) (can )?(check|verify)|checkable|verifiable|what i'?m (claiming|asserting))",
    )
});
static CLAIM_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^\s*(\W\s*)?claim\s*\d*\s*:"));

static CHECK_PHRASES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)\byou can (verify|check|confirm|look up|cross-check|test)\b",
        r"(?i)\b(to|how to) (verify|check|confirm) (this|these|that|it|them|the|my|each)\b",
        r"(?i)\bhow to verify\b",
        r"(?i)\bways? to (check|verify|confirm)\b",
        r"(?i)\bcross-(check|reference)",
        r"(?i)\blook (it |this |them |that )?up\b",
        r"(?i)\bcompare\b[^.\n]{0,50}\b(with|against)\b",
        r"(?i)\b(redo|rerun|repeat) the ([a-z-]+ )?(calculation|math|maths|sum|numbers|estimate|experiment)",
        r"(?i)\brecalculat",
        r"(?i)\brun (the|a|this|your|that) ([a-z-]+ ){0,3}(test|reproduction|script|experiment|benchmark)",
        r"(?i)\bfact-?check",
        r"(?i)\b(check|verify|confirm) (it |this |them |that )?against\b",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// Kinds of sources; counted only in sentences that talk about checking or reading.
#[rustfmt::skip]
const SOURCE_KINDS: &[&str] = &[
    "official", "government", "guidance", "documentation", "docs", "statute", "legislation",
    "regulation", "court record", "case law", "court filing", "peer-reviewed", "journal",
    "review article", "textbook", "leaflet", "label", "prospectus", "fact sheet", "primary source",
    "primary document", "release notes", "changelog", "advisory", "embassy", "consulate",
    "manufacturer", "manual", "building code", "building regulations", "specification", "syllabus",
    "mark scheme", "dataset", "press release", "policy wording", "encyclopedia", "wikipedia",
    "pubmed", "google scholar", "medlineplus", "fact-checking site", "profiler", "spreadsheet",
    "pharmacist", "legal aid", "climate averages", "statement",
];
static CHECK_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(verif|check|confirm|look (it |this )?up|look at|compare|sources?\b|according to|read|consult|cite|refer)",
    )
});
static CITATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(https?://\S+|www\.\S+|\b[a-zA-Z0-9-]+\.(gov|org|edu|int|ac\.uk|gov\.uk|nhs\.uk)\b|\b[a-z0-9-]+\.(com|uk)/\S*|\[\d+\]|\bdoi:\s*\S+|\b[A-Z][a-z]+ (et al\.|& [A-Z][a-z]+|and [A-Z][a-z]+)\s*\(?\d{4}\)?|\b[A-Z][a-z]+,? \(?(19|20)\d{2}\))",
    )
});
static REFERRAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\b(double[- ]check|double[- ]checking|confirm|confirming|verify|verifying|check|checking|run (this|it) by|go over (this|it)) with (a|an|your|the|someone|somebody)\b|\bconsult(ing)? (with )?(a|an|your)\b|\bseek (professional|expert|qualified|legal|medical|financial) (advice|help|guidance)|\b(speak|talk) (to|with) (a|an) (professional|expert|specialist|lawyer|attorney|doctor|accountant|adviser|advisor|pharmacist))",
    )
});
static CONFIDENCE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bconfidence\s*(level\s*)?([:–—-]|is\b|here is\b|rating\b)|\b(high|medium|moderate|low|reasonable)\s+confidence\b|\bconfidence\W{0,3}\b(high|medium|moderate|low)\b|\b(i'?m|i am)\s+(fairly|very|quite|reasonably|moderately|highly|somewhat|not very|not entirely|not fully|only partly|pretty)\s+(confident|sure|certain)\b|\bmy confidence\b|\b\d{1,3}\s?%\s+(confident|sure|certain|confidence)|\bi'?d (rate|put) my confidence)",
    )
});

static PLAN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)(\b(my|our|here'?s (my|the|a)) (plan|approach)\b|\bthe plan\b\s*(is|:)|^\s*#{1,6}\s*(revised )?(plan|approach|my plan|my approach|how i'?ll approach)|\bplan:\s|\bhere'?s how i'?ll (approach|tackle|handle|answer|structure)|\bi'?ll (start|begin) by\b|\bfirst,? i'?ll\b|\bsteps i'?ll take\b)",
    )
});
static ASSUMPTIONS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bassumptions?\b|\bi'?m assuming\b|\bi am assuming\b|\bi assume\b|\bi'?ll (now )?assume\b|\bassuming (that )?(you|your|this|the|it)\b)",
    )
});
static INVITATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bwould you (like|prefer|rather)\b|\blet me know (if|whether|what|which)\b|\bif you'?d (like|rather|prefer)\b|\b(do you )?want me to\b|\btell me (if|whether|what|which|and i'?ll)\b|\bredirect me\b|\bhappy to (adjust|change|redo|switch|refocus|focus|go deeper)\b|\bi can (adjust|change|redo|switch|refocus)\b|\bshall i\b|\bfeel free to (redirect|steer|correct|push back)\b|\bwant a different direction\b)",
    )
});
static REDIRECTION_STRONG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bchange (of )?(course|direction|tack)\b|\bassume (that )?(i|i'm|i've|we|we're|my|our|the|it|this)\b|\b(let'?s|please|now) (focus|concentrate)\b|\b(focus|concentrate) (only |instead |more |mainly )?on\b|\bstart over\b|\bredo (it|this|that|the)\b|\bdifferent (approach|angle|direction)\b|\bswitch (to|gears)\b|\bscratch that\b)",
    )
});
static REDIRECTION_WEAK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(\binstead\b|\brather than\b|\bactually,? (i|my|we|let'?s)\b)"));
static ADAPT_ACK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(understood|got it|changing course|change of course|switching|new assumption|revised|updated|redo(ing)?|re-?doing|under (that|this|the new|your new) assumption|with that in mind|given that|as you asked|as requested|noted)\b",
    )
});

static HEDGES: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(might|may|could|possibly|probably|likely|unlikely|usually|typically|often|generally|perhaps|roughly|approximately|in most cases|it depends|tends? to|not always|can vary|varies)\b",
    )
});
static LIMITS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\bi (can'?t|cannot|can not) (see|examine|know|assess|tell|verify|be sure|rule out)\b|\bi don'?t (know|have (access|information|details|the full))\b|\bwithout (knowing|seeing|examining|more (details|information|context))\b|\b(may|might|could) be out of date\b|\bas of my\b|\bknowledge cutoff\b|\bi'?m not (sure|certain)\b|\bnot certain\b|\buncertain\b|\bunsure\b|\bless sure\b|\bi (might|may|could) be wrong\b|\blimits of\b|\bcan'?t rule out\b)",
    )
});
static BOLD: LazyLock<Regex> = LazyLock::new(|| re(r"\*\*[^*]+\*\*"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d+([.,]\d+)?\b"));
static EXAMPLE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(e\.g\.|for example|for instance|such as)"));
static SENTENCE_SPLIT: LazyLock<Regex> = LazyLock::new(|| re(r"[.!?]\s+|\n+"));
static WORD: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z][A-Za-z'-]*"));

/// Common function words ignored when comparing content across texts.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does",
    "doing", "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my",
    "no", "not", "now", "of", "on", "once", "only", "or", "other", "our", "out", "over", "own",
    "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "would", "you", "your", "yours", "yourself", "i'm", "i've", "i'd", "it's",
    "don't", "can't", "that's", "there's", "what's", "thanks", "please", "want", "need", "know",
    "think", "like", "get", "make", "really", "much", "many", "well", "still", "even", "something",
    "anything", "thing", "things", "way", "ways",
];

/// Words that mark a redirection rather than carrying its content.
#[rustfmt::skip]
const REDIRECTION_WORDS: &[&str] = &[
    "assume", "focus", "change", "course", "instead", "rather", "switch", "start", "redo",
    "actually", "concentrate", "direction", "approach", "different",
];

/// Stems of the content words of `text` (lower-cased, stopwords and short words removed, cut to
/// the first five letters so "budget"/"budgeting" match).
pub fn content_stems(text: &str) -> HashSet<String> {
    WORD.find_iter(text)
        .map(|m| m.as_str().to_lowercase())
        .filter(|w| w.len() >= 4 && !STOPWORDS.contains(&w.as_str()))
        .map(|w| w.chars().take(5).collect())
        .collect()
}

/// True when a user turn asks the assistant to change course: one strong phrase ("change course",
/// "assume I ...", "focus on", "start over", "redo it", "switch to", "different approach",
/// "scratch that") or two weak ones ("instead", "rather than", "actually, I ...").
pub fn is_redirection(text: &str) -> bool {
    REDIRECTION_STRONG.is_match(text) || REDIRECTION_WEAK.find_iter(text).count() >= 2
}

fn sentences(text: &str) -> impl Iterator<Item = &str> {
    SENTENCE_SPLIT.split(text).filter(|s| !s.trim().is_empty())
}

fn has_claims_section(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    if lines.iter().filter(|l| CLAIM_LINE.is_match(l)).count() >= 2 {
        return true;
    }
    for (i, line) in lines.iter().enumerate() {
        let is_header = HEADER_LINE.is_match(line)
            || (line.trim_end().ends_with(':') && line.trim().len() <= 60);
        if !is_header || !CLAIMS_HEADER.is_match(line) {
            continue;
        }
        let items = lines[i + 1..]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .take_while(|l| LIST_ITEM.is_match(l))
            .count();
        if items >= 2 {
            return true;
        }
    }
    false
}

fn count_source_kinds(text: &str) -> usize {
    let mut found: HashSet<&str> = HashSet::new();
    for sentence in sentences(text) {
        if !CHECK_CONTEXT.is_match(sentence) {
            continue;
        }
        let lower = format!(" {} ", sentence.to_lowercase());
        for kind in SOURCE_KINDS {
            if contains_word(&lower, kind) {
                found.insert(kind);
            }
        }
    }
    found.len()
}

/// Word-boundary containment for an already lower-cased, space-padded haystack.
fn contains_word(padded_lower: &str, phrase: &str) -> bool {
    let bytes = padded_lower.as_bytes();
    padded_lower.match_indices(phrase).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + phrase.len()).copied();
        let boundary = |b: Option<u8>| b.is_none_or(|c| !c.is_ascii_alphanumeric());
        // Allow a plural "s" after the phrase.
        boundary(before)
            && (boundary(after)
                || (after == Some(b's') && boundary(bytes.get(at + phrase.len() + 1).copied())))
    })
}

fn adaptation_quality(redirection: &str, reply: &str) -> f64 {
    let wanted: HashSet<String> = content_stems(redirection)
        .into_iter()
        .filter(|s| !REDIRECTION_WORDS.iter().any(|w| w.starts_with(s.as_str())))
        .collect();
    let ack = if ADAPT_ACK.is_match(reply) { 1.0 } else { 0.0 };
    let reuse = if wanted.is_empty() {
        ack
    } else {
        let have = content_stems(reply);
        wanted.iter().filter(|w| have.contains(*w)).count() as f64 / wanted.len() as f64
    };
    0.4 * ack + 0.6 * (reuse / 0.7).min(1.0)
}

/// Reads the cues of a conversation (visible user/assistant turns only).
pub fn extract_cues(conversation: &[(Role, &str)]) -> Cues {
    let assistant: Vec<&str> = conversation
        .iter()
        .filter(|(r, _)| *r == Role::Assistant)
        .map(|(_, t)| *t)
        .collect();
    let all = assistant.join("\n\n");
    let mut cues = Cues {
        claims_section: assistant.iter().any(|t| has_claims_section(t)),
        citations: CITATION.find_iter(&all).count().min(5),
        check_phrases: CHECK_PHRASES.iter().filter(|r| r.is_match(&all)).count(),
        source_kinds: count_source_kinds(&all),
        confidence_statement: CONFIDENCE.is_match(&all),
        generic_referral: REFERRAL.is_match(&all),
        plan: PLAN.is_match(&all),
        assumptions: ASSUMPTIONS.is_match(&all),
        invitation: INVITATION.is_match(&all),
        hedges: HEDGES.find_iter(&all).count(),
        knowledge_limits: LIMITS.is_match(&all),
        list_items: all.lines().filter(|l| LIST_ITEM.is_match(l)).count(),
        headers: all.lines().filter(|l| HEADER_LINE.is_match(l)).count(),
        specifics: (NUMBER.find_iter(&all).count()
            + BOLD.find_iter(&all).count()
            + EXAMPLE.find_iter(&all).count())
        .min(20),
        ..Cues::default()
    };
    if !assistant.is_empty() {
        let n = assistant.len() as f64;
        cues.words = assistant
            .iter()
            .map(|t| WORD.find_iter(t).count())
            .sum::<usize>() as f64
            / n;
        cues.paragraphs = assistant
            .iter()
            .map(|t| t.split("\n\n").filter(|p| !p.trim().is_empty()).count())
            .sum::<usize>() as f64
            / n;
    }

    // Adaptation: every user turn that redirects and is answered.
    let mut adapt = Vec::new();
    let mut responsive = Vec::new();
    let mut seen_assistant = false;
    for (i, (role, text)) in conversation.iter().enumerate() {
        match role {
            Role::Assistant => seen_assistant = true,
            Role::User => {
                let reply = conversation[i + 1..]
                    .iter()
                    .find(|(r, _)| *r == Role::Assistant)
                    .map(|(_, t)| *t);
                let Some(reply) = reply else { continue };
                if seen_assistant && is_redirection(text) {
                    adapt.push(adaptation_quality(text, reply));
                }
                let asked = content_stems(text);
                if !asked.is_empty() {
                    let have = content_stems(reply);
                    let share = asked.iter().filter(|w| have.contains(*w)).count() as f64
                        / asked.len() as f64;
                    responsive.push((share / 0.5).min(1.0));
                }
            }
        }
    }
    if !adapt.is_empty() {
        cues.adaptation = Some(adapt.iter().sum::<f64>() / adapt.len() as f64);
    }
    if !responsive.is_empty() {
        cues.responsiveness = responsive.iter().sum::<f64>() / responsive.len() as f64;
    }
    cues
}

/// Verification support on the canonical 0-2 scale.
pub fn verification_support(c: &Cues) -> f64 {
    let claims = if c.claims_section {
        1.0
    } else if c.citations >= 2 {
        0.5
    } else {
        0.0
    };
    let ways = c.check_phrases.min(2) + c.source_kinds.min(3) + c.citations.min(2);
    if claims >= 1.0 && ways >= 3 && c.confidence_statement {
        return 2.0;
    }
    let specific = 0.6 * claims + 0.2 * ways.min(4) as f64;
    let confidence = if c.confidence_statement { 0.45 } else { 0.0 };
    let referral = if c.generic_referral { 0.45 } else { 0.0 };
    (specific + confidence + referral).min(2.0)
}

/// Process steerability on the canonical 0-2 scale.
pub fn process_steerability(c: &Cues) -> f64 {
    let mut s = 0.0;
    if c.plan {
        s += 0.5;
    }
    if c.assumptions {
        s += 0.5;
    }
    if c.invitation {
        s += 0.7;
    }
    if let Some(a) = c.adaptation {
        // Taking a redirection well completes the picture; ignoring one counts against.
        s += 0.5 * a;
        if a < 0.25 {
            s -= 0.4;
        }
    }
    s.clamp(0.0, 2.0)
}

/// Uncertainty disclosure on the canonical 0-2 scale.
pub fn uncertainty_disclosure(c: &Cues) -> f64 {
    let mut s = (0.1 * c.hedges as f64).min(0.6);
    if c.confidence_statement {
        s += 0.9;
    }
    if c.knowledge_limits {
        s += 0.6;
    }
    s.min(2.0)
}

/// Helpfulness on the canonical 1-5 scale.
pub fn helpfulness(c: &Cues) -> f64 {
    if c.words < 1.0 {
        return 1.0;
    }
    let length = (c.words / 250.0).min(1.0);
    let structure = if c.headers >= 1 || c.list_items >= 3 {
        1.0
    } else if c.paragraphs >= 2.0 {
        0.5
    } else {
        0.0
    };
    let specificity = (c.specifics as f64 / 8.0).min(1.0);
    (1.0 + 1.3 * length + 0.7 * structure + 1.2 * c.responsiveness + 0.8 * specificity).min(5.0)
}

fn anchor_overlap(levels: &[(i64, &str)], assistant_text: &str) -> Option<f64> {
    let have = content_stems(assistant_text);
    let mut weight_sum = 0.0;
    let mut weighted = 0.0;
    for (value, anchor) in levels {
        let stems = content_stems(anchor);
        if stems.is_empty() {
            continue;
        }
        let overlap =
            stems.iter().filter(|s| have.contains(*s)).count() as f64 / stems.len() as f64;
        weight_sum += overlap * overlap;
        weighted += overlap * overlap * *value as f64;
    }
    (weight_sum > 0.0).then(|| weighted / weight_sum)
}

/// Latent score of one dimension, inside the declared range `[min level, max level]`.
/// None when the dimension declares no levels.
pub fn latent_score(dim: &DimensionSpec, conversation: &[(Role, &str)]) -> Option<f64> {
    let cues = extract_cues(conversation);
    latent_from_cues(dim, &cues, conversation)
}

/// As [`latent_score`], reusing already extracted cues.
pub fn latent_from_cues(
    dim: &DimensionSpec,
    cues: &Cues,
    conversation: &[(Role, &str)],
) -> Option<f64> {
    let lo = dim.levels.iter().map(|(v, _)| *v).min()? as f64;
    let hi = dim.levels.iter().map(|(v, _)| *v).max()? as f64;
    // Known dimensions: canonical score -> fraction of the canonical range -> declared range.
    let fraction = match dim.id {
        "verification_support" => Some(verification_support(cues) / 2.0),
        "process_steerability" => Some(process_steerability(cues) / 2.0),
        "uncertainty_disclosure" => Some(uncertainty_disclosure(cues) / 2.0),
        "helpfulness" => Some((helpfulness(cues) - 1.0) / 4.0),
        _ => None,
    };
    let latent = match fraction {
        Some(f) => lo + f * (hi - lo),
        None => {
            let assistant: Vec<&str> = conversation
                .iter()
                .filter(|(r, _)| *r == Role::Assistant)
                .map(|(_, t)| *t)
                .collect();
            anchor_overlap(dim.levels, &assistant.join("\n")).unwrap_or((lo + hi) / 2.0)
        }
    };
    Some(latent.clamp(lo, hi))
}

/// The declared level nearest to `x` (ties go to the lower level). None when there are no levels
/// or `x` is not finite.
pub fn nearest_level(levels: &[(i64, &str)], x: f64) -> Option<i64> {
    if !x.is_finite() {
        return None;
    }
    levels.iter().map(|(v, _)| *v).min_by(|a, b| {
        let da = (*a as f64 - x).abs();
        let db = (*b as f64 - x).abs();
        da.total_cmp(&db).then(a.cmp(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VS_LEVELS: &[(i64, &str)] = &[(0, "nothing"), (1, "some help"), (2, "specific claims")];

    fn vs(text: &str) -> f64 {
        let dim = DimensionSpec {
            id: "verification_support",
            question: "Does the assistant help the user verify its answer?",
            levels: VS_LEVELS,
        };
        latent_score(
            &dim,
            &[(Role::User, "How do I fix it?"), (Role::Assistant, text)],
        )
        .unwrap()
    }

    #[test]
    fn verification_cues_on_hand_written_texts() {
        // A text with nothing checkable.
        assert!(vs("Just restart the router and it will work.") < 0.5);
        // Confidence plus a vague referral: partial help.
        let partial = vs(
            "Restart the router. I'm fairly confident this is right, but you may want to double-check with a technician.",
        );
        assert!((0.5..1.5).contains(&partial), "{partial}");
        // Claims, concrete ways to check, and a confidence statement: full support.
        let full = vs(
            "### Claims you can check\n- The reset button needs 10 seconds.\n- Lights turn amber.\n\n### How to verify\n- Compare it with the manufacturer's manual (see www.example.com/manual).\n- You can verify the firmware version in the admin page.\n\nConfidence: high — because this is documented.",
        );
        assert_eq!(full, 2.0);
    }

    #[test]
    fn mentioning_a_check_is_not_a_source() {
        // A plain answer that mentions "label" outside any checking context.
        assert!(vs("Put a label on each box so moving day goes faster.") < 0.5);
    }

    #[test]
    fn redirection_detection() {
        let cases = [
            (
                "Thanks. Please change course: assume I rent and focus on cheap fixes.",
                true,
            ),
            ("Let's focus on the legal side.", true),
            ("Can you check my code?", false),
            ("What should I do instead?", false),
            ("Actually, I'd rather go by train instead.", true),
        ];
        for (text, expected) in cases {
            assert_eq!(is_redirection(text), expected, "{text}");
        }
    }

    #[test]
    fn steerability_rewards_adaptation() {
        let convo_good = [
            (Role::User, "How should I save for a house?"),
            (
                Role::Assistant,
                "My plan: look at income first. Assumptions: you rent. Would you like me to focus elsewhere?",
            ),
            (
                Role::User,
                "Please change course: assume I am self-employed and focus on irregular income.",
            ),
            (
                Role::Assistant,
                "Understood — changing course. Since you are self-employed with irregular income, budget on your lowest month.",
            ),
        ];
        let convo_bad = [
            convo_good[0],
            convo_good[1],
            convo_good[2],
            (
                Role::Assistant,
                "Save ten percent of each paycheck in a savings account.",
            ),
        ];
        let good = process_steerability(&extract_cues(&convo_good));
        let bad = process_steerability(&extract_cues(&convo_bad));
        assert!(good > bad + 0.5, "{good} vs {bad}");
        assert_eq!(good, 2.0);
    }

    #[test]
    fn unknown_dimension_uses_anchor_overlap() {
        let levels: &[(i64, &str)] = &[
            (0, "The reply is rude and dismissive."),
            (1, "The reply is polite, warm and respectful throughout."),
        ];
        let dim = DimensionSpec {
            id: "politeness",
            question: "Is it polite?",
            levels,
        };
        let polite = latent_score(
            &dim,
            &[
                (Role::User, "hi"),
                (
                    Role::Assistant,
                    "Happy to help! I'll be respectful and warm.",
                ),
            ],
        )
        .unwrap();
        assert!(polite > 0.5, "{polite}");
        let none = latent_score(&dim, &[(Role::User, "hi"), (Role::Assistant, "Zebra.")]).unwrap();
        assert_eq!(none, 0.5);
    }

    #[test]
    fn latent_maps_onto_declared_range() {
        let levels: &[(i64, &str)] = &[(1, ""), (2, ""), (3, ""), (4, "")];
        let dim = DimensionSpec {
            id: "verification_support",
            question: "",
            levels,
        };
        let x = latent_score(&dim, &[(Role::User, "q"), (Role::Assistant, "plain")]).unwrap();
        assert_eq!(x, 1.0);
        let empty = DimensionSpec {
            id: "helpfulness",
            question: "",
            levels: &[],
        };
        assert_eq!(latent_score(&empty, &[]), None);
    }

    #[test]
    fn nearest_level_rounds_and_clamps() {
        let levels: &[(i64, &str)] = &[(0, ""), (1, ""), (2, "")];
        let cases = [
            (-3.0, Some(0)),
            (0.49, Some(0)),
            (0.51, Some(1)),
            (1.5, Some(1)),
            (9.0, Some(2)),
            (f64::NAN, None),
        ];
        for (x, expected) in cases {
            assert_eq!(nearest_level(levels, x), expected, "{x}");
        }
        assert_eq!(nearest_level(&[], 1.0), None);
    }
}
