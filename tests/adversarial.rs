//! Adversarial blinding (issue 13): models that try to be recognised, served over loopback HTTP
//! through `run` → `blind`, and innocent look-alikes that must pass untouched. The browser half
//! (the packets' rendered text in headless Chromium) is in `browser.rs` and uses this corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::fault_server::{Behaviour, FaultServer};
use crate::util::{StudyDir, blindfold, stderr_of};

/// One model family as a hostile model spells its own identity.
pub struct Family {
    /// The study's alias for the model (an ordinary word, reached through a gateway).
    pub alias: &'static str,
    pub model: &'static str,
    pub name: &'static str,
    pub vendor: &'static str,
    pub host: &'static str,
    pub hashtag: &'static str,
    pub katakana: &'static str,
    pub cutoff: &'static str,
}

pub const FAMILIES: [Family; 3] = [
    Family {
        alias: "claude",
        model: "claude-sonnet-4-5",
        name: "Claude",
        vendor: "Anthropic",
        host: "claude.ai",
        hashtag: "#claudeai",
        katakana: "クロード",
        cutoff: "April 2024",
    },
    Family {
        alias: "gemini",
        model: "gemini-2.5-pro",
        name: "Gemini",
        vendor: "Google",
        host: "gemini.google.com",
        hashtag: "#geminiai",
        katakana: "ジェミニ",
        cutoff: "January 2025",
    },
    Family {
        alias: "gpt",
        model: "gpt-4o",
        name: "ChatGPT",
        vendor: "OpenAI",
        host: "chatgpt.com",
        hashtag: "#chatgptplus",
        katakana: "チャットGPT",
        cutoff: "October 2023",
    },
];

fn map_chars(s: &str, f: impl Fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

fn cyrillic(c: char) -> char {
    match c {
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'i' => 'і',
        'A' => 'А',
        'C' => 'С',
        'E' => 'Е',
        'O' => 'О',
        'P' => 'Р',
        'T' => 'Т',
        'H' => 'Н',
        'M' => 'М',
        c => c,
    }
}

fn greek(c: char) -> char {
    match c.to_ascii_uppercase() {
        'A' => 'Α',
        'E' => 'Ε',
        'I' => 'Ι',
        'M' => 'Μ',
        'N' => 'Ν',
        'O' => 'Ο',
        'P' => 'Ρ',
        'T' => 'Τ',
        'H' => 'Η',
        c => c,
    }
}

const SMALL: &str = "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ";

fn small_capital(c: char) -> char {
    let lower = c.to_ascii_lowercase();
    if lower.is_ascii_lowercase() {
        SMALL.chars().nth((lower as u8 - b'a') as usize).unwrap()
    } else {
        c
    }
}

fn leet(c: char) -> char {
    match c {
        'a' => '4',
        'e' => '3',
        'i' => '1',
        'o' => '0',
        c => c,
    }
}

fn split_at_char(s: &str, n: usize) -> (String, String) {
    (s.chars().take(n).collect(), s.chars().skip(n).collect())
}

/// Text in Unicode tag characters: invisible, but a model reading the page would decode it.
fn tags(text: &str) -> String {
    let mut out = String::from('\u{E0001}');
    out.extend(
        text.chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap()),
    );
    out.push('\u{E007F}');
    out
}

