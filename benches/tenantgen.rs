//! Benchmarks of the pipeline stages on synthetic catalogs (`cargo bench`). The README
//! records the numbers and the machine they came from.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tenantgen::{check, krm, layout, render, source::Source, synthetic};

fn options() -> render::Options {
    render::Options {
        flux_root: "./clusters".into(),
        components: Default::default(),
    }
}

fn stages(c: &mut Criterion) {
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
        group.bench_with_input(
            BenchmarkId::new("render_to_memory", n),
            &checked,
            |b, checked| {
                b.iter(|| {
                    let mut bytes = 0;
                    for zone in &checked.model.zones {
                        let objects = render::zone(&checked.model, zone, &options());
                        bytes += layout::zone_files(&objects, &options())
                            .values()
                            .map(String::len)
                            .sum::<usize>();
                    }
                    black_box(bytes)
                })
            },
        );
        let list = synthetic::resource_list(n, "production");
        group.bench_with_input(BenchmarkId::new("krm", n), &list, |b, list| {
            b.iter(|| {
                let outcome = krm::process(list);
                let mut text = String::new();
                tenantgen::emit::document(&mut text, &outcome.resource_list);
                black_box(text.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
