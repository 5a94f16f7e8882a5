//! The HTTP edge of `blindfold collect` (axum): routes, access checks, and the writer thread
//! that commits answers to SQLite.
//!
//! Routes: `GET /r/TOKEN` (the rating form), `POST /r/TOKEN/api/save` and `/api/finish`,
//! `GET /r/TOKEN/done` (the completion page), `GET /d/TOKEN` (the dashboard), `GET /healthz`.
//! Everything else, and any token that is not an active one of the right kind, is the same 404.
//! Failed attempts are rate limited per client address. Writes need the page's session secret
//! in a header (`X-Blindfold-Csrf`), a JSON body, and — when the browser says where the request
//! comes from — this site as its origin. Bodies are limited in size. Logs name raters, never
//! tokens or request paths.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use tokio::sync::oneshot;

use super::HostedRound;
use super::answers::{self, Invalid, SaveRequest};
use super::db::{Db, DbError, Moment, RoundId, Stored};
use super::pages::{self, FormPage, LinkState, RaterActivity};
use super::tokens::{Kind, TOKEN_BYTES, Token, session_secret};

/// Largest request body accepted (a save request is at most 500 changes of short values; a
/// long comment is 20,000 characters).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Crowd-platform parameters longer than this are cut.
const MAX_PARAM_CHARS: usize = 200;
/// Requests committed together by the writer.
const GROUP_COMMIT: usize = 256;
/// Read connections.
const READERS: usize = 4;
/// The header a write carries its session secret in.
pub const CSRF_HEADER: &str = "x-blindfold-csrf";

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub db: PathBuf,
    /// Serve pages, accept no answers.
    pub read_only: bool,
    pub completion_code: Option<String>,
    /// Where the completion page sends raters (e.g. the crowd platform's completion URL).
    pub completion_url: Option<String>,
    /// Query parameters recorded with a session (`PROLIFIC_PID`, ...).
    pub url_params: Vec<String>,
    /// The origin raters reach the server at (`https://rate.example.org`); writes whose
    /// `Origin` differs are refused. Without it, `Origin` must match the `Host` header.
    pub public_origin: Option<String>,
    /// Take the client's address from the last `X-Forwarded-For` entry (set by a reverse
    /// proxy), for rate limiting.
    pub behind_proxy: bool,
    /// Failed attempts (unknown tokens, refused writes) allowed per client address per minute.
    pub failures_per_minute: NonZeroU32,
}

/// Random bytes from the operating system, for tokens and session secrets.
pub fn random_bytes() -> Result<[u8; TOKEN_BYTES], String> {
    use rand::TryRng;
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    Ok(bytes)
}

// ---------- the writer: one connection, requests committed in groups

/// What the writer is asked to do.
enum Job {
    Start {
        token: String,
        secret: String,
        params: BTreeMap<String, String>,
    },
    Save {
        token: String,
        secret: String,
        request: SaveRequest,
    },
    Finish {
        token: String,
        secret: String,
        session: i64,
    },
}

#[derive(Debug)]
enum Outcome {
    Started { session: i64, rater: String },
    Saved(Stored),
    Finished,
    NotFound,
    BadSession,
    Invalid(Invalid),
}

type Reply = oneshot::Sender<Result<Outcome, DbError>>;

enum Message {
    Job(Job, Reply),
    Stop,
}

/// The writer thread's handle.
struct Writer {
    tx: Mutex<mpsc::Sender<Message>>,
}

impl Writer {
    fn start(db: Db, round: Arc<HostedRound>) -> (Writer, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("collect-writer".into())
            .spawn(move || write_loop(&db, &round, &rx))
            .expect("the writer thread starts");
        (Writer { tx: Mutex::new(tx) }, thread)
    }

    async fn run(&self, job: Job) -> Result<Outcome, DbError> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .expect("the writer's sender")
            .send(Message::Job(job, reply));
        if sent.is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    fn stop(&self) {
        let _ = self
            .tx
            .lock()
            .expect("the writer's sender")
            .send(Message::Stop);
    }
}