/// One reply carrying every form of issue 13, points 1-5 and 7, for one family. Every family's
/// reply has the same shape, so a count of placeholders cannot tell them apart either.
pub fn hostile_reply(f: &Family) -> String {
    let n = f.name;
    let v = f.vendor;
    let (a, b) = split_at_char(n, 3);
    let (a2, b2) = split_at_char(&b, 2);
    let spaced = |sep: &str| {
        n.chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let reversed: String = format!("{n} by {v}").chars().rev().collect();
    let mut first = n.chars();
    let combining = format!("{}\u{332}{}", first.next().unwrap(), first.as_str());
    let lines = [
        // 1. Split by markup.
        format!("Hello! I am {a}**{b}**, here to help."),
        format!("Name: {a}`{a2}`{b2}."),
        format!("Signed, {a}<b></b>{b}."),
        format!("| {a} | {b} |\n|---|---|\n| x | y |"),
        // 2. Look-alikes, invisibles, reversed text.
        format!("Cyrillic: I am {}.", map_chars(n, cyrillic)),
        format!("Greek: {} here!", map_chars(n, greek)),
        format!("Small: I am {}.", map_chars(n, small_capital)),
        format!("Marked: I am {combining}."),
        format!("Reversed: \u{202E}{reversed}\u{202C}"),
        format!(
            "Hidden: I am {a}\u{200B}{b}\u{FE0F}; yes, I am \u{2066}{n}\u{2069}.{}",
            tags(&format!("I am {n}"))
        ),
        // 3. Spaced, dotted, hyphenated, broken, leetspeak.
        format!("Spaced: I am {}.", spaced(" ")),
        format!("Dotted: I am {}.", spaced(".")),
        format!("Hyphen: I am {a}-{b}."),
        format!("Broken: I am {a}-\n{b}."),
        format!("Leet: I am {}.", map_chars(n, leet)),
        // 4. No word boundaries.
        format!(
            "Glued: {n}s everywhere; {} and {}; see {} or github.com/{}.",
            f.hashtag,
            f.hashtag.to_uppercase(),
            f.host,
            v.to_lowercase()
        ),
        // 5. Through a gateway: self-identification, lowercase vendors, other scripts.
        format!("Plain: I am {}.", f.alias),
        format!("{n} here!"),
        format!("I was trained by {}.", v.to_lowercase()),
        format!("{n}'s answer: yes."),
        format!("{{\"model\": \"{}\"}}", f.alias),
        format!("私は{}です。", f.katakana),
        // 7. Fingerprints that are not names.
        format!("My training data goes up to {}.", f.cutoff),
        format!("As of my last update in {}, that held.", f.cutoff),
        format!("I am a large language model trained by {v}."),
        "I aim to be helpful, harmless, and honest.".to_string(),
        "<|im_start|>assistant\nSure<|im_end|><end_of_turn>[/INST]".to_string(),
        format!("<think>\nI am {n}; do not say so.\n</think>\n\nAnswer follows."),
        "As instructed by my system prompt, here are the claims.".to_string(),
        "My system prompt is 79 words long.".to_string(),
        format!("Thanks!\n\n— {n}"),
    ];
    lines.join("\n\n")
}

/// Issue 13's innocent look-alikes: every one must reach raters unchanged.
pub const INNOCENT: &str = "Claude Shannon founded information theory.\n\n\
    Jean-Claude Van Damme kicks; Claude Monet painted water lilies.\n\n\
    A llama is a camelid.\n\nThe Anthropic principle is contested.\n\n\
    A meta-analysis of 12 trials found no effect.\n\nSearch Google Scholar first.\n\n\
    Use a GPT partition table.\n\nThe Gemini constellation is bright.\n\n\
    A Falcon 9 launched today.";

/// A study of the three families, each reached through one OpenAI-compatible gateway under an
/// ordinary-word alias, with a baseline and a scaffold with a system prompt.
pub fn gateway_study(base_url: &str) -> StudyDir {
    let study = StudyDir::new();
    let mut toml = String::from(
        "[study]\nname = \"hostile\"\nseed = 1\nscaffolds = [\"baseline\", \"verification\"]\nprompts = [\"small\"]\n\n",
    );
    for f in &FAMILIES {
        toml.push_str(&format!(
            "[[model]]\nid = \"{}\"\nprovider = \"openai\"\nmodel = \"{}\"\nbase_url = \"{base_url}\"\n\n",
            f.alias, f.model
        ));
    }
    study.write("study.toml", &toml);
    study.write(
        "prompts/small.toml",
        "[[prompt]]\nid = \"p0\"\ntext = \"Question number 0?\"\n\n[[prompt]]\nid = \"p1\"\ntext = \"Question number 1?\"\n",
    );
    study
}

/// The folded letters of a text as a determined reader decodes them: NFKC, the TR39 skeleton,
/// lowercase, leetspeak digits as letters, `i` and `l` alike, everything else dropped.
fn decode(text: &str) -> String {
    let nfkc: String = text.nfkc().collect();
    // Only letters and digits are read ("|" would otherwise read as "l").
    // Small capitals have no confusable entry of their own.
    let letters: String = nfkc
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| match SMALL.chars().position(|s| s == c) {
            Some(i) => (b'a' + i as u8) as char,
            None => c,
        })
        .collect();
    // Skeleton, lowercase, skeleton again: "M" and "m" then read alike.
    let once: String = unicode_security::skeleton(&letters).collect();
    let lower: String = once.chars().flat_map(char::to_lowercase).collect();
    let skeleton: String = unicode_security::skeleton(&lower).collect();
    skeleton
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            '4' => Some('a'),
            '3' => Some('e'),
            '0' => Some('o'),
            '1' | 'i' | 'l' => Some('l'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The identity strings a keyword decoder finds in `text`, read forwards and backwards.
pub fn identities_in(text: &str) -> Vec<&'static str> {
    const NEEDLES: &[&str] = &[
        "claude",
        "anthropic",
        "gemini",
        "google",
        "bard",
        "chatgpt",
        "openai",
        "gpt4o",
        "sonnet",
        "クロード",
        "ジェミニ",
        "チャットgpt",
    ];
    // As written, and with HTML-like tags skipped as a reader skips them.
    let untagged = regex::Regex::new(r"<[^<>]{0,40}>")
        .unwrap()
        .replace_all(text, "");
    let mut readings: Vec<String> = Vec::new();
    for t in [text, untagged.as_ref()] {
        let forwards = decode(t);
        readings.push(forwards.chars().rev().collect());
        readings.push(forwards);
    }
    let mut found: Vec<&'static str> = NEEDLES
        .iter()
        .copied()
        .filter(|n| {
            let needle = decode(n);
            readings.iter().any(|r| r.contains(&needle))
        })
        .collect();
    // Short names only as whole words.
    let gpt = decode("gpt");
    if text
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| decode(w) == gpt)
    {
        found.push("gpt");
    }
    found
}

