//! Text of the study files -> a validated [`Study`], with every problem found reported at once.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::diagnostics::line_col;
use super::raw::{self, S};
use super::template::{TemplateVars, check_template, metadata_fields, render_template};
use super::{
    AdjudicateOn, AdjudicationRule, Analysis, BatchSettings, Blinding, Diagnostic, Dimension,
    Family, FingerprintSwitches, Level, ModelSpec, PromptItem, Rubric, Scaffold, Scale,
    Specifications, Study, StudyError, UserSim, default_audit_permutations,
    default_identifiability_margin,
};
use crate::provider::ProviderKind;
use crate::ranges::{self, Setting, excerpt};

/// One file of a study: where it sits in the study folder, how to name it to the user, its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative to the study folder, e.g. `scaffolds/verification.toml`.
    pub path: PathBuf,
    /// How error messages name the file.
    pub display: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let path = path.into();
        SourceFile {
            display: path.clone(),
            path,
            text: text.into(),
        }
    }

    fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn in_folder(&self, folder: &str) -> bool {
        self.path.parent() == Some(Path::new(folder))
            && self.path.extension().is_some_and(|e| e == "toml")
    }
}

/// Default rubric file name when `[study] rubric` is absent.
pub const DEFAULT_RUBRIC: &str = "rubric.toml";

/// Finds the rubric path named in study.toml without validating anything else, so the loader
/// knows which file to read.
pub fn rubric_path(study_toml: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(study_toml).ok()?;
    let named = value
        .get("study")
        .and_then(|s| s.get("rubric"))
        .and_then(|r| r.as_str());
    Some(named.unwrap_or(DEFAULT_RUBRIC).to_string())
}

struct Checker<'a> {
    diagnostics: Vec<Diagnostic>,
    file: &'a SourceFile,
}

impl<'a> Checker<'a> {
    fn with_file<'b>(&mut self, file: &'b SourceFile) -> Checker<'b> {
        Checker {
            diagnostics: std::mem::take(&mut self.diagnostics),
            file,
        }
    }

    fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let at = span.map(|s| line_col(&self.file.text, s.start));
        self.diagnostics
            .push(Diagnostic::new(&self.file.display, message).at(at));
    }

    fn error_at<T>(&mut self, spanned: &S<T>, message: impl Into<String>) {
        self.error(Some(spanned.span()), message);
    }

    fn parse_toml<T: DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str::<T>(&self.file.text) {
            Ok(value) => Some(value),
            Err(e) => {
                let detail = e.message().trim_end();
                // toml's own messages say what is wrong but not always which key.
                let key = e
                    .span()
                    .and_then(|s| self.file.text.get(s))
                    .map(|k| {
                        k.trim()
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .trim()
                    })
                    .filter(|k| !k.is_empty() && k.len() <= 60 && !k.contains('\n'));
                let message = if detail.starts_with("unknown field") {
                    detail.to_string()
                } else if detail.starts_with("duplicate key") {
                    match key {
                        Some(k) => format!("duplicate key `{k}`"),
                        None => detail.to_string(),
                    }
                } else {
                    format!("invalid TOML: {detail}")
                };
                self.error(e.span(), message);
                if detail.starts_with("unknown field") {
                    self.more_unknown_fields::<T>(e.span());
                }
                None
            }
        }
    }

    /// Every other unknown key or table, not only the first that serde stops at: the offending
    /// key (a table header with its body) is commented out and the file parsed again, keeping
    /// line numbers, for as long as the next problem is another unknown field.
    fn more_unknown_fields<T: DeserializeOwned>(&mut self, mut span: Option<Range<usize>>) {
        let mut lines: Vec<String> = self.file.text.split('\n').map(str::to_string).collect();
        let mut commented = vec![false; lines.len()];
        for _ in 0..50 {
            let Some(start) = span.as_ref().map(|s| s.start) else {
                return;
            };
            let line = self.file.text[..start.min(self.file.text.len())]
                .matches('\n')
                .count()
                .min(lines.len() - 1);
            let end = if lines[line].trim_start().starts_with('[') {
                (line + 1..lines.len())
                    .find(|&i| lines[i].trim_start().starts_with('['))
                    .unwrap_or(lines.len())
            } else {
                line + 1
            };
            for i in line..end {
                if !commented[i] {
                    lines[i].insert(0, '#');
                    commented[i] = true;
                }
            }
            let edited = lines.join("\n");
            match toml::from_str::<T>(&edited) {
                Err(e) if e.message().starts_with("unknown field") => {
                    // Back to offsets in the file as written: one '#' per line commented above.
                    span = e.span().map(|s| {
                        let at = edited[..s.start.min(edited.len())].matches('\n').count();
                        let shift = commented[..at].iter().filter(|&&c| c).count();
                        s.start - shift..s.end - shift
                    });
                    self.error(span.clone(), e.message().trim_end().to_string());
                }
                _ => return,
            }
        }
    }

    /// A whole number in its documented range (`ranges`); `None`, with the problem recorded, when
    /// it is outside. `owner` prefixes the message ("model 'x': ").
    fn int<T: TryFrom<i128>>(
        &mut self,
        value: &S<i64>,
        setting: &Setting,
        owner: &str,
    ) -> Option<T> {
        match setting.check_int(i128::from(*value.get_ref())) {
            Ok(v) => T::try_from(v).ok(),
            Err(problem) => {
                self.error_at(value, format!("{owner}{} {problem}", setting.key));
                None
            }
        }
    }

    /// A finite number in its documented range; see [`Checker::int`].
    fn float(&mut self, value: &S<f64>, setting: &Setting, owner: &str) -> Option<f64> {
        match setting.check_float(*value.get_ref()) {
            Ok(v) => Some(v),
            Err(problem) => {
                self.error_at(value, format!("{owner}{} {problem}", setting.key));
                None
            }
        }
    }

    fn id(&mut self, id: &S<String>, what: &str) {
        if let Some(problem) = id_problem(id.get_ref()) {
            self.error_at(id, format!("{what} id {problem}"));
        }
    }
}

