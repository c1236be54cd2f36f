//! krm input: arbitrary UTF-8 as the ResourceList on stdin. Never panics, and the answer is
//! always a ResourceList with an `items` list, written piece by piece exactly as the whole
//! list's document; a failure carries results saying why.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|input: &str| {
    let outcome = tenantgen::krm::process(input);
    let failed = outcome.failed();
    let mut streamed = String::new();
    let _ = outcome.write(|t| {
        streamed.push_str(t);
        Ok::<(), ()>(())
    });
    let list = &outcome.into_value();
    let mut whole = String::new();
    tenantgen::emit::document(&mut whole, list);
    assert_eq!(streamed, whole, "the streamed answer is the whole list's document");
    assert_eq!(
        list.get("kind").and_then(Value::as_str),
        Some("ResourceList"),
        "{list}"
    );
    assert!(list.get("items").is_some_and(Value::is_array), "{list}");
    if failed {
        let results = list.get("results").and_then(Value::as_array);
        assert!(
            results.is_some_and(|r| !r.is_empty()),
            "failed without results: {list}"
        );
    }
});
