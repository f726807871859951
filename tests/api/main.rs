//! Integration tests: the whole service in-process against a real database (SQLite file by
//! default; PostgreSQL when `TEST_DATABASE_URL` is set).

mod auth;
mod cases;
mod common;
mod concurrency;
mod contract;
mod demo;
mod email;
mod errors;
mod matrix;
mod meetings;
mod microstructure;
mod organisation;
mod outbox_faults;
mod patients;
mod program_tables;
mod recovery;
mod reports;
mod smtp;
mod surveys;
mod tele_expertise;
mod wire;
