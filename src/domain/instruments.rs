//! The measurement instruments (PHQ-2, PHQ-9, GAD-7): item checks, totals, bands, and the
//! treat-to-target rules built on them. Scores are always computed here from item answers.

// A questionnaire the registry scores.
vocabulary!(
    Instrument {
        Phq2 => "phq2",
        Phq9 => "phq9",
        Gad7 => "gad7",
    }
);

impl Instrument {
    pub fn item_count(self) -> usize {
        match self {
            Instrument::Phq2 => 2,
            Instrument::Phq9 => 9,
            Instrument::Gad7 => 7,
        }
    }

    /// LOINC code of the total score.
    pub fn loinc(self) -> &'static str {
        match self {
            Instrument::Phq2 => "55758-7",
            Instrument::Phq9 => "44261-6",
            Instrument::Gad7 => "70274-6",
        }
    }

    pub fn max_total(self) -> u8 {
        // Every item is answered 0–3.
        u8::try_from(self.item_count() * usize::from(MAX_ITEM)).unwrap_or(u8::MAX)
    }
}

pub const MAX_ITEM: u8 = 3;

// Where a total falls on its instrument's scale.
vocabulary!(
    Band {
        /// PHQ-2 total below 3.
        NegativeScreen => "negative_screen",
        /// PHQ-2 total 3 or more: go on to PHQ-9 / GAD-7.
        PositiveScreen => "positive_screen",
        Minimal => "minimal",
        Mild => "mild",
        Moderate => "moderate",
        ModeratelySevere => "moderately_severe",
        Severe => "severe",
    }
);

/// The band of a total (the total must be within the instrument's range).
pub fn band(instrument: Instrument, total: u8) -> Band {
    match instrument {
        Instrument::Phq2 if total >= 3 => Band::PositiveScreen,
        Instrument::Phq2 => Band::NegativeScreen,
        Instrument::Phq9 => match total {
            0..=4 => Band::Minimal,
            5..=9 => Band::Mild,
            10..=14 => Band::Moderate,
            15..=19 => Band::ModeratelySevere,
            _ => Band::Severe,
        },
        Instrument::Gad7 => match total {
            0..=4 => Band::Minimal,
            5..=9 => Band::Mild,
            10..=14 => Band::Moderate,
            _ => Band::Severe,
        },
    }
}

/// A scored questionnaire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub instrument: Instrument,
    pub items: Vec<u8>,
    pub total: u8,
    pub band: Band,
}

impl Score {
    /// PHQ-9 item 9 (thoughts of self-harm) answered above 0.
    pub fn item9_positive(&self) -> bool {
        self.instrument == Instrument::Phq9 && self.items.get(8).is_some_and(|&answer| answer > 0)
    }
}

/// What is wrong with a set of answers: the whole list (`None`) or one item (its index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub item: Option<usize>,
    pub message: String,
}

