//! Models as JSON: `#[model(serialize = false)]` leaves `Serialize` to the user's own
//! serde derive and attributes, and `to_json` reports a failing `Serialize` as an error.

use std::error::Error as _;

use orm_core::prelude::*;
use orm_core::{DecodeError, FromValue, ValueRef};
use orm_tests::{on_every_backend, per_backend};
use serde::ser::Error as _;

/// Serialised by the user's serde derive, with serde's own attributes.
#[derive(Debug, Clone, Default, PartialEq, Model, serde::Serialize)]
#[model(table = "articles", serialize = false)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    pub id: Option<i64>,
    #[serde(rename = "headline")]
    pub title: String,
    pub word_count: i32,
    #[serde(skip)]
    pub draft_notes: String,
}

/// The same table, with a `Serialize` that always refuses.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "articles", serialize = false)]
pub struct Unserializable {
    pub id: Option<i64>,
    pub title: String,
}

impl serde::Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
        Err(S::Error::custom(format!(
            "`{}` is not for export",
            self.title
        )))
    }
}

/// A column type without `Serialize`: fine on a hidden field, which the derived
/// `Serialize` does not write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes(String);

impl ToValue for Notes {
    fn to_value(&self) -> Value {
        self.0.to_value()
    }
}

impl FromValue for Notes {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, DecodeError> {
        String::from_value(value).map(Notes)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "articles")]
pub struct WithNotes {
    pub id: Option<i64>,
    pub title: String,
    #[model(hidden)]
    pub draft_notes: Notes,
}

fn schema() -> Result<()> {
    DB::statement(per_backend(
        "CREATE TABLE articles (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, \
         word_count INTEGER NOT NULL DEFAULT 0, draft_notes TEXT NOT NULL DEFAULT '')",
        "CREATE TABLE articles (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL, \
         word_count INTEGER NOT NULL DEFAULT 0, draft_notes TEXT NOT NULL DEFAULT '')",
    ))?;
    Ok(())
}

on_every_backend! {
    fn own_serde_derive_decides_the_json() {
        schema()?;
        let article = Article::create(Article {
            title: "Rust".into(),
            word_count: 1200,
            draft_notes: "cut the intro".into(),
            ..Default::default()
        })?;
        let read = Article::find_or_fail(article.id.unwrap())?;
        assert_eq!(read.draft_notes, "cut the intro", "still a column");
        let expected = serde_json::json!({"id": article.id, "headline": "Rust", "wordCount": 1200});
        assert_eq!(read.to_json()?, expected);
        assert_eq!(serde_json::to_value(&read).unwrap(), expected);
        Ok(())
    }

    fn to_json_returns_the_serialization_error() {
        schema()?;
        let model = Unserializable::create(Unserializable { title: "secret".into(), ..Default::default() })?;
        let err = model.to_json().unwrap_err();
        assert!(matches!(err, Error::Serialization(_)), "{err:?}");
        assert!(err.to_string().contains("`secret` is not for export"), "{err}");
        let source = err.source().expect("serde's error is the source");
        assert!(source.is::<serde_json::Error>(), "{source:?}");
        Ok(())
    }

    fn hidden_fields_need_no_serialize() {
        schema()?;
        let model = WithNotes::create(WithNotes {
            title: "Rust".into(),
            draft_notes: Notes("cut the intro".into()),
            ..Default::default()
        })?;
        let read = WithNotes::find_or_fail(model.id.unwrap())?;
        assert_eq!(read.draft_notes, Notes("cut the intro".into()));
        assert_eq!(read.to_json()?, serde_json::json!({"id": model.id, "title": "Rust"}));
        Ok(())
    }

    fn only_and_except_choose_keys_and_keep_hidden_fields_hidden() {
        schema()?;
        let article = Article::create(Article { title: "Rust".into(), word_count: 3, ..Default::default() })?;
        assert_eq!(article.to_json_only(&["headline", "wordCount"])?, serde_json::json!({"headline": "Rust", "wordCount": 3}));
        assert_eq!(article.to_json_except(&["wordCount"])?, serde_json::json!({"id": article.id, "headline": "Rust"}));
        let notes = WithNotes::create(WithNotes { title: "T".into(), draft_notes: Notes("n".into()), ..Default::default() })?;
        assert_eq!(notes.to_json_only(&["title", "draft_notes"])?, serde_json::json!({"title": "T"}));
        Ok(())
    }
}

/// Times as the derived `Serialize` writes them.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "stamps")]
pub struct Stamp {
    pub id: Option<i64>,
    pub at: DateTime<Utc>,
    pub maybe: Option<DateTime<Utc>>,
    pub local: Option<chrono::NaiveDateTime>,
}

/// Laravel's testToArrayIncludesDefaultFormattedTimestamps: a point in time is written in
/// UTC with six fraction digits, whatever its fraction, so every value has one width.
#[test]
fn times_serialize_in_utc_with_six_fraction_digits() -> Result<()> {
    let at: DateTime<Utc> = "2012-12-04T00:00:00Z".parse().unwrap();
    let later: DateTime<Utc> = "2012-12-04T10:11:12.5Z".parse().unwrap();
    let stamp = Stamp {
        id: Some(1),
        at,
        maybe: Some(later),
        local: None,
    };
    let json = stamp.to_json()?;
    assert_eq!(json["at"], "2012-12-04T00:00:00.000000Z");
    assert_eq!(json["maybe"], "2012-12-04T10:11:12.500000Z");
    assert_eq!(json["local"], serde_json::Value::Null);
    let unset = Stamp {
        maybe: None,
        ..stamp
    };
    assert_eq!(unset.to_json()?["maybe"], serde_json::Value::Null);
    Ok(())
}
