//! Feature `tracing` of orm-core: every statement is a span. Its own test binary: a
//! scoped subscriber misses spans whose callsite another thread registers at the same
//! moment, so no other test runs beside it.

use orm_core::prelude::*;
use orm_core::ReplicaConfig;

/// Every statement is a span (target `orm::sql`) carrying its SQL, bindings count,
/// connection name and role.
mod spans {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record as SpanRecord};

    /// The fields of every `orm::sql` span, by span id.
    #[derive(Default)]
    struct Capture {
        spans: Mutex<Vec<HashMap<String, String>>>,
    }

    struct Fields<'a>(&'a mut HashMap<String, String>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl tracing::Subscriber for &'static Capture {
        fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
            metadata.target() == orm_core::SQL_TARGET
        }
        fn new_span(&self, attrs: &Attributes<'_>) -> Id {
            let mut fields = HashMap::new();
            attrs.record(&mut Fields(&mut fields));
            let mut spans = self.spans.lock().unwrap();
            spans.push(fields);
            Id::from_u64(spans.len() as u64)
        }
        fn record(&self, span: &Id, values: &SpanRecord<'_>) {
            let mut spans = self.spans.lock().unwrap();
            let fields = &mut spans[span.into_u64() as usize - 1];
            values.record(&mut Fields(fields));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &tracing::Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn every_statement_is_a_span_with_its_connection_and_role() -> Result<()> {
        static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
        let capture: &'static Capture = CAPTURE.get_or_init(Capture::default);
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("traced.sqlite3").display());
        DB::connect_replicated("traced_db", &url, &[&url], ReplicaConfig::default())?;
        tracing::subscriber::with_default(capture, || -> Result<()> {
            let conn = DB::connection("traced_db");
            conn.statement("CREATE TABLE t (x INTEGER)")?;
            DB::forget_sticky();
            conn.select("SELECT x FROM t WHERE x = ?", &[&1])?;
            Ok(())
        })?;
        DB::disconnect("traced_db");
        let spans = capture.spans.lock().unwrap().clone();
        let field = |i: usize, name: &str| spans[i].get(name).cloned().unwrap_or_default();
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!(field(0, "sql"), "CREATE TABLE t (x INTEGER)");
        assert_eq!(
            (field(0, "connection"), field(0, "role")),
            ("traced_db".to_owned(), "primary".to_owned())
        );
        assert_eq!(field(1, "sql"), "SELECT x FROM t WHERE x = ?");
        assert_eq!(field(1, "bindings"), "1");
        assert_eq!(
            (field(1, "connection"), field(1, "role")),
            ("traced_db".to_owned(), "replica".to_owned())
        );
        Ok(())
    }
}