fn stopped() -> DbError {
    DbError {
        path: PathBuf::new(),
        message: "the server is shutting down".into(),
    }
}

/// Takes every request waiting (up to [`GROUP_COMMIT`]), applies them in one transaction and
/// answers them only after it commits: one sync of the log for the whole group.
fn write_loop(db: &Db, round: &HostedRound, rx: &mpsc::Receiver<Message>) {
    let mut stop = false;
    while !stop {
        let mut jobs = Vec::new();
        match rx.recv() {
            Ok(Message::Job(job, reply)) => jobs.push((job, reply)),
            Ok(Message::Stop) | Err(_) => break,
        }
        while jobs.len() < GROUP_COMMIT {
            match rx.try_recv() {
                Ok(Message::Job(job, reply)) => jobs.push((job, reply)),
                Ok(Message::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let now = Moment::now();
        let outcomes: Result<Vec<Outcome>, DbError> = db.begin().and_then(|()| {
            let outcomes = jobs
                .iter()
                .map(|(job, _)| apply(db, round, job, &now))
                .collect::<Result<Vec<_>, _>>();
            match outcomes {
                Ok(o) => db.commit().map(|()| o),
                Err(e) => {
                    db.rollback();
                    Err(e)
                }
            }
        });
        match outcomes {
            Ok(outcomes) => {
                for ((_, reply), outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!("cannot store answers: {e}");
                for (_, reply) in jobs {
                    let _ = reply.send(Err(DbError {
                        path: e.path.clone(),
                        message: e.message.clone(),
                    }));
                }
            }
        }
    }
}

fn apply(db: &Db, round: &HostedRound, job: &Job, now: &Moment) -> Result<Outcome, DbError> {
    let token = match job {
        Job::Start { token, .. } | Job::Save { token, .. } | Job::Finish { token, .. } => token,
    };
    let Some(principal) = db.principal(token)? else {
        return Ok(Outcome::NotFound);
    };
    let Some(rater) = principal
        .rater
        .clone()
        .filter(|r| principal.kind == Kind::Rater && round.is_rater(r))
    else {
        return Ok(Outcome::NotFound);
    };
    match job {
        Job::Start { secret, params, .. } => {
            let session = db.start_session(&principal, &rater, secret, params, now)?;
            Ok(Outcome::Started { session, rater })
        }
        Job::Save {
            secret, request, ..
        } => {
            if !db.session_matches(request.session, &rater, secret)? {
                return Ok(Outcome::BadSession);
            }
            if let Err(invalid) = answers::check(&round.checks_for(&rater), request) {
                return Ok(Outcome::Invalid(invalid));
            }
            let stored = db.store_changes(
                request.session,
                &rater,
                &request.changes,
                request.current.as_deref(),
                now,
            )?;
            Ok(Outcome::Saved(stored))
        }
        Job::Finish {
            secret, session, ..
        } => {
            if !db.session_matches(*session, &rater, secret)? {
                return Ok(Outcome::BadSession);
            }
            db.finish(*session, now)?;
            Ok(Outcome::Finished)
        }
    }
}

// ---------- readers

struct Readers {
    pool: Vec<Mutex<Db>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Readers {
    /// Runs `f` on a read connection, off the async threads.
    async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let start = readers
                .next
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let n = readers.pool.len();
            // A free connection if there is one, else wait for ours.
            for i in 0..n {
                if let Ok(db) = readers.pool[(start + i) % n].try_lock() {
                    return f(&db);
                }
            }
            let db = readers.pool[start % n].lock().expect("a reader");
            f(&db)
        })
        .await
        .unwrap_or_else(|e| {
            Err(DbError {
                path: PathBuf::new(),
                message: format!("a reader failed: {e}"),
            })
        })
    }
}

// ---------- failed attempts

/// Failed attempts per client address: over the quota, the address gets 429 for every token
/// request until the quota refills.
struct Failures {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Failures {
    fn new(per_minute: NonZeroU32) -> Failures {
        Failures {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn is_blocked(&self, ip: IpAddr) -> bool {
        let mut blocked = self.blocked.lock().expect("the blocked list");
        match blocked.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                blocked.remove(&ip);
                false
            }
            None => false,
        }
    }

    fn record(&self, ip: IpAddr) {
        use governor::clock::{Clock, DefaultClock};
        if let Err(not_until) = self.limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked.lock().expect("the blocked list");
            if blocked.len() > 10_000 {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                self.limiter.retain_recent();
            }
            blocked.insert(ip, Instant::now() + wait.max(Duration::from_secs(1)));
            tracing::warn!("too many failed attempts from {ip}: refusing it for {wait:.0?}");
        }
    }
}

// ---------- the app

struct App {
    round: Arc<HostedRound>,
    options: ServeOptions,
    writer: Writer,
    readers: Arc<Readers>,
    failures: Failures,
}

type Shared = State<Arc<App>>;

/// A running collection server: the writer's thread, to be joined after the HTTP side stops.
pub struct Server {
    app: Arc<App>,
    writer_thread: std::thread::JoinHandle<()>,
}

impl Server {
    /// Opens the database (creating it) and starts the writer.
    pub fn new(round: HostedRound, options: ServeOptions) -> Result<Server, DbError> {
        let id = RoundId {
            round: &round.manifest.round,
            manifest_sha256: &round.manifest_sha256,
        };
        let writer_db = Db::open(&options.db, &id, true)?;
        let pool = (0..READERS)
            .map(|_| Db::open(&options.db, &id, false).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let round = Arc::new(round);
        let (writer, writer_thread) = Writer::start(writer_db, round.clone());
        let failures = Failures::new(options.failures_per_minute);
        Ok(Server {
            app: Arc::new(App {
                round,
                options,
                writer,
                readers: Arc::new(Readers {
                    pool,
                    next: Default::default(),
                }),
                failures,
            }),
            writer_thread,
        })
    }

    /// Serves on `listener` until `shutdown` completes, then lets requests in flight finish
    /// (up to `grace`), stops the writer after the last commit, and closes the database.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> std::io::Result<()> {
        let router = router(self.app.clone());
        let (signalled_tx, signalled_rx) = oneshot::channel::<()>();
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = signalled_tx.send(());
        });
        let mut serving = tokio::spawn(async move { server.await });
        let result = tokio::select! {
            result = &mut serving => result,
            _ = signalled_rx => match tokio::time::timeout(grace, &mut serving).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!("requests still open after {grace:?}; closing them");
                    serving.abort();
                    Ok(Ok(()))
                }
            },
        };
        self.app.writer.stop();
        let _ = tokio::task::spawn_blocking(move || self.writer_thread.join()).await;
        match result {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/r/{token}", get(form))
        .route("/r/{token}/api/save", post(save))
        .route("/r/{token}/api/finish", post(finish))
        .route("/r/{token}/done", get(done))
        .route("/d/{token}", get(dashboard))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async { not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// Headers on every response: nothing cached, framed, sniffed, referred or indexed, and a
/// policy that allows nothing unless the page set its own.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(headers, HeaderName::from_static("x-robots-tag"), "noindex");
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        );
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found\n").into_response()
}

