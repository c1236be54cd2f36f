//! layout: where each rendered object lives under `clusters/<zone>/`, and the kustomize
//! `kustomization.yaml` of every directory (SPEC §3.3). The root lists only Flux entry points,
//! so Flux never recurses into the tree.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::emit;
use crate::render::{Options, Placed, Unit};

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

/// The files of one zone, paths relative to `clusters/<zone>/`.
pub fn zone_files(objects: &[Placed], options: &Options) -> Files {
    let mut grouped: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in objects {
        grouped.entry(file_of(p)).or_default().push(&p.object);
    }
    let mut files: Files = grouped
        .iter()
        .map(|(path, objs)| (path.clone(), emit::file(objs)))
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
    let tenants: Vec<String> = objects
        .iter()
        .filter(|p| p.unit == Unit::Tenants)
        .map(|p| file_of(p).trim_start_matches("tenants/").to_owned())
        .collect();
    dirs.insert("tenants/".into(), (tenants, Vec::new()));
    let mut root = Vec::new();
    if objects.iter().any(|p| p.unit == Unit::FluxSystem) {
        root.push("flux-system/gotk-sync.yaml".to_owned());
    }
    root.extend(["infrastructure.yaml".to_owned(), "tenants.yaml".to_owned()]);
    dirs.insert(String::new(), (root, Vec::new()));
    for (dir, (mut resources, components)) in dirs {
        resources.sort();
        files.insert(
            format!("{dir}kustomization.yaml"),
            kustomization(resources, components),
        );
    }
    files
}
