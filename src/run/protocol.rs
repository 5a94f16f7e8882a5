//! A scaffold's protocol as a pure state machine over the conversation so far.
//!
//! The runner asks [`Protocol::next`] what to do, does it (a model call or nothing), appends the
//! result, and asks again. Keeping the turn logic free of I/O makes the turn sequence of every
//! scaffold shape testable without a server.

use crate::provider::{ChatRequest, Message, Role};
use crate::study::{ModelSpec, PromptItem, Scaffold, TemplateVars, render_template};

use super::record::TranscriptMessage;

/// The system prompt a simulated user gets. The sim models recognise its first words.
pub const USER_SIM_PREAMBLE: &str =
    "You are role-playing the user in a conversation with an AI assistant.";

/// Opens the simulated user's conversation, so that the flipped transcript starts with a user
/// turn as every chat API requires.
pub const USER_SIM_OPENING: &str =
    "[The conversation starts now. You are the user described in your instructions.]";

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Append this scripted user turn (no model call).
    UserTurn(String),
    /// Ask the assistant model for its next reply.
    Assistant(ChatRequest),
    /// Ask the simulated user's model for the next user turn.
    SimulatedUser(ChatRequest),
    Done,
}

#[derive(Debug, Clone)]
pub struct Protocol {
    system: Option<String>,
    /// Rendered scripted user turns: the first turn, then the scaffold's and the prompt's
    /// follow-ups.
    scripted: Vec<String>,
    persona: Option<String>,
    sim_turns: usize,
}

