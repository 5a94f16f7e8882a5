//! The retry strategy: one place decides whether a failed request is tried again and when.
//!
//! Transient errors (429, 5xx, connection failures, timeouts) are retried with capped exponential
//! backoff and full jitter, or after the delay the server asked for (Retry-After), until the
//! model's `max_attempts`. Permanent errors are not retried. Pure: the caller supplies the clock
//! reading and the jitter draw, so the schedule is testable and seeded.

use std::time::{Duration, SystemTime};

use crate::provider::ProviderError;
use crate::ranges;
use crate::study::ModelSpec;

/// A model's per-request timeout, clamped to the documented range (see
/// [`RetryPolicy::for_model`]): `Duration::from_secs_f64` panics on values such as 1e300.
pub fn request_timeout(spec: &ModelSpec) -> Duration {
    let (min, max) = ranges::TIMEOUT_S.float_bounds();
    let seconds = if spec.timeout_s.is_nan() {
        max
    } else {
        spec.timeout_s.clamp(min, max)
    };
    Duration::from_secs_f64(seconds)
}

/// A server asking for a longer pause than this is treated as refusing service for now.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp(GiveUpReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    Permanent,
    AttemptsExhausted,
    RetryAfterTooLong,
}

impl RetryPolicy {
    /// A model's retry settings. A study that passed `validate` is within the documented ranges;
    /// one read back from a hand-edited run manifest may not be, so values are clamped to them
    /// rather than trusted.
    pub fn for_model(spec: &ModelSpec) -> Self {
        let ms = |value: u64, setting: &ranges::Setting| {
            Duration::from_millis(value.min(setting.max_int() as u64))
        };
        RetryPolicy {
            max_attempts: spec
                .max_attempts
                .clamp(1, ranges::MAX_ATTEMPTS.max_int() as u32),
            base: ms(spec.backoff_ms, &ranges::BACKOFF_MS),
            cap: ms(spec.backoff_max_ms, &ranges::BACKOFF_MAX_MS),
        }
    }

    /// Decides after `attempts` attempts (1 after the first) failed with `error`.
    /// `jitter` is a uniform draw from [0, 1).
    pub fn decide(
        &self,
        attempts: u32,
        error: &ProviderError,
        now: SystemTime,
        jitter: f64,
    ) -> Decision {
        if !error.is_transient() {
            return Decision::GiveUp(GiveUpReason::Permanent);
        }
        if attempts >= self.max_attempts {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        if let Some(asked) = error.retry_delay(now) {
            if asked > MAX_RETRY_AFTER {
                return Decision::GiveUp(GiveUpReason::RetryAfterTooLong);
            }
            // Honour the server's delay; a little jitter on top keeps clients from returning in
            // lockstep.
            return Decision::RetryAfter(
                asked
                    + self
                        .base
                        .min(asked / 10 + Duration::from_millis(50))
                        .mul_f64(jitter),
            );
        }
        Decision::RetryAfter(self.backoff(attempts).mul_f64(jitter.clamp(0.0, 1.0)))
    }

    /// The upper bound of the full-jitter delay after `attempts` failures: base * 2^(attempts-1),
    /// capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// Why a request was given up, when the error alone does not say: a server that asked for a
/// longer pause than blindfold waits.
pub fn why_given_up(
    reason: GiveUpReason,
    error: &ProviderError,
    now: SystemTime,
) -> Option<String> {
    (reason == GiveUpReason::RetryAfterTooLong).then(|| {
        let asked = error
            .retry_delay(now)
            .map_or("longer".into(), |d| format!("{} s", d.as_secs()));
        format!(
            "given up without retrying: the server asked to wait {asked} before retrying, more than the {} minutes blindfold waits (run again later to retry the cell)",
            MAX_RETRY_AFTER.as_secs() / 60
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{HttpResponse, ProviderKind, parse_response};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        }
    }

    fn http_error(status: u16, headers: &[(&str, &str)], body: &str) -> ProviderError {
        let response = HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
        };
        parse_response(ProviderKind::OpenAi, &response).unwrap_err()
    }

    const RATE_LIMITED: &str = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        let bounds: Vec<u64> = (1..=6).map(|a| p.backoff(a).as_millis() as u64).collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(200), Duration::from_millis(1000));
    }

    #[test]
    fn full_jitter_scales_the_bound() {
        let error = http_error(500, &[], r#"{"error":{"message":"boom"}}"#);
        let now = SystemTime::now();
        assert_eq!(
            policy().decide(3, &error, now, 0.5),
            Decision::RetryAfter(Duration::from_millis(200))
        );
        assert_eq!(
            policy().decide(1, &error, now, 0.0),
            Decision::RetryAfter(Duration::ZERO)
        );
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        for status in [400, 401, 403, 404] {
            let error = http_error(status, &[], r#"{"error":{"message":"no"}}"#);
            assert_eq!(
                policy().decide(1, &error, SystemTime::now(), 0.3),
                Decision::GiveUp(GiveUpReason::Permanent),
                "{status}"
            );
        }
        let quota = http_error(
            429,
            &[],
            r#"{"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        );
        assert_eq!(
            policy().decide(1, &quota, SystemTime::now(), 0.3),
            Decision::GiveUp(GiveUpReason::Permanent)
        );
    }

    #[test]
    fn attempts_are_capped() {
        let error = http_error(503, &[], "{}");
        assert_eq!(
            policy().decide(4, &error, SystemTime::now(), 0.3),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn retry_after_seconds_and_dates_are_honoured() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let error = http_error(429, &[("retry-after", "2")], RATE_LIMITED);
        let Decision::RetryAfter(delay) = policy().decide(1, &error, now, 0.0) else {
            panic!()
        };
        assert_eq!(delay, Duration::from_secs(2));
        let Decision::RetryAfter(delay) = policy().decide(1, &error, now, 0.99) else {
            panic!()
        };
        assert!(
            delay >= Duration::from_secs(2) && delay < Duration::from_millis(2300),
            "{delay:?}"
        );

        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        let error = http_error(429, &[("retry-after", &date)], RATE_LIMITED);
        assert_eq!(
            policy().decide(1, &error, now, 0.0),
            Decision::RetryAfter(Duration::from_secs(5))
        );

        let error = http_error(429, &[("retry-after", "86400")], RATE_LIMITED);
        assert_eq!(
            policy().decide(1, &error, now, 0.0),
            Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
        let why = why_given_up(GiveUpReason::RetryAfterTooLong, &error, now).unwrap();
        assert!(
            why.contains("asked to wait 86400 s") && why.contains("15 minutes"),
            "{why}"
        );
        assert_eq!(why_given_up(GiveUpReason::Permanent, &error, now), None);
    }
}
