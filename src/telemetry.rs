//! Structured logs with `tracing`: text for people, JSON for collectors. Nothing that identifies a
//! patient is ever logged (handlers log ids and route patterns only).

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

pub fn init(settings: &Settings) {
    let mut filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // actix-http logs every request it cannot parse at ERROR ("stream error: request parse
    // error"): a client's mistake, already answered 400 with a problem body, that anyone could use
    // to flood the error log. Silenced unless the filter names actix_http itself.
    if !settings.log_filter.contains("actix_http")
        && let Ok(quiet) = "actix_http::h1::dispatcher=off".parse()
    {
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
