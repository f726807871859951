//! Wiring: the shared state of a running service and the actix application built from it.

use std::path::Path;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::clock::SharedClock;
use crate::config::{DatabaseUrl, Settings};
use crate::db::Db;
use crate::domain::tokens::TokenKeys;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub tokens: Arc<TokenKeys>,
    pub settings: Arc<Settings>,
    /// Per-client-address limits on authentication (this process's own counts).
    pub limits: Arc<crate::http::limits::Limits>,
}

impl AppState {
    /// Connects to the database, migrates it if configured to, and loads the signing key.
    pub fn start(settings: Settings, clock: SharedClock) -> Result<Self, String> {
        let db = Db::connect(&settings)?;
        if settings.migrate_on_start {
            let applied = db.migrate()?;
            if applied > 0 {
                tracing::info!(applied, "database migrations applied");
            }
        }
        let secret = signing_secret(&settings)?;
        let tokens = Arc::new(TokenKeys::new(
            &secret,
            &settings.jwt_issuer,
            &settings.jwt_audience,
            settings.access_token_ttl_secs,
        ));
        Ok(Self {
            db,
            clock,
            tokens,
            limits: Arc::new(crate::http::limits::Limits::new(&settings)),
            settings: Arc::new(settings),
        })
    }

    /// What the application layer's operations run on.
    pub fn ctx(&self) -> crate::service::Ctx {
        crate::service::Ctx {
            db: self.db.clone(),
            clock: self.clock.clone(),
            settings: self.settings.clone(),
            tokens: self.tokens.clone(),
        }
    }
}

const KEY_FILE: &str = "sesame.key";

/// The configured secret; in embedded (SQLite) mode without one, a key generated once and kept in
/// the data directory. PostgreSQL deployments may run several instances, which must share a key,
/// so there it must be configured.
fn signing_secret(settings: &Settings) -> Result<Vec<u8>, String> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.0.clone());
    }
    if let DatabaseUrl::Postgres(_) = settings.database_url {
        return Err("SESAME_JWT_SECRET is required with PostgreSQL (at least 32 bytes, the same on every instance)".to_owned());
    }
    load_or_create_key(&settings.data_dir.join(KEY_FILE))
}

fn load_or_create_key(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => STANDARD
            .decode(text.trim())
            .ok()
            .filter(|key| key.len() >= 32)
            .ok_or_else(|| {
                format!(
                    "{} does not hold a valid key; delete it to make a new one",
                    path.display()
                )
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 64] = rand::random();
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            write_private(path, STANDARD.encode(key).as_bytes())
                .map_err(|e| format!("cannot write the signing key {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a token signing key");
            Ok(key.to_vec())
        }
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The whole application, as served and as tested.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .configure(crate::http::routes)
        .default_service(web::to(crate::http::ops::no_such_path))
        .wrap(actix_web::middleware::from_fn(
            crate::http::ops::audit_refusals,
        ))
        .wrap(actix_web::middleware::from_fn(
            crate::http::ops::problem_for_bare_errors,
        ))
        .wrap(actix_web::middleware::from_fn(
            crate::http::ops::request_log,
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_key_is_made_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(KEY_FILE);
        let first = load_or_create_key(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_key(&path).unwrap(), first);
        std::fs::write(&path, "garbage").unwrap();
        assert!(load_or_create_key(&path).is_err());
    }

    #[test]
    fn postgres_without_a_secret_is_refused() {
        let mut settings = Settings::embedded_default();
        settings.database_url = DatabaseUrl::Postgres("postgres://localhost/x".into());
        assert!(
            signing_secret(&settings)
                .unwrap_err()
                .contains("SESAME_JWT_SECRET")
        );
    }
}