/// Checks the answers (count and range) and scores them; every problem is reported.
pub fn score(instrument: Instrument, answers: &[i64]) -> Result<Score, Vec<ItemError>> {
    let expected = instrument.item_count();
    if answers.len() != expected {
        return Err(vec![ItemError {
            item: None,
            message: format!(
                "{} needs exactly {expected} answers, got {}",
                instrument.as_str(),
                answers.len()
            ),
        }]);
    }
    let errors: Vec<ItemError> = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| !(0..=i64::from(MAX_ITEM)).contains(*a))
        .map(|(i, _)| ItemError {
            item: Some(i),
            message: format!("each answer is from 0 to {MAX_ITEM}"),
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let items: Vec<u8> = answers
        .iter()
        .map(|&a| u8::try_from(a).unwrap_or(0))
        .collect();
    let total = items.iter().sum();
    Ok(Score {
        instrument,
        band: band(instrument, total),
        items,
        total,
    })
}

/// Response: down by at least half from a baseline above zero.
pub fn is_response(baseline: u8, latest: u8) -> bool {
    baseline > 0 && u16::from(latest) * 2 <= u16::from(baseline)
}

/// Remission: PHQ-9 or GAD-7 below 5 (not defined for the PHQ-2 screen).
pub fn is_remission(instrument: Instrument, latest: u8) -> bool {
    matches!(instrument, Instrument::Phq9 | Instrument::Gad7) && latest < 5
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(
            Instrument::ALL,
            Instrument::as_str
        ));
        assert!(crate::domain::words_agree(Band::ALL, Band::as_str));
    }

    use super::*;

    #[test]
    fn phq9_bands_at_every_total() {
        let expected = |t: u8| match t {
            0..=4 => Band::Minimal,
            5..=9 => Band::Mild,
            10..=14 => Band::Moderate,
            15..=19 => Band::ModeratelySevere,
            _ => Band::Severe,
        };
        for total in 0..=27 {
            assert_eq!(band(Instrument::Phq9, total), expected(total), "{total}");
        }
        // The edges, written out.
        assert_eq!(band(Instrument::Phq9, 4), Band::Minimal);
        assert_eq!(band(Instrument::Phq9, 5), Band::Mild);
        assert_eq!(band(Instrument::Phq9, 14), Band::Moderate);
        assert_eq!(band(Instrument::Phq9, 15), Band::ModeratelySevere);
        assert_eq!(band(Instrument::Phq9, 20), Band::Severe);
    }

    #[test]
    fn gad7_and_phq2_bands_at_their_edges() {
        let gad7: Vec<Band> = [0, 4, 5, 9, 10, 14, 15, 21]
            .into_iter()
            .map(|t| band(Instrument::Gad7, t))
            .collect();
        assert_eq!(
            gad7,
            [
                Band::Minimal,
                Band::Minimal,
                Band::Mild,
                Band::Mild,
                Band::Moderate,
                Band::Moderate,
                Band::Severe,
                Band::Severe
            ]
        );
        let phq2: Vec<Band> = (0..=6).map(|t| band(Instrument::Phq2, t)).collect();
        assert_eq!(phq2[..3], [Band::NegativeScreen; 3]);
        assert_eq!(phq2[3..], [Band::PositiveScreen; 4]);
    }

    #[test]
    fn every_possible_item_pattern_of_gad7_totals_correctly() {
        // 4^7 = 16 384 answer sets: the total is their sum and the band follows the total.
        for code in 0..4u32.pow(7) {
            let answers: Vec<i64> = (0..7)
                .map(|i| i64::from((code / 4u32.pow(i)) % 4))
                .collect();
            let score = score(Instrument::Gad7, &answers).unwrap();
            assert_eq!(i64::from(score.total), answers.iter().sum::<i64>());
            assert_eq!(score.band, band(Instrument::Gad7, score.total));
            assert!(!score.item9_positive());
        }
    }

    #[test]
    fn counts_and_ranges_are_checked_item_by_item() {
        for &instrument in Instrument::ALL {
            let n = instrument.item_count();
            assert!(score(instrument, &vec![0; n]).is_ok());
            assert_eq!(
                score(instrument, &vec![3; n]).unwrap().total,
                instrument.max_total()
            );
            let short = score(instrument, &vec![0; n - 1]).unwrap_err();
            assert_eq!(short[0].item, None);
            assert!(score(instrument, &vec![0; n + 1]).is_err());
            let mut answers = vec![1; n];
            answers[0] = -1;
            answers[n - 1] = 4;
            let errors = score(instrument, &answers).unwrap_err();
            assert_eq!(
                errors.iter().map(|e| e.item).collect::<Vec<_>>(),
                vec![Some(0), Some(n - 1)]
            );
        }
    }

    #[test]
    fn item9_raises_the_safety_question() {
        let mut answers = [0i64; 9];
        assert!(!score(Instrument::Phq9, &answers).unwrap().item9_positive());
        answers[8] = 1;
        assert!(score(Instrument::Phq9, &answers).unwrap().item9_positive());
        answers[8] = 0;
        answers[7] = 3;
        assert!(!score(Instrument::Phq9, &answers).unwrap().item9_positive());
    }

    #[test]
    fn response_and_remission() {
        assert!(is_response(20, 10));
        assert!(!is_response(20, 11));
        assert!(is_response(21, 10));
        assert!(!is_response(21, 11));
        assert!(
            !is_response(0, 0),
            "no response can be measured from a baseline of zero"
        );
        assert!(is_remission(Instrument::Phq9, 4));
        assert!(!is_remission(Instrument::Phq9, 5));
        assert!(is_remission(Instrument::Gad7, 0));
        assert!(!is_remission(Instrument::Phq2, 0));
    }

    #[test]
    fn loinc_codes() {
        assert_eq!(Instrument::Phq2.loinc(), "55758-7");
        assert_eq!(Instrument::Phq9.loinc(), "44261-6");
        assert_eq!(Instrument::Gad7.loinc(), "70274-6");
    }
}
