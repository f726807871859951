//! What the background tasks of `serve` share: the loop that runs a pass again and again, and the
//! wait before trying again after a failure.

use std::fmt::Display;
use std::time::Duration;

/// Runs `pass` on the current runtime until the process stops. After a success, waits what the
/// pass returned; after a failure, logs `failed` with the error (the database's or a server's:
/// no address, no content) and waits the backoff. The task never ends on an error.
pub fn keep_running<E: Display>(
    failed: &'static str,
    mut pass: impl AsyncFnMut() -> Result<Duration, E> + 'static,
) {
    actix_web::rt::spawn(async move {
        let mut backoff = Backoff::new();
        loop {
            let wait = match pass().await {
                Ok(wait) => {
                    backoff.succeeded();
                    wait
                }
                Err(error) => {
                    let wait = backoff.failed();
                    tracing::warn!(%error, retry_in_secs = wait.as_secs(), "{failed}");
                    wait
                }
            };
            actix_web::rt::time::sleep(wait).await;
        }
    });
}

/// Waits after consecutive failures of a background task (the database gone, most often):
/// 1 s, doubling to 30 s, back to 1 s after a success. A task never gives up: it logs and waits.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const LONGEST: Duration = Duration::from_secs(30);

    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// The wait before the next attempt, after one more failure.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::LONGEST);
        wait
    }

    /// The task worked: the next failure waits the shortest time again.
    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_to_thirty_seconds_and_reset_after_a_success() {
        let mut backoff = Backoff::new();
        let waits: Vec<u64> = (0..7).map(|_| backoff.failed().as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30]);
        backoff.succeeded();
        assert_eq!(backoff.failed().as_secs(), 1);
    }
}
