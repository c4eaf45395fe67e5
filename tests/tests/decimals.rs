//! Money columns: `rust_decimal::Decimal` through models and the query builder, exact on
//! PostgreSQL's NUMERIC and on what SQLite stores in a `decimal()` column (issue 14, 11).

use std::str::FromStr;

use orm_core::prelude::*;
use orm_core::{Backend, Decimal};
use orm_migrate::prelude::Schema;
use orm_tests::{backend, on_every_backend, per_backend, per_backend3};

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "products")]
pub struct Product {
    pub id: Option<i64>,
    pub name: String,
    pub price: Decimal,
    pub rate: Option<Decimal>,
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn create_products() -> Result<()> {
    Schema::on_default(|s| {
        s.create("products", |t| {
            t.increments("id");
            t.string("name", 50);
            t.decimal("price", 15, 2);
            t.decimal("rate", 20, 10).nullable();
        })
    })
    .map_err(|e| Error::other(e.to_string()))
}

fn money() -> Vec<(&'static str, Decimal, Option<Decimal>)> {
    vec![
        ("book", dec("19.99"), Some(dec("0.1234567891"))),
        ("sum", dec("0.1") + dec("0.2"), None),
        ("refund", dec("-42.50"), Some(dec("-0.0000000001"))),
        ("house", dec("1234567890123.45"), Some(dec("1.5"))),
        ("free", dec("0"), Some(dec("100"))),
    ]
}

on_every_backend! {
    fn a_decimal_field_round_trips_through_a_model() {
        create_products()?;
        for (name, price, rate) in money() {
            let created = Product::create(Product { name: name.into(), price, rate, ..Default::default() })?;
            let found = Product::find_or_fail(created.id.unwrap())?;
            assert_eq!((found.price, found.rate), (price, rate), "{name}");
        }
        // 0.1 + 0.2 is exactly 0.3, and stays so.
        let sum = Product::query().where_("name", "=", "sum").first_or_fail()?;
        assert_eq!(sum.price.to_string().trim_end_matches('0'), "0.3");

        // Update through save, then compare in SQL with a bound decimal.
        let mut book = Product::query().where_("price", "=", dec("19.99")).first_or_fail()?;
        assert_eq!(book.name, "book");
        book.price = dec("24.95");
        book.save()?;
        assert_eq!(Product::find_or_fail(book.id.unwrap())?.price, dec("24.95"));
        let cheap: Vec<String> = Product::query()
            .where_("price", "<", dec("24.95"))
            .where_("price", ">", dec("-42.50"))
            .order_by("price")
            .pluck("name")?;
        assert_eq!(cheap, ["free", "sum"]);
        Ok(())
    }

    fn decimals_through_the_query_builder() {
        create_products()?;
        let products = || DB::table("products");
        for (name, price, rate) in money() {
            products().insert(row! {"name" => name, "price" => price, "rate" => rate})?;
        }
        products().where_("name", "=", "free").update(row! {"price" => dec("0.01")})?;
        let mut prices: Vec<Decimal> = products().order_by("id").pluck("price")?;
        prices.sort();
        assert_eq!(
            prices,
            [dec("-42.50"), dec("0.01"), dec("0.3"), dec("19.99"), dec("1234567890123.45")]
        );
        // MIN / MAX keep the column's type: exact.
        assert_eq!(products().max::<Decimal>("price")?, Some(dec("1234567890123.45")));
        assert_eq!(products().min::<Decimal>("rate")?, Some(dec("-0.0000000001")));
        // ... and readable as floats.
        assert_eq!(products().where_("name", "=", "book").max::<f64>("price")?, Some(19.99));
        // SUM and AVG read as floats on both backends.
        let small = || products().where_("price", "<", 100);
        assert!((small().sum("price")? - (19.99 + 0.3 - 42.5 + 0.01)).abs() < 1e-9);
        assert!((small().avg("price")?.unwrap() - (19.99 + 0.3 - 42.5 + 0.01) / 4.0).abs() < 1e-9);
        // A record reads the column as a decimal or a float.
        let record = products().where_("name", "=", "book").first()?.unwrap();
        assert_eq!(record.get::<Decimal, _>("price")?, dec("19.99"));
        assert_eq!(record.get::<f64, _>("price")?, 19.99);
        if backend() == Backend::Postgres {
            // NUMERIC still reads as its exact text, with the column's scale.
            assert_eq!(record.get::<String, _>("price")?, "19.99");
            assert_eq!(products().where_("name", "=", "free").value::<String>("rate")?.unwrap(), "100.0000000000");
        }
        Ok(())
    }

    fn aggregates_over_numeric_in_raw_sql_are_readable() {
        create_products()?;
        for (name, price, rate) in money() {
            Product::create(Product { name: name.into(), price, rate, ..Default::default() })?;
        }
        let rows = DB::select(
            "SELECT SUM(price) AS total, MAX(price) AS top, COUNT(*) AS n FROM products WHERE price < ?",
            &[&dec("100")],
        )?;
        let total: f64 = rows[0].get("total")?;
        assert!((total - (19.99 + 0.3 - 42.5)).abs() < 1e-9);
        assert_eq!(rows[0].get::<Decimal, _>("top")?, dec("19.99"));
        if backend() == Backend::Postgres {
            // NUMERIC arithmetic is exact on PostgreSQL.
            assert_eq!(rows[0].get::<Decimal, _>("total")?, dec("-22.21"));
        }
        // A whole NUMERIC reads as an integer (PostgreSQL's SUM of integers is NUMERIC).
        let whole = DB::select("SELECT SUM(id) AS ids FROM products", &[])?;
        assert_eq!(whole[0].get::<i64, _>("ids")?, 15);
        Ok(())
    }

    fn every_digit_is_kept_where_the_column_keeps_it() {
        // PostgreSQL's NUMERIC keeps 28 significant digits exactly; SQLite's NUMERIC
        // affinity keeps about 15 (a REAL), so there a TEXT column holds every digit.
        DB::statement(per_backend(
            "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount TEXT)",
            "CREATE TABLE ledger (id SERIAL PRIMARY KEY, amount NUMERIC(38, 18))",
        ))?;
        let values = [
            dec("1234567890.123456789012345678"),
            dec("-9999999999.999999999999999999"),
            dec("0.000000000000000001"),
        ];
        for value in values {
            DB::table("ledger").insert(row! {"amount" => value})?;
            let read: Decimal = DB::table("ledger").order_by_desc("id").value("amount")?.unwrap();
            assert_eq!(read, value);
            let found = DB::table("ledger").where_("amount", "=", value).count()?;
            assert_eq!(found, 1, "{value} compares equal in SQL");
        }
        Ok(())
    }

    fn decimals_compare_as_numbers_with_expressions_too() {
        // SQLite bound decimals as text, which ranks above every number where no column
        // affinity converts it: `price * qty > ?` matched nothing, `<` everything.
        Schema::on_default(|s| {
            s.create("lines", |t| {
                t.increments("id");
                t.string("sku", 10);
                t.decimal("price", 10, 2);
                t.integer("qty");
            })
        })
        .map_err(|e| Error::other(e.to_string()))?;
        for (sku, price, qty) in [("a", "10.00", 3), ("b", "2.50", 1), ("c", "99.99", 2)] {
            DB::table("lines").insert(row! {"sku" => sku, "price" => dec(price), "qty" => qty})?;
        }
        let skus = |q: Query| -> Result<Vec<String>> { q.order_by("sku").pluck("sku") };
        let lines = || DB::table("lines");
        assert_eq!(skus(lines().where_raw("price * qty > ?", &[&dec("20.00")]))?, ["a", "c"]);
        assert_eq!(skus(lines().where_raw("price * qty < ?", &[&dec("20.00")]))?, ["b"]);
        assert_eq!(skus(lines().where_raw("COALESCE(price, 0) >= ?", &[&dec("10")]))?, ["a", "c"]);
        assert_eq!(skus(lines().where_("price", ">", dec("9.999")))?, ["a", "c"]);
        let big = lines()
            .select_raw("sku, SUM(price * qty) AS total", &[])
            .group_by("sku")
            .having_raw("SUM(price * qty) > ?", &[&dec("25.5")])
            .order_by("sku")
            .pluck::<String>("sku")?;
        assert_eq!(big, ["a", "c"]);
        Ok(())
    }

    fn decimal_steps_keep_money_exact() {
        Schema::on_default(|s| {
            s.create("wallets", |t| {
                t.increments("id");
                t.decimal("balance", 12, 2).nullable();
            })
        })
        .map_err(|e| Error::other(e.to_string()))?;
        DB::table("wallets").insert(row! {"balance" => dec("0.00")})?;
        DB::table("wallets").insert(row! {"balance" => None::<Decimal>})?;
        for _ in 0..10 {
            DB::table("wallets").increment("balance", dec("0.10"))?;
        }
        let balance: Decimal = DB::table("wallets").where_eq("id", 1).value("balance")?.unwrap();
        assert_eq!(balance, dec("1.00"));
        assert_eq!(DB::table("wallets").where_eq("balance", dec("1.00")).count()?, 1);
        DB::table("wallets").where_eq("id", 1).increment("balance", dec("19.39"))?;
        DB::table("wallets").where_eq("id", 1).decrement("balance", dec("0.01"))?;
        let balance: Decimal = DB::table("wallets").where_eq("id", 1).value("balance")?.unwrap();
        assert_eq!(balance, dec("20.38"));
        assert_eq!(DB::table("wallets").where_eq("balance", dec("20.38")).count()?, 1);
        // NULL plus anything stays NULL.
        assert_eq!(DB::table("wallets").where_null("balance").count()?, 1);
        Ok(())
    }

    fn digits_beyond_a_decimal_read_as_exact_text_never_rounded() {
        // 31 significant digits, and a scale of 30: more than a Decimal holds (28).
        DB::statement(per_backend3(
            "CREATE TABLE wide (id INTEGER PRIMARY KEY, v TEXT)",
            "CREATE TABLE wide (id INTEGER PRIMARY KEY, v NUMERIC(40, 30))",
            "CREATE TABLE wide (id INTEGER PRIMARY KEY, v DECIMAL(40, 30))",
        ))?;
        let long = "1.123456789012345678901234567891";
        let tiny = "0.000000000000000000000000000001";
        DB::statement(&format!(
            "INSERT INTO wide (id, v) VALUES (1, '{long}'), (2, '{tiny}'), (3, '1.5')"
        ))?;
        let wide = |id: i64| DB::table("wide").where_eq("id", id);
        for (id, text) in [(1, long), (2, tiny)] {
            let err = wide(id).value::<Decimal>("v").unwrap_err();
            assert!(matches!(err, Error::Decode { ref column, .. } if column == "v"), "{id}: {err}");
            assert_eq!(wide(id).value::<String>("v")?.unwrap(), text);
        }
        if backend() != Backend::Sqlite {
            // Zeros past a Decimal's scale lose nothing: the value reads as a Decimal.
            assert_eq!(wide(3).value::<Decimal>("v")?, Some(dec("1.5")));
        }
        Ok(())
    }

    fn unreadable_values_are_typed_errors() {
        DB::statement("CREATE TABLE notes (body TEXT)")?;
        DB::table("notes").insert(row! {"body" => "nineteen"})?;
        let err = DB::table("notes").value::<Decimal>("body").unwrap_err();
        assert!(matches!(err, Error::Decode { ref column, .. } if column == "body"), "{err}");
        Ok(())
    }
}

// A column whose scale pads a value past a Decimal's 96-bit mantissa (token amounts in
// a DECIMAL(38, 18)) still reads back as the Decimal written: the padding zeros go.
on_every_backend! {
    fn money_sums_read_exactly() {
        create_products()?;
        // Cents that doubles cannot add exactly, and (beyond SQLite's 15 digits) a
        // total a double cannot hold.
        let mut prices = vec!["0.10", "0.20", "0.30", "19.99"];
        if backend() != Backend::Sqlite {
            prices.push("1234567890123.45");
        }
        for (i, price) in prices.iter().enumerate() {
            DB::table("products").insert(row! {"name" => format!("p{i}"), "price" => dec(price)})?;
        }
        let expected = prices.iter().map(|p| dec(p)).sum::<Decimal>();
        assert_eq!(DB::table("products").sum_exact::<Decimal>("price")?, Some(expected));
        assert_eq!(Product::query().where_("price", "<", dec("1")).sum_exact::<Decimal>("price")?, Some(dec("0.60")));
        assert_eq!(DB::table("products").sum_exact::<i64>("id")?, Some((1..=prices.len() as i64).sum()));
        assert_eq!(DB::table("products").where_eq("id", -1).sum_exact::<Decimal>("price")?, None);
        Ok(())
    }

    fn a_float_sum_past_the_integer_range_is_a_float_everywhere() {
        // SQLAlchemy's compliance suite: `sum` reads a float on every backend; SQLite's
        // SUM of integers failed with "integer overflow" before the cast to REAL.
        DB::statement("CREATE TABLE tallies (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")?;
        DB::table("tallies").insert(row! {"id" => 1, "n" => i64::MAX - 1})?;
        DB::table("tallies").insert(row! {"id" => 2, "n" => 5})?;
        let total = DB::table("tallies").sum("n")?;
        assert!((total - 9.223_372_036_854_776e18).abs() < 1e4, "{total}");
        assert_eq!(DB::table("tallies").where_eq("id", 2).sum("n")?, 5.0);
        assert_eq!(DB::table("tallies").where_eq("id", 3).sum("n")?, 0.0);
        let average = DB::table("tallies").avg("n")?.expect("an average");
        assert!((average - 4.611_686_018_427_388e18).abs() < 1e4, "{average}");
        assert!(DB::table("tallies").sum_exact::<i64>("n").is_err());
        Ok(())
    }

    fn values_padded_by_a_wide_scale_read_back_as_decimals() {
        Schema::on_default(|s| {
            s.create("balances", |t| {
                t.increments("id");
                t.decimal("amount", 38, 18);
                t.decimal("rate", 30, 10);
            })
        })
        .map_err(Error::other)?;
        // Tiny amounts too: SQLite holds them as REAL, which read back as a Decimal.
        let mut cases = vec![
            ("100000000000.5", "1234567890.12345"),
            ("0.000000000000000001", "-0.0000000001"),
            ("-0.000000000000001", "0.000000001"),
        ];
        // SQLite keeps 15 significant digits in a decimal() column (documented).
        if backend() != Backend::Sqlite {
            cases.push(("100000000000.5", "12345678901234567890"));
            cases.push(("79228162514.264337593543950335", "12345678901234567890.1234567"));
        }
        for (amount, rate) in cases {
            let amount = Decimal::from_str(amount).unwrap();
            let rate = Decimal::from_str(rate).unwrap();
            DB::table("balances").delete()?;
            DB::table("balances").insert(row! {"amount" => amount, "rate" => rate})?;
            let read: Decimal = DB::table("balances").value("amount")?.unwrap();
            assert_eq!(read, amount);
            let read: Decimal = DB::table("balances").value("rate")?.unwrap();
            assert_eq!(read, rate);
        }
        Ok(())
    }
}
