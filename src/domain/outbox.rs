//! The outgoing email queue's vocabulary: where a message stands.

vocabulary!(
    MessageStatus {
        /// Waiting for its (next) attempt.
        Pending => "pending",
        /// Claimed by a sender (until its lease expires).
        Sending => "sending",
        Sent => "sent",
        /// Given up: a permanent refusal, or the last attempt failed.
        Failed => "failed",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(
            MessageStatus::ALL,
            MessageStatus::as_str
        ));
    }
}
