//! Properties that must hold for every input, not just the fixtures.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::root;

fn files_of(catalog: &tenantgen::catalog::Catalog) -> Vec<(String, String)> {
    let model = tenantgen::model::Catalog::try_from(catalog).expect("model");
    let opts = tenantgen::render::Options::default();
    let mut out = Vec::new();
    for zone in &model.zones {
        let objects = tenantgen::render::zone(&model, zone, &opts);
        for (path, text) in tenantgen::layout::zone_files(&zone.name, &objects, &opts) {
            out.push((format!("{}/{path}", zone.name), text));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The order of clients in the file never reaches the output.
    #[test]
    fn client_order_does_not_change_the_tree(seed in any::<u64>(), sample in any::<bool>()) {
        // all_options has every platform option; the sample has clients with several
        // workloads, volumes, TCP ports and metrics.
        let catalog = if sample { "clients/clients.yaml" } else { "tests/fixtures/valid/all_options.yaml" };
        let checked = tenantgen::check::check_file(&root().join(catalog)).expect("valid");
        let reference = files_of(&checked.raw);
        let mut shuffled = checked.raw.clone();
        let n = shuffled.spec.clients.len();
        let mut state = seed;
        for i in (1..n).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = usize::try_from(state >> 33).unwrap_or(0) % (i + 1);
            shuffled.spec.clients.swap(i, j);
        }
        for c in &mut shuffled.spec.clients {
            c.tcp_ports.reverse();
        }
        prop_assert_eq!(files_of(&shuffled), reference);
    }

    /// Any string survives emit -> parse: quoting is never ambiguous.
    #[test]
    fn emitted_strings_read_back_unchanged(s in any::<String>(), key in "[a-zA-Z0-9._/-]{1,20}") {
        let value = json!({ key.clone(): s.clone(), "list": [s.clone()] });
        let mut text = String::new();
        tenantgen::emit::document(&mut text, &value);
        let src = tenantgen::source::Source::from_text("emitted", text.clone());
        let parsed = tenantgen::yaml::parse(&src).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert_eq!(parsed.value.get(&key), Some(&Value::String(s.clone())), "{}", text);
        prop_assert_eq!(parsed.value.pointer("/list/0"), Some(&Value::String(s)), "{}", text);
    }

    /// YAML 1.1 and 1.2 look-alikes are quoted, so kubectl (YAML 1.1) reads strings too.
    #[test]
    fn lookalikes_are_always_quoted(word in prop::sample::select(vec!["yes", "No", "ON", "off", "y", "N", "true", "Null", "~", "0755", "1e3", "1.10", "0x1F", ".5", "-1", "+1", "1_000", "12:30"])) {
        let mut text = String::new();
        tenantgen::emit::document(&mut text, &json!({"k": word}));
        prop_assert_eq!(text, format!("k: \"{word}\"\n"));
    }
}
