//! The pages `blindfold collect` serves, as bytes: the rating form (the offline packet's form,
//! with its answers kept on the server), the researcher's dashboard and the completion page.
//! Pure: data in, HTML out; `server` sends them with their headers.

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use serde_json::{Value, json};

use super::answers::{IDLE_CAP_MS, Progress};
use super::tokens::Token;
use crate::blind::packet::{self, Packet, PacketJson};

const PAGES_CSS: &str = include_str!("pages/pages.css");
const DASHBOARD_TEMPLATE: &str = include_str!("pages/dashboard.html.j2");
const DONE_TEMPLATE: &str = include_str!("pages/done.html.j2");

/// The rating form's policy, as an HTTP header: the page's own (script and style by hash,
/// requests only to this server), plus what only a header can say (no framing).
pub fn form_csp() -> String {
    format!(
        "{}; frame-ancestors 'none'",
        packet::content_security_policy(true)
    )
}

/// The dashboard's and completion page's policy: their stylesheet, nothing else (no script).
pub fn page_csp() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        packet::sha256_base64(PAGES_CSS)
    )
}

/// What the served form needs beyond the packet.
pub struct FormPage<'a> {
    pub packet: &'a PacketJson,
    /// The rater's token: the page's requests go to `TOKEN/api/...`, relative to `/r/TOKEN`, so
    /// the form works under any path prefix a reverse proxy adds.
    pub token: &'a Token,
    /// The session id and its secret (the CSRF token); `None` when collection is closed.
    pub session: Option<(i64, &'a Token)>,
    /// The answers saved so far, in the form's state format (`answers::form_state`).
    pub state: Value,
    pub read_only: bool,
}

pub fn form_page(page: &FormPage<'_>) -> Vec<u8> {
    let token = page.token.expose();
    let hosted = json!({
        "save_url": format!("{token}/api/save"),
        "finish_url": format!("{token}/api/finish"),
        "done_url": format!("{token}/done"),
        "session": page.session.map(|(id, _)| id),
        "csrf": page.session.map(|(_, secret)| secret.expose()),
        "read_only": page.read_only,
        "state": page.state,
    });
    let packet = Packet {
        rater: &page.packet.rater,
        packet_id: &page.packet.packet_id,
        items: page.packet.items.iter().collect(),
    };
    packet::render_hosted_html(&packet, &page.packet.rubric, &hosted)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("dashboard.html", DASHBOARD_TEMPLATE)
        .expect("the dashboard template is valid");
    env.add_template("done.html", DONE_TEMPLATE)
        .expect("the completion template is valid");
    env
}

fn render(name: &str, context: Value) -> Vec<u8> {
    environment()
        .get_template(name)
        .and_then(|t| t.render(Serde(&context)))
        .expect("the page renders with this context")
        .into_bytes()
}

/// Whether a rater's link works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Active,
    Revoked,
    None,
}

/// One rater on the dashboard. Nothing here can name a condition: the server never has the key.
#[derive(Debug, Clone, PartialEq)]
pub struct RaterActivity {
    pub rater: String,
    pub link: LinkState,
    pub progress: Progress,
    /// Answer rows saved.
    pub answers: u64,
    pub time_spent_ms: i64,
    pub last_seen: Option<String>,
    pub sessions: u64,
    /// When the rater pressed Finish (the first time), if they did.
    pub finished: Option<String>,
    /// The crowd-platform parameters of the rater's latest session.
    pub params: BTreeMap<String, String>,
}

/// `2 h 05 min`, `12 min 30 s`, `45 s`.
pub fn format_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// Timestamps shown to the minute or second, without the `T` and fractions.
fn short_time(rfc3339: &str) -> String {
    rfc3339.replace('T', " ").chars().take(19).collect()
}

pub fn dashboard(
    round: &str,
    now: &str,
    read_only: bool,
    params: &[String],
    raters: &[RaterActivity],
) -> Vec<u8> {
    let rows: Vec<Value> = raters
        .iter()
        .map(|r| {
            json!({
                "rater": r.rater,
                "link": r.link,
                "assigned": r.progress.assigned,
                "rated": r.progress.rated,
                "partly": r.progress.partly,
                "bar_max": r.progress.assigned.max(1),
                "answers": r.answers,
                "time_spent": format_duration(r.time_spent_ms),
                "last_seen": r.last_seen.as_deref().map(short_time),
                "sessions": r.sessions,
                "finished": r.finished.as_deref().map(short_time),
                "params": r.params,
            })
        })
        .collect();
    render(
        "dashboard.html",
        json!({
            "css": PAGES_CSS,
            "round": round,
            "now": short_time(now),
            "read_only": read_only,
            "params": params,
            "raters": rows,
            "rated": raters.iter().map(|r| r.progress.rated).sum::<usize>(),
            "assigned": raters.iter().map(|r| r.progress.assigned).sum::<usize>(),
            "idle_minutes": IDLE_CAP_MS / 60_000,
        }),
    )
}

