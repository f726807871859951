//! The domain's vocabularies (`domain::vocabulary!` enums) as column types: stored as their word
//! in a text column on both backends, read back through `parse`, so rows carry `Phase`, not
//! `String`. A word the enum does not know is a deserialisation error (the row is the server's,
//! so it means a newer server wrote it, or a hand edit).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::internal::derives::as_expression::Bound;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;

/// The backend of `DbConn`: either database, chosen per connection.
type Multi = <super::DbConn as diesel::Connection>::Backend;

macro_rules! stored_as_text {
    ($($ty:ty),+ $(,)?) => {$(
        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <str as ToSql<Text, Sqlite>>::to_sql(self.as_str(), out)
            }
        }

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl ToSql<Text, Multi> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Multi>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        impl<DB: Backend> ToSql<Nullable<Text>, DB> for $ty
        where
            $ty: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <$ty as ToSql<Text, DB>>::to_sql(self, out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $ty
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let word = String::from_sql(bytes)?;
                <$ty>::parse(&word).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($ty), " stored: {:?}"), word).into()
                })
            }
        }

        impl<DB: Backend> Queryable<Text, DB> for $ty
        where
            $ty: FromSql<Text, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl AsExpression<Text> for $ty {
            type Expression = Bound<Text, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl AsExpression<Nullable<Text>> for $ty {
            type Expression = Bound<Nullable<Text>, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Text> for &'a $ty {
            type Expression = Bound<Text, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Nullable<Text>> for &'a $ty {
            type Expression = Bound<Nullable<Text>, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }
    )+};
}

stored_as_text!(
    crate::domain::account::Role,
    crate::domain::account::Locale,
    crate::domain::case::Program,
    crate::domain::programs::Funding,
    crate::domain::case::ContactMode,
    crate::domain::case::ContactOutcome,
    crate::domain::case::EventKind,
    crate::domain::microstructure::ConsultationKind,
    crate::domain::instruments::Instrument,
    crate::domain::instruments::Band,
    crate::domain::outbox::MessageStatus,
    crate::domain::pathway::Phase,
    crate::domain::pathway::ExitReason,
    crate::domain::patient::Sex,
    crate::domain::patient::InsStatus,
    crate::domain::patient::ConsentStatus,
    crate::domain::tele_expertise::Status,
    crate::domain::tele_expertise::Urgency,
    crate::domain::survey::Agreement,
    crate::domain::survey::SurveyContext,
);

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use crate::db::DbConn;
    use crate::domain::instruments::{Band, Instrument};

    /// Through `DbConn`, as the application queries (the multi-backend path).
    fn connection() -> DbConn {
        DbConn::Sqlite(SqliteConnection::establish(":memory:").expect("open"))
    }

    diesel::table! {
        words (id) {
            id -> Integer,
            instrument -> Text,
            band -> Nullable<Text>,
        }
    }

    #[test]
    fn a_vocabulary_is_written_and_read_as_its_word() {
        let mut conn = connection();
        conn.batch_execute(
            "CREATE TABLE words (id INTEGER PRIMARY KEY, instrument TEXT NOT NULL, band TEXT)",
        )
        .expect("table");
        diesel::insert_into(words::table)
            .values((
                words::id.eq(1),
                words::instrument.eq(Instrument::Phq9),
                words::band.eq(Some(Band::ModeratelySevere)),
            ))
            .execute(&mut conn)
            .expect("insert");
        let raw: (String, Option<String>) = words::table
            .select((
                diesel::dsl::sql::<diesel::sql_types::Text>("instrument"),
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>("band"),
            ))
            .first(&mut conn)
            .expect("raw");
        assert_eq!(
            raw,
            ("phq9".to_owned(), Some("moderately_severe".to_owned()))
        );
        let typed: (Instrument, Option<Band>) = words::table
            .select((words::instrument, words::band))
            .filter(words::instrument.eq(Instrument::Phq9))
            .first(&mut conn)
            .expect("typed");
        assert_eq!(typed, (Instrument::Phq9, Some(Band::ModeratelySevere)));
    }

    #[test]
    fn an_unknown_word_is_an_error_not_a_default() {
        let mut conn = connection();
        conn.batch_execute(
            "CREATE TABLE words (id INTEGER PRIMARY KEY, instrument TEXT NOT NULL, band TEXT); \
             INSERT INTO words VALUES (1, 'phq99', NULL)",
        )
        .expect("table");
        let read = words::table
            .select(words::instrument)
            .first::<Instrument>(&mut conn);
        assert!(read.is_err());
    }
}
