//! The built-in simulated models: offline stand-ins for real models, served over loopback HTTP.
//!
//! `model` writes their texts (pure, deterministic in model, request and seed); `server` serves
//! them with the OpenAI, Anthropic and Gemini wire formats, and `batch` behind the three
//! providers' batch APIs. They exist so that the whole pipeline runs
//! with no keys and no network, and so that every test goes through the real HTTP path.

pub mod batch;
mod briefs;
pub mod model;
pub mod server;

/// The simulated models a study can name with `provider = "sim"`.
pub const MODEL_NAMES: &[&str] = &["sim-alpha", "sim-beta", "sim-gamma"];
