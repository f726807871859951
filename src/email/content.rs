//! What the registry's emails say, compiled into the binary. Ordinary email is not a secure health
//! channel (PATHWAY.md §5): a message says what to do and links into the application — never a
//! patient's name or identifier beyond an opaque case link, a score, an instrument, a diagnosis or
//! a symptom. French by default, English on the user's preference; dates in the program's time
//! zone; text and HTML.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::account::Locale;

/// The reasons the registry writes to someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// To the case's GP and nurse: a case needs attention now (a safety alert, without its
    /// content).
    CaseNeedsAttention { case_id: String },
    /// To the case's referring GP: a case they referred was closed (without its exit reason).
    CaseClosed { case_id: String },
    /// A nurse's daily digest: counts only.
    NurseDigest {
        day: NaiveDate,
        overdue: usize,
        due_soon: usize,
        assessments_waiting: usize,
    },
    /// To a patient who gave an email and consented: a neutral reminder of tomorrow's appointment.
    PatientReminder { at: DateTime<Utc> },
    /// To the expert: a new request for an opinion.
    OpinionRequested { request_id: String },
    /// To the requester: the expert accepted, declined or answered.
    OpinionUpdate {
        request_id: String,
        what: OpinionUpdate,
    },
    /// To an expert: requests due within a day or past due.
    ExpertDigest {
        day: NaiveDate,
        due_soon: usize,
        overdue: usize,
    },
    /// To a coordinator: the names of their practices that recorded no case review meeting in
    /// the month starting on `month` (organisation only: nothing about a patient or a case).
    CoordinatorDigest {
        day: NaiveDate,
        month: NaiveDate,
        practices: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpinionUpdate {
    Accepted,
    Declined,
    Answered,
    /// Cancelled because its case was closed (to the requester and to the expert).
    Withdrawn,
}

impl OpinionUpdate {
    /// What the requester is told when their request moves to `status`: the expert's moves
    /// only (they know of their own cancel).
    pub fn after(status: crate::domain::tele_expertise::Status) -> Option<Self> {
        use crate::domain::tele_expertise::Status;
        match status {
            Status::Accepted => Some(OpinionUpdate::Accepted),
            Status::Declined => Some(OpinionUpdate::Declined),
            Status::Answered => Some(OpinionUpdate::Answered),
            Status::Requested | Status::Cancelled => None,
        }
    }

    /// The word of its outbox key.
    pub fn as_str(self) -> &'static str {
        match self {
            OpinionUpdate::Accepted => "accepted",
            OpinionUpdate::Declined => "declined",
            OpinionUpdate::Answered => "answered",
            OpinionUpdate::Withdrawn => "withdrawn",
        }
    }
}

impl Notice {
    /// The `kind` kept on the outbox row.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::CaseNeedsAttention { .. } => "case_attention",
            Notice::CaseClosed { .. } => "case_closed",
            Notice::NurseDigest { .. } => "nurse_digest",
            Notice::PatientReminder { .. } => "patient_reminder",
            Notice::OpinionRequested { .. } => "opinion_requested",
            Notice::OpinionUpdate { .. } => "opinion_update",
            Notice::ExpertDigest { .. } => "expert_digest",
            Notice::CoordinatorDigest { .. } => "coordinator_digest",
        }
    }
}

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Words that must never appear in an email (PATHWAY.md §5 and the reminder issue), lower case.
pub const FORBIDDEN_WORDS: [&str; 10] = [
    "psychiatr",
    "mental health",
    "santé mentale",
    "sante mentale",
    "depression",
    "dépression",
    "anxiety",
    "anxiété",
    "anxiete",
    "suicid",
];

/// The first forbidden word a message contains, if any.
pub fn forbidden_word(message: &Rendered) -> Option<&'static str> {
    let all = format!("{}\n{}\n{}", message.subject, message.text, message.html).to_lowercase();
    FORBIDDEN_WORDS.into_iter().find(|w| all.contains(w))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One sentence (or a few lines), a link, a signature: the same in text and HTML.
fn compose(
    subject: String,
    lines: Vec<String>,
    link: String,
    link_label: &str,
    sign: &str,
) -> Rendered {
    let text = format!(
        "{}\n\n{link_label} : {link}\n\n-- \n{sign}\n",
        lines.join("\n")
    );
    let paragraphs: String = lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape(l)))
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{paragraphs}<p><a href=\"{}\">{}</a></p><p>-- <br>{}</p></body></html>",
        escape(&subject),
        escape(&link),
        escape(link_label),
        escape(sign)
    );
    Rendered {
        subject,
        text,
        html,
    }
}

