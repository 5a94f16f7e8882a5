//! The command line, declared once with clap derive. Nothing outside `commands` sees these types:
//! each command resolves its arguments (and the study's defaults) into plain settings first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ranges;

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
    /// List a run's blinding rounds: items, conditions, raters, anchors, adjudication, un-blinded.
    Rounds(RoundsArgs),
    /// Score a packet with a simulated rater (reads the blinded items only).
    Rate(RateArgs),
    /// Rate every item of a round with a model as judge, through the same providers and runner.
    Judge(JudgeArgs),
    /// Check ratings against a round, then join them with its key into ROUND/unblinded.csv.
    Unblind(UnblindArgs),
    /// Serve a round's packets as per-rater links, storing every answer in SQLite.
    Collect(CollectArgs),
    /// Agreement statistics for any long-format coding sheet (unit,coder,value).
    Agree(AgreeArgs),
    /// Analyse every un-blinded round of a run and write RUN/report/.
    Report(ReportArgs),
    /// Write a pre-registration document: the protocol lock and the analysis plan.
    Prereg(PreregArgs),
    /// The whole job offline: run, blind, rate with simulated raters, un-blind and report.
    Demo(DemoArgs),
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
    #[arg(long, default_value_t = 64, value_parser = ranges::RUN_CONCURRENCY.int_parser::<u32>())]
    pub concurrency: u32,
    /// Also retry cells whose last attempt failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Show what would run and what it would cost, without sending anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop dispatching new cells once the run's recorded cost plus what is in flight would exceed
    /// this many USD (needs prices on every model involved).
    #[arg(long, value_name = "USD", value_parser = ranges::MAX_COST.float_parser())]
    pub max_cost: Option<f64>,
    /// Seconds that cells in flight get to finish after Ctrl-C (or SIGTERM, SIGHUP).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = ranges::GRACE.float_parser())]
    pub grace: f64,
    /// Send every model's requests through its provider's batch API: half the price, results
    /// within 24 hours (models with `batch = true` use it without this flag).
    #[arg(long)]
    pub batch: bool,
    /// Cancel the run's batches in flight at the provider, and stop (the next run collects what
    /// they finished and sends the rest again).
    #[arg(long, conflicts_with_all = ["batch", "dry_run", "retry_failed"])]
    pub batch_cancel: bool,
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
    #[arg(long, default_value_t = 0, value_parser = ranges::LATENCY_MS.int_parser::<u64>())]
    pub latency_ms: u64,
    /// Injected failures by HTTP status and probability, e.g. 429=0.1,500=0.05 (a 429 carries
    /// Retry-After).
    #[arg(long, value_name = "STATUS=P,...")]
    pub fail_rate: Option<String>,
    /// Seed of the latency jitter and fault draws.
    #[arg(long, default_value_t = 0, value_parser = ranges::SEED_FLAG.int_parser::<u64>())]
    pub seed: u64,
    /// Milliseconds a submitted batch takes to complete.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub batch_delay_ms: u64,
    /// Probability that a request inside a batch fails (with a retryable server error).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub batch_fail_rate: f64,
    /// The first N batches fail as a whole.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub batch_fail_first: u32,
    /// The first N batches expire with half their requests done.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub batch_expire_first: u32,
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
    #[arg(long, value_parser = ranges::BLIND_PER_ITEM.int_parser::<u32>())]
    pub per_item: Option<u32>,
    /// Seed of every random choice of the round (default: drawn from the OS, recorded in the key).
    #[arg(long, value_parser = ranges::SEED_FLAG.int_parser::<u64>())]
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
    #[arg(long, conflicts_with_all = ["anchors", "anchor_share"])]
    pub all: bool,
    /// Mix in N anchor items: transcripts rated in earlier rounds, balanced across their
    /// conditions, under fresh ids (default: the study's [blinding] anchors).
    #[arg(long, value_name = "N", value_parser = ranges::BLIND_ANCHORS.int_parser::<u32>())]
    pub anchors: Option<u32>,
    /// Anchor items as a share of the round's new items (0.5: half as many anchors as new items);
    /// the larger of --anchors and this counts (default: [blinding] anchor_share).
    #[arg(long, value_name = "SHARE", value_parser = ranges::BLIND_ANCHOR_SHARE.float_parser())]
    pub anchor_share: Option<f64>,
    /// Build an adjudication round: the items of ROUND whose ratings differ by at least
    /// --threshold levels, for raters who never rated them.
    #[arg(long, value_name = "ROUND", conflicts_with_all = ["all", "anchors", "anchor_share"])]
    pub adjudicate: Option<String>,
    /// Levels apart that send an item to adjudication (default: [blinding] adjudication_threshold).
    #[arg(long, requires = "adjudicate", value_parser = ranges::BLIND_THRESHOLD.int_parser::<u32>())]
    pub threshold: Option<u32>,
    /// Which dimensions count for adjudication (default: [blinding] adjudicate_on).
    #[arg(long, requires = "adjudicate", value_enum)]
    pub adjudicate_on: Option<AdjudicateOnArg>,
    /// Split a rater's packet into numbered parts of at most N items (RATER-part-01.html, ...),
    /// each a complete form balanced across conditions (default: [blinding] max_items_per_packet;
    /// absent, no split).
    #[arg(long, value_name = "N", value_parser = ranges::BLIND_MAX_ITEMS_PER_PACKET.int_parser::<u32>())]
    pub max_items_per_packet: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdjudicateOnArg {
    /// A disagreement on any dimension.
    Any,
    /// A disagreement on the analysis plan's primary dimension.
    Primary,
}