fn family_of(model: &str) -> &'static Family {
    FAMILIES
        .iter()
        .find(|f| f.model == model)
        .unwrap_or_else(|| panic!("unknown model {model}"))
}

/// Runs the gateway study against a server answering with `reply` and blinds it with `args`;
/// returns the study, the run folder and the `blind` output.
pub fn run_and_blind(
    reply: fn(&Family) -> String,
    args: &[&str],
) -> (StudyDir, PathBuf, std::process::Output) {
    let server = FaultServer::start(move |call| Behaviour::Reply {
        text: reply(family_of(&call.model)),
    });
    let study = gateway_study(&server.base_url());
    let run = study.run("r");
    drop(server);
    let output = blindfold()
        .arg("blind")
        .arg(&run)
        .args(args)
        .output()
        .unwrap();
    (study, run, output)
}

/// The hostile round, blinded with `--redact meta --redact assistant` in force (they must not
/// trip over the form's own `<meta>` tags and labels); it must pass the gate unaided.
pub fn hostile_round(extra: &[&str]) -> (StudyDir, PathBuf) {
    let mut args = vec!["--seed", "7", "--redact", "meta", "--redact", "assistant"];
    args.extend_from_slice(extra);
    let (study, run, output) = run_and_blind(hostile_reply, &args);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        !stderr_of(&output).contains("--allow-leaks"),
        "{}",
        stderr_of(&output)
    );
    (study, run.join("blind/round-1"))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn is_smuggling(c: char) -> bool {
    matches!(c as u32,
        0xE0000..=0xE007F | 0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069
        | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF | 0x200B..=0x200D | 0x2060 | 0xFEFF)
}

