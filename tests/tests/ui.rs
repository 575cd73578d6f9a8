//! Compile errors of `#[derive(Model)]` and of the typed query API (trybuild).

#[test]
fn derive_and_type_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
