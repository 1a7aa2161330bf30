//! The one retry budget of recording a request. create-request times out at 10 s (`Timeout` in the
//! template's Globals); a caller must get an answer, a 503 at worst, before that, however the races and
//! the store behave. Without a shared budget the retries multiply: up to [`ROUNDS`] rounds, each a slot
//! read and a write whose conflict retries (up to 8) each take up to the SDK's 5 s operation timeout.
//!
//! So: a new round, or a new conflict retry inside a write, starts only within [`RETRY_WINDOW`] of the
//! start; and the whole of recording is cut at [`RECORD_TIMEOUT`] (a 503), which leaves the function
//! 2 s for its own work. Both are measured from when recording starts.

use std::time::{Duration, Instant};

/// Rounds of deciding and writing before giving up with a 503: each lost round is a concurrent writer
/// that won (they are rare and resolve in one or two rounds).
pub const ROUNDS: usize = 8;
/// No new round or conflict retry starts after this.
pub const RETRY_WINDOW: Duration = Duration::from_secs(3);
/// Recording is abandoned (a 503) after this: under create-request's 10 s timeout with room to answer.
pub const RECORD_TIMEOUT: Duration = Duration::from_secs(8);

/// When recording started, and so until when it may retry.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    retry_until: Instant,
}

impl Budget {
    /// A budget starting now.
    pub fn start() -> Self {
        Self::with_window(RETRY_WINDOW)
    }

    /// A budget whose retries may start for `window` (tests use a short one).
    pub fn with_window(window: Duration) -> Self {
        Self {
            retry_until: Instant::now() + window,
        }
    }

    /// Whether another attempt (a round, a conflict retry) may start.
    pub fn may_retry(&self) -> bool {
        Instant::now() < self.retry_until
    }

    /// The instant after which no retry starts, for the store's own retry loop.
    pub fn retry_until(&self) -> Instant {
        self.retry_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_fits_the_function_timeout() {
        // create-request's Timeout (template Globals) and the SDK's operation timeout (init/config.rs).
        let function_timeout = Duration::from_secs(10);
        let sdk_operation = Duration::from_secs(5);
        assert!(RECORD_TIMEOUT < function_timeout);
        assert!(RETRY_WINDOW + sdk_operation <= RECORD_TIMEOUT);
        assert!(Budget::start().may_retry());
        assert!(!Budget::with_window(Duration::ZERO).may_retry());
    }
}
