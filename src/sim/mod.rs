//! The built-in simulated models (placeholder until the simulator lands).

pub const MODEL_NAMES: &[&str] = &["sim-alpha", "sim-beta", "sim-gamma"];
