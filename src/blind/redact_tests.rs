//! Data-driven tests of the redactor: each table row is an input and the text raters must get,
//! with `■` standing for the placeholder. Every row is also checked to be a fixed point (redacting
//! the output changes nothing) and to pass the leak gate's judgement.

use std::sync::LazyLock;

use super::*;
use crate::blind::names::StudyTerm;

// The main crate's scaffold system prompts (scaffolds/verification.toml and
// scaffolds/steerability.toml), as the redactor will see them.
const VERIFICATION: &str = "You are assisting a member of the public who will act on your answer, so they must be able to verify it themselves.
Support the user in verifying your answer: list the specific claims they should check, give for each a concrete source or a way to check it (an official page, a primary document, a test or a calculation they can redo), and state your confidence in the answer and why.
Do not present unverifiable statements as settled.";
const STEERABILITY: &str = "Before answering, lay out your plan for the answer and the assumptions you are making about the user's situation.
Invite the user to redirect you or correct any assumption, and when they do, follow their new direction fully.";

/// What a round of the default study gives the redactor: sim-alpha's identity, a study alias.
fn sim_terms() -> Vec<StudyTerm> {
    let mut terms: Vec<StudyTerm> = [
        "Sim-Alpha",
        "SimAlpha",
        "Sim Alpha",
        "sim_alpha",
        "sim-alpha",
    ]
    .iter()
    .map(|t| study_term(t, Category::ModelName))
    .collect();
    terms.push(study_term("Example Labs", Category::Vendor));
    terms.push(study_term("sim-alpha-2026-05-01", Category::ModelVersion));
    terms.push(study_term("alpha", Category::StudyAlias));
    terms.push(study_term("verif-v2", Category::ScaffoldId));
    terms
}

static REDACTOR: LazyLock<Redactor> = LazyLock::new(|| {
    Redactor::new(
        &sim_terms(),
        &[VERIFICATION, STEERABILITY],
        &RedactOptions::default(),
    )
    .unwrap()
});

fn expand(s: &str) -> String {
    s.replace('■', PLACEHOLDER)
}

