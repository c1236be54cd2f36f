//! layout: where each rendered object lives under `clusters/<zone>/`, and the kustomize
//! `kustomization.yaml` of every directory (SPEC §3.3). The root lists only Flux entry points,
//! so Flux never recurses into the tree.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::emit;
use crate::model::{Catalog, Zone};
use crate::render::{self, Options, Placed, Unit};

/// Relative path (with `/`) -> file content, for one zone.
pub type Files = BTreeMap<String, String>;

fn dir_of(unit: &Unit) -> String {
    match unit {
        Unit::Root | Unit::Tenants => String::new(),
        Unit::FluxSystem => "flux-system/".into(),
        Unit::InfraControllers => "infrastructure/controllers/".into(),
        Unit::InfraConfigs => "infrastructure/configs/".into(),
        Unit::Tenant(c) => format!("tenants/{c}/"),
    }
}

fn file_of(p: &Placed) -> String {
    let dir = dir_of(&p.unit);
    match &p.unit {
        Unit::Root if p.name() == crate::render::flux_names::TENANTS => "tenants.yaml".into(),
        Unit::Root => "infrastructure.yaml".into(),
        Unit::FluxSystem => "flux-system/gotk-sync.yaml".into(),
        Unit::Tenants => format!("tenants/{}.yaml", p.client.as_deref().unwrap_or("unknown")),
        _ => format!("{dir}{}.yaml", p.kind().to_ascii_lowercase()),
    }
}

fn kustomization(resources: Vec<String>, components: Vec<String>) -> String {
    let mut doc = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    if !components.is_empty() {
        doc["components"] = Value::from(components);
    }
    let mut out = String::from(emit::HEADER);
    out.push('\n');
    emit::document(&mut out, &doc);
    out
}

/// A YAML stream of `objects`, each a document, after the ownership header.
fn file(objects: &[&Placed]) -> String {
    let mut out = String::with_capacity(objects.len() * 1024);
    out.push_str(emit::HEADER);
    out.push('\n');
    for p in objects {
        out.push_str("---\n");
        p.object.emit(&mut out);
    }
    out
}

/// The files of one zone, paths relative to `clusters/<zone>/`.
pub fn zone_files(zone: &str, objects: &[Placed], options: &Options) -> Files {
    let mut files = unit_files(objects, options);
    let tenants: Vec<String> = objects
        .iter()
        .filter(|p| p.unit == Unit::Tenants)
        .map(|p| file_of(p).trim_start_matches("tenants/").to_owned())
        .collect();
    let mut root = Vec::new();
    // flux bootstrap's own kustomization lists its controllers and its sync: applying the
    // directory keeps them in the root Kustomization's inventory, so prune never removes them.
    if options.bootstrapped.contains(zone) {
        root.push("flux-system".to_owned());
    } else if objects.iter().any(|p| p.unit == Unit::FluxSystem) {
        root.push("flux-system/gotk-sync.yaml".to_owned());
    }
    root.extend(["infrastructure.yaml".to_owned(), "tenants.yaml".to_owned()]);
    for (dir, mut resources) in [("tenants/", tenants), ("", root)] {
        resources.sort();
        files.insert(
            format!("{dir}kustomization.yaml"),
            kustomization(resources, Vec::new()),
        );
    }
    files
}

/// Every file of one zone, handed to `sink` as it is made: first the platform and Flux files,
/// then each client's directory, so that memory holds a few clients' objects at a time
/// instead of the whole zone. The same files as `zone_files(&render::zone(..))`, in the same
/// order; the clients are rendered on every core (`par`), a chunk at a time.
pub fn each_zone_file<E>(
    catalog: &Catalog,
    zone: &Zone,
    options: &Options,
    mut sink: impl FnMut(String, String) -> Result<(), E>,
) -> Result<(), E> {
    let shared = render::zone_filtered(catalog, zone, options, |_| false);
    for (path, content) in zone_files(&zone.name, &shared, options) {
        sink(path, content)?;
    }
    drop(shared);
    render::each_client_chunk(
        catalog,
        |clients| {
            let mut files = Vec::new();
            for c in clients {
                let objects = render::client_objects(catalog, zone, c);
                files.extend(unit_files(&objects, options));
            }
            files
        },
        |files| {
            files
                .into_iter()
                .try_for_each(|(path, content)| sink(path, content))
        },
    )
}

/// The files of the objects' own directories (one file per kind, and the directory's
/// `kustomization.yaml`), without the zone's `tenants/` and root kustomizations.
fn unit_files(objects: &[Placed], options: &Options) -> Files {
    let mut grouped: BTreeMap<String, Vec<&Placed>> = BTreeMap::new();
    for p in objects {
        grouped.entry(file_of(p)).or_default().push(p);
    }
    let mut files: Files = grouped
        .iter()
        .map(|(path, objs)| (path.clone(), file(objs)))
        .collect();

    // Each applied directory gets a kustomization.yaml listing its files.
    let mut dirs: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for p in objects {
        if let Unit::InfraControllers | Unit::InfraConfigs | Unit::Tenant(_) = p.unit {
            let dir = dir_of(&p.unit);
            let name = file_of(p)[dir.len()..].to_owned();
            let entry = dirs.entry(dir).or_default();
            if !entry.0.contains(&name) {
                entry.0.push(name);
            }
            if let Some(component) = match &p.unit {
                Unit::Tenant(c) => options.components.get(c),
                _ => None,
            } && entry.1.is_empty()
            {
                entry.1.push(component.clone());
            }
        }
    }
    for (dir, (mut resources, components)) in dirs {
        resources.sort();
        files.insert(
            format!("{dir}kustomization.yaml"),
            kustomization(resources, components),
        );
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_source;
    use crate::source::Source;

    /// The streamed files are exactly the files of the whole zone at once, for catalogs with
    /// Flux bootstrap, components, dedicated and shared clients, and clients missing a zone.
    #[test]
    fn streaming_a_zone_gives_the_same_files_as_rendering_it_whole() {
        let catalogs = [
            include_str!("../clients/clients.yaml").to_owned(),
            include_str!("../tests/fixtures/valid/all_options.yaml").to_owned(),
            crate::synthetic::catalog(25),
        ];
        for text in catalogs {
            let checked = check_source(Source::from_text("c.yaml", text)).expect("valid");
            let m = &checked.model;
            let mut options = Options::default();
            if let Some(c) = m.clients.first() {
                options
                    .components
                    .insert(c.name.clone(), format!("../../../../clients/{}", c.name));
            }
            for z in &m.zones {
                let whole = zone_files(&z.name, &render::zone(m, z, &options), &options);
                let mut streamed = Files::new();
                each_zone_file(m, z, &options, |p, c| {
                    let again = streamed.insert(p.clone(), c);
                    assert!(again.is_none(), "{p} streamed twice");
                    Ok::<(), ()>(())
                })
                .expect("no error");
                assert_eq!(streamed, whole, "zone {}", z.name);
            }
        }
    }
}