/// Ids become file names, CSV columns and HTML attributes: short and plain.
const MAX_ID_LEN: usize = 128;

/// What is wrong with an id, if anything, naming it without echoing all of a long one.
pub(crate) fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        Some("must not be empty".into())
    } else if id.chars().count() > MAX_ID_LEN {
        Some(format!(
            "'{}' is too long: ids have at most {MAX_ID_LEN} characters",
            excerpt(id, 40)
        ))
    } else if !is_valid_id(id) {
        Some(format!(
            "'{}' may only contain letters, digits, '-', '_' and '.'",
            excerpt(id, 40)
        ))
    } else {
        None
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses and checks every file of a study. `files` must contain `study.toml`.
pub fn parse(files: &[SourceFile]) -> Result<Study, StudyError> {
    let Some(study_file) = files.iter().find(|f| f.path == Path::new("study.toml")) else {
        return Err(StudyError::Invalid(vec![Diagnostic::new(
            "study.toml",
            "missing study.toml",
        )]));
    };
    let mut ck = Checker {
        diagnostics: Vec::new(),
        file: study_file,
    };
    let Some(raw_study) = ck.parse_toml::<raw::StudyFile>() else {
        return Err(StudyError::Invalid(ck.diagnostics));
    };

    let table = &raw_study.study;
    let name = table.name.get_ref().trim().to_string();
    if name.is_empty() {
        ck.error_at(&table.name, "the study needs a name");
    }
    let seed = ck.int(&table.seed, &ranges::STUDY_SEED, "").unwrap_or(0);
    let repeats = table
        .repeats
        .as_ref()
        .map_or(Some(1), |r| ck.int(r, &ranges::REPEATS, ""))
        .unwrap_or(1);

    let models = check_models(&mut ck, &raw_study.model);
    let crossed_models = check_crossed_models(&mut ck, table, &models);

    // Scaffolds.
    let scaffold_files: Vec<&SourceFile> =
        files.iter().filter(|f| f.in_folder("scaffolds")).collect();
    let mut parsed_scaffolds = BTreeMap::new();
    for file in &scaffold_files {
        let mut fck = ck.with_file(file);
        if let Some(scaffold) = check_scaffold(&mut fck, &models) {
            parsed_scaffolds.insert(scaffold.id.clone(), scaffold);
        }
        ck.diagnostics = fck.diagnostics;
    }
    let scaffold_order = select(
        &mut ck,
        table.scaffolds.as_deref(),
        &scaffold_files.iter().map(|f| f.stem()).collect::<Vec<_>>(),
        "scaffold",
        "scaffolds/",
    );
    let scaffolds: Vec<Scaffold> = scaffold_order
        .iter()
        .filter_map(|id| parsed_scaffolds.get(id).cloned())
        .collect();

    // Prompts.
    let prompt_files: Vec<&SourceFile> = files.iter().filter(|f| f.in_folder("prompts")).collect();
    let set_order = select(
        &mut ck,
        table.prompts.as_deref(),
        &prompt_files.iter().map(|f| f.stem()).collect::<Vec<_>>(),
        "prompt set",
        "prompts/",
    );
    let mut prompts: Vec<PromptItem> = Vec::new();
    let mut prompt_ids: BTreeMap<String, String> = BTreeMap::new();
    for file in &prompt_files {
        let mut fck = ck.with_file(file);
        // Ids must be unique across the crossed sets; a set left out is checked on its own.
        let selected = set_order.contains(&file.stem());
        let mut own_ids = BTreeMap::new();
        let seen = if selected {
            &mut prompt_ids
        } else {
            &mut own_ids
        };
        let items = check_prompt_file(&mut fck, seen);
        ck.diagnostics = fck.diagnostics;
        if selected {
            prompts.extend(items);
        }
    }
    // Keep the study's order of sets.
    prompts.sort_by_key(|p| set_order.iter().position(|s| *s == p.set));
    for scaffold in &scaffolds {
        if let Some(file) = scaffold_files.iter().find(|f| f.stem() == scaffold.id) {
            let mut fck = ck.with_file(file);
            check_templates_render(&mut fck, scaffold, &prompts);
            ck.diagnostics = fck.diagnostics;
        }
    }

    // Rubric.
    let rubric_name = table
        .rubric
        .as_ref()
        .map(|r| r.get_ref().clone())
        .unwrap_or_else(|| DEFAULT_RUBRIC.to_string());
    let rubric = match files.iter().find(|f| f.path == Path::new(&rubric_name)) {
        Some(file) => {
            let mut fck = ck.with_file(file);
            let rubric = check_rubric(&mut fck);
            ck.diagnostics = fck.diagnostics;
            rubric
        }
        None => {
            let span = table.rubric.as_ref().map(|r| r.span());
            ck.error(span, format!("rubric file '{rubric_name}' not found"));
            None
        }
    };

    let blinding = check_blinding(&mut ck, raw_study.blinding.as_ref());
    let analysis = check_analysis(
        &mut ck,
        raw_study.analysis.as_ref(),
        seed,
        rubric.as_ref(),
        &scaffolds,
        &crossed_models,
    );

    if !ck.diagnostics.is_empty() {
        return Err(StudyError::Invalid(ck.diagnostics));
    }
    Ok(Study {
        name,
        description: table.description.clone(),
        seed,
        repeats,
        models,
        crossed_models,
        scaffolds,
        prompts,
        rubric: rubric.expect("a missing rubric is a diagnostic"),
        blinding,
        analysis,
    })
}

/// Resolves an explicit list of names (or, when absent, everything available, sorted).
fn select(
    ck: &mut Checker<'_>,
    listed: Option<&[S<String>]>,
    available: &[String],
    what: &str,
    folder: &str,
) -> Vec<String> {
    let Some(listed) = listed else {
        let mut all = available.to_vec();
        all.sort();
        if all.is_empty() {
            ck.error(None, format!("no {what} files found in {folder}"));
        }
        return all;
    };
    if listed.is_empty() {
        ck.error(None, format!("the study lists no {what}s"));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in listed {
        let n = name.get_ref();
        if !seen.insert(n.clone()) {
            ck.error_at(name, format!("{what} '{n}' is listed twice"));
        } else if !available.contains(n) {
            ck.error_at(
                name,
                format!("unknown {what} '{n}': there is no {folder}{n}.toml"),
            );
        } else {
            out.push(n.clone());
        }
    }
    out
}

fn check_models(ck: &mut Checker<'_>, raw_models: &[raw::Model]) -> Vec<ModelSpec> {
    if raw_models.is_empty() {
        ck.error(None, "the study defines no [[model]]");
    }
    let mut seen = BTreeSet::new();
    let mut models = Vec::new();
    for m in raw_models {
        let id = m.id.get_ref().clone();
        ck.id(&m.id, "model");
        if !seen.insert(id.clone()) {
            ck.error_at(&m.id, format!("duplicate model id '{id}'"));
        }
        let provider = match m.provider.get_ref().parse::<ProviderKind>() {
            Ok(p) => p,
            Err(_) => {
                ck.error_at(
                    &m.provider,
                    format!(
                        "model '{id}': unknown provider '{}' (expected openai, anthropic, gemini or sim; \
                         OpenAI-compatible servers such as vLLM or Ollama use openai with a base_url)",
                        m.provider.get_ref()
                    ),
                );
                ProviderKind::Sim
            }
        };
        if provider == ProviderKind::Sim
            && !crate::sim::MODEL_NAMES.contains(&m.model.get_ref().as_str())
        {
            ck.error_at(
                &m.model,
                format!(
                    "model '{id}': unknown simulated model '{}' (expected one of {})",
                    m.model.get_ref(),
                    crate::sim::MODEL_NAMES.join(", ")
                ),
            );
        }
        if m.model.get_ref().trim().is_empty() {
            ck.error_at(&m.model, format!("model '{id}': `model` must not be empty"));
        }
        if let Some(url) = &m.base_url
            && let Some(problem) = base_url_problem(url.get_ref())
        {
            ck.error_at(url, format!("model '{id}': base_url {problem}"));
        }
        if let Some(env) = &m.api_key_env {
            check_api_key_env(ck, &id, env);
        }
        let owner = format!("model '{id}': ");
        let temperature = m
            .temperature
            .as_ref()
            .and_then(|t| ck.float(t, &ranges::TEMPERATURE, &owner));
        let int = |ck: &mut Checker<'_>, v: &Option<S<i64>>, setting: &Setting| -> Option<u32> {
            v.as_ref().and_then(|v| ck.int(v, setting, &owner))
        };
        let max_tokens = int(ck, &m.max_tokens, &ranges::MAX_TOKENS);
        let default_concurrency = if provider == ProviderKind::Sim { 16 } else { 4 };
        let max_concurrency =
            int(ck, &m.max_concurrency, &ranges::MAX_CONCURRENCY).unwrap_or(default_concurrency);
        let rpm = int(ck, &m.rpm, &ranges::RPM);
        let tpm = int(ck, &m.tpm, &ranges::TPM);
        let max_attempts = int(ck, &m.max_attempts, &ranges::MAX_ATTEMPTS).unwrap_or(5);
        let seed = m
            .seed
            .as_ref()
            .and_then(|s| ck.int(s, &ranges::MODEL_SEED, &owner));
        let timeout_s = m
            .timeout_s
            .as_ref()
            .and_then(|t| ck.float(t, &ranges::TIMEOUT_S, &owner))
            .unwrap_or(120.0);
        let backoff_ms = m
            .backoff_ms
            .as_ref()
            .and_then(|b| ck.int(b, &ranges::BACKOFF_MS, &owner))
            .unwrap_or(1000);
        let backoff_max_ms = m
            .backoff_max_ms
            .as_ref()
            .and_then(|b| ck.int(b, &ranges::BACKOFF_MAX_MS, &owner))
            .unwrap_or(60_000);
        let price_input_per_mtok = m
            .price_input_per_mtok
            .as_ref()
            .and_then(|p| ck.float(p, &ranges::PRICE_INPUT, &owner));
        let price_output_per_mtok = m
            .price_output_per_mtok
            .as_ref()
            .and_then(|p| ck.float(p, &ranges::PRICE_OUTPUT, &owner));
        let batch = batch_settings(ck, provider, m, &owner);
        let mut extra = match m.extra.as_ref().map(serde_json::to_value) {
            Some(Ok(serde_json::Value::Object(map))) => map,
            Some(_) => {
                ck.error_at(&m.id, format!("model '{id}': `extra` must be a table"));
                serde_json::Map::new()
            }
            None => serde_json::Map::new(),
        };
        // TOML has no null, so fields to drop from the request body are listed in `omit`
        // (dotted paths reach into objects) and become nulls of the merge patch.
        for path in m.omit.iter().flatten() {
            let parts: Vec<&str> = path.get_ref().split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                ck.error_at(
                    path,
                    format!(
                        "model '{id}': omit entry '{}' is not a field path",
                        path.get_ref()
                    ),
                );
                continue;
            }
            insert_null(&mut extra, &parts);
        }
        models.push(ModelSpec {
            id,
            provider,
            model: m.model.get_ref().clone(),
            base_url: m.base_url.as_ref().map(|u| u.get_ref().clone()),
            api_key_env: m.api_key_env.as_ref().map(|e| e.get_ref().clone()),
            temperature,
            max_tokens,
            seed,
            max_concurrency,
            rpm,
            tpm,
            timeout_s,
            max_attempts,
            backoff_ms,
            backoff_max_ms,
            price_input_per_mtok,
            price_output_per_mtok,
            extra,
            batch,
        });
    }
    models
}

