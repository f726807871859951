//! The listening socket: actix's HTTP/1 service over TCP connections whose bare error answers
//! get a problem body. actix-http answers a request it cannot parse (a garbage request line, a
//! URL or headers beyond its buffer, headers that never finish) itself, before the application
//! sees anything, with an empty 400, 431 or 408; `ProblemIo` rewrites exactly those responses on
//! their way out into `application/problem+json`, so that every error a client gets from this
//! server has a body saying what was wrong.
//!
//! It also ends connections that go silent: while actix waits for input (the rest of a request,
//! a chunked body after its 408), a connection on which nothing was read or written for the idle
//! limit is closed. Without it a client that stops mid-way through a chunked body keeps its socket
//! after the 408 for as long as it likes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose written bytes pass through `rewrite_bare_error` (once per write call).
pub struct ProblemIo<T> {
    inner: T,
    /// A rewritten response not yet fully written to `inner`.
    pending: Vec<u8>,
    /// The idle limit and the time it runs out, pushed back by every byte read or written.
    idle: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl<T> ProblemIo<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            idle: None,
        }
    }

    /// Closes the connection (a read fails with `TimedOut`) once nothing was read or written for
    /// `limit` while actix waits for input.
    pub fn with_idle_limit(mut self, limit: Duration) -> Self {
        self.idle = Some((limit, Box::pin(tokio::time::sleep(limit))));
        self
    }

    fn active(&mut self) {
        if let Some((limit, deadline)) = &mut self.idle {
            deadline
                .as_mut()
                .reset(tokio::time::Instant::now() + *limit);
        }
    }
}

impl ProblemIo<TcpStream> {
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.peer_addr().ok()
    }
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.active();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let silent = this
                    .idle
                    .as_mut()
                    .is_some_and(|(_, deadline)| deadline.as_mut().poll(cx).is_ready());
                if silent {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the connection went silent",
                    )))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(rewritten) = rewrite_bare_error(buf) {
            this.pending = rewritten;
            // The caller's bytes are taken whole; ours go out from `pending`.
            return match this.poll_pending(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.active();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

/// The problem body for a response head actix-http wrote by itself: a 400, 408 or 431 with no
/// body and no content type (every response of the application has a content type). `None` for
/// anything else, which passes untouched.
pub fn rewrite_bare_error(written: &[u8]) -> Option<Vec<u8>> {
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if head_end != written.len() {
        return None;
    }
    let head = std::str::from_utf8(written).ok()?;
    let status: u16 = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let detail = match status {
        400 => "the request could not be parsed as HTTP/1.1 (request line, header or URL)",
        408 => "the request headers did not arrive in time",
        431 => "the request line or headers are too large",
        _ => return None,
    };
    let lower = head.to_ascii_lowercase();
    if lower.contains("\r\ncontent-type:") || !lower.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let reason = actix_web::http::StatusCode::from_u16(status)
        .ok()?
        .canonical_reason()
        .unwrap_or("Error");
    let body = serde_json::json!({
        "type": format!("urn:sesame:problem:http-{status}"),
        "title": reason,
        "status": status,
        "detail": detail,
    })
    .to_string();
    let at = lower.find("\r\ncontent-length: 0\r\n")?;
    let mut out = Vec::with_capacity(written.len() + body.len() + 64);
    out.extend_from_slice(&written[..at]);
    out.extend_from_slice(
        format!(
            "\r\ncontent-type: {}\r\ncontent-length: {}\r\n",
            crate::error::PROBLEM_CONTENT_TYPE,
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&written[at + "\r\ncontent-length: 0\r\n".len()..]);
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_parser_errors_get_a_problem_body_and_nothing_else_changes() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Tue, 01 Dec 2026 18:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite_bare_error(bare).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains("connection: close"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 400);

        let timeout = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite_bare_error(timeout).is_some());
        let large = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite_bare_error(large).is_some());

        // The application's own answers, and any other status, pass untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ncontent-type: application/problem+json\r\n\r\n";
        assert!(rewrite_bare_error(ours).is_none());
        assert!(
            rewrite_bare_error(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").is_none()
        );
        assert!(
            rewrite_bare_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n").is_none()
        );
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nxyz";
        assert!(rewrite_bare_error(with_body).is_none());
    }
}
