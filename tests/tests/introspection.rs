//! `Schema::columns`, `indexes` and `foreign_keys` describe a live table the same way on
//! every backend (the type names are the database's own spelling).

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

fn schema() -> orm_migrate::Result<()> {
    Schema::on_default(|s| {
        s.create("teams", |t| {
            t.increments("id");
            t.string("name", 50).unique();
        })?;
        s.create("players", |t| {
            t.increments("id");
            t.big_integer("team_id").nullable();
            t.string("nick", 30);
            t.integer("rating").default(1000);
            t.decimal("salary", 10, 2).nullable();
            t.boolean("active").default(true);
            t.timestamps();
            t.index(&["team_id", "nick"]);
            t.foreign("team_id")
                .references("id")
                .on("teams")
                .on_delete("cascade");
        })?;
        s.create("memberships", |t| {
            t.big_integer("player_id");
            t.big_integer("season");
            t.primary(&["player_id", "season"]);
        })
    })
}

on_every_backend! {
    fn columns_describe_names_types_nullability_defaults_and_keys() {
        schema().map_err(Error::other)?;
        let columns = Schema::on_default(|s| s.columns("players")).map_err(Error::other)?;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "team_id", "nick", "rating", "salary", "active", "created_at", "updated_at"]);
        let by = |name: &str| columns.iter().find(|c| c.name == name).unwrap();
        assert!(by("id").primary_key && by("id").auto_increment && !by("id").nullable);
        assert_eq!(by("id").default, None);
        assert!(!by("nick").primary_key && !by("nick").auto_increment);
        assert!(by("team_id").nullable && !by("nick").nullable && !by("rating").nullable);
        assert!(by("rating").default.as_deref().is_some_and(|d| d.contains("1000")), "{:?}", by("rating"));
        assert_eq!(by("nick").default, None);
        let nick_type = by("nick").type_name.to_lowercase();
        assert!(nick_type.contains("char") && nick_type.contains("30"), "{nick_type}");
        let salary_type = by("salary").type_name.to_lowercase();
        assert!(salary_type.contains("10") && salary_type.contains('2'), "{salary_type}");

        let composite = Schema::on_default(|s| s.columns("memberships")).map_err(Error::other)?;
        assert!(composite.iter().all(|c| c.primary_key && !c.auto_increment), "{composite:?}");
        assert!(Schema::on_default(|s| s.columns("no_such_table")).map_err(Error::other)?.is_empty());
        Ok(())
    }

    fn indexes_and_foreign_keys_are_listed() {
        schema().map_err(Error::other)?;
        let indexes = Schema::on_default(|s| s.indexes("players")).map_err(Error::other)?;
        let composite = indexes.iter().find(|i| i.columns == ["team_id", "nick"]).expect("the composite index");
        assert!(!composite.unique);
        assert_eq!(composite.name, "players_team_id_nick_index");
        let teams = Schema::on_default(|s| s.indexes("teams")).map_err(Error::other)?;
        assert_eq!(teams.len(), 1, "the primary key is not listed: {teams:?}");
        assert!(teams[0].unique && teams[0].columns == ["name"]);

        let keys = Schema::on_default(|s| s.foreign_keys("players")).map_err(Error::other)?;
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(keys[0].columns, ["team_id"]);
        assert_eq!(keys[0].foreign_table, "teams");
        assert_eq!(keys[0].foreign_columns, ["id"]);
        assert_eq!(keys[0].on_delete, "CASCADE");
        // No ON UPDATE clause: NO ACTION (MySQL reports its equivalent, RESTRICT).
        assert!(["NO ACTION", "RESTRICT"].contains(&keys[0].on_update.as_str()), "{keys:?}");
        if DB::with_connection(|c| Ok(c.backend()))? != orm_core::Backend::Sqlite {
            assert_eq!(keys[0].name.as_deref(), Some("players_team_id_foreign"));
        }
        assert!(Schema::on_default(|s| s.foreign_keys("teams")).map_err(Error::other)?.is_empty());

        // The yes/no forms (Laravel's Schema::hasIndex, getColumnType).
        Schema::on_default(|s| {
            assert!(s.has_index("players", "players_team_id_nick_index")?);
            assert!(!s.has_index("players", "nope")?);
            assert!(s.has_index_on("players", &["team_id", "nick"], None)?);
            assert!(s.has_index_on("players", &["team_id", "nick"], Some(false))?);
            assert!(!s.has_index_on("players", &["team_id", "nick"], Some(true))?);
            assert!(!s.has_index_on("players", &["nick", "team_id"], None)?, "order matters");
            assert!(s.has_index_on("teams", &["name"], Some(true))?);
            assert!(s.has_foreign_key_on("players", &["team_id"])?);
            assert!(!s.has_foreign_key_on("teams", &["id"])?);
            let nick = s.get_column_type("players", "nick")?.expect("a column").to_lowercase();
            assert!(nick.contains("char"), "{nick}");
            assert_eq!(s.get_column_type("players", "nope")?, None);
            Ok(())
        })
        .map_err(Error::other)?;
        Ok(())
    }
}
