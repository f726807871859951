//! Delivers due outbox messages: claim a batch under a lease, hand each to the mailer, record the
//! outcome. A failure is retried with backoff (`retry_delay`) and, past the last attempt or on a
//! permanent SMTP refusal, recorded as failed with the server's words.
//!
//! What "exactly once" means here: a message is marked sent only after the SMTP server accepted
//! it, and a claim that outlives its sender (a killed process) is taken up again when its lease
//! expires. A process killed between the server's acceptance and the mark sends that one message
//! again on restart: at most one duplicate per message in flight at the moment of the kill, and a
//! sender has one message in flight at a time.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::Mailbox;
use uuid::Uuid;

use super::retry_delay;
use crate::app::AppState;
use crate::db::naive;
use crate::db::outbox::{self as store, OutboxRow};
use crate::email::{Mailer, Outgoing};
use crate::error::AppResult;

const BATCH: i64 = 20;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

pub struct Sender {
    state: AppState,
    mailer: Mailer,
    from: Mailbox,
    /// This sender's name on its claims.
    id: String,
}

impl Sender {
    pub fn new(state: AppState) -> Result<Self, String> {
        let mailer = Mailer::from_settings(&state.settings)?;
        let from = state
            .settings
            .mail_from
            .parse()
            .map_err(|e| format!("SESAME_MAIL_FROM: {e}"))?;
        Ok(Self {
            state,
            mailer,
            from,
            id: Uuid::now_v7().to_string(),
        })
    }

    pub fn describe(&self) -> String {
        self.mailer.describe()
    }

    /// Delivers everything due now, batch after batch.
    pub async fn run_once(&self) -> AppResult<PassReport> {
        let mut report = PassReport::default();
        loop {
            let batch = self.claim().await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for message in batch {
                self.deliver(message, &mut report).await?;
            }
        }
    }

    async fn claim(&self) -> AppResult<Vec<OutboxRow>> {
        let now = self.state.clock.now();
        let lease = now + Duration::seconds(self.state.settings.outbox_lease_secs);
        let claimer = self.id.clone();
        self.state
            .db
            .run(move |conn| {
                Ok(store::claim(
                    conn,
                    &claimer,
                    naive(now),
                    naive(lease),
                    BATCH,
                )?)
            })
            .await
    }

    async fn deliver(&self, message: OutboxRow, report: &mut PassReport) -> AppResult<()> {
        let outgoing = Outgoing {
            id: &message.id,
            to: &message.recipient,
            subject: &message.subject,
            text: &message.body_text,
            html: &message.body_html,
        };
        let outcome = self.mailer.send(&self.from, &outgoing).await;
        let now = self.state.clock.now();
        let claimer = self.id.clone();
        let id = message.id.clone();
        match outcome {
            Ok(()) => {
                report.sent += 1;
                self.state
                    .db
                    .transaction(move |conn| Ok(store::mark_sent(conn, &id, &claimer, naive(now))?))
                    .await?;
            }
            Err(error) => {
                let retry_at = (!error.permanent)
                    .then(|| retry_delay(message.attempts, self.state.settings.outbox_max_attempts))
                    .flatten()
                    .map(|delay| naive(now + delay));
                if retry_at.is_some() {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                }
                // The recipient is not logged: an address can identify a patient.
                tracing::warn!(
                    message_id = %message.id,
                    kind = %message.kind,
                    attempts = message.attempts,
                    permanent = error.permanent,
                    error = %error.message,
                    "email not delivered"
                );
                self.state
                    .db
                    .transaction(move |conn| {
                        Ok(store::mark_attempt_failed(
                            conn,
                            &id,
                            &claimer,
                            &error.message,
                            retry_at,
                            naive(now),
                        )?)
                    })
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs passes every `poll` inside the server, until the process stops. A failed pass (the
    /// database gone) is retried with backoff; the task never ends on an error.
    pub fn spawn(self, poll: StdDuration) {
        crate::background::keep_running("outbox pass failed", async move || {
            let report = self.run_once().await?;
            if report != PassReport::default() {
                tracing::info!(
                    sent = report.sent,
                    retrying = report.retrying,
                    failed = report.failed,
                    "outbox pass"
                );
            }
            Ok::<_, crate::error::AppError>(poll)
        });
    }
}
