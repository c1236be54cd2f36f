//! parse + validate: arbitrary bytes as a catalog file. Never panics; a rejected file has at
//! least one error, and every error says what is wrong and how to fix it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantgen::check::check_source;
use tenantgen::source::Source;

fuzz_target!(|data: &[u8]| {
    let source = match Source::from_bytes("fuzz.yaml".into(), "fuzz.yaml".into(), data.to_vec()) {
        Ok(s) => s,
        Err(d) => {
            assert!(!d.message.is_empty(), "empty message: {d:?}");
            assert!(d.hint.is_some(), "no hint: {d:?}");
            return;
        }
    };
    if let Err(problems) = check_source(source) {
        assert!(
            problems.iter().any(|d| d.is_error()),
            "rejected without an error: {problems:?}"
        );
        for d in problems.iter().filter(|d| d.is_error()) {
            assert!(!d.message.trim().is_empty(), "empty message: {d:?}");
            assert!(
                d.hint.as_deref().is_some_and(|h| !h.trim().is_empty()),
                "no hint: {d:?}"
            );
        }
    }
});
