//! diff input: two catalogs, base and head. The input is split at its first NUL byte; with
//! none, the base is the sample catalog and the input is the head (so mutations of the sample
//! make real differences). Never panics; when both sides are valid, the markdown fits one
//! GitHub comment, the JSON parses, and a side compared with itself has no changes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantgen::check::{Checked, check_source};
use tenantgen::source::Source;
use tenantgen::{diff, report};

const SAMPLE: &[u8] = include_bytes!("../../clients/clients.yaml");

fn checked(name: &str, bytes: &[u8]) -> Option<Checked> {
    let source = Source::from_bytes(name.into(), name.into(), bytes.to_vec()).ok()?;
    check_source(source).ok()
}

fuzz_target!(|data: &[u8]| {
    let (base, head) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (SAMPLE, data),
    };
    let (Some(base), Some(head)) = (checked("base.yaml", base), checked("head.yaml", head))
    else {
        return;
    };
    let r = diff::compare_catalogs(&base, &head);
    let md = report::markdown(
        &r,
        &report::Links::default(),
        report::DEFAULT_TEMPLATE,
        report::COMMENT_LIMIT,
    )
    .expect("the built-in template renders");
    assert!(md.chars().count() <= report::COMMENT_LIMIT, "{} characters", md.len());
    let json: serde_json::Value = serde_json::from_str(&report::json(&r)).expect("JSON");
    assert!(json.is_object());
    let all = diff::render_side(&head, None);
    let same = diff::compare(&all, &all, Some((&head, &head)));
    assert_eq!(same.counts.total(), 0, "head differs from itself");
});
