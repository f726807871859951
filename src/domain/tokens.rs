//! Signed access tokens (JWT, HS256 pinned) and the rules that make one acceptable.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    ApiClient,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// Whether `sub` is a person's account or a machine account.
    pub kind: SubjectKind,
    /// The session the token belongs to; revoking it refuses the token at once.
    pub sid: String,
}

/// Why a presented token was refused (all of them answer 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Well signed but past its expiry: the subject is known (for the audit of the refusal).
    #[error("the access token has expired")]
    Expired { subject: String, kind: SubjectKind },
    #[error("the access token is not valid")]
    Invalid,
}

const ALGORITHM: Algorithm = Algorithm::HS256;

/// How far ahead of our clock a token's `iat` may be (another instance's clock running fast).
/// Beyond it the token was not made by a well-set instance of ours: refused.
pub const CLOCK_SKEW_SECS: i64 = 60;

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_secs: i64) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the injected clock below, not the library's own wall clock.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(
        &self,
        kind: SubjectKind,
        subject: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl_secs,
            jti: Uuid::new_v4().to_string(),
            kind,
            sid: session.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|e| format!("token signing failed: {e}"))
    }

    /// Accepts only a token signed by us with HS256, for our issuer and audience, not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        if data.claims.iat > now.timestamp() + CLOCK_SKEW_SECS {
            return Err(TokenError::Invalid);
        }
        if now.timestamp() >= data.claims.exp {
            return Err(TokenError::Expired {
                subject: data.claims.sub,
                kind: data.claims.kind,
            });
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::Duration;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> TokenKeys {
        TokenKeys::new(SECRET, "sesame", "sesame-api", 900)
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn a_fresh_token_verifies_with_its_claims() {
        let token = keys()
            .issue(SubjectKind::User, "u-1", "s-1", now())
            .unwrap();
        let claims = keys()
            .verify(&token, now() + Duration::seconds(899))
            .unwrap();
        assert_eq!(claims.sub, "u-1");
        assert_eq!(claims.kind, SubjectKind::User);
        assert_eq!(claims.exp - claims.iat, 900);
        assert!(Uuid::parse_str(&claims.jti).is_ok());
        assert_eq!(claims.sid, "s-1");
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused_beyond_the_skew() {
        let ahead = |secs| {
            keys()
                .issue(
                    SubjectKind::User,
                    "u-1",
                    "s-1",
                    now() + Duration::seconds(secs),
                )
                .unwrap()
        };
        assert!(keys().verify(&ahead(CLOCK_SKEW_SECS), now()).is_ok());
        assert_eq!(
            keys().verify(&ahead(CLOCK_SKEW_SECS + 1), now()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys().verify(&ahead(86_400), now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = keys()
            .issue(SubjectKind::User, "u-1", "s-1", now())
            .unwrap();
        assert_eq!(
            keys().verify(&token, now() + Duration::seconds(900)),
            Err(TokenError::Expired {
                subject: "u-1".to_owned(),
                kind: SubjectKind::User
            })
        );
    }

    #[test]
    fn another_audience_issuer_or_key_is_refused() {
        let token = keys()
            .issue(SubjectKind::User, "u-1", "s-1", now())
            .unwrap();
        let other_audience = TokenKeys::new(SECRET, "sesame", "other-api", 900);
        assert_eq!(
            other_audience.verify(&token, now()),
            Err(TokenError::Invalid)
        );
        let other_issuer = TokenKeys::new(SECRET, "elsewhere", "sesame-api", 900);
        assert_eq!(other_issuer.verify(&token, now()), Err(TokenError::Invalid));
        let other_key = TokenKeys::new(
            b"ffffffffffffffffffffffffffffffff",
            "sesame",
            "sesame-api",
            900,
        );
        assert_eq!(other_key.verify(&token, now()), Err(TokenError::Invalid));
    }

    #[test]
    fn a_tampered_or_unsigned_token_is_refused() {
        let token = keys()
            .issue(SubjectKind::User, "u-1", "s-1", now())
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = "admin".into();
        let forged = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(keys().verify(&tampered, now()), Err(TokenError::Invalid));

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys().verify(&format!("{none_header}.{}.", parts[1]), now()),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys().verify("not a token", now()),
            Err(TokenError::Invalid)
        );
    }
}
