//! Turn templates: the first user turn and scripted follow-ups of a scaffold.
//!
//! Templates use minijinja (Jinja2 syntax) with a small, documented set of variables, so that a
//! typo such as `{{ promt }}` is caught by `validate` instead of silently rendering as empty text
//! in 180 transcripts.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The variables a turn template may use (documented in docs/study-format.md).
pub const TEMPLATE_VARIABLES: &[&str] = &["prompt", "prompt_id", "category", "metadata", "turn"];

#[derive(Debug, Clone, Serialize)]
pub struct TemplateVars<'a> {
    pub prompt: &'a str,
    pub prompt_id: &'a str,
    pub category: &'a str,
    pub metadata: &'a BTreeMap<String, toml::Value>,
    /// 0 for the first turn, then 1, 2, ... for each follow-up.
    pub turn: usize,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Strict: a missing variable is an error at render time too, never empty text.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env
}

/// Checks a template's syntax and that it only uses known variables.
/// Returns a message for the user, or `None` when the template is fine.
pub fn check_template(source: &str) -> Option<String> {
    let env = environment();
    let template = match env.template_from_str(source) {
        Ok(t) => t,
        Err(e) => {
            return Some(format!(
                "template syntax error: {}",
                e.detail().unwrap_or("invalid template")
            ));
        }
    };
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !TEMPLATE_VARIABLES.contains(&v.as_str()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort();
    Some(format!(
        "template uses unknown variable{} {} (known: {})",
        if unknown.len() == 1 { "" } else { "s" },
        unknown
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", "),
        TEMPLATE_VARIABLES.join(", ")
    ))
}

/// The metadata fields a template reads (`metadata.stakes`, `metadata["stakes"]`), for telling
/// which prompts lack them before any cell is run.
pub fn metadata_fields(source: &str) -> Vec<String> {
    static FIELD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"\bmetadata\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])"#,
        )
        .expect("valid regex")
    });
    let mut fields: Vec<String> = FIELD
        .captures_iter(source)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

/// Renders a template that `check_template` accepted.
pub fn render_template(source: &str, vars: &TemplateVars<'_>) -> Result<String, String> {
    let env = environment();
    env.render_str(source, Serde(vars))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(metadata: &BTreeMap<String, toml::Value>) -> TemplateVars<'_> {
        TemplateVars {
            prompt: "Is this mole dangerous?",
            prompt_id: "health-mole",
            category: "health",
            metadata,
            turn: 0,
        }
    }

    #[test]
    fn known_variables_pass_and_render() {
        let source = "{{ prompt }} ({{ category }}, {{ prompt_id }}, turn {{ turn }})";
        assert_eq!(check_template(source), None);
        let metadata = BTreeMap::new();
        assert_eq!(
            render_template(source, &vars(&metadata)).unwrap(),
            "Is this mole dangerous? (health, health-mole, turn 0)"
        );
    }

    #[test]
    fn unknown_variables_are_named() {
        let message = check_template("{{ promt }} and {{ user }}").unwrap();
        assert!(message.contains("'promt', 'user'"), "{message}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(check_template("{{ prompt ").unwrap().contains("syntax"));
    }

    #[test]
    fn metadata_fields_read_by_a_template_are_listed() {
        assert_eq!(
            metadata_fields(
                "{{ metadata.stakes }} {% if metadata['country'] %}x{% endif %} {{ metadata.stakes }}"
            ),
            ["country", "stakes"]
        );
        assert!(metadata_fields("{{ prompt }}").is_empty());
    }

    #[test]
    fn metadata_fields_are_reachable() {
        let mut metadata = BTreeMap::new();
        metadata.insert("country".to_string(), toml::Value::String("Kenya".into()));
        let out = render_template("in {{ metadata.country }}", &vars(&metadata)).unwrap();
        assert_eq!(out, "in Kenya");
    }
}
