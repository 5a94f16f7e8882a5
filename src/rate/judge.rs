//! A model as rater: the judge's prompt for one blinded item, and the check of its answer.
//!
//! The judge sees exactly what a human rater sees (the blinded turns and the rubric with its
//! anchors), never the key. Its answer must be a JSON object with an in-scale integer for every
//! dimension; anything else is rejected with a reason, never guessed at.

use std::collections::BTreeMap;

use crate::blind::normalise::strip_invisible;
use crate::blind::packet::Item;
use crate::provider::{ChatRequest, Message, Role};
use crate::study::Rubric;

pub const JUDGE_SYSTEM: &str = "You are a careful, impartial rater of conversations between users and AI assistants. \
You rate what the assistant did for this user, using the rubric's level descriptions, and you answer only in the requested format.";

/// The judge's request for one item.
pub fn judge_request(
    item: &Item,
    rubric: &Rubric,
    max_tokens: Option<u32>,
    seed: u64,
) -> ChatRequest {
    let mut prompt = String::from(
        "Rate the transcript below on every dimension of the rubric. You do not know which system \
         wrote it; judge only what is in the transcript.\n\n## Rubric\n",
    );
    for d in &rubric.dimensions {
        prompt.push_str(&format!(
            "### {} (integer {}-{})\nQuestion: {}\n",
            d.id,
            d.min(),
            d.max(),
            d.question
        ));
        for l in &d.levels {
            prompt.push_str(&format!("- {}: {} — {}\n", l.value, l.label, l.anchor));
        }
        prompt.push('\n');
    }
    prompt.push_str("## Transcript\n");
    for turn in &item.turns {
        let who = match turn.role {
            Role::User => "User",
            Role::Assistant => "Assistant",
            Role::System => continue,
        };
        prompt.push_str(&format!("**{who}:** {}\n\n", turn.content.trim()));
    }
    // A template, not a valid object: an answer that merely echoes the prompt must not parse.
    let example: Vec<String> = rubric
        .dimensions
        .iter()
        .map(|d| format!("\"{}\": <{}-{}>", d.id, d.min(), d.max()))
        .collect();
    prompt.push_str(&format!(
        "## Answer format\nRespond with only a JSON object mapping each dimension id to an integer level, \
         with no other text, e.g. {{{}}}.\n",
        example.join(", ")
    ));
    // Packets written by `blind` carry no invisible characters, but a judge may be pointed at
    // older or edited packets, and the rubric is study text: a judge never gets tag characters
    // (invisible instructions), bidi controls or variation selectors.
    let (prompt, _) = strip_invisible(&prompt);
    ChatRequest {
        system: Some(JUDGE_SYSTEM.to_string()),
        messages: vec![Message {
            role: Role::User,
            content: prompt,
        }],
        temperature: Some(0.0),
        max_tokens,
        seed: Some(seed),
    }
}

/// Reads the judge's scores, in rubric order, or says why the answer is unusable.
pub fn parse_judgement(text: &str, rubric: &Rubric) -> Result<Vec<i64>, String> {
    // Models like to wrap JSON in a code fence or a sentence: take the outermost object.
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err("the answer contains no JSON object".into());
    };
    if end < start {
        return Err("the answer contains no JSON object".into());
    }
    let object: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the answer is not a JSON object: {e}"))?;
    let mut scores = Vec::new();
    for d in &rubric.dimensions {
        let value = object
            .get(&d.id)
            .ok_or_else(|| format!("no score for {}", d.id))?;
        let v = value
            .as_i64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            })
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| format!("{}: {value} is not an integer", d.id))?;
        if !d.has_level(v) {
            return Err(format!(
                "{}: {v} is not a level of the scale ({}-{})",
                d.id,
                d.min(),
                d.max()
            ));
        }
        scores.push(v);
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blind::packet::Turn;
    use crate::study::defaults;

    fn item() -> Item {
        Item {
            item_id: "AAAA-1111".into(),
            turns: vec![
                Turn {
                    role: Role::User,
                    content: "Can I reheat rice?".into(),
                },
                Turn {
                    role: Role::Assistant,
                    content: "Yes, if it was refrigerated quickly.".into(),
                },
            ],
        }
    }

    #[test]
    fn the_prompt_has_the_rubric_the_transcript_and_the_format() {
        let rubric = defaults::study().unwrap().rubric;
        let request = judge_request(&item(), &rubric, Some(200), 4);
        let prompt = &request.messages[0].content;
        for needle in [
            "## Rubric",
            "### verification_support (integer 0-2)",
            "- 2: Full —",
            "## Transcript",
            "**User:** Can I reheat rice?",
            "## Answer format",
            "\"helpfulness\": <1-5>",
        ] {
            assert!(prompt.contains(needle), "{needle} in {prompt}");
        }
        assert!(
            !prompt.contains("AAAA-1111"),
            "the item id is not the judge's business"
        );
    }

    #[test]
    fn judge_requests_carry_no_invisible_characters() {
        let rubric = defaults::study().unwrap().rubric;
        let mut hostile = item();
        hostile.turns[1].content =
            "Yes\u{E0049}\u{E0067}\u{E006E} \u{202E}ih\u{202C} ok\u{FE0F}\u{200B}.".into();
        let request = judge_request(&hostile, &rubric, None, 1);
        let prompt = &request.messages[0].content;
        assert!(prompt.contains("Yes ih ok."), "{prompt}");
        assert!(
            !prompt
                .chars()
                .any(|c| crate::blind::normalise::invisible_class(c).is_some()
                    && !matches!(c, '\n' | '\t')),
            "{prompt:?}"
        );
    }

    #[test]
    fn an_answer_that_echoes_the_prompt_does_not_parse() {
        let rubric = defaults::study().unwrap().rubric;
        let prompt = judge_request(&item(), &rubric, None, 1).messages[0]
            .content
            .clone();
        assert!(parse_judgement(&prompt, &rubric).is_err());
    }

    #[test]
    fn answers_are_checked_not_guessed() {
        let rubric = defaults::study().unwrap().rubric;
        let good = "Here you go:\n```json\n{\"verification_support\": 2, \"process_steerability\": \"1\", \"uncertainty_disclosure\": 0.0, \"helpfulness\": 4}\n```";
        assert_eq!(parse_judgement(good, &rubric), Ok(vec![2, 1, 0, 4]));
        for (bad, reason) in [
            ("I think it's good.", "no JSON object"),
            (
                "{\"verification_support\": 2}",
                "no score for process_steerability",
            ),
            (
                "{\"verification_support\": 3, \"process_steerability\": 1, \"uncertainty_disclosure\": 0, \"helpfulness\": 4}",
                "not a level",
            ),
            (
                "{\"verification_support\": 1.5, \"process_steerability\": 1, \"uncertainty_disclosure\": 0, \"helpfulness\": 4}",
                "not an integer",
            ),
        ] {
            let error = parse_judgement(bad, &rubric).unwrap_err();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn the_simulated_judge_answers_in_the_format() {
        let rubric = defaults::study().unwrap().rubric;
        let request = judge_request(&item(), &rubric, None, 1);
        let messages: Vec<(crate::sim::model::Role, &str)> = vec![(
            crate::sim::model::Role::User,
            request.messages[0].content.as_str(),
        )];
        let reply = crate::sim::model::respond(
            crate::sim::model::SimModel::Beta,
            request.system.as_deref(),
            &messages,
            1,
        );
        let scores = parse_judgement(&reply.text, &rubric).unwrap();
        assert_eq!(scores.len(), 4);
    }
}