/// What is wrong with a base URL, if anything. The URL itself is never echoed: it may hold a
/// password.
fn base_url_problem(text: &str) -> Option<String> {
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        return Some("must start with http:// or https://".into());
    }
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(e) => return Some(format!("is not a valid URL ({e})")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        Some(
            "must not contain credentials (user:password@host): they would be copied into \
             manifest.json and the logs; put the key in the environment variable that \
             api_key_env names"
                .into(),
        )
    } else if url.query().is_some() {
        Some(
            "must not contain a query string ('?...'): request paths are appended to base_url, \
             so they would land after the query; a key in it would be copied into manifest.json"
                .into(),
        )
    } else if url.fragment().is_some() {
        Some("must not contain a fragment ('#...')".into())
    } else {
        None
    }
}

/// The `batch*` and `price_batch_*` keys of one model.
fn batch_settings(
    ck: &mut Checker<'_>,
    provider: ProviderKind,
    m: &raw::Model,
    owner: &str,
) -> BatchSettings {
    let defaults = BatchSettings::default();
    let poll_s = m
        .batch_poll_s
        .as_ref()
        .and_then(|v| ck.float(v, &ranges::BATCH_POLL_S, owner))
        .unwrap_or(defaults.poll_s);
    let poll_max_s = m
        .batch_poll_max_s
        .as_ref()
        .and_then(|v| ck.float(v, &ranges::BATCH_POLL_MAX_S, owner));
    if let (Some(v), Some(max)) = (&m.batch_poll_max_s, poll_max_s)
        && max < poll_s
    {
        ck.error_at(
            v,
            format!("{owner}batch_poll_max_s must be at least batch_poll_s ({poll_s})"),
        );
    }
    let poll_max_s = poll_max_s.unwrap_or(defaults.poll_max_s).max(poll_s);
    let limits = crate::provider::batch::limits(provider);
    let max_requests = m.batch_max_requests.as_ref().and_then(|v| {
        let n: u32 = ck.int(v, &ranges::BATCH_MAX_REQUESTS, owner)?;
        if n as usize > limits.max_requests {
            ck.error_at(
                v,
                format!(
                    "{owner}batch_max_requests must be at most {}, the {provider} limit",
                    limits.max_requests
                ),
            );
        }
        Some(n)
    });
    let max_bytes = m.batch_max_bytes.as_ref().and_then(|v| {
        let n: u64 = ck.int(v, &ranges::BATCH_MAX_BYTES, owner)?;
        if n as usize > limits.max_bytes {
            ck.error_at(
                v,
                format!(
                    "{owner}batch_max_bytes must be at most {}, the {provider} limit",
                    limits.max_bytes
                ),
            );
        }
        Some(n)
    });
    let discount = m
        .batch_discount
        .as_ref()
        .and_then(|d| ck.float(d, &ranges::BATCH_DISCOUNT, owner))
        .unwrap_or(defaults.discount);
    BatchSettings {
        enabled: m.batch.unwrap_or(false),
        poll_s,
        poll_max_s,
        max_requests,
        max_bytes,
        price_input_per_mtok: m
            .price_batch_input_per_mtok
            .as_ref()
            .and_then(|p| ck.float(p, &ranges::PRICE_BATCH_INPUT, owner)),
        price_output_per_mtok: m
            .price_batch_output_per_mtok
            .as_ref()
            .and_then(|p| ck.float(p, &ranges::PRICE_BATCH_OUTPUT, owner)),
        discount,
    }
}

