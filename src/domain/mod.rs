//! The rules of the registry as plain functions over plain data: no database, no HTTP.

pub mod account;
pub mod case;
pub mod credentials;
pub mod indicators;
pub mod instruments;
pub mod pathway;
pub mod patient;
pub mod policy;
pub mod report;
pub mod research;
pub mod tele_expertise;
pub mod tokens;