/// The completion page: the code (and a redirect) once the rater has finished.
pub fn done_page(
    finished: bool,
    progress: Progress,
    code: Option<&str>,
    redirect: Option<&str>,
) -> Vec<u8> {
    render(
        "done.html",
        json!({
            "css": PAGES_CSS,
            "finished": finished,
            "rated": progress.rated,
            "assigned": progress.assigned,
            "code": code,
            "redirect": redirect,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blind::packet::{Item, Turn};
    use crate::collect::tokens::{Kind, TOKEN_BYTES};
    use crate::provider::Role;
    use crate::study::defaults;

    fn packet() -> PacketJson {
        let rubric = defaults::study().unwrap().rubric;
        packet::packet_json(
            &Packet {
                rater: "r1",
                packet_id: "PK01-0000",
                items: vec![&Item {
                    item_id: "AAAA-1111".into(),
                    turns: vec![Turn {
                        role: Role::Assistant,
                        content: "</script><script>alert(1)</script>".into(),
                    }],
                }],
            },
            &rubric,
        )
    }

    #[test]
    fn the_served_form_is_the_packet_form_with_its_server_settings() {
        let packet = packet();
        let token = Token::new(Kind::Rater, [3; TOKEN_BYTES]);
        let secret = Token::new(Kind::Rater, [4; TOKEN_BYTES]);
        let state = json!({"items": {"AAAA-1111": {"comment": "</script><b>"}}});
        let html = String::from_utf8(form_page(&FormPage {
            packet: &packet,
            token: &token,
            session: Some((7, &secret)),
            state,
            read_only: false,
        }))
        .unwrap();
        assert!(html.contains("connect-src &#x27;self&#x27;"), "{html}");
        assert!(html.contains("<script type=\"application/json\" id=\"hosted-data\">"));
        assert!(html.contains(&format!("\"save_url\":\"{}/api/save\"", token.expose())));
        assert!(html.contains("\"session\":7"));
        assert!(
            html.contains("\\u003c/script\\u003e\\u003cb\\u003e"),
            "saved text cannot close the block"
        );
        assert_eq!(
            html.matches("<script").count(),
            3,
            "the form's script and two data blocks"
        );
        assert!(html.contains(">Finish <kbd>e</kbd></button>"));
        let offline = String::from_utf8(packet::render_html(
            &Packet {
                rater: "r1",
                packet_id: "PK01-0000",
                items: packet.items.iter().collect(),
            },
            &packet.rubric,
        ))
        .unwrap();
        assert!(!offline.contains("id=\"hosted-data\"") && !offline.contains("connect-src"));
        assert!(offline.contains(">Export CSV <kbd>e</kbd></button>"));
    }

    #[test]
    fn the_dashboard_escapes_what_raters_typed_and_shows_no_script() {
        let html = String::from_utf8(dashboard(
            "round-1",
            "2026-05-01T10:00:00.000Z",
            false,
            &["PROLIFIC_PID".to_string()],
            &[RaterActivity {
                rater: "r1".into(),
                link: LinkState::Active,
                progress: Progress {
                    assigned: 10,
                    rated: 4,
                    partly: 1,
                },
                answers: 23,
                time_spent_ms: 754_000,
                last_seen: Some("2026-05-01T09:58:12.345Z".into()),
                sessions: 2,
                finished: None,
                params: BTreeMap::from([(
                    "PROLIFIC_PID".to_string(),
                    "<script>x</script>".to_string(),
                )]),
            }],
        ))
        .unwrap();
        assert!(html.contains("4 / 10"));
        assert!(html.contains("12 min 34 s"));
        assert!(html.contains("2026-05-01 09:58:12"));
        assert!(
            html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_completion_page_shows_the_code_only_when_finished() {
        let p = Progress {
            assigned: 3,
            rated: 3,
            partly: 0,
        };
        let done = String::from_utf8(done_page(
            true,
            p,
            Some("C0DE42"),
            Some("https://app.prolific.com/submissions/complete?cc=C0DE42"),
        ))
        .unwrap();
        assert!(done.contains("C0DE42</span>"));
        assert!(done.contains(
            "content=\"5;url=https:&#x2f;&#x2f;app.prolific.com&#x2f;submissions&#x2f;complete?cc=C0DE42\""
        ));
        let not_yet = String::from_utf8(done_page(false, p, Some("C0DE42"), None)).unwrap();
        assert!(!not_yet.contains("C0DE42"));
        assert!(not_yet.contains("Not finished yet"));
        assert_eq!(format_duration(7_500_000), "2 h 05 min");
        assert_eq!(format_duration(45_900), "45 s");
    }
}
