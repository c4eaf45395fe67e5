// A test database guard removes the connection scopes of the thread it is dropped on,
// so it cannot move to another thread (orm_migrate::testing returns the same guard).
fn main() {
    let db = orm_core::testing::sqlite();
    std::thread::spawn(move || drop(db)).join().unwrap();
}