const FRENCH_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `novembre 2026`.
fn french_month(day: NaiveDate) -> String {
    format!("{} {}", FRENCH_MONTHS[day.month0() as usize], day.year())
}

/// `November 2026`.
fn english_month(day: NaiveDate) -> String {
    day.format("%B %Y").to_string()
}

fn french_day(day: NaiveDate) -> String {
    const DAYS: [&str; 7] = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ];
    format!(
        "{} {} {} {}",
        DAYS[day.weekday().num_days_from_monday() as usize],
        day.day(),
        FRENCH_MONTHS[day.month0() as usize],
        day.year()
    )
}

fn english_day(day: NaiveDate) -> String {
    day.format("%A %-d %B %Y").to_string()
}

fn count(locale: Locale, n: usize, fr: (&str, &str), en: (&str, &str)) -> String {
    let (one, many) = match locale {
        Locale::Fr => fr,
        Locale::En => en,
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Renders a notice for one recipient.
pub fn render(notice: &Notice, locale: Locale, public_url: &str, zone: Tz) -> Rendered {
    let base = public_url.trim_end_matches('/');
    let (sign, open) = match locale {
        Locale::Fr => ("Sésame — message automatique, ne pas répondre.", "Ouvrir"),
        Locale::En => ("Sésame — automatic message, do not reply.", "Open"),
    };
    match notice {
        Notice::CaseNeedsAttention { case_id } => {
            let link = format!("{base}/cases/{case_id}");
            match locale {
                Locale::Fr => compose(
                    "Sésame : un dossier demande votre attention".to_owned(),
                    vec![
                        "Un dossier que vous suivez demande votre attention sans attendre."
                            .to_owned(),
                        "Connectez-vous à Sésame pour en prendre connaissance.".to_owned(),
                    ],
                    link,
                    open,
                    sign,
                ),
                Locale::En => compose(
                    "Sésame: a case needs your attention".to_owned(),
                    vec![
                        "A case you follow needs your attention now.".to_owned(),
                        "Sign in to Sésame to see it.".to_owned(),
                    ],
                    link,
                    open,
                    sign,
                ),
            }
        }
        Notice::CaseClosed { case_id } => {
            let link = format!("{base}/cases/{case_id}");
            match locale {
                Locale::Fr => compose(
                    "Sésame : un suivi que vous avez adressé est terminé".to_owned(),
                    vec![
                        "Un suivi que vous avez adressé est terminé.".to_owned(),
                        "Connectez-vous à Sésame pour en prendre connaissance.".to_owned(),
                    ],
                    link,
                    open,
                    sign,
                ),
                Locale::En => compose(
                    "Sésame: a case you referred has been closed".to_owned(),
                    vec![
                        "A case you referred has been closed.".to_owned(),
                        "Sign in to Sésame to see it.".to_owned(),
                    ],
                    link,
                    open,
                    sign,
                ),
            }
        }
        Notice::NurseDigest {
            day,
            overdue,
            due_soon,
            assessments_waiting,
        } => {
            let link = format!("{base}/worklist");
            let (subject, intro, items) = match locale {
                Locale::Fr => (
                    format!("Sésame : votre journée du {}", french_day(*day)),
                    "Votre liste de travail aujourd'hui :".to_owned(),
                    vec![
                        format!(
                            "- {} en retard",
                            count(locale, *overdue, ("suivi", "suivis"), ("", ""))
                        ),
                        format!(
                            "- {} dans les 2 jours",
                            count(
                                locale,
                                *due_soon,
                                ("suivi prévu", "suivis prévus"),
                                ("", "")
                            )
                        ),
                        format!(
                            "- {} en attente",
                            count(
                                locale,
                                *assessments_waiting,
                                ("évaluation initiale", "évaluations initiales"),
                                ("", "")
                            )
                        ),
                    ],
                ),
                Locale::En => (
                    format!("Sésame: your day, {}", english_day(*day)),
                    "Your worklist today:".to_owned(),
                    vec![
                        format!(
                            "- {} overdue",
                            count(locale, *overdue, ("", ""), ("follow-up", "follow-ups"))
                        ),
                        format!(
                            "- {} due within 2 days",
                            count(locale, *due_soon, ("", ""), ("follow-up", "follow-ups"))
                        ),
                        format!(
                            "- {} waiting",
                            count(
                                locale,
                                *assessments_waiting,
                                ("", ""),
                                ("initial assessment", "initial assessments")
                            )
                        ),
                    ],
                ),
            };
            let mut lines = vec![intro];
            lines.extend(items);
            compose(subject, lines, link, open, sign)
        }
        Notice::OpinionRequested { request_id } => {
            let link = format!("{base}/tele-expertise/{request_id}");
            match locale {
                Locale::Fr => compose(
                    "Sésame : une demande d'avis vous attend".to_owned(),
                    vec![
                        "Une équipe de soins vous demande un avis.".to_owned(),
                        "Connectez-vous à Sésame pour l'accepter ou la refuser.".to_owned(),
                    ],
                    link,
                    open,
                    sign,
                ),
                Locale::En => compose(
                    "Sésame: a request for your opinion".to_owned(),
                    vec![
                        "A care team asks for your opinion.".to_owned(),
                        "Sign in to Sésame to accept or decline it.".to_owned(),
                    ],
                    link,
                    open,
                    sign,
                ),
            }
        }
        Notice::OpinionUpdate { request_id, what } => {
            let link = format!("{base}/tele-expertise/{request_id}");
            let (subject, line) = match (locale, what) {
                (Locale::Fr, OpinionUpdate::Accepted) => (
                    "Sésame : votre demande d'avis est acceptée",
                    "Votre demande d'avis a été acceptée.",
                ),
                (Locale::Fr, OpinionUpdate::Declined) => (
                    "Sésame : votre demande d'avis est déclinée",
                    "Votre demande d'avis a été déclinée ; le motif est dans Sésame.",
                ),
                (Locale::Fr, OpinionUpdate::Answered) => (
                    "Sésame : votre demande d'avis a reçu une réponse",
                    "La réponse à votre demande d'avis est dans Sésame.",
                ),
                (Locale::En, OpinionUpdate::Accepted) => (
                    "Sésame: your request for an opinion was accepted",
                    "Your request for an opinion was accepted.",
                ),
                (Locale::En, OpinionUpdate::Declined) => (
                    "Sésame: your request for an opinion was declined",
                    "Your request for an opinion was declined; the reason is in Sésame.",
                ),
                (Locale::En, OpinionUpdate::Answered) => (
                    "Sésame: your request for an opinion was answered",
                    "The answer to your request for an opinion is in Sésame.",
                ),
                (Locale::Fr, OpinionUpdate::Withdrawn) => (
                    "Sésame : une demande d'avis est annulée",
                    "Une demande d'avis a été annulée car le dossier a été clos ; aucune réponse \
                     n'est plus attendue.",
                ),
                (Locale::En, OpinionUpdate::Withdrawn) => (
                    "Sésame: a request for an opinion was cancelled",
                    "A request for an opinion was cancelled because its case was closed; no \
                     answer is expected any more.",
                ),
            };
            compose(subject.to_owned(), vec![line.to_owned()], link, open, sign)
        }
        Notice::ExpertDigest {
            day,
            due_soon,
            overdue,
        } => {
            let link = format!("{base}/tele-expertise");
            match locale {
                Locale::Fr => compose(
                    format!("Sésame : vos demandes d'avis du {}", french_day(*day)),
                    vec![
                        "Vos demandes d'avis aujourd'hui :".to_owned(),
                        format!(
                            "- {} en retard",
                            count(locale, *overdue, ("demande", "demandes"), ("", ""))
                        ),
                        format!(
                            "- {} à rendre d'ici demain",
                            count(locale, *due_soon, ("demande", "demandes"), ("", ""))
                        ),
                    ],
                    link,
                    open,
                    sign,
                ),
                Locale::En => compose(
                    format!(
                        "Sésame: your requests for an opinion, {}",
                        english_day(*day)
                    ),
                    vec![
                        "Your requests for an opinion today:".to_owned(),
                        format!(
                            "- {} overdue",
                            count(locale, *overdue, ("", ""), ("request", "requests"))
                        ),
                        format!(
                            "- {} due by tomorrow",
                            count(locale, *due_soon, ("", ""), ("request", "requests"))
                        ),
                    ],
                    link,
                    open,
                    sign,
                ),
            }
        }
        Notice::CoordinatorDigest {
            day,
            month,
            practices,
        } => {
            let link = format!("{base}/practices");
            let (subject, intro, outro) = match locale {
                Locale::Fr => (
                    format!("Sésame : réunions d'équipe du {}", french_day(*day)),
                    format!(
                        "Aucune réunion de synthèse n'a été enregistrée en {} pour :",
                        french_month(*month)
                    ),
                    "Une réunion se saisit dans Sésame, sur la page de la structure.",
                ),
                Locale::En => (
                    format!("Sésame: team meetings, {}", english_day(*day)),
                    format!(
                        "No case review meeting was recorded in {} for:",
                        english_month(*month)
                    ),
                    "A meeting is recorded in Sésame, on the practice's page.",
                ),
            };
            let mut lines = vec![intro];
            lines.extend(practices.iter().map(|name| format!("- {name}")));
            lines.push(outro.to_owned());
            compose(subject, lines, link, open, sign)
        }
        Notice::PatientReminder { at } => {
            let local = at.with_timezone(&zone);
            let link = format!("{base}/");
            match locale {
                Locale::Fr => compose(
                    "Rappel de votre rendez-vous de demain".to_owned(),
                    vec![
                        "Bonjour,".to_owned(),
                        format!(
                            "Nous vous rappelons votre rendez-vous de suivi prévu le {} à {}.",
                            french_day(local.date_naive()),
                            local.format("%H:%M")
                        ),
                        "En cas d'empêchement, merci de prévenir votre cabinet.".to_owned(),
                    ],
                    link,
                    "Cabinet",
                    "Message automatique, ne pas répondre.",
                ),
                Locale::En => compose(
                    "Reminder of your appointment tomorrow".to_owned(),
                    vec![
                        "Hello,".to_owned(),
                        format!(
                            "This is a reminder of your follow-up appointment on {} at {}.",
                            english_day(local.date_naive()),
                            local.format("%H:%M")
                        ),
                        "If you cannot attend, please let your practice know.".to_owned(),
                    ],
                    link,
                    "Practice",
                    "Automatic message, do not reply.",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_notice() -> Vec<Notice> {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        vec![
            Notice::CaseNeedsAttention {
                case_id: "0190a7c2-0000-7000-8000-000000000001".to_owned(),
            },
            Notice::NurseDigest {
                day,
                overdue: 3,
                due_soon: 1,
                assessments_waiting: 0,
            },
            Notice::PatientReminder {
                at: day.and_hms_opt(13, 30, 0).unwrap().and_utc(),
            },
            Notice::OpinionRequested {
                request_id: "r1".to_owned(),
            },
            Notice::OpinionUpdate {
                request_id: "r1".to_owned(),
                what: OpinionUpdate::Accepted,
            },
            Notice::OpinionUpdate {
                request_id: "r1".to_owned(),
                what: OpinionUpdate::Declined,
            },
            Notice::OpinionUpdate {
                request_id: "r1".to_owned(),
                what: OpinionUpdate::Answered,
            },
            Notice::OpinionUpdate {
                request_id: "r1".to_owned(),
                what: OpinionUpdate::Withdrawn,
            },
            Notice::ExpertDigest {
                day,
                due_soon: 1,
                overdue: 2,
            },
            Notice::CaseClosed {
                case_id: "0190a7c2-0000-7000-8000-000000000001".to_owned(),
            },
            Notice::CoordinatorDigest {
                day,
                month: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                practices: vec!["Cabinet Voltaire".to_owned(), "MSP <des> Lilas".to_owned()],
            },
        ]
    }

    #[test]
    fn a_coordinator_reads_which_practices_did_not_meet_and_nothing_else() {
        let notice = every_notice().pop().unwrap();
        assert_eq!(notice.kind(), "coordinator_digest");
        let zone = chrono_tz::Europe::Paris;
        let fr = render(&notice, Locale::Fr, "https://s.example.fr", zone);
        assert_eq!(
            fr.subject,
            "Sésame : réunions d'équipe du mardi 24 novembre 2026"
        );
        assert!(
            fr.text.starts_with(
                "Aucune réunion de synthèse n'a été enregistrée en octobre 2026 pour :\n\
                 - Cabinet Voltaire\n- MSP <des> Lilas\n"
            ),
            "{}",
            fr.text
        );
        assert!(fr.text.contains("https://s.example.fr/practices"));
        assert!(
            fr.html.contains("<p>- MSP &lt;des&gt; Lilas</p>"),
            "{}",
            fr.html
        );
        let en = render(&notice, Locale::En, "https://s.example.fr", zone);
        assert_eq!(
            en.subject,
            "Sésame: team meetings, Tuesday 24 November 2026"
        );
        assert!(
            en.text
                .starts_with("No case review meeting was recorded in October 2026 for:\n"),
            "{}",
            en.text
        );
    }

    #[test]
    fn a_closed_case_tells_its_gp_what_happened_and_where_nothing_more() {
        let notice = Notice::CaseClosed {
            case_id: "c1".to_owned(),
        };
        let zone = chrono_tz::Europe::Paris;
        let fr = render(&notice, Locale::Fr, "https://s.example.fr/", zone);
        assert_eq!(
            fr.subject,
            "Sésame : un suivi que vous avez adressé est terminé"
        );
        assert!(
            fr.text
                .starts_with("Un suivi que vous avez adressé est terminé.")
        );
        assert!(
            fr.text.contains("https://s.example.fr/cases/c1"),
            "{}",
            fr.text
        );
        assert!(fr.html.contains("href=\"https://s.example.fr/cases/c1\""));
        let en = render(&notice, Locale::En, "https://s.example.fr", zone);
        assert_eq!(en.subject, "Sésame: a case you referred has been closed");
        assert!(en.text.starts_with("A case you referred has been closed."));
        assert!(en.text.contains("https://s.example.fr/cases/c1"));
        assert_eq!(notice.kind(), "case_closed");
        for m in [fr, en] {
            assert_eq!(forbidden_word(&m), None, "{m:?}");
            // No exit reason, in either language or as its code.
            let all = format!("{}\n{}\n{}", m.subject, m.text, m.html).to_lowercase();
            for word in [
                "remission",
                "rémission",
                "motif",
                "reason",
                "exit",
                "sortie",
            ] {
                assert!(!all.contains(word), "{word:?} in {m:?}");
            }
        }
    }

    #[test]
    fn a_requester_is_told_of_the_experts_moves_only() {
        use crate::domain::tele_expertise::Status;
        let told: Vec<(Status, Option<OpinionUpdate>)> = Status::ALL
            .iter()
            .map(|&s| (s, OpinionUpdate::after(s)))
            .collect();
        assert_eq!(
            told,
            vec![
                (Status::Requested, None),
                (Status::Accepted, Some(OpinionUpdate::Accepted)),
                (Status::Declined, Some(OpinionUpdate::Declined)),
                (Status::Answered, Some(OpinionUpdate::Answered)),
                (Status::Cancelled, None),
            ]
        );
    }

    #[test]
    fn no_message_carries_a_forbidden_word() {
        for notice in every_notice() {
            for locale in [Locale::Fr, Locale::En] {
                let m = render(
                    &notice,
                    locale,
                    "https://sesame.example.fr/",
                    chrono_tz::Europe::Paris,
                );
                assert_eq!(forbidden_word(&m), None, "{m:?}");
                assert!(!m.subject.is_empty() && m.text.contains("https://sesame.example.fr"));
                assert!(m.html.starts_with("<!DOCTYPE html>"));
            }
        }
        let leaky = Rendered {
            subject: "Suivi".into(),
            text: "Score de Dépression".into(),
            html: String::new(),
        };
        assert_eq!(forbidden_word(&leaky), Some("dépression"));
    }

    #[test]
    fn french_by_default_english_on_request_dates_in_paris() {
        let notices = every_notice();
        let fr = render(
            &notices[1],
            Locale::Fr,
            "http://x",
            chrono_tz::Europe::Paris,
        );
        assert_eq!(
            fr.subject,
            "Sésame : votre journée du mardi 24 novembre 2026"
        );
        assert!(fr.text.contains("3 suivis en retard"), "{}", fr.text);
        assert!(
            fr.text.contains("1 suivi prévu dans les 2 jours"),
            "{}",
            fr.text
        );
        assert!(fr.text.contains("http://x/worklist"));
        let en = render(
            &notices[1],
            Locale::En,
            "http://x",
            chrono_tz::Europe::Paris,
        );
        assert_eq!(en.subject, "Sésame: your day, Tuesday 24 November 2026");
        assert!(
            en.text.contains("0 initial assessments waiting"),
            "{}",
            en.text
        );
        // 13:30 UTC is 14:30 in Paris in November.
        let reminder = render(
            &notices[2],
            Locale::Fr,
            "http://x",
            chrono_tz::Europe::Paris,
        );
        assert!(
            reminder.text.contains("mardi 24 novembre 2026 à 14:30"),
            "{}",
            reminder.text
        );
    }

    #[test]
    fn html_is_escaped() {
        let m = compose(
            "a<b".into(),
            vec!["x & y".into()],
            "http://h/?a=1&b=2".into(),
            "Open",
            "s",
        );
        assert!(m.html.contains("a&lt;b") && m.html.contains("x &amp; y"));
        assert!(m.html.contains("href=\"http://h/?a=1&amp;b=2\""));
    }
}
