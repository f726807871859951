//! Per-client-address limits in front of authentication: token buckets in this process's memory
//! (each instance counts its own clients, as a reverse proxy's limit would), and the client
//! address as seen through a configured trusted proxy only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::HttpRequest;

/// A token bucket per key: `per_minute` tokens, refilled continuously.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Past this many tracked addresses, buckets that have refilled are forgotten (they hold nothing).
const MAX_TRACKED: usize = 50_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let per_sec = f64::from(self.per_minute) / 60.0;
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + elapsed * per_sec).min(f64::from(self.per_minute)),
            at: now,
        }
    }

    /// Seconds until one token is back (at least 1).
    fn wait(&self, bucket: Bucket) -> u64 {
        let per_sec = f64::from(self.per_minute) / 60.0;
        (((1.0 - bucket.tokens) / per_sec).ceil() as u64).max(1)
    }

    /// Takes one token for `key`; `Err(seconds)` to wait when none is left.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        self.take_at(key, Instant::now())
    }

    /// Whether `key` has a token left, without taking it; `Err(seconds)` to wait otherwise.
    pub fn peek(&self, key: &str) -> Result<(), u64> {
        self.peek_at(key, Instant::now())
    }

    fn take_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let full = f64::from(self.per_minute);
            buckets.retain(|_, b| self.refilled(*b, now).tokens < full);
        }
        let start = Bucket {
            tokens: f64::from(self.per_minute),
            at: now,
        };
        let bucket = self.refilled(*buckets.get(key).unwrap_or(&start), now);
        if bucket.tokens >= 1.0 {
            buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: bucket.tokens - 1.0,
                    ..bucket
                },
            );
            Ok(())
        } else {
            buckets.insert(key.to_owned(), bucket);
            Err(self.wait(bucket))
        }
    }

    fn peek_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get(key) {
            None => Ok(()),
            Some(bucket) => {
                let bucket = self.refilled(*bucket, now);
                if bucket.tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(self.wait(bucket))
                }
            }
        }
    }
}

/// The limits of one running service.
pub struct Limits {
    /// Every request to the token endpoints (token, refresh, logout).
    pub auth_requests: RateLimiter,
    /// Failed authentications: wrong credentials, bad refresh tokens, bad bearer tokens.
    pub auth_failures: RateLimiter,
    trusted_proxies: Vec<IpAddr>,
    client_ip_header: String,
}

impl Limits {
    pub fn new(settings: &crate::config::Settings) -> Self {
        Self {
            auth_requests: RateLimiter::new(settings.auth_requests_per_minute),
            auth_failures: RateLimiter::new(settings.auth_failures_per_minute),
            trusted_proxies: settings.trusted_proxies.clone(),
            client_ip_header: settings.client_ip_header.clone(),
        }
    }

    /// The client's address: the peer, or — only when the peer is a trusted proxy — the
    /// address that proxy reports in the configured header (for `X-Forwarded-For`, the
    /// right-most address that is not itself a trusted proxy). Anything a client could forge is
    /// ignored otherwise.
    pub fn client_addr(&self, req: &HttpRequest) -> String {
        let peer = req.peer_addr().map(|a| a.ip());
        client_addr(
            peer,
            req.headers()
                .get(self.client_ip_header.as_str())
                .and_then(|v| v.to_str().ok()),
            &self.trusted_proxies,
        )
    }
}

fn client_addr(peer: Option<IpAddr>, header: Option<&str>, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    header
        .into_iter()
        .flat_map(|h| h.rsplit(','))
        .map_while(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_refills_with_time() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        assert!(limiter.take_at("a", t0).is_ok());
        assert!(limiter.take_at("a", t0).is_ok());
        assert!(limiter.take_at("a", t0).is_ok());
        assert_eq!(
            limiter.take_at("a", t0),
            Err(20),
            "3 a minute: one back in 20 s"
        );
        assert_eq!(limiter.peek_at("a", t0), Err(20));
        assert!(
            limiter.take_at("b", t0).is_ok(),
            "addresses are counted apart"
        );
        let later = t0 + std::time::Duration::from_secs(20);
        assert!(limiter.peek_at("a", later).is_ok());
        assert!(limiter.take_at("a", later).is_ok());
        assert!(limiter.take_at("a", later).is_err());
        assert!(limiter.peek_at("never-seen", t0).is_ok());
    }

    #[test]
    fn the_client_address_comes_from_a_trusted_proxy_only() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let trusted = [proxy];
        // Directly connected: the header is the client's own claim, ignored.
        assert_eq!(
            client_addr(Some(client), Some("198.51.100.1"), &trusted),
            "203.0.113.7"
        );
        // Through the proxy: the right-most address the proxy did not add itself.
        assert_eq!(
            client_addr(Some(proxy), Some("198.51.100.1, 203.0.113.7"), &trusted),
            "203.0.113.7"
        );
        assert_eq!(
            client_addr(Some(proxy), Some("203.0.113.7, 10.0.0.1"), &trusted),
            "203.0.113.7"
        );
        assert_eq!(client_addr(Some(proxy), None, &trusted), "10.0.0.1");
        assert_eq!(
            client_addr(Some(proxy), Some("garbage"), &trusted),
            "10.0.0.1"
        );
        assert_eq!(client_addr(None, Some("203.0.113.7"), &trusted), "unknown");
        assert_eq!(
            client_addr(Some(proxy), Some("203.0.113.7"), &[]),
            "10.0.0.1"
        );
    }
}
