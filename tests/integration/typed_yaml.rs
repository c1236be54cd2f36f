//! Objects are written as YAML straight from their types: the text must be byte for byte
//! what the JSON-tree writer makes of the same object, for every object of every catalog we
//! ship or test with.

use tenantgen::{check, emit, render, source::Source};

#[test]
fn every_rendered_object_is_written_exactly_as_its_tree() {
    let mut catalogs: Vec<(String, String)> = std::fs::read_dir("tests/fixtures/valid")
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    catalogs.push((
        "clients/clients.yaml".into(),
        std::fs::read_to_string("clients/clients.yaml").expect("sample"),
    ));
    catalogs.push(("synthetic".into(), tenantgen::synthetic::catalog(40)));
    assert!(catalogs.len() >= 7, "the fixtures are all there");
    let mut objects = 0;
    for (name, text) in catalogs {
        let checked = check::check_source(Source::from_text(name.as_str(), text.as_str()))
            .unwrap_or_else(|_| panic!("{name} is valid"));
        let mut options = render::Options::default();
        options.bootstrapped.insert("dev".into());
        for zone in &checked.model.zones {
            for p in render::zone(&checked.model, zone, &options) {
                let value = p.value();
                let mut pairs = [
                    (String::new(), String::new()),
                    (String::new(), String::new()),
                ];
                p.object.emit(&mut pairs[0].0);
                emit::document(&mut pairs[0].1, &value);
                p.object.emit_item(&mut pairs[1].0, 2);
                emit::list_item(&mut pairs[1].1, &value, 2);
                for (typed, tree) in pairs {
                    assert_eq!(
                        typed,
                        tree,
                        "{name} {}: {} {}",
                        zone.name,
                        p.kind(),
                        p.name()
                    );
                }
                objects += 1;
            }
        }
    }
    assert!(objects > 1000, "{objects} objects compared");
}
