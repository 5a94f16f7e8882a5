//! The command line, declared once with clap derive. Nothing outside `commands` sees these types:
//! each command resolves its arguments (and the study's defaults) into plain settings first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "blindfold",
    version,
    about = "Blinded transcript stress tests of LLM alignment",
    long_about = "Blinded transcript stress tests of LLM alignment.\n\n\
        Cross models x scaffolds x prompts, generate transcripts over HTTP model APIs, blind them \
        into rating packets with a sealed key, and un-blind the ratings into agreement statistics \
        and per-model scaffold-efficacy tables.",
    propagate_version = true
)]
pub struct Cli {
    /// More logging (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new study (the default 3 x 4 x 15 stress test) into DIR.
    Init(InitArgs),
    /// Check a study's files and report every problem with its file and line.
    Validate(StudyArgs),
    /// Expand the study into cells and estimate requests, tokens and cost.
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the study in (created if missing; existing files are never overwritten).
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// The study folder (holding study.toml).
    #[arg(default_value = ".")]
    pub study: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The study folder (holding study.toml).
    #[arg(default_value = ".")]
    pub study: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// List every cell (text format) or include them (JSON).
    #[arg(long)]
    pub cells: bool,
}
