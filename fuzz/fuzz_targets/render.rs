//! render: when the input is a valid catalog, every zone renders and lays out without a
//! panic, every file is owned (starts with the header), and the same catalog renders the
//! same bytes twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantgen::check::check_source;
use tenantgen::render::Options;
use tenantgen::source::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("fuzz.yaml".into(), "fuzz.yaml".into(), data.to_vec())
    else {
        return;
    };
    let Ok(checked) = check_source(source) else {
        return;
    };
    let model = &checked.model;
    let options = Options::default();
    for zone in &model.zones {
        let objects = tenantgen::render::zone(model, zone, &options);
        let files = tenantgen::layout::zone_files(&zone.name, &objects, &options);
        for (path, text) in &files {
            assert!(
                text.starts_with(tenantgen::emit::HEADER),
                "{}/{path} has no header",
                zone.name
            );
        }
        let values: Vec<&serde_json::Value> = objects.iter().map(|p| &p.object).collect();
        let stream = tenantgen::emit::file(&values);
        assert!(stream.starts_with(tenantgen::emit::HEADER));
        let again = tenantgen::layout::zone_files(
            &zone.name,
            &tenantgen::render::zone(model, zone, &options),
            &options,
        );
        assert_eq!(files, again, "zone {} renders differently twice", zone.name);
    }
});
