//! `collect`: serve a round's packets as per-rater links (`collect::server`), manage the links,
//! export the answers; and a collection database as a ratings source for `unblind`.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::blind::packet::PacketJson;
use crate::blind::round::{KEY_FILE, MANIFEST_FILE, PACKETS_DIR, RoundManifest};
use crate::cli::{
    CollectArgs, CollectCommand, CollectExportArgs, CollectLinksArgs, CollectServeArgs,
};
use crate::collect::HostedRound;
use crate::collect::answers;
use crate::collect::db::{Db, Moment, RoundId};
use crate::collect::server::{self, ServeOptions, random_bytes};
use crate::collect::tokens::{self, Kind, Token, TokenLine};
use crate::hash::sha256_hex;
use crate::rate::import::{self, Problem, RoundSpec};
use crate::store;

/// DIR/collect/: the database, the tokens file and exports; never sent to raters.
pub const COLLECT_DIR: &str = "collect";
pub const DB_FILE: &str = "ratings.sqlite";
pub const TOKENS_FILE: &str = "tokens.txt";
pub const EXPORT_DIR: &str = "export";
pub const SESSIONS_FILE: &str = "sessions.csv";
/// How long requests in flight get to finish after Ctrl-C or SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

pub fn collect(args: CollectArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(CollectCommand::Export(a)) => export(&a),
        Some(CollectCommand::Links(a)) => links(&a),
        None => serve(&args.serve),
    }
}

fn db_path(dir: &Path, db: Option<&PathBuf>) -> PathBuf {
    db.cloned()
        .unwrap_or_else(|| dir.join(COLLECT_DIR).join(DB_FILE))
}

