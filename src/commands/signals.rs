//! Stop requests: Ctrl-C (SIGINT), and SIGTERM and SIGHUP, which a service manager, `kill`,
//! `timeout` or a closed terminal send, are all handled alike: no new work starts and work in
//! flight gets its grace period.

use std::future::Future;

/// Resolves when the process is asked to stop, with the signal's name. The handlers are installed
/// when this is called, not when the future is first polled (a `select!` may not poll it at
/// once), so a signal that arrives in between is not lost to the default action. Must be called
/// inside the tokio runtime.
pub fn stop_requested() -> impl Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        let hup = signal(SignalKind::hangup());
        async move {
            let (Ok(mut interrupt), Ok(mut term), Ok(mut hup)) = (interrupt, term, hup) else {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            };
            tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
