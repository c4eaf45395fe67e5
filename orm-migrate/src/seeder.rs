//! Seeders: Rust code that fills tables with sample or reference data, run by
//! `craft seed:run` (or `craft migrate --seed`), by tests, or by hand.
//!
//! ```
//! use orm_migrate::prelude::*;
//! use orm_core::DB;
//!
//! struct ColorsSeeder;
//! impl Seeder for ColorsSeeder {
//!     fn run(&self) -> Result<()> {
//!         DB::table("colors").insert_many([[("name", "red".into())], [("name", "blue".into())]])?;
//!         Ok(())
//!     }
//! }
//!
//! struct DatabaseSeeder;
//! impl Seeder for DatabaseSeeder {
//!     fn run(&self) -> Result<()> {
//!         // Each called seeder runs in its own transaction (a savepoint of this one).
//!         self.call(&[&ColorsSeeder])
//!     }
//! }
//!
//! let _db = orm_core::testing::sqlite();
//! DB::statement("CREATE TABLE colors (name TEXT NOT NULL)")?;
//! orm_migrate::seed(&DatabaseSeeder)?;
//! assert_eq!(DB::table("colors").count()?, 2);
//! # Ok::<(), orm_migrate::Error>(())
//! ```

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use orm_core::DB;

use crate::error::{Error, Result};

/// Fills tables with data. `run` writes through the default connection (models,
/// `DB::table(..)`, factories); [`seed`] and [`Seeder::call`] run each seeder in a
/// transaction of its own, so a failing seeder leaves nothing of itself behind.
pub trait Seeder {
    /// Writes the seeder's rows.
    fn run(&self) -> Result<()>;

    /// The seeder's name in progress lines and errors, and for `craft seed:run NAME`:
    /// by default its type's name without the module path (`UsersTableSeeder`).
    fn name(&self) -> &str {
        let full = std::any::type_name::<Self>();
        let without_generics = full.split('<').next().unwrap_or(full);
        let start = without_generics.rfind("::").map_or(0, |i| i + 2);
        &full[start..]
    }

    /// Runs other seeders in order, each in its own transaction (nested in the one
    /// this seeder runs in, as a savepoint): the first failure stops the list and is
    /// returned, with nothing of the failed seeder kept.
    fn call(&self, seeders: &[&dyn Seeder]) -> Result<()> {
        for seeder in seeders {
            run_one(*seeder)?;
        }
        Ok(())
    }
}

/// Runs `seeder` (and whatever it calls) on the default connection, in one
/// transaction: when it fails, the error names the seeder that failed and nothing of
/// the run is kept.
pub fn seed(seeder: &dyn Seeder) -> Result<()> {
    run_one(seeder)
}

/// [`seed`], telling `observer` what happens as it happens: each seeder started and
/// finished (with its time) and each batch of rows inserted by a factory (or reported
/// with [`report_inserted`]).
pub fn seed_with(seeder: &dyn Seeder, observer: impl Fn(SeedProgress<'_>) + 'static) -> Result<()> {
    let previous = OBSERVER.with(|cell| cell.replace(Some(Rc::new(observer))));
    struct Restore(Option<Observer>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            OBSERVER.with(|cell| *cell.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    run_one(seeder)
}

/// What seeding is doing, reported to the observer of [`seed_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeedProgress<'a> {
    /// About to run this seeder.
    Seeding(&'a str),
    /// This seeder finished, in this time.
    Seeded(&'a str, Duration),
    /// Rows were inserted into a table (one batch of a factory's `create`).
    Inserted {
        /// The table.
        table: &'a str,
        /// Rows in this batch.
        rows: usize,
    },
}

type Observer = Rc<dyn Fn(SeedProgress<'_>)>;

thread_local! {
    static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
}

fn report(progress: SeedProgress<'_>) {
    let observer = OBSERVER.with(|cell| cell.borrow().clone());
    if let Some(observer) = observer {
        observer(progress);
    }
}

/// Tells the observer of a running [`seed_with`] (if any) that `rows` rows went into
/// `table`; factories call it for each batch they insert, and a seeder that inserts by
/// hand may too.
pub fn report_inserted(table: &str, rows: usize) {
    report(SeedProgress::Inserted { table, rows });
}

fn run_one(seeder: &dyn Seeder) -> Result<()> {
    let name = seeder.name();
    report(SeedProgress::Seeding(name));
    let started = Instant::now();
    let mut failure = None;
    let outcome = DB::transaction(|| match seeder.run() {
        Ok(()) => Ok(()),
        Err(e) => {
            failure = Some(e);
            // Any error rolls the transaction back; the seeder's own is returned below.
            Err(orm_core::Error::other(format!("seeder `{name}` failed")))
        }
    });
    let error = match (failure, outcome) {
        (None, Ok(())) => {
            report(SeedProgress::Seeded(name, started.elapsed()));
            return Ok(());
        }
        (Some(e), _) => e,
        (None, Err(e)) => Error::Database(e),
    };
    Err(match error {
        // A nested seeder's failure already names it.
        e @ Error::SeederFailed { .. } => e,
        e => Error::SeederFailed {
            seeder: name.to_owned(),
            source: Box::new(e),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl Seeder for Plain {
        fn run(&self) -> Result<()> {
            Ok(())
        }
    }

    struct Generic<T>(T);
    impl<T> Seeder for Generic<T> {
        fn run(&self) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn names_are_the_type_names() {
        assert_eq!(Plain.name(), "Plain");
        assert_eq!(Generic(1u8).name(), "Generic<u8>");
        let boxed: Box<dyn Seeder> = Box::new(Plain);
        assert_eq!(boxed.name(), "Plain");
    }
}
