//! Transactions under faults: an error (returned, or raised by the database) and a panic
//! injected at every step of a multi-statement transaction leave the database exactly as
//! it was; random trees of nested savepoints agree with an in-memory model (proptest).
//!
//! CI mode: 1 000 random trees on SQLite, 100 on PostgreSQL. Long mode
//! (`ORM_RELIABILITY_LONG=1`): 20 000 and 2 000.

use std::panic::{catch_unwind, AssertUnwindSafe};

use orm_core::prelude::*;
use orm_core::{row, Backend};
use orm_tests::reliability::{inject_panic, quiet_injected_panics, scaled, InjectedPanic};
use orm_tests::{backend, on_every_backend, per_backend};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "ledger")]
pub struct Entry {
    pub id: Option<i64>,
    pub account: i64,
    pub amount: i64,
}

fn schema() -> Result<()> {
    orm_tests::reliability::relax_durability()?;
    DB::statement(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL)",
    )?;
    DB::statement(per_backend(
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, amount INTEGER NOT NULL)",
        "CREATE TABLE ledger (id BIGSERIAL PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL)",
    ))?;
    DB::table("accounts").insert_many([
        row! {"id" => 1, "owner" => "ada", "balance" => 100},
        row! {"id" => 2, "owner" => "grace", "balance" => 50},
        row! {"id" => 3, "owner" => "linus", "balance" => 0},
    ])?;
    Entry {
        account: 1,
        amount: 100,
        ..Default::default()
    }
    .save()?;
    if backend() == Backend::Mysql {
        // MySQL commits before DDL: the transfer's DDL step is DML there (see `step`).
        DB::statement("CREATE TABLE audit (note TEXT)")?;
    }
    Ok(())
}

/// Everything the transaction could touch: both tables' rows and the list of tables.
fn snapshot() -> Result<Vec<Vec<Value>>> {
    let mut out = Vec::new();
    for table in ["accounts", "ledger"] {
        for record in DB::table(table).order_by("id").get()? {
            out.push(record.into_values());
        }
    }
    let tables = DB::select(
        per_backend(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name",
        ),
        &[],
    )?;
    out.extend(tables.into_iter().map(Record::into_values));
    Ok(out)
}

/// The steps of one transfer: raw SQL, the query builder, a model, DDL.
const STEPS: usize = 7;

fn step(index: usize) -> Result<()> {
    match index {
        0 => DB::update(
            "UPDATE accounts SET balance = balance - ? WHERE id = ?",
            &[&30, &1],
        )
        .map(drop),
        1 => DB::table("accounts")
            .where_eq("id", 2)
            .increment("balance", 30)
            .map(drop),
        2 => Entry {
            account: 2,
            amount: 30,
            ..Default::default()
        }
        .save(),
        3 => DB::table("accounts").where_eq("id", 3).delete().map(drop),
        // DDL commits the open transaction on MySQL, so nothing could undo it: there
        // the step changes rows of a table made beforehand.
        4 if backend() == Backend::Mysql => DB::statement("DELETE FROM audit").map(drop),
        4 => DB::statement("CREATE TABLE audit (note TEXT)").map(drop),
        5 => DB::insert("INSERT INTO audit (note) VALUES (?)", &[&"moved 30"]).map(drop),
        6 => DB::table("ledger")
            .where_eq("account", 1)
            .update(row! {"amount" => 70})
            .map(drop),
        _ => unreachable!(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The closure returns an error of its own.
    Returned,
    /// The database refuses a statement (NOT NULL violation).
    Database,
    /// The closure panics.
    Panic,
}

fn fail(fault: Fault) -> Result<()> {
    match fault {
        Fault::Returned => Err(Error::other("injected failure")),
        Fault::Database => DB::insert(
            "INSERT INTO accounts (id, owner, balance) VALUES (?, NULL, 0)",
            &[&9],
        )
        .map(drop),
        Fault::Panic => inject_panic(),
    }
}

/// Runs the steps, failing just before step `fail_at` (`STEPS`: after the last one),
/// inside `nesting` levels of transactions.
fn transfer(fail_at: usize, fault: Fault, nesting: usize) -> Result<()> {
    if nesting > 1 {
        return DB::transaction(|| transfer(fail_at, fault, nesting - 1));
    }
    DB::transaction(|| {
        for index in 0..STEPS {
            if index == fail_at {
                fail(fault)?;
            }
            step(index)?;
        }
        if fail_at == STEPS {
            fail(fault)?;
        }
        Ok(())
    })
}

fn check_fault_at_every_step() -> Result<()> {
    quiet_injected_panics();
    schema()?;
    let before = snapshot()?;
    let mut checked = 0;
    for nesting in 1..=3 {
        for fault in [Fault::Returned, Fault::Database, Fault::Panic] {
            for fail_at in 0..=STEPS {
                let outcome = catch_unwind(AssertUnwindSafe(|| transfer(fail_at, fault, nesting)));
                match (fault, outcome) {
                    (Fault::Panic, Err(payload)) => {
                        assert!(payload.downcast_ref::<InjectedPanic>().is_some())
                    }
                    (Fault::Returned, Ok(Err(Error::Other(_))))
                    | (Fault::Database, Ok(Err(Error::NotNullViolation { .. }))) => {}
                    (fault, Ok(other)) => panic!("{fault:?} at step {fail_at}: got {other:?}"),
                    (fault, Err(_)) => panic!("{fault:?} at step {fail_at}: unexpected panic"),
                }
                assert_eq!(
                    snapshot()?,
                    before,
                    "{fault:?} at step {fail_at} (nesting {nesting}) changed the database"
                );
                assert_eq!(DB::with_connection(|c| Ok(c.transaction_depth()))?, 0);
                checked += 1;
            }
        }
    }
    // And with no fault the transfer commits whole.
    DB::transaction(|| (0..STEPS).try_for_each(step))?;
    let balances: Vec<i64> = DB::table("accounts").order_by("id").pluck("balance")?;
    assert_eq!(balances, [70, 80]);
    eprintln!("transaction faults: {checked} injected faults, each rolled back whole");
    Ok(())
}

/// One level of a random transaction tree.
#[derive(Debug, Clone)]
struct Tree {
    steps: Vec<TreeStep>,
    end: End,
}

#[derive(Debug, Clone)]
enum TreeStep {
    Insert(i32),
    Nested(Tree),
}

#[derive(Debug, Clone, Copy)]
enum End {
    Commit,
    Returned,
    Database,
    Panic,
}

fn end_strategy() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Commit),
        1 => Just(End::Returned),
        1 => Just(End::Database),
        1 => Just(End::Panic),
    ]
}

