//! names: what a client's name becomes in the tree and in the cluster. A name that collides
//! with a file or directory tenantgen writes, or that makes a derived name longer than
//! Kubernetes allows, is refused here rather than by the API server or by kustomize.
//!
//! Derived names and label values not checked here are bounded by the schema: the client,
//! secret and catalog names are DNS labels of at most 63 characters, and they are used as
//! label values and object names as they are; every other object name is a constant.

use super::{Context, Lint};
use crate::catalog as raw;
use crate::diagnostics::Diagnostic;
use crate::model::namespace_of;

/// The names `layout` gives to the files and directories of a zone (`clusters/<zone>/`) and of
/// its `tenants/` directory, where each client gets `<name>.yaml` and `<name>/`. A client of
/// one of these names would overwrite the tree's own index (`tenants/kustomization.yaml`) or
/// shadow one of its directories. Zone names are refused too: a client's hand-written
/// Component lives in `clients/<name>/`, next to the catalog, so a tree rendered into the
/// catalog's directory would make a zone's directory a Component of itself (a kustomize
/// cycle). The layout test below fails when `layout` starts writing a name missing here.
pub(crate) const TREE_NAMES: [&str; 4] =
    ["flux-system", "infrastructure", "kustomization", "tenants"];

/// `render::workload` mounts secret `<name>` through the volume `secret-<name>`; the test
/// below holds the two together.
const SECRET_VOLUME_PREFIX: &str = "secret-";

/// Kubernetes names that must be DNS labels (volume names among them) have at most 63
/// characters.
const LABEL_MAX: usize = 63;

impl Lint<'_> {
    pub(super) fn client_names(&mut self, client: &raw::Client, at: &str, cx: &Context) {
        let name = client.name.as_str();
        // Written out only for a report: most names are fine.
        let p = || [at, "/name"].concat();
        let zone = cx.zones.as_deref().is_some_and(|zs| zs.contains(&name));
        if TREE_NAMES.contains(&name) || zone {
            let what = if zone {
                format!("the zone `{name}`, whose directory is `clusters/{name}/`")
            } else if name == "kustomization" {
                "the tree's own index `tenants/kustomization.yaml`".to_owned()
            } else {
                format!("the tree's own `{name}` files and directories")
            };
            self.report_value(
                Diagnostic::error(
                    "client-name-reserved",
                    format!("client name `{name}` collides with {what}"),
                )
                .hint(format!(
                    "rename the client (e.g. `{name}-site`); these names are taken by the tree: {}, and every zone name",
                    TREE_NAMES.join(", ")
                )),
                &p(),
            );
        }
        let namespace = namespace_of(client.hosting, name);
        if namespace.len() > LABEL_MAX {
            self.report_value(
                Diagnostic::error("namespace-too-long", format!("namespace `{namespace}` is {} characters, more than the 63 Kubernetes allows", namespace.len()))
                    .hint(format!("shorten the client name to at most {} characters", LABEL_MAX - (namespace.len() - name.len()))),
                &p(),
            );
        }
        for (j, s) in client.secrets.iter().enumerate() {
            let volume = format!("{}{}", SECRET_VOLUME_PREFIX, s.name);
            if volume.len() > LABEL_MAX {
                self.report_value(
                    Diagnostic::error(
                        "derived-name-too-long",
                        format!(
                            "secret `{}` is mounted through the volume `{volume}`, which is {} characters, more than the 63 Kubernetes allows",
                            s.name,
                            volume.len()
                        ),
                    )
                    .hint(format!(
                        "shorten the secret name to at most {} characters",
                        LABEL_MAX - SECRET_VOLUME_PREFIX.len()
                    )),
                    &format!("{at}/secrets/{j}/name"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SECRET_VOLUME_PREFIX, TREE_NAMES};
    use crate::check::check_source;
    use crate::layout::zone_files;
    use crate::render::{self, Options};
    use crate::source::Source;

    /// Every top-level entry of a zone and every entry of its `tenants/` that is not a
    /// client's is a reserved name, so no client can collide with the tree.
    #[test]
    fn every_name_the_tree_uses_is_reserved_for_clients() {
        let text = include_str!("../../tests/fixtures/valid/all_options.yaml");
        let checked = check_source(Source::from_text("c.yaml", text)).expect("valid");
        let m = &checked.model;
        let clients: Vec<&str> = m.clients.iter().map(|c| c.name.as_str()).collect();
        let options = Options::default();
        for zone in &m.zones {
            let files = zone_files(&zone.name, &render::zone(m, zone, &options), &options);
            for path in files.keys() {
                let mut parts = path.split('/');
                let first = parts.next().unwrap_or_default();
                let entry = match first {
                    "tenants" => parts.next().unwrap_or_default(),
                    _ => first,
                };
                let stem = entry.strip_suffix(".yaml").unwrap_or(entry);
                if first == "tenants" && clients.contains(&stem) {
                    continue;
                }
                assert!(
                    TREE_NAMES.contains(&stem),
                    "`{path}` uses the name `{stem}`, which a client could take"
                );
            }
        }
    }

    #[test]
    fn secret_volumes_are_named_as_the_length_rule_assumes() {
        let text = include_str!("../../tests/fixtures/valid/all_options.yaml");
        let checked = check_source(Source::from_text("c.yaml", text)).expect("valid");
        let m = &checked.model;
        let zone = &m.zones[0];
        let objects = render::zone(m, zone, &Options::default());
        let volumes: Vec<String> = objects
            .iter()
            .filter(|p| p.kind() == "Deployment")
            .flat_map(|p| {
                p.value()
                    .pointer("/spec/template/spec/volumes")
                    .and_then(|v| v.as_array())
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|v| v.get("secret").is_some())
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect();
        assert!(!volumes.is_empty(), "the fixture mounts secrets");
        assert!(
            volumes.iter().all(
                |v| v.starts_with(SECRET_VOLUME_PREFIX) && v.len() > SECRET_VOLUME_PREFIX.len()
            ),
            "{volumes:?}"
        );
        assert!(volumes.contains(&format!("{SECRET_VOLUME_PREFIX}db")));
    }
}