/// Sets `parts` (a path into nested objects) to null, creating objects on the way.
fn insert_null(map: &mut serde_json::Map<String, serde_json::Value>, parts: &[&str]) {
    let [first, rest @ ..] = parts else { return };
    if rest.is_empty() {
        map.insert((*first).to_string(), serde_json::Value::Null);
        return;
    }
    let entry = map
        .entry((*first).to_string())
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if !entry.is_object() {
        *entry = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(inner) = entry {
        insert_null(inner, rest);
    }
}

/// `api_key_env` names a variable; a value that looks like a key is a leaked secret.
fn check_api_key_env(ck: &mut Checker<'_>, model: &str, env: &S<String>) {
    let value = env.get_ref();
    if looks_like_secret(value) {
        // Never echo the value: it is probably a live key.
        ck.error_at(
            env,
            format!(
                "model '{model}': api_key_env must be the NAME of an environment variable (such as \
                 OPENAI_API_KEY), but its value looks like an actual API key. Remove it from the file, \
                 put the key in an environment variable, and consider rotating the key"
            ),
        );
    } else if !is_env_var_name(value) {
        ck.error_at(
            env,
            format!(
                "model '{model}': api_key_env '{value}' is not a valid environment variable name \
                 (letters, digits and '_', not starting with a digit)"
            ),
        );
    }
}

fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Heuristic for strings that are keys rather than variable names: known key prefixes, or a
/// long run of mixed-case letters and digits such as no one would name a variable.
pub fn looks_like_secret(value: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk-",
        "sk_",
        "sk-ant-",
        "sk-proj-",
        "AIza",
        "gsk_",
        "xai-",
        "hf_",
        "r8_",
        "pplx-",
        "ghp_",
        "github_pat_",
        "Bearer ",
    ];
    if PREFIXES.iter().any(|p| value.starts_with(p)) {
        return true;
    }
    // Variable names are conventionally upper case with underscores; random key material is not.
    let has_lower = value.chars().any(|c| c.is_ascii_lowercase());
    let has_digit = value.chars().any(|c| c.is_ascii_digit());
    value.len() >= 24 && !value.contains('_') && has_digit && has_lower
}