fn html(bytes: Vec<u8>, csp: String) -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes).into_response();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "ok": false, "error": message }))).into_response()
}

fn unavailable(e: &DbError) -> Response {
    tracing::error!("{e}");
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server could not store this; it will be retried",
    )
}

/// The client's address: the peer, or behind a proxy the last `X-Forwarded-For` entry.
fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if app.options.behind_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

/// A request failed for lack of a valid token or session: count it, answer 404.
/// The first check of every token route: the client is not rate limited, and the path holds a
/// token of the right kind (whether it is an active one is the database's to say).
fn admit(
    app: &App,
    peer: SocketAddr,
    headers: &HeaderMap,
    kind: Kind,
    token: &str,
) -> Result<(IpAddr, Token), Box<Response>> {
    let ip = client_ip(app, peer, headers);
    if app.failures.is_blocked(ip) {
        return Err(Box::new(too_many()));
    }
    match Token::parse(kind, token) {
        Some(token) => Ok((ip, token)),
        None => Err(Box::new(failed(app, ip))),
    }
}

fn failed(app: &App, ip: IpAddr) -> Response {
    tracing::debug!("refused a request from {ip}: unknown token or session");
    app.failures.record(ip);
    not_found()
}

/// Whether a write comes from the form's own page: `Sec-Fetch-Site`, when sent, must be
/// `same-origin`; `Origin`, when sent, must be the public origin (or match `Host`).
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let text = |name: HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
    {
        return false;
    }
    match text(header::ORIGIN) {
        None => true,
        Some(origin) => match public_origin {
            Some(public) => origin.trim_end_matches('/') == public.trim_end_matches('/'),
            None => origin
                .split_once("://")
                .map(|(_, authority)| authority)
                .is_some_and(|authority| Some(authority) == text(header::HOST)),
        },
    }
}