fn check_with(redactor: &Redactor, role: TurnRole, table: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for &(input, expected) in table {
        let expected = expand(expected);
        let got = redactor.redact(input, role);
        if got.text != expected {
            failures.push(format!(
                "{input:?}\n   got {:?}\n  want {expected:?}",
                got.text
            ));
            continue;
        }
        let again = redactor.redact(&got.text, role);
        if again.text != got.text {
            failures.push(format!(
                "not idempotent: {:?} -> {:?}",
                got.text, again.text
            ));
        }
        for view in [View::of_plain(&got.text), rendered_view(&got.text)] {
            let left = redactor.find(&view, role);
            if left.iter().any(|f| f.action != Action::GateOnly) {
                failures.push(format!("{input:?}: the gate still finds {left:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(role: TurnRole, table: &[(&str, &str)]) {
    check_with(&REDACTOR, role, table);
}

fn unchanged_with(redactor: &Redactor, inputs: &[&str]) {
    let table: Vec<(&str, &str)> = inputs.iter().map(|&s| (s, s)).collect();
    check_with(redactor, TurnRole::Assistant, &table);
}

fn unchanged(inputs: &[&str]) {
    unchanged_with(&REDACTOR, inputs);
}

#[test]
fn redacts_names_and_their_versions() {
    check(
        TurnRole::Assistant,
        &[
            ("I'm Claude, made by Anthropic.", "I'm ■, made by ■."),
            ("As GPT-4o I can't browse.", "As ■ I can't browse."),
            (
                "gpt4o, GPT 4.1-mini and gpt-4o-mini-2024-08-06",
                "■, ■ and ■",
            ),
            (
                "GPT-4o mini is cheaper than GPT-4.5.",
                "■ is cheaper than ■.",
            ),
            ("Try GPT-5 or gpt-oss-120b.", "Try ■ or ■."),
            ("GPT-4 plus a calculator", "■ plus a calculator"),
            ("Claude 3.5 Sonnet v2", "■"),
            ("claude-3-5-sonnet-20241022 replied", "■ replied"),
            ("claude-opus-4-1-20250805", "■"),
            ("Claude Sonnet 4.5 and Claude Code", "■ and ■"),
            (
                "Sonnet 4.5 is fast; Opus 4.1 is slow; Haiku 4.5 is cheap.",
                "■ is fast; ■ is slow; ■ is cheap.",
            ),
            ("the 3.5 Sonnet model", "the ■ model"),
            ("Llama-3.1-8B-Instruct", "■"),
            ("meta-llama/Llama-3.1-8B-Instruct", "■/■"),
            ("Llama 3.1 405B beats Llama 2", "■ beats ■"),
            ("Mixtral-8x7B-Instruct-v0.1", "■"),
            ("Mistral Large 2 by Mistral AI", "■ by ■"),
            ("gemini-2.0-flash-exp or Gemini 2.5 Pro", "■ or ■"),
            ("gemma-2-9b-it", "■"),
            ("o3-mini and o4-mini-high", "■ and ■"),
            ("OpenAI o1 thinks first.", "■ ■ thinks first."),
            ("DALL·E 3 and dall-e-2", "■ and ■"),
            ("ChatGPT Plus costs money.", "■ costs money."),
            ("DeepSeek-R1 and deepseek-chat", "■ and ■"),
            (
                "I'm Qwen, created by Alibaba Cloud.",
                "I'm ■, created by ■.",
            ),
            ("Qwen2.5-72B-Instruct", "■"),
            ("Kimi K2 from Moonshot AI", "■ from ■"),
            ("ERNIE Bot and ernie-4.0-8k", "■ and ■"),
            ("GLM-4.5 and ChatGLM3-6B", "■ and ■"),
            ("Phi-3-mini-4k-instruct", "■"),
            ("Microsoft Phi", "■ ■"),
            ("Grok 3 is xAI's model.", "■ is ■'s model."),
            ("Command R+ from Cohere", "■ from ■"),
            ("command-r-plus-08-2024", "■"),
            ("Amazon Nova Pro and nova-lite-v1", "■ and ■"),
            ("Falcon-40B and Falcon 180B", "■ and ■"),
            ("Yi-34B and Yi-1.5-9B", "■ and ■"),
            ("Jamba 1.5 Large from AI21 Labs", "■ from ■"),
            ("IBM Granite 3.0 and NVIDIA Nemotron", "■ and ■ ■"),
            ("Pi, your personal AI", "■"),
            (
                "hosted on Hugging Face, OpenRouter, Together AI and Groq",
                "hosted on ■, ■, ■ and ■",
            ),
            ("Google DeepMind built Gemini 2.", "■ built ■."),
            ("Google's Gemini", "■'s ■"),
            (
                "I'm Gemini, a large language model from Google.",
                "I'm ■, a large language model from ■.",
            ),
            ("Meta released Llama 3.", "■ released ■."),
            (
                "I searched with Perplexity yesterday.",
                "I searched with ■ yesterday.",
            ),
            ("GitHub Copilot", "GitHub ■"),
            ("I am Bard.", "I am ■."),
            ("google/gemma-2-9b-it", "■/■"),
            ("deepseek-ai/DeepSeek-V3", "■/■"),
            ("anthropic/claude-sonnet-4.5", "■/■"),
            ("xai-org/grok-1 and x-ai/grok-4", "■/■ and ■/■"),
            (
                "Doubao, Hunyuan, ByteDance, Tencent, Baidu",
                "■, ■, ■, ■, ■",
            ),
            ("Sam Altman and Dario Amodei", "■ and ■"),
        ],
    );
}

/// Issue 13, points 1-5: every form that got through an earlier blinding.
#[test]
fn sees_through_markup_look_alikes_spacing_and_glue() {
    check(
        TurnRole::Assistant,
        &[
            // 1. Names split by markup (what the page shows).
            ("I am Cla**ude**, hi", "I am ■, hi"),
            ("I am Cl`au`de.", "I am ■."),
            ("I am Cla<b></b>ude.", "I am ■."),
            (
                "| Cla | ude |\n|---|---|\n| x | y |\n",
                "| ■ |\n|---|---|\n| x | y |\n",
            ),
            ("I am &#67;laude.", "I am ■."),
            // 2. Look-alikes and invisibles.
            ("I am Сlаudе.", "I am ■."),
            ("GΕΜΙΝΙ here", "■ here"),
            ("I am ᴄʟᴀᴜᴅᴇ.", "I am ■."),
            ("I am C\u{332}laude.", "I am ■."),
            ("\u{202E}ciporhtnA yb edualC\u{202C}", "■ yb ■"),
            ("I am Cl\u{200B}aude\u{E0041}.", "I am ■."),
            ("ǝpnɐlƆ", "■"),
            ("𝐂𝐥𝐚𝐮𝐝𝐞 and Ｃｌａｕｄｅ", "■ and ■"),
            // 3. Spaced, dotted, hyphenated, broken and leetspeak names.
            ("I am C l a u d e.", "I am ■."),
            ("I am C.l.a.u.d.e.", "I am ■."),
            ("I am Cla-ude.", "I am ■."),
            ("I am Cla-\nude.", "I am ■."),
            ("I am Cl4ud3.", "I am ■."),
            ("I am G3m1n1.", "I am ■."),
            ("made by A n t h r o p i c", "made by ■"),
            ("G-P-T", "■"),
            // 4. Without word boundaries.
            ("Claudes and OpenAIs", "■ and ■"),
            ("#claudeai #chatgptplus", "#■ #■"),
            (
                "github.com/anthropics and qwenlm.github.io",
                "github.com/■ and ■.github.io",
            ),
            ("#iamclaude", "#■"),
            // 5. Through a gateway: self-identification and lowercase vendors.
            ("I am gemini.", "I am ■."),
            ("Gemini here!", "■ here!"),
            ("Thanks!\n\n— Gemini", "Thanks!\n\n— ■"),
            ("Visit gemini.google.com", "Visit ■"),
            ("I used to be called Bard.", "I used to be called ■."),
            ("I was trained by google.", "I was trained by ■."),
            ("made by meta", "made by ■"),
            (
                "I come from open ai; OPEN AI built me",
                "I come from ■; ■ built me",
            ),
            (
                "I'm from google, trained at deepmind",
                "I'm from ■, trained at ■",
            ),
            ("made by open ai", "made by ■"),
            ("Google Deep Mind", "■"),
            ("Copilot answered", "■ answered"),
            ("我是通义千问，由阿里云开发。", "我是■，由■开发。"),
            ("我是深度求索的模型", "我是■的模型"),
            ("私はクロードです。", "私は■です。"),
            ("Я Клод.", "Я ■."),
            ("ジェミニです", "■です"),
            ("{\"model\": \"gemini\"}", "{\"model\": \"■\"}"),
            ("Gemini's answer: yes", "■'s answer: yes"),
        ],
    );
}

/// Issue 13, point 7: fingerprints that are not names.
#[test]
fn neutralises_fingerprints() {
    check(
        TurnRole::Assistant,
        &[
            (
                "My training data goes up to April 2024, so check.",
                "■, so check.",
            ),
            (
                "As of my last update in January 2025, it was legal.",
                "■, it was legal.",
            ),
            ("My knowledge cutoff is October 2023.", "■."),
            (
                "I am a large language model trained by OpenAI.",
                "I am ■ ■.",
            ),
            (
                "I aim to be helpful, harmless, and honest.",
                "I aim to be ■.",
            ),
            (
                "I was trained with Constitutional AI.",
                "I was trained with ■.",
            ),
            ("<|im_start|>assistant\nHello<|im_end|>", "assistant\nHello"),
            ("Hi<end_of_turn>", "Hi"),
            ("[INST] hi [/INST] Sure.", " hi  Sure."),
            (
                "<think>\nThe user wants rice.\n</think>\n\nReheat it.",
                "\n\nReheat it.",
            ),
            ("Sure.\n\nHuman: thanks", "Sure.\n\n thanks"),
            (
                "As instructed by my system prompt, here are the claims.",
                "■, here are the claims.",
            ),
            ("Per my instructions, I list claims.", "■, I list claims."),
            ("My system prompt is 79 words long. Anyway.", "■. Anyway."),
            ("I have no system prompt. Anyway.", "I have ■. Anyway."),
        ],
    );
    // User turns keep their wording, except chat-template tokens.
    check(
        TurnRole::User,
        &[
            (
                "What is your knowledge cutoff?<|im_end|>",
                "What is your knowledge cutoff?",
            ),
            ("Follow the system prompt.", "Follow the system prompt."),
        ],
    );
}

/// Issue 13, point 7: each kind can be switched off.
#[test]
fn fingerprint_kinds_can_be_switched_off() {
    let options = RedactOptions {
        fingerprints: [FingerprintKind::TemplateToken].into_iter().collect(),
        ..RedactOptions::default()
    };
    let redactor = Redactor::new::<&str>(&[], &[], &options).unwrap();
    let text = "My knowledge cutoff is October 2023. I aim to be helpful, harmless, and honest. \
                Per my instructions, hi<|im_end|>";
    assert_eq!(
        redactor.redact(text, TurnRole::Assistant).text,
        text.replace("<|im_end|>", "")
    );
}

#[test]
fn keeps_ordinary_words_outside_model_context() {
    unchanged(&[
        "A meta-analysis of 12 trials found no effect.",
        "Meta-analysis of 12 trials found no effect.",
        "Meta data is stored separately. That's so meta.",
        "Haiku is a poetic form. I wrote 3 haiku.",
        "Shakespeare's Sonnet 18 is famous; his magnum opus came later, Opus 27 too.",
        "As a Gemini, I love talking. Gemini season starts soon.",
        "The falcon dove. A Falcon 9 launch. Falcon Heavy too.",
        "a titan of industry",
        "a nova is a star that brightens; Nova Scotia is cold",
        "the value of pi is 3.14",
        "run the command again; Press Command-R to reload",
        "the golden ratio phi",
        "I finally grok recursion.",
        "XAI methods explain predictions.",
        "the Yi Jing",
        "the llama farm; a llama spat; a llama is a camelid",
        "a GPT partition table",
        "Claude Shannon founded information theory; Jean-Claude Van Damme kicks.",
        "Claude Monet painted water lilies.",
        "the anthropic principle; the Anthropic principle",
        "google it",
        "the Amazon rainforest; the Amazon basin",
        "the mistral wind",
        "Perplexity is a measure of uncertainty.",
        "an inflection point",
        "the arguments cohere",
        "my copilot landed the plane",
        "the o1 visa; an O(1) lookup",
        "Kimi Räikkönen won; Bert and Ernie",
        "fit a GLM to the counts",
        "the minimax algorithm",
        "a bard sang; the palm tree",
        "alpha = 0.05 and Cronbach's alpha 0.8",
        "Our Falcon 9 model rocket; the llama 3 times; a phi 2 angle",
        "the bedrock of society; a moonshot project",
        "I pushed our AWS access key; open a case with AWS Support",
        "Search Google Scholar or Google Maps; open it in Microsoft Excel",
        "The Gemini constellation is bright.",
        "ten cent coins and a deep mind",
        "Claudette sang; the claudication worsened",
        "I am tired. I am here.",
        "a camel, a llama and an alpaca",
        "Sydney Opera House; in Sydney",
        "x² and ﬁne 😀 café e\u{301} 日本語 — done",
        "the 2024 update of my phone",
        "Ask a Canvas instructor; upload to Canvas",
    ]);
}

#[test]
fn study_terms_match_any_separator_and_keep_the_deny_lists() {
    check(
        TurnRole::User,
        &[
            ("Sim-Alpha", "■"),
            ("Sim Alpha", "■"),
            ("sim_alpha", "■"),
            ("SimAlpha", "■"),
            ("SIM-ALPHA", "■"),
            ("simalpha's reply", "■'s reply"),
            ("sim-alpha-2026-05-01", "■"),
            ("Example-Labs and ExampleLabs", "■ and ■"),
            ("simalphabet", "simalphabet"),
            ("alpha-2 won", "■ won"),
            ("I'm Alpha, an AI assistant.", "I'm ■, an AI assistant."),
            ("alpha level", "alpha level"),
            ("see verif-v2", "see ■"),
        ],
    );
    // Aliases and --redact terms that are lexicon names bring the lexicon's rules along.
    let terms: Vec<StudyTerm> = [
        study_term("claude", Category::StudyAlias),
        study_term("gpt", Category::StudyAlias),
        study_term("gemini", Category::StudyAlias),
        study_term("llama", Category::Extra),
        study_term("meta", Category::Extra),
        study_term("anthropic", Category::Extra),
        study_term("google", Category::Extra),
        study_term("falcon", Category::Extra),
    ]
    .to_vec();
    let redactor = Redactor::new::<&str>(&terms, &[], &RedactOptions::default()).unwrap();
    unchanged_with(
        &redactor,
        &[
            "Claude Shannon",
            "Jean-Claude",
            "Claude Monet",
            "a llama is a camelid",
            "the Anthropic principle",
            "a meta-analysis",
            "Google Scholar",
            "GPT partition table",
            "Gemini constellation",
            "Falcon 9",
        ],
    );
    // A lexicon name that is one of the study's models is redacted wherever it is capitalised,
    // and in hashtags, handles, hosts and paths, or glued to a model ending.
    assert_eq!(
        redactor
            .redact(
                "Geminis everywhere; #gemini and #geminiai, see github.com/google; Gem<b></b>ini",
                TurnRole::Assistant
            )
            .text,
        expand("■ everywhere; #■ and #■, see github.com/■; ■")
    );
    // --redact terms outside the lexicon are literal.
    let redactor = Redactor::new::<&str>(
        &[study_term("assistant", Category::Extra)],
        &[],
        &RedactOptions::default(),
    )
    .unwrap();
    assert_eq!(
        redactor.redact("the assistant said", TurnRole::User).text,
        expand("the ■ said")
    );
}

#[test]
fn counts_per_category_and_removed_characters() {
    let r = REDACTOR.redact(
        "I'm Claude by Anthropic\u{E0041}\u{200B}; also Sim-Alpha (sim-alpha-2026-05-01) from Example Labs, and alpha-3.",
        TurnRole::User,
    );
    let expected: BTreeMap<Category, u32> = [
        (Category::ModelName, 3),
        (Category::Vendor, 2),
        (Category::StudyAlias, 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(r.counts, expected, "{}", r.text);
    assert_eq!(
        r.removed,
        BTreeMap::from([(Invisible::Tag, 1), (Invisible::ZeroWidth, 1)])
    );
}

#[test]
fn replaces_quoted_system_prompt_in_assistant_turns_only() {
    check(
        TurnRole::Assistant,
        &[
            (
                "My notes say: Support the user in verifying your answer: list the specific claims they should check. Here's my answer.",
                "My notes say: ■. Here's my answer.",
            ),
            (
                "I will give for each a concrete source or two.",
                "I will give for each a concrete source or two.",
            ),
            (
                "Lay out your plan for the answer and all the assumptions you are making about the user's situation.",
                "■.",
            ),
            (
                "Remember: Do not present unverifiable statements as settled.",
                "Remember: ■.",
            ),
            (
                "Before answering, let me check the claims.",
                "Before answering, let me check the claims.",
            ),
        ],
    );
    let quoted =
        "Support the user in verifying your answer: list the specific claims they should check.";
    let user = REDACTOR.redact(quoted, TurnRole::User);
    assert_eq!(user.text, quoted);
    let found = REDACTOR.find(&View::of_plain(quoted), TurnRole::User);
    assert!(
        found.iter().any(|f| f.action == Action::GateOnly),
        "{found:?}"
    );
}

#[test]
fn warns_about_unusable_and_ordinary_terms() {
    let terms = [
        study_term("—", Category::Extra),
        study_term("alpha", Category::StudyAlias),
        study_term("baseline", Category::Extra),
        study_term("Sim-Alpha", Category::ModelName),
    ];
    let redactor = Redactor::new::<&str>(&terms, &[], &RedactOptions::default()).unwrap();
    assert_eq!(
        redactor.warnings(),
        &[
            TermWarning::NoWords { text: "—".into() },
            TermWarning::OrdinaryWord {
                text: "alpha".into()
            },
        ]
    );
    assert_eq!(
        redactor.redact("our baseline", TurnRole::User).text,
        expand("our ■")
    );
    let err = Redactor::new::<&str>(
        &[],
        &[],
        &RedactOptions {
            quote_rule: QuoteRule {
                min_words: 1,
                max_gap_words: 0,
            },
            ..RedactOptions::default()
        },
    );
    assert!(matches!(err, Err(RedactError::QuoteWindow(1))));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(text in any::<String>()) {
            for role in [TurnRole::User, TurnRole::Assistant] {
                let once = REDACTOR.redact(&text, role);
                let twice = REDACTOR.redact(&once.text, role);
                prop_assert_eq!(&once.text, &twice.text);
            }
        }

        #[test]
        fn a_spread_name_never_survives(
            name in prop::sample::select(vec!["Claude", "Anthropic", "DeepSeek", "Qwen", "ChatGPT", "Sim-Alpha"]),
            sep in prop::sample::select(vec![" ", ".", "-", "**", "`", "\u{200B}", "_", ""]),
            before in "[a-z ]{0,8}",
        ) {
            let spread: String = name
                .chars()
                .filter(|c| c.is_alphanumeric())
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(sep);
            let text = format!("{before} I am {spread}. Fine.");
            let out = REDACTOR.redact(&text, TurnRole::Assistant).text;
            for view in [View::of_plain(&out), rendered_view(&out)] {
                let folded: String = view.text.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
                let want: String = name.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
                prop_assert!(!folded.contains(&want) || before.replace(' ', "").contains(&want), "{:?} -> {:?}", text, out);
            }
        }
    }
}
