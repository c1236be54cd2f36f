//! Benchmarks of the pipeline stages on synthetic catalogs (`cargo bench`). The README
//! records the numbers and the machine they came from.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tenantgen::{check, diff, krm, layout, render, report, source::Source, synthetic};

// Rendering makes and drops millions of small strings and maps; mimalloc serves them about
// a third faster than the system allocator (scripts/bench-scale, render to memory).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The machine the figures come from, printed before them (the README quotes both).
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("Machine: {cores} cores, {cpu}")
}

fn stages(c: &mut Criterion) {
    eprintln!("{}", machine());
    let mut group = c.benchmark_group("stages");
    group.sample_size(10);
    for n in [100usize, 1_000] {
        let text = synthetic::catalog(n);
        group.bench_with_input(BenchmarkId::new("validate", n), &text, |b, text| {
            b.iter(|| {
                check::check_source(Source::from_text("bench.yaml", text.as_str()))
                    .map(|c| c.model.clients.len())
            })
        });
        let checked = check::check_source(Source::from_text("bench.yaml", text.as_str()))
            .expect("valid synthetic catalog");
        // What `render` does before the disk: every zone's files, streamed a chunk of clients
        // at a time and rendered on every core (layout::each_zone_file).
        group.bench_with_input(
            BenchmarkId::new("render_to_memory", n),
            &checked,
            |b, checked| {
                b.iter(|| {
                    let mut bytes = 0;
                    for zone in &checked.model.zones {
                        let _ = layout::each_zone_file(
                            &checked.model,
                            zone,
                            &render::Options::default(),
                            |_, content| {
                                bytes += black_box(content).len();
                                Ok::<(), ()>(())
                            },
                        );
                    }
                    black_box(bytes)
                })
            },
        );
        // YAML text alone, from objects already rendered: what `emit` costs, without the
        // rendering and layout around it.
        let objects: Vec<_> = checked
            .model
            .zones
            .iter()
            .flat_map(|zone| render::zone(&checked.model, zone, &render::Options::default()))
            .collect();
        group.bench_with_input(BenchmarkId::new("emit", n), &objects, |b, objects| {
            let mut text = String::new();
            b.iter(|| {
                text.clear();
                for placed in objects {
                    placed.object.emit(&mut text);
                }
                black_box(text.len())
            })
        });
        let list = synthetic::resource_list(n, "production");
        group.bench_with_input(BenchmarkId::new("krm", n), &list, |b, list| {
            b.iter(|| {
                let outcome = krm::process(list);
                let mut len = 0;
                let _ = outcome.write(|text| {
                    len += black_box(text).len();
                    Ok::<(), ()>(())
                });
                black_box(len)
            })
        });
    }
    // Pass-through items: 10,000 small ConfigMaps in front of a 100-client config.
    let mut items = String::from("items:\n");
    for i in 0..10_000 {
        items.push_str(&format!("  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: cm-{i:05}\n      namespace: default\n    data:\n      key: value-{i:05}\n"));
    }
    let list = synthetic::resource_list(100, "production").replacen("items: []\n", &items, 1);
    group.bench_function("krm_10000_items_100_clients", |b| {
        b.iter(|| {
            let outcome = krm::process(&list);
            let mut len = 0;
            let _ = outcome.write(|text| {
                len += black_box(text).len();
                Ok::<(), ()>(())
            });
            black_box(len)
        })
    });
    // A pull request touching 10 of 1,000 clients: check both sides, render what can
    // differ, compare, and write the markdown comment.
    let base = synthetic::catalog(1_000);
    let mut head = base.clone();
    for i in (0..1_000).step_by(100) {
        head = head.replacen(
            &format!("    - name: client-{i:05}\n      hosting: shared\n      size: small\n"),
            &format!("    - name: client-{i:05}\n      hosting: shared\n      size: medium\n"),
            1,
        );
    }
    group.bench_function("diff_1000_clients_10_changed", |b| {
        b.iter(|| {
            let base =
                check::check_source(Source::from_text("base.yaml", base.as_str())).expect("base");
            let head =
                check::check_source(Source::from_text("head.yaml", head.as_str())).expect("head");
            let r = diff::compare_catalogs(&base, &head);
            assert_eq!(
                r.zones.values().map(|z| z.len()).sum::<usize>(),
                30,
                "10 clients in 3 zones"
            );
            black_box(
                report::markdown(
                    &r,
                    &report::Links::default(),
                    report::DEFAULT_TEMPLATE,
                    report::COMMENT_LIMIT,
                )
                .map(|m| m.len()),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