/// The checks every write passes before its token is looked at: a JSON body, the session
/// secret's header, and the page's own origin.
fn write_guard(headers: &HeaderMap, options: &ServeOptions) -> Result<String, Box<Response>> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(Box::new(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a JSON body",
        )));
    }
    if !same_origin(headers, options.public_origin.as_deref()) {
        return Err(Box::new(json_error(
            StatusCode::FORBIDDEN,
            "this request does not come from the rating page",
        )));
    }
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() == 2 * TOKEN_BYTES && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|v| crate::hash::sha256_hex(v.as_bytes()))
        .ok_or_else(|| {
            Box::new(json_error(
                StatusCode::FORBIDDEN,
                "the session header is missing",
            ))
        })
}

/// The configured crowd-platform parameters of a query, cut to a sane length.
fn crowd_params(wanted: &[String], query: &HashMap<String, String>) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter_map(|name| {
            let value: String = query
                .get(name)?
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_PARAM_CHARS)
                .collect();
            Some((name.clone(), value))
        })
        .collect()
}

async fn form(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (ip, token) = match admit(&app, peer, &headers, Kind::Rater, &token) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let secret = match random_bytes() {
        Ok(bytes) => session_secret(bytes),
        Err(e) => {
            tracing::error!("{e}");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let params = crowd_params(&app.options.url_params, &query);
    let (rater, session) = if app.options.read_only {
        let hash = token.hash();
        match app.readers.with(move |db| db.principal(&hash)).await {
            Ok(Some(p)) if p.kind == Kind::Rater => match p.rater {
                Some(r) if app.round.is_rater(&r) => (r, None),
                _ => return failed(&app, ip),
            },
            Ok(_) => return failed(&app, ip),
            Err(e) => return unavailable(&e),
        }
    } else {
        let job = Job::Start {
            token: token.hash(),
            secret: secret.hash(),
            params,
        };
        match app.writer.run(job).await {
            Ok(Outcome::Started { session, rater }) => (rater, Some(session)),
            Ok(_) => return failed(&app, ip),
            Err(e) => return unavailable(&e),
        }
    };
    if let Some(session) = session {
        tracing::info!("{rater}: opened the form (session {session})");
    }
    let app2 = app.clone();
    let page = app
        .readers
        .with(move |db| {
            let rows = db.answers_of(&rater)?;
            let current = db.current_item(&rater)?;
            let packet = &app2.round.packets[&rater];
            let answers = answers::fold(app2.round.rubric(), &rows);
            let state = answers::form_state(
                &rater,
                &packet.packet_id,
                app2.round.rubric(),
                &answers,
                current.as_deref(),
            );
            Ok(pages::form_page(&FormPage {
                packet,
                token: &token,
                session: session.map(|s| (s, &secret)),
                state,
                read_only: app2.options.read_only,
            }))
        })
        .await;
    match page {
        Ok(bytes) => html(bytes, pages::form_csp()),
        Err(e) => unavailable(&e),
    }
}

fn too_many() -> Response {
    let mut response = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed attempts from this address; try again later",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

async fn save(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ip, token) = match admit(&app, peer, &headers, Kind::Rater, &token) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let secret = match write_guard(&headers, &app.options) {
        Ok(secret) => secret,
        Err(response) => {
            app.failures.record(ip);
            return *response;
        }
    };
    let request: SaveRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("not a save request: {e}")),
    };
    if app.options.read_only {
        return json_error(StatusCode::CONFLICT, "collection has closed");
    }
    let job = Job::Save {
        token: token.hash(),
        secret,
        request,
    };
    match app.writer.run(job).await {
        Ok(Outcome::Saved(stored)) => {
            tracing::debug!(
                "saved {} answers ({} repeated)",
                stored.stored,
                stored.repeated
            );
            axum::Json(json!({
                "ok": true,
                "stored": stored.stored,
                "repeated": stored.repeated,
            }))
            .into_response()
        }
        Ok(Outcome::Invalid(invalid)) => json_error(StatusCode::BAD_REQUEST, &invalid.to_string()),
        Ok(Outcome::BadSession) => {
            app.failures.record(ip);
            json_error(
                StatusCode::FORBIDDEN,
                "this page's session is not valid; copy any unsaved text, then reload the page",
            )
        }
        Ok(_) => failed(&app, ip),
        Err(e) => unavailable(&e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FinishRequest {
    session: i64,
}

async fn finish(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (ip, token) = match admit(&app, peer, &headers, Kind::Rater, &token) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let secret = match write_guard(&headers, &app.options) {
        Ok(secret) => secret,
        Err(response) => {
            app.failures.record(ip);
            return *response;
        }
    };
    let Ok(request) = serde_json::from_slice::<FinishRequest>(&body) else {
        return json_error(StatusCode::BAD_REQUEST, "not a finish request");
    };
    if app.options.read_only {
        return json_error(StatusCode::CONFLICT, "collection has closed");
    }
    let job = Job::Finish {
        token: token.hash(),
        secret,
        session: request.session,
    };
    match app.writer.run(job).await {
        Ok(Outcome::Finished) => {
            tracing::info!("a rater finished (session {})", request.session);
            axum::Json(json!({ "ok": true })).into_response()
        }
        Ok(Outcome::BadSession) => {
            app.failures.record(ip);
            json_error(StatusCode::FORBIDDEN, "this page's session is not valid")
        }
        Ok(_) => failed(&app, ip),
        Err(e) => unavailable(&e),
    }
}

async fn done(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (ip, token) = match admit(&app, peer, &headers, Kind::Rater, &token) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let app2 = app.clone();
    let page = app
        .readers
        .with(move |db| {
            let Some(rater) = db
                .principal(&token.hash())?
                .filter(|p| p.kind == Kind::Rater)
                .and_then(|p| p.rater)
                .filter(|r| app2.round.is_rater(r))
            else {
                return Ok(None);
            };
            let finished = db
                .sessions(Some(&rater))?
                .iter()
                .any(|s| s.finished_at.is_some());
            let answers = answers::fold(app2.round.rubric(), &db.answers_of(&rater)?);
            let progress =
                answers::progress(app2.round.items(&rater), app2.round.rubric(), &answers);
            let options = &app2.options;
            Ok(Some(pages::done_page(
                finished,
                progress,
                options.completion_code.as_deref(),
                options.completion_url.as_deref(),
            )))
        })
        .await;
    match page {
        Ok(Some(bytes)) => html(bytes, pages::page_csp()),
        Ok(None) => failed(&app, ip),
        Err(e) => unavailable(&e),
    }
}

async fn dashboard(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (ip, token) = match admit(&app, peer, &headers, Kind::Dashboard, &token) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let app2 = app.clone();
    let page = app
        .readers
        .with(move |db| {
            if !db
                .principal(&token.hash())?
                .is_some_and(|p| p.kind == Kind::Dashboard)
            {
                return Ok(None);
            }
            let activity = activity(db, &app2.round)?;
            Ok(Some(pages::dashboard(
                &app2.round.manifest.round,
                &Moment::now().text,
                app2.options.read_only,
                &app2.options.url_params,
                &activity,
            )))
        })
        .await;
    match page {
        Ok(Some(bytes)) => html(bytes, pages::page_csp()),
        Ok(None) => failed(&app, ip),
        Err(e) => unavailable(&e),
    }
}

/// Each rater's progress and activity, in the round's rater order.
pub fn activity(db: &Db, round: &HostedRound) -> Result<Vec<RaterActivity>, DbError> {
    let answers = db.all_answers()?;
    let counts = db.answer_counts()?;
    let sessions = db.sessions(None)?;
    let tokens = db.tokens()?;
    let empty = Vec::new();
    Ok(round
        .manifest
        .raters
        .iter()
        .map(|rater| {
            let mine: Vec<_> = sessions.iter().filter(|s| &s.rater == rater).collect();
            let issued: Vec<_> = tokens
                .iter()
                .filter(|t| t.kind == Kind::Rater && t.rater.as_deref() == Some(rater))
                .collect();
            let link = if issued.iter().any(|t| t.revoked_at.is_none()) {
                LinkState::Active
            } else if issued.is_empty() {
                LinkState::None
            } else {
                LinkState::Revoked
            };
            let folded = answers::fold(round.rubric(), answers.get(rater).unwrap_or(&empty));
            RaterActivity {
                rater: rater.clone(),
                link,
                progress: answers::progress(round.items(rater), round.rubric(), &folded),
                answers: counts.get(rater).copied().unwrap_or(0),
                time_spent_ms: mine.iter().map(|s| s.active_ms).sum(),
                last_seen: mine.iter().map(|s| s.last_seen.clone()).max(),
                sessions: mine.len() as u64,
                finished: mine.iter().filter_map(|s| s.finished_at.clone()).min(),
                params: mine
                    .iter()
                    .max_by_key(|s| s.id)
                    .map(|s| s.params.clone())
                    .unwrap_or_default(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn writes_must_come_from_the_page_itself() {
        let host = ("host", "rate.example.org");
        assert!(same_origin(&headers(&[host]), None), "no browser headers");
        assert!(same_origin(
            &headers(&[
                host,
                ("origin", "https://rate.example.org"),
                ("sec-fetch-site", "same-origin")
            ]),
            None
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "https://evil.example")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[host, ("sec-fetch-site", "same-site")]),
            None
        ));
        // Behind a proxy that rewrites Host, the configured public origin decides.
        let proxied = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://rate.example.org"),
        ]);
        assert!(!same_origin(&proxied, None));
        assert!(same_origin(&proxied, Some("https://rate.example.org/")));
        assert!(!same_origin(&proxied, Some("https://other.example.org")));
    }

    #[test]
    fn only_configured_crowd_parameters_are_kept_and_cut() {
        let wanted = vec!["PROLIFIC_PID".to_string(), "STUDY_ID".to_string()];
        let query = HashMap::from([
            (
                "PROLIFIC_PID".to_string(),
                format!("p\u{7}{}", "x".repeat(300)),
            ),
            ("other".to_string(), "y".to_string()),
        ]);
        let kept = crowd_params(&wanted, &query);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept["PROLIFIC_PID"], format!("p{}", "x".repeat(199)));
    }
}