fn tree_strategy() -> impl Strategy<Value = Tree> {
    let leaf = any::<i32>().prop_map(TreeStep::Insert);
    let step = leaf.prop_recursive(4, 48, 5, |inner| {
        (prop::collection::vec(inner, 0..5), end_strategy())
            .prop_map(|(steps, end)| TreeStep::Nested(Tree { steps, end }))
    });
    (prop::collection::vec(step, 0..6), end_strategy()).prop_map(|(steps, end)| Tree { steps, end })
}

/// What the tree leaves behind, by the book: a level's inserts (and its committed
/// children's) survive only when the level commits.
fn model(tree: &Tree, state: &mut Vec<i32>) {
    let mut level = state.clone();
    for step in &tree.steps {
        match step {
            TreeStep::Insert(v) => level.push(*v),
            TreeStep::Nested(child) => model(child, &mut level),
        }
    }
    if matches!(tree.end, End::Commit) {
        *state = level;
    }
}

/// Runs the tree for real; failures of inner levels are caught by their parent.
fn execute(tree: &Tree) -> Result<()> {
    DB::transaction(|| {
        for step in &tree.steps {
            match step {
                TreeStep::Insert(v) => {
                    DB::insert("INSERT INTO items (v) VALUES (?)", &[v])?;
                }
                TreeStep::Nested(child) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| execute(child)));
                }
            }
        }
        match tree.end {
            End::Commit => Ok(()),
            End::Returned => Err(Error::other("injected")),
            End::Database => DB::insert("INSERT INTO items (v) VALUES (NULL)", &[]).map(drop),
            End::Panic => inject_panic(),
        }
    })
}

fn check_random_savepoint_trees() -> Result<()> {
    quiet_injected_panics();
    orm_tests::reliability::relax_durability()?;
    DB::statement(per_backend(
        "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, v INTEGER NOT NULL)",
        "CREATE TABLE items (id BIGSERIAL PRIMARY KEY, v INTEGER NOT NULL)",
    ))?;
    let cases = match backend() {
        Backend::Sqlite => scaled(1_000, 20_000),
        _ => scaled(100, 2_000),
    };
    let mut runner = TestRunner::new(Config {
        cases: cases as u32,
        failure_persistence: None,
        ..Config::default()
    });
    let statements = std::cell::Cell::new(0usize);
    let outcome = runner.run(&tree_strategy(), |tree| {
        DB::statement("DELETE FROM items").expect("clear");
        DB::enable_query_log();
        let _ = catch_unwind(AssertUnwindSafe(|| execute(&tree)));
        statements.set(statements.get() + DB::query_log().len());
        DB::disable_query_log();
        let mut expected = Vec::new();
        model(&tree, &mut expected);
        let actual: Vec<i32> = DB::table("items").order_by("id").pluck("v").expect("read");
        prop_assert_eq!(actual, expected);
        prop_assert_eq!(
            DB::with_connection(|c| Ok(c.transaction_depth())).expect("depth"),
            0
        );
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("savepoint tree disagrees with the model: {e}");
    }
    eprintln!(
        "savepoint trees: {cases} random trees, {} statements, all agree with the model",
        statements.get()
    );
    Ok(())
}

on_every_backend! {
    fn a_fault_at_every_step_leaves_the_database_unchanged() {
        check_fault_at_every_step()
    }

    fn random_savepoint_trees_agree_with_a_model() {
        check_random_savepoint_trees()
    }
}
