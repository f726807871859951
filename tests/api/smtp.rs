//! A real SMTP server on loopback for the email tests: aiosmtpd (from the Python package index),
//! writing what it receives into a maildir that the tests read. Installed once into
//! `target/tmp/smtp-venv` when missing (or taken from `SESAME_TEST_SMTP_PYTHON`).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Ok(path) = std::env::var("SESAME_TEST_SMTP_PYTHON") {
            return PathBuf::from(path);
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smtp-venv");
        let python = venv.join("bin/python");
        let ready = |python: &Path| {
            Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ready(&python) {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 -m venv (python3 and its venv module are needed)");
            assert!(made.success(), "could not create {}", venv.display());
            let installed = Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "aiosmtpd"])
                .status()
                .expect("pip install aiosmtpd");
            assert!(installed.success(), "pip install aiosmtpd failed");
        }
        assert!(ready(&python), "aiosmtpd is not importable");
        python
    })
}

/// One message as the server received it, decoded by Python's `email` package.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub to: String,
    /// Decoded from its RFC 2047 form.
    pub subject: String,
    pub message_id: String,
    /// `multipart/alternative` for ours.
    pub content_type: String,
    /// The decoded text/plain part.
    pub text: String,
    /// The decoded text/html part.
    pub html: String,
    /// Whether the `email` package found defects in the message.
    pub defects: usize,
}

/// Reads a maildir's new messages, oldest first, as JSON lines.
const READ_MAILDIR: &str = r#"
import email, email.policy, json, os, sys
folder = os.path.join(sys.argv[1], "new")
names = sorted(os.listdir(folder), key=lambda n: os.path.getmtime(os.path.join(folder, n))) if os.path.isdir(folder) else []
for name in names:
    with open(os.path.join(folder, name), "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    text = m.get_body(preferencelist=("plain",))
    html = m.get_body(preferencelist=("html",))
    defects = len(m.defects) + sum(len(p.defects) for p in m.walk())
    print(json.dumps({"to": str(m["To"]), "subject": str(m["Subject"]), "message_id": str(m["Message-ID"]),
        "content_type": m.get_content_type(), "text": text.get_content() if text else "",
        "html": html.get_content() if html else "", "defects": defects}))
"#;

pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = Self {
            child: None,
            port,
            maildir: tempfile::tempdir().expect("maildir"),
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Points an application's outbox at this server: `TestApp::with(|s| smtp.configure(s))`.
    pub fn configure(&self, settings: &mut sesame::config::Settings) {
        settings.smtp_url = Some(sesame::config::Secret(self.url().into_bytes()));
    }

    /// Starts (again) on the same port and maildir.
    pub fn resume(&mut self) {
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server: connections are refused until `resume`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        let out = Command::new(python())
            .args(["-c", READ_MAILDIR])
            .arg(self.maildir.path().join("mail"))
            .output()
            .expect("read the maildir");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("a decoded message"))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