impl Protocol {
    /// Renders the scaffold's templates for one prompt.
    pub fn new(scaffold: &Scaffold, prompt: &PromptItem) -> Result<Self, String> {
        let mut templates = vec![scaffold.first_turn.as_str()];
        templates.extend(scaffold.follow_ups.iter().map(String::as_str));
        if scaffold.prompt_follow_ups {
            templates.extend(prompt.follow_ups.iter().map(String::as_str));
        }
        let scripted = templates
            .iter()
            .enumerate()
            .map(|(turn, template)| {
                let vars = TemplateVars {
                    prompt: &prompt.text,
                    prompt_id: &prompt.id,
                    category: prompt.category.as_deref().unwrap_or(""),
                    metadata: &prompt.metadata,
                    turn,
                };
                render_template(template, &vars)
                    .map(|text| text.trim().to_string())
                    .map_err(|e| {
                        format!(
                            "scaffold '{}', turn {turn}, prompt '{}': {e}",
                            scaffold.id, prompt.id
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Protocol {
            system: scaffold.system.as_ref().map(|s| s.trim().to_string()),
            scripted,
            persona: scaffold.user_sim.as_ref().map(|u| u.persona.clone()),
            sim_turns: scaffold.user_sim.as_ref().map_or(0, |u| u.turns as usize),
        })
    }

    /// The conversation before the first step: the system prompt, if any.
    pub fn start(&self) -> Vec<TranscriptMessage> {
        self.system
            .iter()
            .map(|s| TranscriptMessage::new(Role::System, s.clone()))
            .collect()
    }

    /// What comes next after `conversation`.
    pub fn next(
        &self,
        conversation: &[TranscriptMessage],
        assistant: &ModelSpec,
        user_model: Option<&ModelSpec>,
        seed: u64,
    ) -> Step {
        let turns: Vec<&TranscriptMessage> = conversation
            .iter()
            .filter(|m| m.role != Role::System)
            .collect();
        if turns.last().is_some_and(|m| m.role == Role::User) {
            return Step::Assistant(ChatRequest {
                system: self.system.clone(),
                messages: turns
                    .iter()
                    .map(|m| Message {
                        role: m.role,
                        content: m.content.clone(),
                    })
                    .collect(),
                temperature: assistant.temperature,
                max_tokens: assistant.max_tokens,
                seed: Some(seed),
            });
        }
        let user_turns = turns.iter().filter(|m| m.role == Role::User).count();
        if user_turns < self.scripted.len() {
            return Step::UserTurn(self.scripted[user_turns].clone());
        }
        if user_turns < self.scripted.len() + self.sim_turns
            && let (Some(persona), Some(user_model)) = (&self.persona, user_model)
        {
            return Step::SimulatedUser(self.user_sim_request(&turns, persona, user_model, seed));
        }
        Step::Done
    }

    /// The conversation seen from the user's side: the user model plays the assistant role, so
    /// the roles are flipped, after an opening turn that sets the scene.
    fn user_sim_request(
        &self,
        turns: &[&TranscriptMessage],
        persona: &str,
        user_model: &ModelSpec,
        seed: u64,
    ) -> ChatRequest {
        let mut messages = vec![Message {
            role: Role::User,
            content: USER_SIM_OPENING.to_string(),
        }];
        messages.extend(turns.iter().map(|m| Message {
            role: if m.role == Role::User {
                Role::Assistant
            } else {
                Role::User
            },
            content: m.content.clone(),
        }));
        ChatRequest {
            system: Some(format!(
                "{USER_SIM_PREAMBLE}\nPersona: {persona}\nWrite only the user's next message, in the \
                 user's voice, reacting to the assistant's last reply. Do not write the assistant's part."
            )),
            messages,
            temperature: user_model.temperature,
            max_tokens: user_model.max_tokens,
            seed: Some(seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::{UserSim, defaults};

    fn study() -> crate::study::Study {
        defaults::study().unwrap()
    }

    /// Runs a protocol to completion with canned replies, returning the roles in order and the
    /// number of model calls of each kind.
    fn drive(scaffold: &Scaffold, prompt: &PromptItem) -> (Vec<Role>, usize, usize) {
        let study = study();
        let model = &study.models[0];
        let protocol = Protocol::new(scaffold, prompt).unwrap();
        let mut conversation = protocol.start();
        let (mut assistant_calls, mut user_calls) = (0, 0);
        loop {
            match protocol.next(&conversation, model, Some(model), 7) {
                Step::UserTurn(text) => conversation.push(TranscriptMessage::new(Role::User, text)),
                Step::Assistant(request) => {
                    assert_eq!(request.messages.last().unwrap().role, Role::User);
                    assert_eq!(request.system, protocol.system);
                    assistant_calls += 1;
                    conversation.push(TranscriptMessage::new(Role::Assistant, "reply"));
                }
                Step::SimulatedUser(request) => {
                    assert!(request.system.unwrap().starts_with(USER_SIM_PREAMBLE));
                    assert_eq!(request.messages[0].role, Role::User);
                    assert_eq!(request.messages.last().unwrap().role, Role::User, "flipped");
                    user_calls += 1;
                    conversation.push(TranscriptMessage::new(Role::User, "simulated"));
                }
                Step::Done => break,
            }
        }
        (
            conversation.iter().map(|m| m.role).collect(),
            assistant_calls,
            user_calls,
        )
    }

    use Role::{Assistant as A, System as S, User as U};

    #[test]
    fn baseline_is_one_exchange_without_system_prompt() {
        let study = study();
        let (roles, a, u) = drive(study.scaffold("baseline").unwrap(), &study.prompts[0]);
        assert_eq!((roles, a, u), (vec![U, A], 1, 0));
    }

    #[test]
    fn steering_scaffold_adds_its_follow_up() {
        let study = study();
        let (roles, a, _) = drive(study.scaffold("steerability").unwrap(), &study.prompts[0]);
        assert_eq!((roles, a), (vec![S, U, A, U, A], 2));
    }

    #[test]
    fn prompt_follow_ups_come_after_the_scaffolds_and_then_the_simulated_user() {
        let study = study();
        let mut scaffold = study.scaffold("steerability").unwrap().clone();
        scaffold.user_sim = Some(UserSim {
            model: "sim-beta".into(),
            persona: "a retiree".into(),
            turns: 2,
        });
        let mut prompt = study.prompts[0].clone();
        prompt.follow_ups = vec!["And for {{ category }}?".into()];
        let protocol = Protocol::new(&scaffold, &prompt).unwrap();
        assert_eq!(protocol.scripted.len(), 3);
        assert_eq!(protocol.scripted[2], "And for health?");
        let (roles, a, u) = drive(&scaffold, &prompt);
        assert_eq!((roles, a, u), (vec![S, U, A, U, A, U, A, U, A, U, A], 5, 2));

        scaffold.prompt_follow_ups = false;
        let (roles, _, _) = drive(&scaffold, &prompt);
        assert_eq!(roles.len(), 9);
    }

    #[test]
    fn the_first_turn_is_the_rendered_template() {
        let study = study();
        let mut scaffold = study.scaffold("baseline").unwrap().clone();
        scaffold.first_turn = "Context: {{ category }}.\n\n{{ prompt }}\n".into();
        let prompt = &study.prompts[0];
        let protocol = Protocol::new(&scaffold, prompt).unwrap();
        match protocol.next(&protocol.start(), &study.models[0], None, 3) {
            Step::UserTurn(text) => {
                assert_eq!(text, format!("Context: health.\n\n{}", prompt.text.trim()))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_carry_sampling_settings_and_seed() {
        let study = study();
        let scaffold = study.scaffold("verification").unwrap();
        let protocol = Protocol::new(scaffold, &study.prompts[0]).unwrap();
        let mut conversation = protocol.start();
        conversation.push(TranscriptMessage::new(Role::User, "q"));
        let Step::Assistant(request) = protocol.next(&conversation, &study.models[1], None, 11)
        else {
            panic!("expected an assistant step");
        };
        assert_eq!(request.seed, Some(11));
        assert_eq!(request.temperature, study.models[1].temperature);
        assert_eq!(request.max_tokens, Some(900));
        assert!(request.system.unwrap().contains("verify"));
    }
}