#[derive(Debug, Args)]
pub struct RoundsArgs {
    /// A run folder (STUDY/runs/NAME).
    pub run_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RateArgs {
    /// Rate with a simulated rater (the only kind of automatic rater this command has; see `judge`
    /// for models as raters).
    #[arg(long, value_name = "PACKET.json", required = true)]
    pub simulate: PathBuf,
    /// Where to write the ratings (CSV in the import format).
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
    /// Seed of the simulated rater's leniency and noise.
    #[arg(long, default_value_t = 0, value_parser = ranges::SEED_FLAG.int_parser::<u64>())]
    pub seed: u64,
    /// Added to every rating before rounding (canonical 0-2 units, scaled like leniency): a
    /// rater who drifted since an earlier round, for testing drift measurement.
    #[arg(long, default_value_t = 0.0, value_parser = ranges::RATE_DRIFT.float_parser())]
    pub drift: f64,
}

#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// A round folder (RUN/blind/ROUND).
    pub round_dir: PathBuf,
    /// The judge: a model alias of the study.
    #[arg(long)]
    pub model: String,
    /// The study that defines the model (default: the study recorded in the run's manifest).
    #[arg(long)]
    pub study: Option<PathBuf>,
    /// Requests in flight.
    #[arg(long, default_value_t = 16, value_parser = ranges::JUDGE_CONCURRENCY.int_parser::<u32>())]
    pub concurrency: u32,
}

#[derive(Debug, Args)]
pub struct UnblindArgs {
    /// A round folder (RUN/blind/ROUND).
    pub round_dir: PathBuf,
    /// Ratings files (CSV in the packet format, or the form's export), or the database of
    /// `blindfold collect` (DIR/collect/ratings.sqlite).
    #[arg(required = true)]
    pub ratings: Vec<PathBuf>,
    /// Un-blind even when some assigned items were not rated.
    #[arg(long)]
    pub allow_missing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgreeLevel {
    Nominal,
    Ordinal,
    Interval,
    Ratio,
}

#[derive(Debug, Args)]
pub struct AgreeArgs {
    /// A long-format CSV with the header unit,coder,value (a missing rating is an absent row or
    /// an empty value).
    pub file: PathBuf,
    /// Level of measurement, for Krippendorff's alpha.
    #[arg(long, value_enum, default_value_t = AgreeLevel::Nominal)]
    pub level: AgreeLevel,
    /// The scale's levels in order, comma-separated: numbers or labels (`absent,partial,present`).
    /// Required for ordinal, interval or ratio data with non-numeric labels; default: the
    /// observed values, sorted (numbers) or in order of first appearance (nominal labels).
    #[arg(long, value_delimiter = ',')]
    pub categories: Option<Vec<String>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Bootstrap resamples for the confidence intervals (0: none).
    #[arg(long, default_value_t = 2000, value_parser = ranges::AGREE_RESAMPLES.int_parser::<u32>())]
    pub resamples: u32,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0, value_parser = ranges::SEED_FLAG.int_parser::<u64>())]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (STUDY/runs/NAME) with at least one un-blinded round.
    pub run_dir: PathBuf,
    /// Only these rounds (default: every un-blinded round).
    #[arg(long, value_delimiter = ',')]
    pub rounds: Option<Vec<String>>,
    /// The registered analysis plan to compare against: a path to prereg.json, or the SHA-256 of
    /// a file in STUDY/prereg/ (default: STUDY/prereg/prereg.json, if it exists).
    #[arg(long)]
    pub prereg: Option<PathBuf>,
    /// Override the registered primary dimension (reported as a deviation).
    #[arg(long)]
    pub primary: Option<String>,
    /// Above this many transcripts the explorer is written as report/explorer/index.html and
    /// parts of up to this many (cut between prompts) instead of one explorer.html.
    #[arg(long, value_name = "TRANSCRIPTS", default_value_t = crate::report::explorer::DEFAULT_PART_SIZE,
          value_parser = ranges::EXPLORER_PART_SIZE.int_parser::<usize>())]
    pub explorer_part_size: usize,
}

