//! Sésame: a collaborative-care case registry (REST API).
//!
//! `http/` thin handlers, `domain/` rules without I/O, `db/` schema and queries, `app` wiring,
//! `config` settings, `clock` the injectable time, `error` the one error type.

pub mod app;
pub mod background;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod error;
pub mod http;
pub mod outbox;
pub mod service;
pub mod telemetry;