fn check_crossed_models(
    ck: &mut Checker<'_>,
    table: &raw::StudyTable,
    models: &[ModelSpec],
) -> Vec<String> {
    let Some(listed) = &table.models else {
        return models.iter().map(|m| m.id.clone()).collect();
    };
    if listed.is_empty() {
        ck.error(None, "[study] models lists no models");
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for alias in listed {
        let a = alias.get_ref();
        if !seen.insert(a.clone()) {
            ck.error_at(alias, format!("model '{a}' is listed twice"));
        } else if !models.iter().any(|m| &m.id == a) {
            ck.error_at(
                alias,
                format!("unknown model '{a}': no [[model]] has this id"),
            );
        } else {
            out.push(a.clone());
        }
    }
    out
}

fn check_template_at(ck: &mut Checker<'_>, template: &S<String>, owner: &str) {
    if let Some(problem) = check_template(template.get_ref()) {
        ck.error_at(template, format!("{owner}: {problem}"));
    }
}

/// Every template of a scaffold must render for every crossed prompt: a template that reads a
/// metadata field some prompts lack would otherwise fail those cells only at run time.
fn check_templates_render(ck: &mut Checker<'_>, scaffold: &Scaffold, prompts: &[PromptItem]) {
    let mut templates = vec![("first_turn".to_string(), scaffold.first_turn.as_str())];
    templates.extend(
        scaffold
            .follow_ups
            .iter()
            .enumerate()
            .map(|(i, f)| (format!("follow-up {}", i + 1), f.as_str())),
    );
    for (what, template) in templates {
        // Only templates that passed the syntax check are rendered.
        if check_template(template).is_some() {
            continue;
        }
        let mut failures: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for prompt in prompts {
            let missing: Vec<String> = metadata_fields(template)
                .into_iter()
                .filter(|f| !prompt.metadata.contains_key(f))
                .collect();
            let problem = if !missing.is_empty() {
                format!(
                    "reads metadata.{}, which {{}} do not have",
                    missing.join(", metadata.")
                )
            } else {
                let vars = TemplateVars {
                    prompt: &prompt.text,
                    prompt_id: &prompt.id,
                    category: prompt.category.as_deref().unwrap_or(""),
                    metadata: &prompt.metadata,
                    turn: 0,
                };
                match render_template(template, &vars) {
                    Ok(_) => continue,
                    Err(e) => format!("cannot be rendered for {{}}: {e}"),
                }
            };
            failures.entry(problem).or_default().push(&prompt.id);
        }
        for (problem, ids) in failures {
            let shown: Vec<String> = ids.iter().take(5).map(|id| format!("'{id}'")).collect();
            let more = if ids.len() > 5 {
                format!(" and {} more", ids.len() - 5)
            } else {
                String::new()
            };
            let which = format!(
                "prompt{} {}{more}",
                if ids.len() == 1 { "" } else { "s" },
                shown.join(", ")
            );
            ck.error(
                None,
                format!(
                    "scaffold '{}': {what} {}",
                    scaffold.id,
                    problem.replace("{}", &which).replace(
                        " do not have",
                        if ids.len() == 1 {
                            " does not have"
                        } else {
                            " do not have"
                        }
                    )
                ),
            );
        }
    }
}

fn check_scaffold(ck: &mut Checker<'_>, models: &[ModelSpec]) -> Option<Scaffold> {
    let stem = ck.file.stem();
    let raw: raw::ScaffoldFile = ck.parse_toml()?;
    let id = match &raw.id {
        Some(id) if id.get_ref() != &stem => {
            ck.error_at(
                id,
                format!(
                    "scaffold id '{}' differs from its file name '{stem}.toml'; they must match",
                    id.get_ref()
                ),
            );
            stem
        }
        _ => stem,
    };
    if let Some(problem) = id_problem(&id) {
        ck.error(None, format!("scaffold file name {problem}"));
    }
    let owner = format!("scaffold '{id}'");
    let first_turn = match &raw.first_turn {
        Some(t) => {
            check_template_at(ck, t, &owner);
            if !t.get_ref().contains("prompt") {
                ck.error_at(
                    t,
                    format!("{owner}: first_turn never uses {{{{ prompt }}}}, so every cell would send the same text"),
                );
            }
            t.get_ref().clone()
        }
        None => "{{ prompt }}".to_string(),
    };
    for f in &raw.follow_ups {
        check_template_at(ck, f, &owner);
        if f.get_ref().trim().is_empty() {
            ck.error_at(f, format!("{owner}: a follow-up is empty"));
        }
    }
    let user_sim = raw.user_sim.as_ref().map(|u| {
        let model = u.model.get_ref().clone();
        if !models.iter().any(|m| m.id == model) {
            ck.error_at(
                &u.model,
                format!("{owner}: user_sim.model '{model}' is not a model of the study"),
            );
        }
        if u.persona.get_ref().trim().is_empty() {
            ck.error_at(&u.persona, format!("{owner}: user_sim.persona is empty"));
        }
        let turns = u
            .turns
            .as_ref()
            .map_or(Some(1), |t| {
                ck.int(t, &ranges::USER_SIM_TURNS, &format!("{owner}: user_sim."))
            })
            .unwrap_or(1);
        UserSim {
            model,
            persona: u.persona.get_ref().clone(),
            turns,
        }
    });
    Some(Scaffold {
        id,
        description: raw.description,
        system: raw.system.filter(|s| !s.trim().is_empty()),
        first_turn,
        follow_ups: raw.follow_ups.into_iter().map(|f| f.into_inner()).collect(),
        prompt_follow_ups: raw.prompt_follow_ups.unwrap_or(true),
        user_sim,
    })
}

fn check_prompt_file(ck: &mut Checker<'_>, seen: &mut BTreeMap<String, String>) -> Vec<PromptItem> {
    let set = ck.file.stem();
    let Some(raw): Option<raw::PromptFile> = ck.parse_toml() else {
        return Vec::new();
    };
    if raw.prompt.is_empty() {
        ck.error(
            None,
            format!("prompt set '{set}' is empty: add at least one [[prompt]] with an id and text"),
        );
    }
    let mut items = Vec::new();
    for p in raw.prompt {
        let id = p.id.get_ref().clone();
        ck.id(&p.id, "prompt");
        if let Some(first) = seen.get(&id) {
            ck.error_at(
                &p.id,
                format!("duplicate prompt id '{id}' (also at {first})"),
            );
        } else {
            let (line, _) = line_col(&ck.file.text, p.id.span().start);
            seen.insert(id.clone(), format!("{}:{line}", ck.file.display.display()));
        }
        if p.text.get_ref().trim().is_empty() {
            ck.error_at(&p.text, format!("prompt '{id}': text is empty"));
        }
        for f in &p.follow_ups {
            check_template_at(ck, f, &format!("prompt '{id}' follow-up"));
        }
        items.push(PromptItem {
            id,
            set: set.clone(),
            text: p.text.into_inner(),
            category: p.category,
            follow_ups: p.follow_ups.into_iter().map(|f| f.into_inner()).collect(),
            metadata: p.metadata,
        });
    }
    items
}

fn check_rubric(ck: &mut Checker<'_>) -> Option<Rubric> {
    let raw: raw::RubricFile = ck.parse_toml()?;
    if raw.dimension.is_empty() {
        ck.error(None, "the rubric has no [[dimension]]");
    }
    let mut seen = BTreeSet::new();
    let mut dimensions = Vec::new();
    for d in raw.dimension {
        let id = d.id.get_ref().clone();
        ck.id(&d.id, "dimension");
        // Dimension ids become CSV columns next to these fixed ones.
        if matches!(
            id.as_str(),
            "rater" | "item_id" | "comment" | "identity_guess"
        ) {
            ck.error_at(
                &d.id,
                format!("dimension id '{id}' is reserved for a ratings column"),
            );
        }
        if !seen.insert(id.clone()) {
            ck.error_at(&d.id, format!("duplicate dimension id '{id}'"));
        }
        if d.question.get_ref().trim().is_empty() {
            ck.error_at(
                &d.question,
                format!("dimension '{id}': the question is empty"),
            );
        }
        let scale = match d.scale.get_ref().as_str() {
            "binary" => Scale::Binary,
            "ordinal" => Scale::Ordinal,
            other => {
                ck.error_at(
                    &d.scale,
                    format!(
                        "dimension '{id}': unknown scale '{other}' (expected binary or ordinal)"
                    ),
                );
                Scale::Ordinal
            }
        };
        let mut levels: Vec<Level> = Vec::new();
        let mut values = BTreeSet::new();
        for l in &d.level {
            let value = *l.value.get_ref();
            // Out of range, a level would overflow the scale's width (max - min) later on.
            if ck
                .int::<i64>(
                    &l.value,
                    &ranges::LEVEL_VALUE,
                    &format!("dimension '{id}': level "),
                )
                .is_none()
            {
                continue;
            }
            if !values.insert(value) {
                ck.error_at(
                    &l.value,
                    format!("dimension '{id}': level {value} appears twice"),
                );
            }
            let anchor = match &l.anchor {
                Some(a) if !a.get_ref().trim().is_empty() => a.get_ref().clone(),
                Some(a) => {
                    ck.error_at(
                        a,
                        format!("dimension '{id}': level {value} has empty anchor text"),
                    );
                    String::new()
                }
                None => {
                    ck.error_at(
                        &l.value,
                        format!("dimension '{id}': level {value} has no anchor text (add `anchor = \"...\"`)"),
                    );
                    String::new()
                }
            };
            if l.label.get_ref().trim().is_empty() {
                ck.error_at(
                    &l.label,
                    format!("dimension '{id}': level {value} has an empty label"),
                );
            }
            levels.push(Level {
                value,
                label: l.label.get_ref().clone(),
                anchor,
            });
        }
        levels.sort_by_key(|l| l.value);
        match scale {
            Scale::Binary if levels.len() != 2 => ck.error_at(
                &d.id,
                format!(
                    "dimension '{id}': a binary scale needs exactly 2 levels, found {}",
                    levels.len()
                ),
            ),
            Scale::Ordinal if levels.len() < 2 => ck.error_at(
                &d.id,
                format!(
                    "dimension '{id}': an ordinal scale needs at least 2 levels, found {}",
                    levels.len()
                ),
            ),
            _ => {}
        }
        dimensions.push(Dimension {
            id,
            question: d.question.into_inner(),
            scale,
            required: d.required.unwrap_or(true),
            levels,
        });
    }
    let table = raw.rubric.unwrap_or(raw::RubricTable {
        name: None,
        instructions: None,
    });
    Some(Rubric {
        name: table.name,
        instructions: table.instructions,
        dimensions,
    })
}

fn check_blinding(ck: &mut Checker<'_>, raw: Option<&raw::BlindingTable>) -> Blinding {
    let default_raters = || vec!["r1".to_string(), "r2".to_string(), "r3".to_string()];
    let Some(raw) = raw else {
        return Blinding {
            raters: default_raters(),
            per_item: 2,
            redact: Vec::new(),
            fingerprints: FingerprintSwitches::default(),
            identifiability_margin: default_identifiability_margin(),
            audit_permutations: default_audit_permutations(),
            anchors: 0,
            anchor_share: 0.0,
            adjudication_threshold: super::default_adjudication_threshold(),
            adjudicate_on: AdjudicateOn::default(),
            max_items_per_packet: None,
        };
    };
    let raters: Vec<String> = match &raw.raters {
        Some(list) => {
            let mut seen = BTreeSet::new();
            for r in list.get_ref() {
                if let Some(problem) = crate::rate::import::rater_name_problem(r.get_ref()) {
                    ck.error_at(r, format!("[blinding] raters: {problem}"));
                }
                if !seen.insert(r.get_ref().clone()) {
                    ck.error_at(
                        r,
                        format!("rater '{}' is listed twice", excerpt(r.get_ref(), 40)),
                    );
                }
            }
            if list.get_ref().is_empty() {
                ck.error_at(list, "[blinding] raters is empty");
            }
            list.get_ref().iter().map(|r| r.get_ref().clone()).collect()
        }
        None => default_raters(),
    };
    let per_item = match &raw.per_item {
        Some(p) => {
            let n = ck.int(p, &ranges::PER_ITEM, "[blinding] ").unwrap_or(1);
            if n as usize > raters.len() {
                ck.error_at(
                    p,
                    format!(
                        "[blinding] per_item is {n} but there are only {} raters",
                        raters.len()
                    ),
                );
            }
            n
        }
        None => 2.min(raters.len() as u32).max(1),
    };
    let redact = raw
        .redact
        .iter()
        .flatten()
        .filter_map(|t| {
            if t.get_ref().trim().chars().count() < 2 {
                ck.error_at(t, "[blinding] redact terms must have at least 2 characters");
                None
            } else {
                Some(t.get_ref().clone())
            }
        })
        .collect();
    let defaults = FingerprintSwitches::default();
    let fingerprints = raw
        .fingerprints
        .as_ref()
        .map_or(defaults, |f| FingerprintSwitches {
            knowledge_cutoff: f.knowledge_cutoff.unwrap_or(defaults.knowledge_cutoff),
            boilerplate: f.boilerplate.unwrap_or(defaults.boilerplate),
            template_tokens: f.template_tokens.unwrap_or(defaults.template_tokens),
            instruction_talk: f.instruction_talk.unwrap_or(defaults.instruction_talk),
        });
    let identifiability_margin = raw
        .identifiability_margin
        .as_ref()
        .and_then(|m| ck.float(m, &ranges::IDENTIFIABILITY_MARGIN, "[blinding] "))
        .unwrap_or_else(default_identifiability_margin);
    let audit_permutations = raw
        .audit_permutations
        .as_ref()
        .and_then(|p| ck.int(p, &ranges::AUDIT_PERMUTATIONS, "[blinding] "))
        .unwrap_or_else(default_audit_permutations);
    let anchors = raw
        .anchors
        .as_ref()
        .and_then(|a| ck.int(a, &ranges::ANCHORS, "[blinding] "))
        .unwrap_or(0);
    let anchor_share = raw
        .anchor_share
        .as_ref()
        .and_then(|a| ck.float(a, &ranges::ANCHOR_SHARE, "[blinding] "))
        .unwrap_or(0.0);
    let adjudication_threshold = raw
        .adjudication_threshold
        .as_ref()
        .and_then(|t| ck.int(t, &ranges::ADJUDICATION_THRESHOLD, "[blinding] "))
        .unwrap_or_else(super::default_adjudication_threshold);
    let adjudicate_on = match &raw.adjudicate_on {
        Some(on) => match on.get_ref().as_str() {
            "any" => AdjudicateOn::Any,
            "primary" => AdjudicateOn::Primary,
            other => {
                ck.error_at(
                    on,
                    format!(
                        "[blinding] adjudicate_on: '{}' is not \"any\" or \"primary\"",
                        excerpt(other, 40)
                    ),
                );
                AdjudicateOn::default()
            }
        },
        None => AdjudicateOn::default(),
    };
    let max_items_per_packet = raw
        .max_items_per_packet
        .as_ref()
        .and_then(|m| ck.int(m, &ranges::MAX_ITEMS_PER_PACKET, "[blinding] "));
    Blinding {
        raters,
        per_item,
        redact,
        fingerprints,
        identifiability_margin,
        audit_permutations,
        anchors,
        anchor_share,
        adjudication_threshold,
        adjudicate_on,
        max_items_per_packet,
    }
}

fn check_analysis(
    ck: &mut Checker<'_>,
    raw: Option<&raw::AnalysisTable>,
    study_seed: u64,
    rubric: Option<&Rubric>,
    scaffolds: &[Scaffold],
    crossed_models: &[String],
) -> Analysis {
    let dims: Vec<&Dimension> = rubric
        .map(|r| r.dimensions.iter().collect())
        .unwrap_or_default();
    let default_primary = dims
        .iter()
        .find(|d| d.id == "verification_support")
        .or(dims.first())
        .map(|d| d.id.clone())
        .unwrap_or_default();
    let default_baseline = scaffolds
        .iter()
        .find(|s| s.id == "baseline")
        .or(scaffolds.first())
        .map(|s| s.id.clone())
        .unwrap_or_default();
    // Default margin: an eighth of the scale's range (±0.25 on a 0-2 scale).
    let mut margins: BTreeMap<String, f64> = dims
        .iter()
        .map(|d| (d.id.clone(), (d.max() - d.min()) as f64 / 8.0))
        .collect();
    let mut analysis = Analysis {
        primary: default_primary,
        baseline: default_baseline,
        confidence: 0.95,
        resamples: 2000,
        permutations: 10_000,
        seed: study_seed,
        margins: margins.clone(),
        ceiling_share: 0.9,
        min_prompts: super::default_min_prompts(),
        family: Family::default(),
        scaffold: None,
        contrast: None,
        specifications: Specifications::default(),
        adjudication: AdjudicationRule::default(),
    };
    let Some(raw) = raw else {
        return analysis;
    };
    if let Some(p) = &raw.primary {
        if rubric.is_some() && !dims.iter().any(|d| &d.id == p.get_ref()) {
            ck.error_at(
                p,
                format!("[analysis] primary: unknown dimension '{}'", p.get_ref()),
            );
        }
        analysis.primary = p.get_ref().clone();
    }
    if let Some(b) = &raw.baseline {
        if !scaffolds.iter().any(|s| &s.id == b.get_ref()) {
            ck.error_at(
                b,
                format!("[analysis] baseline: unknown scaffold '{}'", b.get_ref()),
            );
        }
        analysis.baseline = b.get_ref().clone();
    }
    if let Some(c) = &raw.confidence {
        analysis.confidence = ck
            .float(c, &ranges::CONFIDENCE, "[analysis] ")
            .unwrap_or(analysis.confidence);
    }
    if let Some(r) = &raw.resamples {
        analysis.resamples = ck
            .int(r, &ranges::RESAMPLES, "[analysis] ")
            .unwrap_or(analysis.resamples);
    }
    if let Some(p) = &raw.permutations {
        analysis.permutations = ck
            .int(p, &ranges::PERMUTATIONS, "[analysis] ")
            .unwrap_or(analysis.permutations);
    }
    if let Some(s) = &raw.seed {
        analysis.seed = ck
            .int(s, &ranges::ANALYSIS_SEED, "[analysis] ")
            .unwrap_or(analysis.seed);
    }
    if let Some(c) = &raw.ceiling_share {
        analysis.ceiling_share = ck
            .float(c, &ranges::CEILING_SHARE, "[analysis] ")
            .unwrap_or(analysis.ceiling_share);
    }
    for (dim, margin) in raw.margins.iter().flatten() {
        if rubric.is_some() && !dims.iter().any(|d| &d.id == dim.get_ref()) {
            ck.error_at(
                dim,
                format!("[analysis.margins]: unknown dimension '{}'", dim.get_ref()),
            );
        }
        let owner = format!("[analysis.margins] {}: ", excerpt(dim.get_ref(), 60));
        if let Some(m) = ck.float(margin, &ranges::MARGIN, &owner) {
            margins.insert(dim.get_ref().clone(), m);
        }
    }
    analysis.margins = margins;
    if let Some(m) = raw
        .min_prompts
        .as_ref()
        .and_then(|m| ck.int(m, &ranges::MIN_PROMPTS, "[analysis] "))
    {
        analysis.min_prompts = m;
    }
    if let Some(rule) = &raw.adjudication {
        analysis.adjudication = match rule.get_ref().as_str() {
            "adjudicator" => AdjudicationRule::Adjudicator,
            "median" => AdjudicationRule::Median,
            other => {
                ck.error_at(
                    rule,
                    format!(
                        "[analysis] adjudication: '{}' is not \"adjudicator\" or \"median\"",
                        excerpt(other, 40)
                    ),
                );
                AdjudicationRule::default()
            }
        };
    }
    if let Some(f) = &raw.family {
        analysis.family = match f.get_ref().as_str() {
            "dimension" => Family::Dimension,
            "study" => Family::Study,
            other => {
                ck.error_at(
                    f,
                    format!("[analysis] family: '{other}' is not \"dimension\" or \"study\""),
                );
                Family::default()
            }
        };
    }
    if let Some(sc) = &raw.scaffold {
        if !scaffolds.iter().any(|s| &s.id == sc.get_ref()) {
            ck.error_at(
                sc,
                format!("[analysis] scaffold: unknown scaffold '{}'", sc.get_ref()),
            );
        } else if sc.get_ref() == &analysis.baseline {
            ck.error_at(
                sc,
                "[analysis] scaffold: the headline scaffold must not be the baseline",
            );
        }
        analysis.scaffold = Some(sc.get_ref().clone());
    }
    if let Some(c) = &raw.contrast {
        let models: Vec<String> = c.get_ref().iter().map(|m| m.get_ref().clone()).collect();
        if models.len() != 2 || models[0] == models[1] {
            ck.error_at(
                c,
                "[analysis] contrast must name two different models, e.g. [\"gpt\", \"claude\"]",
            );
        }
        for m in c.get_ref() {
            if !crossed_models.contains(m.get_ref()) {
                ck.error_at(
                    m,
                    format!(
                        "[analysis] contrast: '{}' is not one of the study's models",
                        m.get_ref()
                    ),
                );
            }
        }
        analysis.contrast = Some(models);
    }
    if let Some(table) = &raw.specifications {
        let mut choose = |given: &Option<Vec<S<String>>>, options: &[&str], name: &str| {
            let Some(given) = given else {
                return options.iter().map(|o| o.to_string()).collect::<Vec<_>>();
            };
            let mut chosen: Vec<String> = vec![options[0].to_string()];
            for g in given {
                if !options.contains(&g.get_ref().as_str()) {
                    ck.error_at(
                        g,
                        format!(
                            "[analysis.specifications] {name}: '{}' is not one of {}",
                            g.get_ref(),
                            options.join(", ")
                        ),
                    );
                } else if !chosen.contains(g.get_ref()) {
                    chosen.push(g.get_ref().clone());
                }
            }
            // In the listed order, the registered option first.
            options
                .iter()
                .filter(|o| chosen.iter().any(|c| c == *o))
                .map(|o| o.to_string())
                .collect()
        };
        analysis.specifications = Specifications {
            aggregation: choose(
                &table.aggregation,
                &Specifications::AGGREGATION,
                "aggregation",
            ),
            scale: choose(&table.scale, &Specifications::SCALE, "scale"),
            low_agreement: choose(
                &table.low_agreement,
                &Specifications::LOW_AGREEMENT,
                "low_agreement",
            ),
            failed_cells: choose(
                &table.failed_cells,
                &Specifications::FAILED_CELLS,
                "failed_cells",
            ),
        };
    }
    analysis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_and_names_are_not() {
        for secret in [
            "sk-proj-abcdefghijklmnop1234",
            "sk-ant-api03-xyz",
            "AIzaSyD-1234567890abcdefg",
            "a1b2c3d4e5f6g7h8i9j0k1l2m3",
        ] {
            assert!(looks_like_secret(secret), "{secret}");
        }
        for name in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_GATEWAY_TOKEN_2"] {
            assert!(!looks_like_secret(name), "{name}");
            assert!(is_env_var_name(name), "{name}");
        }
        assert!(!is_env_var_name("2FAST"));
        assert!(!is_env_var_name("MY-KEY"));
    }

    #[test]
    fn omit_paths_become_nulls_in_extra() {
        let mut map = serde_json::Map::new();
        map.insert("generationConfig".into(), serde_json::json!({"topK": 3}));
        insert_null(&mut map, &["max_tokens"]);
        insert_null(&mut map, &["generationConfig", "temperature"]);
        assert_eq!(
            serde_json::Value::Object(map),
            serde_json::json!({"max_tokens": null, "generationConfig": {"topK": 3, "temperature": null}})
        );
    }

    #[test]
    fn ids_are_restricted_to_safe_characters() {
        assert!(is_valid_id("verification-steerability"));
        assert!(is_valid_id("gpt-4o.mini_2"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("a/b"));
    }
}