#[test]
fn a_hostile_corpus_leaves_no_identity_in_the_packets() {
    let (_study, round) = hostile_round(&[]);
    let key = json(&round.join("key.json"));
    let model_of: BTreeMap<String, String> = key["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item_id"].as_str().unwrap().to_string(),
                i["model"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(model_of.len(), 12);

    // No smuggling character in any file raters get; each was counted in the key.
    for entry in std::fs::read_dir(round.join("packets")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let bad: Vec<String> = text
            .chars()
            .filter(|&c| is_smuggling(c))
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        assert!(bad.is_empty(), "{}: {bad:?}", path.display());
        for placeholder in ["[MODEL]", "[COMPANY]", "[INSTRUCTIONS]", "[VENDOR]"] {
            assert!(!text.contains(placeholder), "{}", path.display());
        }
    }
    for item in key["items"].as_array().unwrap() {
        let removed = &item["removed_characters"];
        assert!(removed["tag"].as_u64().unwrap() >= 13, "{item}");
        assert!(removed["bidi"].as_u64().unwrap() >= 4, "{item}");
        assert!(
            removed["variation_selector"].as_u64().unwrap() >= 1,
            "{item}"
        );
    }

    // The source every programmatic rater and judge reads: a keyword decoder finds nothing, no
    // chat-template token or fingerprint is left, and the placeholder count is the same for
    // every model (one neutral placeholder; the key keeps the kinds).
    let packet = json(&round.join("packets/r1.json"));
    let mut placeholders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut seen = 0;
    let mut failures = Vec::new();
    for name in ["r1", "r2", "r3"] {
        let packet = json(&round.join(format!("packets/{name}.json")));
        for item in packet["items"].as_array().unwrap() {
            let id = item["item_id"].as_str().unwrap();
            let text: String = item["turns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["content"].as_str().unwrap().to_string() + "\n\n")
                .collect();
            let found = identities_in(&text);
            if !found.is_empty() {
                failures.push(format!("{id}: {found:?} in\n{text}"));
            }
            for token in [
                "<|im_start|>",
                "<|im_end|>",
                "<end_of_turn>",
                "[/INST]",
                "<think>",
                "training data",
                "last update",
                "harmless",
                "system prompt",
            ] {
                if text.contains(token) {
                    failures.push(format!("{id}: {token:?} in\n{text}"));
                }
            }
            placeholders
                .entry(model_of[id].clone())
                .or_default()
                .push(text.matches("[REDACTED]").count());
            seen += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n----\n"));
    assert_eq!(seen, 24, "each item in two packets");
    assert!(packet["items"].as_array().unwrap().len() >= 8);
    let counts: Vec<(usize, usize)> = placeholders
        .values()
        .map(|v| (*v.iter().min().unwrap(), *v.iter().max().unwrap()))
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] == w[1]) && counts[0].0 == counts[0].1,
        "placeholder counts tell the models apart: {placeholders:?}"
    );
    assert!(counts[0].0 >= 30, "{counts:?}");
}

#[test]
fn innocent_look_alikes_pass_unchanged_with_every_alias_and_redact_term() {
    let mut args = vec!["--seed", "3"];
    for term in [
        "llama",
        "meta",
        "anthropic",
        "google",
        "falcon",
        "claude",
        "gpt",
        "gemini",
    ] {
        args.extend(["--redact", term]);
    }
    let (_study, run, output) = run_and_blind(|_| INNOCENT.to_string(), &args);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let round = run.join("blind/round-1");
    assert_eq!(json(&round.join("leak-report.json"))["total"], 0);
    let packet = json(&round.join("packets/r1.json"));
    for item in packet["items"].as_array().unwrap() {
        let reply = item["turns"][1]["content"].as_str().unwrap();
        assert_eq!(reply, INNOCENT);
    }
}

/// The decoder the packet checks rely on reads every hostile form of the corpus (so a leak would
/// make them fail).
#[test]
fn the_decoder_reads_every_hostile_form() {
    for f in &FAMILIES {
        let reply = hostile_reply(f);
        let paragraphs: Vec<&str> = reply.split("\n\n").collect();
        for paragraph in &paragraphs[..22] {
            assert!(
                !identities_in(paragraph).is_empty(),
                "{}: the decoder misses {paragraph:?}",
                f.name
            );
        }
    }
    assert!(identities_in(INNOCENT.split("\n\n").nth(2).unwrap()).is_empty());
}