#[derive(Debug, Args)]
pub struct PreregArgs {
    /// The study folder.
    #[arg(default_value = ".")]
    pub study: PathBuf,
    /// A round whose key commitment goes into the document (after blinding, before rating).
    #[arg(long)]
    pub round: Option<PathBuf>,
    /// Where to write prereg.md and prereg.json (default: STUDY/prereg/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's study, run and report.
    #[arg(long, default_value = "blindfold-demo")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CollectArgs {
    #[command(subcommand)]
    pub command: Option<CollectCommand>,
    #[command(flatten)]
    pub serve: CollectServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum CollectCommand {
    /// Write each rater's answers in the import format (ratings-RATER.csv) and sessions.csv.
    Export(CollectExportArgs),
    /// List the raters' links, or issue (replacing), re-issue and revoke them.
    Links(CollectLinksArgs),
}

#[derive(Debug, Args)]
pub struct CollectServeArgs {
    /// The folder to serve: a copy of a round's packets/ in a folder of its own (never the round
    /// folder: the server must not be able to read key.json).
    #[arg(required = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free one). Anything but loopback is reachable from
    /// the network: put it behind a TLS reverse proxy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// The database (default: DIR/collect/ratings.sqlite).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Serve the pages but accept no more answers (collection is closed).
    #[arg(long)]
    pub read_only: bool,
    /// Where raters reach the server (e.g. https://rate.example.org): printed links start with
    /// it, and writes must come from its origin.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The code the completion page shows (e.g. a Prolific completion code).
    #[arg(long, value_name = "CODE")]
    pub completion_code: Option<String>,
    /// Where the completion page sends raters after 5 seconds (e.g. the platform's completion
    /// URL).
    #[arg(long, value_name = "URL")]
    pub completion_url: Option<String>,
    /// Query parameters of a link recorded with the rater's session, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "PROLIFIC_PID,STUDY_ID,SESSION_ID"
    )]
    pub url_params: Vec<String>,
    /// Behind a reverse proxy: take the client address from X-Forwarded-For (for rate limiting).
    #[arg(long)]
    pub behind_proxy: bool,
    /// Failed attempts (unknown links, refused writes) per client address per minute before it
    /// is refused for a while.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_failures: u32,
}

#[derive(Debug, Args)]
pub struct CollectExportArgs {
    /// The served folder (holding packets/ and collect/).
    pub dir: PathBuf,
    /// The database (default: DIR/collect/ratings.sqlite).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Where to write the files (default: DIR/collect/export/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CollectLinksArgs {
    /// The served folder (holding packets/ and collect/).
    pub dir: PathBuf,
    /// The database (default: DIR/collect/ratings.sqlite).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Issue new links for these raters, comma-separated (replacing any link they had).
    #[arg(long, value_delimiter = ',', value_name = "RATERS")]
    pub issue: Vec<String>,
    /// Revoke these raters' links, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RATERS")]
    pub revoke: Vec<String>,
    /// Issue a new dashboard link (replacing the old one).
    #[arg(long)]
    pub issue_dashboard: bool,
    /// Revoke the dashboard link.
    #[arg(long)]
    pub revoke_dashboard: bool,
    /// Print new links under this address (e.g. https://rate.example.org).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}
