//! Progress while a run is going: a bar with done, failed and retrying counts and an ETA when
//! stderr is a terminal, plain periodic log lines otherwise (CI logs, `nohup`, pipes).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::Counters;

/// Shows progress until `stop` is cancelled.
pub fn spawn(counters: Arc<Counters>, stop: CancellationToken) -> JoinHandle<()> {
    if std::io::stderr().is_terminal() {
        tokio::spawn(bar(counters, stop))
    } else {
        tokio::spawn(lines(counters, stop))
    }
}

fn status(counters: &Counters) -> String {
    let batched = counters.batched.load(Ordering::Relaxed);
    format!(
        "{} ok, {} failed, {} retrying, {} in flight{}",
        counters.ok.load(Ordering::Relaxed),
        counters.failed.load(Ordering::Relaxed),
        counters.retrying.load(Ordering::Relaxed),
        counters.in_flight.load(Ordering::Relaxed),
        if batched > 0 {
            format!(", {batched} in batches")
        } else {
            String::new()
        }
    )
}

async fn bar(counters: Arc<Counters>, stop: CancellationToken) {
    let bar = ProgressBar::new(counters.total.load(Ordering::Relaxed));
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} cells  {msg}  ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    loop {
        bar.set_length(counters.total.load(Ordering::Relaxed));
        bar.set_position(counters.done());
        bar.set_message(status(&counters));
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(150)) => {}
        }
    }
    bar.set_position(counters.done());
    bar.set_message(status(&counters));
    bar.finish_and_clear();
}

async fn lines(counters: Arc<Counters>, stop: CancellationToken) {
    let every = Duration::from_secs(10);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {
                info!(
                    "progress: {}/{} cells done ({})",
                    counters.done(),
                    counters.total.load(Ordering::Relaxed),
                    status(&counters)
                );
            }
        }
    }
}