/// `packets/manifest.json` of a served folder, and its SHA-256.
fn read_manifest(dir: &Path) -> anyhow::Result<(RoundManifest, String)> {
    let path = dir.join(PACKETS_DIR).join(MANIFEST_FILE);
    if !path.is_file() {
        bail!(
            "{} has no {PACKETS_DIR}/{MANIFEST_FILE}: give the folder holding a round's \
             {PACKETS_DIR}/ (a copy of RUN/blind/ROUND/{PACKETS_DIR} in a folder of its own)",
            dir.display()
        );
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let manifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a round's manifest", path.display()))?;
    Ok((manifest, sha256_hex(&bytes)))
}

/// The round to serve, refusing a folder that holds the key: the server must never be able to
/// read it.
fn load_hosted(dir: &Path) -> anyhow::Result<HostedRound> {
    for key in [dir.join(KEY_FILE), dir.join(PACKETS_DIR).join(KEY_FILE)] {
        if key.exists() {
            bail!(
                "{} holds {KEY_FILE}, the sealed key: the collection server must not be able to \
                 read it. Serve a copy of the packets in a folder of their own, ideally on \
                 another machine:\n  mkdir -p SERVED && cp -r {} SERVED/\n  blindfold collect \
                 SERVED",
                key.parent().unwrap_or(dir).display(),
                dir.join(PACKETS_DIR).display()
            );
        }
    }
    let (manifest, sha) = read_manifest(dir)?;
    let mut packets: BTreeMap<String, PacketJson> = BTreeMap::new();
    for rater in manifest.packets.keys() {
        let path = dir.join(PACKETS_DIR).join(format!("{rater}.json"));
        packets.insert(rater.clone(), store::read_json(&path)?);
    }
    HostedRound::new(manifest, sha, packets).map_err(|problems| {
        anyhow::anyhow!(
            "{}: the packets do not match their manifest:\n  {}",
            dir.join(PACKETS_DIR).display(),
            problems.join("\n  ")
        )
    })
}

/// `https://rate.example.org[/prefix]` as (the links' base, the origin writes must come from).
fn public_url(text: &str) -> anyhow::Result<(String, String)> {
    let url = reqwest::Url::parse(text).with_context(|| format!("--public-url '{text}'"))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.host().is_none() {
        bail!("--public-url '{text}': expected http(s)://HOST[:PORT][/PATH], without a query");
    }
    Ok((
        text.trim_end_matches('/').to_string(),
        url.origin().ascii_serialization(),
    ))
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    Ok(())
}

fn serve(args: &CollectServeArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_deref().expect("clap requires DIR");
    let round = load_hosted(dir)?;
    let public = args.public_url.as_deref().map(public_url).transpose()?;
    if let Some(url) = &args.completion_url {
        let parsed =
            reqwest::Url::parse(url).with_context(|| format!("--completion-url '{url}'"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--completion-url '{url}': expected an http(s) URL");
        }
    }
    for name in &args.url_params {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            bail!("--url-params: '{name}' is not a parameter name (letters, digits, _ - .)");
        }
    }
    let db = db_path(dir, args.db.as_ref());
    create_private_dir(&dir.join(COLLECT_DIR))?;
    if !args.addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, reachable from the network. Links carry their access in \
             the URL: put the server behind a reverse proxy with TLS (HTTPS), and never serve \
             raters over plain HTTP (see docs/collect.md).",
            args.addr
        );
    }
    let options = ServeOptions {
        db: db.clone(),
        read_only: args.read_only,
        completion_code: args.completion_code.clone(),
        completion_url: args.completion_url.clone(),
        url_params: args.url_params.clone(),
        public_origin: public.as_ref().map(|(_, origin)| origin.clone()),
        behind_proxy: args.behind_proxy,
        failures_per_minute: NonZeroU32::new(args.max_failures).unwrap_or(NonZeroU32::MIN),
    };
    let id = RoundId {
        round: &round.manifest.round,
        manifest_sha256: &round.manifest_sha256,
    };
    let raters = round.manifest.raters.clone();
    let round_name = round.manifest.round.clone();
    let tokens_file = dir.join(COLLECT_DIR).join(TOKENS_FILE);
    let db_handle = Db::open(&db, &id, true)?;
    let runtime = super::run_cmds::runtime()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr()?;
        let base = public
            .as_ref()
            .map_or_else(|| format!("http://{addr}"), |(base, _)| base.clone());
        let server = server::Server::new(round, options)?;
        // Signals are caught from here on: a SIGTERM right after the address line below still
        // stops the server gracefully.
        let shutdown = shutdown_signal()?;
        // First start: a link for every rater and the dashboard, shown this once (and in the
        // tokens file before the address line tells anyone the server is up).
        let issued = if db_handle.tokens()?.is_empty() && !args.read_only {
            let wanted: Vec<(Kind, Option<String>)> = raters
                .iter()
                .map(|r| (Kind::Rater, Some(r.clone())))
                .chain([(Kind::Dashboard, None)])
                .collect();
            issue(&db_handle, &tokens_file, &raters, &wanted)?
        } else {
            Vec::new()
        };
        // The first line on stdout, which scripts read for the address. A reader that hangs up
        // after it must not bring the server down, so write errors are ignored from here on.
        let mut text = format!(
            "Collecting ratings of round {round_name} on http://{addr} ({} raters{}); stop with \
             Ctrl-C.\n",
            raters.len(),
            if args.read_only { ", read-only" } else { "" }
        );
        if !issued.is_empty() {
            text.push_str(&new_links_text(&issued, Some(&base), &tokens_file));
        } else {
            let active = db_handle
                .tokens()?
                .iter()
                .filter(|t| t.revoked_at.is_none())
                .count();
            text.push_str(&format!(
                "{active} active links; they are in {} (blindfold collect links to manage them).\n",
                tokens_file.display()
            ));
        }
        {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
        drop(db_handle);
        note!("Answers go to {}.", db.display());
        server
            .serve(listener, shutdown, GRACE)
            .await
            .context("the server failed")?;
        note!("Stopped; every acknowledged answer is in {}.", db.display());
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM; the handlers are installed when this is called.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let wait = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot catch Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot catch SIGTERM")?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let wait = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        wait.await;
        note!("Stopping: letting the requests in flight finish...");
    })
}

/// Issues a token for each of `wanted` (replacing any active one): the tokens file first, so a
/// link that works is always in it, then the database.
fn issue(
    db: &Db,
    tokens_file: &Path,
    raters: &[String],
    wanted: &[(Kind, Option<String>)],
) -> anyhow::Result<Vec<TokenLine>> {
    let mut issued = Vec::new();
    for (kind, rater) in wanted {
        let bytes = random_bytes().map_err(anyhow::Error::msg)?;
        issued.push(TokenLine {
            kind: *kind,
            rater: rater.clone(),
            token: Token::new(*kind, bytes),
        });
    }
    update_tokens_file(tokens_file, raters, wanted, &issued)?;
    let now = Moment::now();
    for line in &issued {
        db.issue_token(line.kind, line.rater.as_deref(), &line.token.hash(), &now)?;
    }
    Ok(issued)
}

