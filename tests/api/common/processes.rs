//! `sesame` as a process of its own, on a test's database: the command line, and servers.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};

use super::{SECRET, TestDatabase};

impl TestDatabase {
    /// The `sesame` command on this database.
    pub fn sesame(&self) -> Command {
        sesame(&self.env_url(), &self.data_dir())
    }
}

/// The `sesame` command as an operator runs it on the database at `url`, with the tests' token
/// secret, logging warnings only.
pub fn sesame(url: &str, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
    command
        .env("DATABASE_URL", url)
        .env("SESAME_DATA_DIR", data_dir)
        .env(
            "SESAME_JWT_SECRET",
            String::from_utf8_lossy(SECRET).into_owned(),
        )
        .env("SESAME_LOG", "warn");
    command
}

/// A `sesame serve` process listening on `port`, killed when dropped (even on a panic).
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free for a server to take.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}
