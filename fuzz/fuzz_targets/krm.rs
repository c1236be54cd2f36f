//! krm input: arbitrary UTF-8 as the ResourceList on stdin. Never panics, and the answer is
//! always a ResourceList with an `items` list; a failure carries results saying why.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|input: &str| {
    let outcome = tenantgen::krm::process(input);
    let list = &outcome.resource_list;
    assert_eq!(
        list.get("kind").and_then(Value::as_str),
        Some("ResourceList"),
        "{list}"
    );
    assert!(list.get("items").is_some_and(Value::is_array), "{list}");
    if outcome.failed() {
        let results = list.get("results").and_then(Value::as_array);
        assert!(
            results.is_some_and(|r| !r.is_empty()),
            "failed without results: {list}"
        );
    }
});