/// Rewrites the tokens file: the lines of `replaced` go, `added` come in; raters in round
/// order, the dashboard last.
fn update_tokens_file(
    path: &Path,
    raters: &[String],
    replaced: &[(Kind, Option<String>)],
    added: &[TokenLine],
) -> anyhow::Result<()> {
    let mut lines = if path.exists() {
        tokens::parse_tokens_file(&store::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        Vec::new()
    };
    lines.retain(|l| !replaced.contains(&(l.kind, l.rater.clone())));
    lines.extend(added.iter().cloned());
    let order = |l: &TokenLine| match &l.rater {
        Some(r) => raters.iter().position(|x| x == r).unwrap_or(usize::MAX - 1),
        None => usize::MAX,
    };
    lines.sort_by_key(order);
    store::write_private(path, tokens::render_tokens_file(&lines).as_bytes())?;
    Ok(())
}

/// The new links, for the terminal: shown this once.
fn new_links_text(issued: &[TokenLine], base: Option<&str>, tokens_file: &Path) -> String {
    let mut out = format!(
        "New links (shown once; also in {}, readable only by you — keep it secret):\n",
        tokens_file.display()
    );
    for line in issued {
        out.push_str(&format!(
            "  {:<12} {}\n",
            line.rater.as_deref().unwrap_or("dashboard"),
            line.link(base)
        ));
    }
    if base.is_none() {
        out.push_str(
            "  (append each path to the server's address, e.g. https://rate.example.org)\n",
        );
    }
    out
}

fn links(args: &CollectLinksArgs) -> anyhow::Result<ExitCode> {
    let (manifest, sha) = read_manifest(&args.dir)?;
    let base = args
        .public_url
        .as_deref()
        .map(public_url)
        .transpose()?
        .map(|(base, _)| base);
    for rater in args.issue.iter().chain(&args.revoke) {
        if !manifest.packets.contains_key(rater) {
            bail!(
                "'{rater}' is not a rater of round {} ({}); a new rater needs a round blinded \
                 for them (blindfold blind RUN --raters ...)",
                manifest.round,
                manifest.raters.join(", ")
            );
        }
    }
    let db_file = db_path(&args.dir, args.db.as_ref());
    let id = RoundId {
        round: &manifest.round,
        manifest_sha256: &sha,
    };
    let db = Db::open(&db_file, &id, true)?;
    let tokens_file = args.dir.join(COLLECT_DIR).join(TOKENS_FILE);
    create_private_dir(&args.dir.join(COLLECT_DIR))?;
    let now = Moment::now();
    let mut revoked: Vec<(Kind, Option<String>)> = args
        .revoke
        .iter()
        .map(|r| (Kind::Rater, Some(r.clone())))
        .collect();
    if args.revoke_dashboard {
        revoked.push((Kind::Dashboard, None));
    }
    for (kind, rater) in &revoked {
        let n = db.revoke_token(*kind, rater.as_deref(), &now)?;
        let who = rater.as_deref().unwrap_or("dashboard");
        if n == 0 {
            eprintln!("warning: {who} had no active link");
        } else {
            outln!("Revoked the link of {who}.");
        }
    }
    if !revoked.is_empty() {
        update_tokens_file(&tokens_file, &manifest.raters, &revoked, &[])?;
    }
    let mut wanted: Vec<(Kind, Option<String>)> = args
        .issue
        .iter()
        .map(|r| (Kind::Rater, Some(r.clone())))
        .collect();
    if args.issue_dashboard {
        wanted.push((Kind::Dashboard, None));
    }
    if !wanted.is_empty() {
        let issued = issue(&db, &tokens_file, &manifest.raters, &wanted)?;
        out!("{}", new_links_text(&issued, base.as_deref(), &tokens_file));
    }
    if revoked.is_empty() && wanted.is_empty() {
        let records = db.tokens()?;
        outln!("Links of round {} ({}):", manifest.round, db_file.display());
        let names: Vec<(Kind, Option<&str>)> = manifest
            .raters
            .iter()
            .map(|r| (Kind::Rater, Some(r.as_str())))
            .chain([(Kind::Dashboard, None)])
            .collect();
        for (kind, rater) in names {
            let mine: Vec<_> = records
                .iter()
                .filter(|t| t.kind == kind && t.rater.as_deref() == rater)
                .collect();
            let state = match (mine.iter().find(|t| t.revoked_at.is_none()), mine.last()) {
                (Some(active), _) => format!("active since {}", active.issued_at),
                (None, Some(last)) => {
                    format!("revoked {}", last.revoked_at.as_deref().unwrap_or_default())
                }
                (None, None) => "none issued".to_string(),
            };
            outln!("  {:<12} {state}", rater.unwrap_or("dashboard"));
        }
        outln!("The links themselves are in {}.", tokens_file.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Every rater's ratings file (import format), from the database: as `collect export` writes
/// them and `unblind` reads a database.
fn ratings_files(db: &Db, manifest: &RoundManifest) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let all = db.all_answers()?;
    let empty = Vec::new();
    Ok(manifest
        .packets
        .iter()
        .map(|(rater, packet)| {
            let folded = answers::fold(&manifest.rubric, all.get(rater).unwrap_or(&empty));
            (
                rater.clone(),
                answers::ratings_csv(rater, &packet.items, &manifest.rubric, &folded),
            )
        })
        .collect())
}

/// The ratings files `path` stands for, as (name, text): a CSV is itself; a `blindfold
/// collect` database is one file per rater, named `DB#ratings-RATER.csv`, after checking that
/// it holds this round's answers.
pub fn ratings_sources(
    path: &Path,
    round_dir: &Path,
    manifest: &RoundManifest,
) -> Result<Vec<(String, String)>, Problem> {
    let name = path.display().to_string();
    let problem = |message: String| Problem {
        file: name.clone(),
        line: None,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| problem(format!("cannot read: {e}")))?;
    if !crate::collect::db::is_sqlite(&bytes) {
        let text = String::from_utf8(bytes)
            .map_err(|_| problem("cannot read: stream did not contain valid UTF-8".into()))?;
        return Ok(vec![(name, text)]);
    }
    let manifest_path = round_dir.join(PACKETS_DIR).join(MANIFEST_FILE);
    let sha = std::fs::read(&manifest_path)
        .map(|b| sha256_hex(&b))
        .map_err(|e| problem(format!("cannot read {}: {e}", manifest_path.display())))?;
    let id = RoundId {
        round: &manifest.round,
        manifest_sha256: &sha,
    };
    let files = Db::open(path, &id, false)
        .map_err(|e| problem(e.message))
        .and_then(|db| ratings_files(&db, manifest).map_err(|e| problem(e.to_string())))?;
    Ok(files
        .into_iter()
        .map(|(rater, bytes)| {
            (
                format!("{name}#ratings-{rater}.csv"),
                String::from_utf8(bytes).expect("CSV written from strings"),
            )
        })
        .collect())
}

fn export(args: &CollectExportArgs) -> anyhow::Result<ExitCode> {
    let (manifest, sha) = read_manifest(&args.dir)?;
    let db_file = db_path(&args.dir, args.db.as_ref());
    let db = Db::open(
        &db_file,
        &RoundId {
            round: &manifest.round,
            manifest_sha256: &sha,
        },
        false,
    )?;
    let files = ratings_files(&db, &manifest)?;
    // The checks `unblind` will make (those that need no key): a partly rated item is what
    // collection can hold, so it is written, and said.
    let spec = RoundSpec::from_manifest(&manifest);
    let mut ratings = Vec::new();
    let mut problems = Vec::new();
    for (rater, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        let (r, p) = import::parse_ratings(&format!("ratings-{rater}.csv"), &text, &spec);
        ratings.extend(r);
        problems.extend(p);
    }
    problems.extend(import::duplicates(&ratings));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.dir.join(COLLECT_DIR).join(EXPORT_DIR));
    for (rater, bytes) in &files {
        store::write_atomic(&out.join(format!("ratings-{rater}.csv")), bytes)?;
    }
    store::write_atomic(&out.join(SESSIONS_FILE), &sessions_csv(&db)?)?;
    let all = db.all_answers()?;
    let empty = Vec::new();
    outln!(
        "Wrote the ratings of {} raters to {} (ratings-RATER.csv; sessions in {SESSIONS_FILE}):",
        files.len(),
        out.display()
    );
    for (rater, packet) in &manifest.packets {
        let folded = answers::fold(&manifest.rubric, all.get(rater).unwrap_or(&empty));
        let p = answers::progress(&packet.items, &manifest.rubric, &folded);
        outln!("  {rater}: {} of {} rated", p.rated, p.assigned);
    }
    if !problems.is_empty() {
        eprintln!(
            "warning: unblind will refuse {} row{} until the rater completes or clears them:",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for p in &problems {
            eprintln!("  {p}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sessions.csv`: one row per opening of a link, with its crowd-platform parameters.
fn sessions_csv(db: &Db) -> anyhow::Result<Vec<u8>> {
    let sessions = db.sessions(None)?;
    let params: BTreeSet<&str> = sessions
        .iter()
        .flat_map(|s| s.params.keys().map(String::as_str))
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "session",
        "rater",
        "started_at",
        "last_seen",
        "time_spent_s",
        "finished_at",
    ];
    header.extend(params.iter().copied());
    writer.write_record(&header)?;
    for s in &sessions {
        let mut row = vec![
            s.id.to_string(),
            s.rater.clone(),
            s.started_at.clone(),
            s.last_seen.clone(),
            (s.active_ms / 1000).to_string(),
            s.finished_at.clone().unwrap_or_default(),
        ];
        row.extend(
            params
                .iter()
                .map(|p| s.params.get(*p).cloned().unwrap_or_default()),
        );
        writer.write_record(&row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
