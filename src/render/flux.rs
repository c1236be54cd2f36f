//! flux: the Flux entry points of a zone (SPEC §3.3): the root sync, the infrastructure and
//! tenants Kustomizations, and one Kustomization per client so that one client's failure never
//! blocks another.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::crds::{
    DependsOn, GitRef, GitRepository, GitRepositorySpec, Kustomization, KustomizationSpec,
    LocalRef, SourceRef,
};
use super::{Object, Options, Placed, Unit, labels, meta, object};
use crate::model::{Catalog, Zone};

pub const FLUX_NAMESPACE: &str = "flux-system";
pub const INFRA_CONTROLLERS: &str = "infra-controllers";
pub const INFRA_CONFIGS: &str = "infra-configs";
pub const TENANTS: &str = "tenants";

fn kustomization(
    name: &str,
    path: String,
    depends_on: Option<&str>,
    wait: bool,
    extra: BTreeMap<String, String>,
) -> Kustomization {
    Kustomization::new(
        meta(name, Some(FLUX_NAMESPACE), extra),
        KustomizationSpec {
            interval: "10m".into(),
            retry_interval: Some("2m".into()),
            timeout: "5m".into(),
            path,
            prune: true,
            wait,
            // Same namespace as the Kustomization: works under --no-cross-namespace-refs.
            source_ref: SourceRef {
                kind: "GitRepository".into(),
                name: FLUX_NAMESPACE.into(),
                namespace: None,
            },
            depends_on: depends_on
                .map(|d| {
                    vec![DependsOn {
                        name: d.into(),
                        namespace: None,
                    }]
                })
                .unwrap_or_default(),
            target_namespace: None,
            service_account_name: None,
        },
    )
}

pub fn render(catalog: &Catalog, zone: &Zone, options: &Options, out: &mut Vec<Placed>) {
    let base = format!("{}/{}", options.flux_root.trim_end_matches('/'), zone.name);
    let mut push = |unit: Unit, client: Option<String>, k: Object| {
        out.push(Placed {
            unit,
            client,
            object: k,
        })
    };
    if let Some(git) = &catalog.platform.git {
        push(
            Unit::FluxSystem,
            None,
            object(GitRepository::new(
                meta(FLUX_NAMESPACE, Some(FLUX_NAMESPACE), BTreeMap::new()),
                GitRepositorySpec {
                    interval: git.interval.clone(),
                    url: git.url.clone(),
                    git_ref: GitRef {
                        branch: git.branch.clone(),
                    },
                    secret_ref: Some(LocalRef {
                        name: FLUX_NAMESPACE.into(),
                    }),
                },
            )),
        );
        push(
            Unit::FluxSystem,
            None,
            object(kustomization(
                FLUX_NAMESPACE,
                base.clone(),
                None,
                false,
                BTreeMap::new(),
            )),
        );
    }
    push(
        Unit::Root,
        None,
        object(kustomization(
            INFRA_CONTROLLERS,
            format!("{base}/infrastructure/controllers"),
            None,
            true,
            BTreeMap::new(),
        )),
    );
    push(
        Unit::Root,
        None,
        object(kustomization(
            INFRA_CONFIGS,
            format!("{base}/infrastructure/configs"),
            Some(INFRA_CONTROLLERS),
            true,
            BTreeMap::new(),
        )),
    );
    // The aggregate does not wait: a failing client must not mark every other client failed.
    push(
        Unit::Root,
        None,
        object(kustomization(
            TENANTS,
            format!("{base}/tenants"),
            Some(INFRA_CONFIGS),
            false,
            BTreeMap::new(),
        )),
    );
    for c in catalog
        .clients
        .iter()
        .filter(|c| c.deployments.contains_key(&zone.name))
    {
        let extra = match catalog.platform.flux_shards {
            Some(n) if n > 1 => labels([("sharding.fluxcd.io/key", shard(&c.name, n).as_str())]),
            _ => BTreeMap::new(),
        };
        let mut k = kustomization(
            &c.namespace,
            format!("{base}/tenants/{}", c.name),
            Some(INFRA_CONFIGS),
            true,
            extra,
        );
        k.spec.service_account_name = catalog.platform.flux_service_account.clone();
        if let Some(l) = k.metadata.labels.as_mut() {
            l.insert("tenantgen.io/client".into(), c.name.clone());
        }
        push(Unit::Tenants, Some(c.name.clone()), object(k));
    }
}

/// A stable shard for a client: the same name always lands on the same shard.
pub fn shard(name: &str, shards: u32) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!(
        "shard{}",
        u64::from_be_bytes(first) % u64::from(shards.max(1)) + 1
    )
}
