//! The blog on embedded SQLite: `cargo run --example blog`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    orm_core::DB::connect("sqlite::memory:")?;
    examples::blog::run(|line| println!("{line}"))?;
    Ok(())
}
