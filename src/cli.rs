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
    /// Generate every cell of the plan into STUDY/runs/NAME/ (resumes where it stopped).
    Run(RunArgs),
    /// Summarise an existing run per model x scaffold.
    Status(StatusArgs),
    /// Blind a run's transcripts into rating packets and a sealed key (RUN/blind/ROUND/).
    Blind(BlindArgs),
    /// The built-in simulated models.
    #[command(subcommand)]
    Sim(SimCommand),
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

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The study folder (holding study.toml).
    #[arg(default_value = ".")]
    pub study: PathBuf,
    /// Name of the run folder under STUDY/runs/ (default: derived from the study's name).
    #[arg(long = "run", value_name = "NAME")]
    pub run_name: Option<String>,
    /// Requests in flight over all models.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Also retry cells whose last attempt failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Show what would run and what it would cost, without sending anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop dispatching new cells once the run's recorded cost plus what is in flight would exceed
    /// this many USD (needs prices on every model involved).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Seconds that cells in flight get to finish after Ctrl-C.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub grace: f64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A run folder (STUDY/runs/NAME).
    pub run_dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated models over HTTP (OpenAI- and Anthropic-compatible).
    Serve(SimServeArgs),
}

#[derive(Debug, Args)]
pub struct SimServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Mean added latency per request, in milliseconds (with ±20% seeded jitter).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Injected failures by HTTP status and probability, e.g. 429=0.1,500=0.05 (a 429 carries
    /// Retry-After).
    #[arg(long, value_name = "STATUS=P,...")]
    pub fail_rate: Option<String>,
    /// Seed of the latency jitter and fault draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct BlindArgs {
    /// A run folder (STUDY/runs/NAME).
    pub run_dir: PathBuf,
    /// Name of the round (default: round-N, the next free number).
    #[arg(long)]
    pub round: Option<String>,
    /// Raters, comma-separated (default: the study's [blinding] raters).
    #[arg(long, value_delimiter = ',')]
    pub raters: Option<Vec<String>>,
    /// Raters per transcript (default: the study's [blinding] per_item; 2 = dual coding).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_item: Option<u32>,
    /// Seed of every random choice of the round (default: drawn from the OS, recorded in the key).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Extra terms to redact, comma-separated (beyond the study's [blinding] redact list).
    #[arg(long, value_delimiter = ',')]
    pub redact: Vec<String>,
    /// Write the packets even if the leak gate finds identifying strings in them.
    #[arg(long)]
    pub allow_leaks: bool,
    /// Blind even though some planned cells have no ok transcript.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Include transcripts that earlier rounds already covered.
    #[arg(long)]
    pub all: bool,
}
