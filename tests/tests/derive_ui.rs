//! `#[derive(Model)]` misuse, and a `Migration` without its required `name`, give a
//! compile error naming the fix.

#[test]
fn derive_misuse_is_a_clear_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
