//! `#[derive(Model)]` misuse gives one spanned error naming the fix.

#[test]
fn derive_misuse_is_a_clear_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
