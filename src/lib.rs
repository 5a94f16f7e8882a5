//! blindfold: blinded transcript stress tests of LLM alignment.
//!
//! The modules follow the data flow (see docs/ARCHITECTURE.md):
//! study -> plan -> provider -> run -> store -> blind -> rate -> analyze -> report.
//! `cli` declares the command line and `commands` is the edge that does I/O and wires stages.

pub mod analyze;
pub mod blind;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod hash;
pub mod plan;
pub mod provider;
pub mod rate;
pub mod report;
pub mod run;
pub mod sim;
pub mod store;
pub mod study;
