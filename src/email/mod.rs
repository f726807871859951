//! Email: what the messages say (`content`) and how they leave (`Mailer`): SMTP with lettre when
//! `SESAME_SMTP_URL` is set, otherwise `.eml` files in a folder of the data directory.

pub mod content;

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;

/// How messages leave.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// A failed delivery: `permanent` when retrying cannot help (the server refused the message or
/// the recipient for good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

/// One message to deliver.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// The outbox row id, also the Message-ID, so that a receiver can spot a repeat.
    pub id: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

impl Mailer {
    /// The transport the settings ask for. SMTP URLs as lettre reads them:
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://host:465`.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        match &settings.smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_str())
                .map(|builder| Mailer::Smtp(builder.build()))
                .map_err(|e| format!("SESAME_SMTP_URL: {e}")),
            None => {
                let dir = settings.data_dir.join("outbox-mail");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Ok(Mailer::Files(AsyncFileTransport::new(&dir), dir))
            }
        }
    }

    /// Where messages go, for the log (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP (SESAME_SMTP_URL)".to_owned(),
            Mailer::Files(_, dir) => format!(
                "no SMTP configured: emails are written as .eml files in {}",
                dir.display()
            ),
        }
    }

    pub async fn send(&self, from: &Mailbox, message: &Outgoing<'_>) -> Result<(), SendError> {
        let to: Mailbox = message.to.parse().map_err(|e| SendError {
            permanent: true,
            message: format!("recipient address refused: {e}"),
        })?;
        let email = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(message.subject)
            .message_id(Some(format!("<{}@sesame>", message.id)))
            .multipart(MultiPart::alternative_plain_html(
                message.text.to_owned(),
                message.html.to_owned(),
            ))
            .map_err(|e| SendError {
                permanent: true,
                message: format!("message not buildable: {e}"),
            })?;
        match self {
            Mailer::Smtp(transport) => {
                transport
                    .send(email)
                    .await
                    .map(drop)
                    .map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    })
            }
            Mailer::Files(transport, _) => {
                transport
                    .send(email)
                    .await
                    .map(drop)
                    .map_err(|e| SendError {
                        permanent: false,
                        message: e.to_string(),
                    })
            }
        }
    }
}
