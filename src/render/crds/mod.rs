//! Typed manifests for the non-built-in kinds tenantgen renders (Flux, Traefik,
//! external-secrets, k3s), which k8s-openapi does not provide.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// Defines a top-level kind whose `apiVersion` and `kind` are fixed constants
/// filled in by `new`, so a rendered object can never carry the wrong ones.
macro_rules! top_level_kind {
    ($(#[$doc:meta])* $name:ident, $spec:ty, $api_version:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            api_version: &'static str,
            kind: &'static str,
            pub metadata: ObjectMeta,
            pub spec: $spec,
        }

        impl $name {
            pub const API_VERSION: &'static str = $api_version;
            pub const KIND: &'static str = $kind;

            pub fn new(metadata: ObjectMeta, spec: $spec) -> Self {
                Self {
                    api_version: Self::API_VERSION,
                    kind: Self::KIND,
                    metadata,
                    spec,
                }
            }
        }

        impl $crate::render::Kind for $name {
            fn api_version(&self) -> &str {
                self.api_version
            }
            fn kind(&self) -> &str {
                self.kind
            }
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
        }
    };
}

mod routing;
mod traefik;
pub use routing::{
    IngressRouteTcp, IngressRouteTcpSpec, MatchLabels, ScrapeEndpoint, ServiceMonitor,
    ServiceMonitorSpec, TcpRoute, TcpService,
};
pub use traefik::*;

// ---------------------------------------------------------------------------
// Shared references
// ---------------------------------------------------------------------------

/// Reference to a Flux source, optionally in another namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    /// Kustomization accepts `GitRepository`, `OCIRepository` or `Bucket`;
    /// a `HelmRelease` chart accepts `HelmRepository`, `GitRepository` or `Bucket`.
    pub kind: String,
    pub name: String,
    /// Defaults to the namespace of the referring object when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to another Flux object that must be Ready first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DependsOn {
    pub name: String,
    /// Defaults to the namespace of the referring object when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Reference to a Secret in the same namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalRef {
    pub name: String,
}

// ---------------------------------------------------------------------------
// Flux: kustomize.toolkit.fluxcd.io/v1 Kustomization
// ---------------------------------------------------------------------------

top_level_kind!(
    /// Flux Kustomization: applies a path of a source to the cluster.
    Kustomization,
    KustomizationSpec,
    "kustomize.toolkit.fluxcd.io/v1",
    "Kustomization"
);

/// Desired state of a Flux Kustomization (`postBuild` is deliberately absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Go duration, e.g. `10m`.
    pub interval: String,
    /// Retry period after a failed reconciliation; Flux falls back to `interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
    /// Bound on apply plus health checking.
    pub timeout: String,
    pub path: String,
    /// Required by the CRD, so always rendered.
    pub prune: bool,
    /// Waits for every applied object to be healthy before reporting Ready,
    /// which is what dependents listed in `dependsOn` wait for.
    pub wait: bool,
    pub source_ref: SourceRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependsOn>,
    /// Overrides the namespace of every namespaced object in the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Account impersonated while applying, confining a tenant to its own RBAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

// ---------------------------------------------------------------------------
// Flux: source.toolkit.fluxcd.io/v1 GitRepository and HelmRepository
// ---------------------------------------------------------------------------

top_level_kind!(
    /// Flux `GitRepository`: a Git source that Kustomizations read from.
    GitRepository,
    GitRepositorySpec,
    "source.toolkit.fluxcd.io/v1",
    "GitRepository"
);

/// Desired state of a Flux `GitRepository`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    pub interval: String,
    /// Must match `^(http|https|ssh)://`; scp-style `git@host:path` is rejected.
    pub url: String,
    #[serde(rename = "ref")]
    pub git_ref: GitRef,
    /// Secret with `username`/`password`, `bearerToken`, or `identity`/`known_hosts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalRef>,
}

/// Git reference to track.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRef {
    pub branch: String,
}

top_level_kind!(
    /// Flux `HelmRepository`: a Helm chart index or OCI registry source.
    HelmRepository,
    HelmRepositorySpec,
    "source.toolkit.fluxcd.io/v1",
    "HelmRepository"
);

/// Desired state of a Flux `HelmRepository`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    pub interval: String,
    pub url: String,
    /// `oci` for registries (then `url` must start with `oci://`); omitted means `default`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub repo_type: Option<String>,
}

// ---------------------------------------------------------------------------
// Flux: helm.toolkit.fluxcd.io/v2 HelmRelease
// ---------------------------------------------------------------------------

top_level_kind!(
    /// Flux `HelmRelease`: installs and upgrades one Helm chart.
    HelmRelease,
    HelmReleaseSpec,
    "helm.toolkit.fluxcd.io/v2",
    "HelmRelease"
);

/// Desired state of a Flux `HelmRelease`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    pub interval: String,
    pub chart: HelmChartTemplate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<HelmAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<HelmAction>,
    /// Inline Helm values; must be a JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Namespace the release is installed into; defaults to the `HelmRelease`'s own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
}

/// Wrapper Flux requires around the chart template spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplate {
    pub spec: HelmChartTemplateSpec,
}

/// Which chart to fetch, and from where.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    pub chart: String,
    /// Exact version or semver range; always set because Flux's default `*` floats.
    pub version: String,
    pub source_ref: SourceRef,
    /// How often to check the source for a new chart; defaults to the release interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

/// Install or upgrade action settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmAction {
    pub remediation: Remediation,
}

/// What Flux does after a failed install or upgrade.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// Attempts before giving up; negative means unlimited.
    pub retries: i32,
    /// Whether to roll back/uninstall after the final failed retry; for upgrades
    /// Flux defaults this to true when `retries > 0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

// ---------------------------------------------------------------------------
// external-secrets: external-secrets.io/v1 ExternalSecret
// ---------------------------------------------------------------------------

top_level_kind!(
    /// `ExternalSecret`: syncs values from a secret store into a Kubernetes Secret.
    ExternalSecret,
    ExternalSecretSpec,
    "external-secrets.io/v1",
    "ExternalSecret"
);

/// Desired state of an `ExternalSecret`; set `data_from`, `data`, or both.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// Go duration; `0` fetches once.
    pub refresh_interval: String,
    pub secret_store_ref: SecretStoreRef,
    pub target: ExternalSecretTarget,
    /// Each entry copies every property of one remote secret.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_from: Vec<ExternalSecretDataFrom>,
    /// Each entry maps one remote value to one Secret key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ExternalSecretData>,
}

/// Store to read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRef {
    pub name: String,
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: String,
}

/// The Kubernetes Secret to produce.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    pub name: String,
    /// `Owner`, `Orphan`, `Merge` or `None`.
    pub creation_policy: String,
    /// `Delete`, `Merge` or `Retain`; the operator defaults to `Retain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
}

/// A `dataFrom` entry that extracts all properties of one remote secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataFrom {
    pub extract: RemoteRef,
}

/// A `data` entry mapping one remote value to one Secret key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    pub secret_key: String,
    pub remote_ref: RemoteRef,
}

/// Location of a value in the secret store.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRef {
    pub key: String,
    /// Selects one field when the remote value is a map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

// ---------------------------------------------------------------------------
// k3s: helm.cattle.io/v1 HelmChartConfig
// ---------------------------------------------------------------------------

top_level_kind!(
    /// k3s `HelmChartConfig`: overrides values of a bundled chart; its name and
    /// namespace (`kube-system`) must match the `HelmChart` it configures.
    HelmChartConfig,
    HelmChartConfigSpec,
    "helm.cattle.io/v1",
    "HelmChartConfig"
);

/// Overrides merged into the bundled `HelmChart`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartConfigSpec {
    /// Helm values as a YAML document string, not a nested object.
    pub values_content: String,
    /// `abort` leaves a failed release for inspection; `reinstall` uninstalls and retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    type TestResult = Result<(), serde_json::Error>;

    fn meta(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("flux-system".to_owned()),
            ..ObjectMeta::default()
        }
    }

    fn source_ref(kind: &str, name: &str) -> SourceRef {
        SourceRef {
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: None,
        }
    }

    fn assert_type_meta(v: &Value, api_version: &str, kind: &str) {
        assert_eq!(v["apiVersion"], api_version);
        assert_eq!(v["kind"], kind);
        assert_eq!(v["metadata"]["namespace"], "flux-system");
    }

    #[test]
    fn kustomization() -> TestResult {
        let v = serde_json::to_value(Kustomization::new(
            meta("tenant-a"),
            KustomizationSpec {
                interval: "10m".into(),
                retry_interval: None,
                timeout: "5m".into(),
                path: "./tenants/a".into(),
                prune: true,
                wait: true,
                source_ref: source_ref("GitRepository", "flux-system"),
                depends_on: vec![DependsOn {
                    name: "infra".into(),
                    namespace: None,
                }],
                target_namespace: None,
                service_account_name: Some("tenant-a".into()),
            },
        ))?;
        assert_type_meta(&v, "kustomize.toolkit.fluxcd.io/v1", "Kustomization");
        assert_eq!(v["spec"]["sourceRef"]["kind"], "GitRepository");
        assert_eq!(v["spec"]["dependsOn"], json!([{ "name": "infra" }]));
        assert_eq!(v["spec"]["serviceAccountName"], "tenant-a");
        assert_eq!(v["spec"]["prune"], true);
        for absent in ["retryInterval", "targetNamespace", "postBuild"] {
            assert!(
                v["spec"].get(absent).is_none(),
                "{absent} should be omitted"
            );
        }
        Ok(())
    }

    #[test]
    fn git_repository() -> TestResult {
        let v = serde_json::to_value(GitRepository::new(
            meta("flux-system"),
            GitRepositorySpec {
                interval: "1m".into(),
                url: "ssh://git@example.com/org/fleet.git".into(),
                git_ref: GitRef {
                    branch: "main".into(),
                },
                secret_ref: Some(LocalRef {
                    name: "flux-system".into(),
                }),
            },
        ))?;
        assert_type_meta(&v, "source.toolkit.fluxcd.io/v1", "GitRepository");
        assert_eq!(v["spec"]["ref"]["branch"], "main");
        assert_eq!(v["spec"]["secretRef"]["name"], "flux-system");
        Ok(())
    }

    #[test]
    fn helm_repository() -> TestResult {
        let v = serde_json::to_value(HelmRepository::new(
            meta("podinfo"),
            HelmRepositorySpec {
                interval: "1h".into(),
                url: "oci://ghcr.io/stefanprodan/charts".into(),
                repo_type: Some("oci".into()),
            },
        ))?;
        assert_type_meta(&v, "source.toolkit.fluxcd.io/v1", "HelmRepository");
        assert_eq!(v["spec"]["type"], "oci");
        Ok(())
    }

    #[test]
    fn helm_release() -> TestResult {
        let v = serde_json::to_value(HelmRelease::new(
            meta("podinfo"),
            HelmReleaseSpec {
                interval: "30m".into(),
                chart: HelmChartTemplate {
                    spec: HelmChartTemplateSpec {
                        chart: "podinfo".into(),
                        version: "6.5.4".into(),
                        source_ref: SourceRef {
                            namespace: Some("flux-system".into()),
                            ..source_ref("HelmRepository", "podinfo")
                        },
                        interval: None,
                    },
                },
                install: Some(HelmAction {
                    remediation: Remediation {
                        retries: 3,
                        remediate_last_failure: None,
                    },
                }),
                upgrade: Some(HelmAction {
                    remediation: Remediation {
                        retries: 3,
                        remediate_last_failure: Some(true),
                    },
                }),
                values: Some(json!({ "replicaCount": 2 })),
                target_namespace: Some("tenant-a".into()),
            },
        ))?;
        assert_type_meta(&v, "helm.toolkit.fluxcd.io/v2", "HelmRelease");
        assert_eq!(
            v["spec"]["chart"]["spec"]["sourceRef"]["kind"],
            "HelmRepository"
        );
        assert_eq!(
            v["spec"]["install"],
            json!({ "remediation": { "retries": 3 } })
        );
        assert_eq!(
            v["spec"]["upgrade"]["remediation"]["remediateLastFailure"],
            true
        );
        assert_eq!(v["spec"]["values"]["replicaCount"], 2);
        assert_eq!(v["spec"]["targetNamespace"], "tenant-a");
        Ok(())
    }

    #[test]
    fn middleware() -> TestResult {
        let v = serde_json::to_value(Middleware::new(
            meta("security-headers"),
            MiddlewareSpec {
                headers: Some(Headers {
                    sts_seconds: Some(31_536_000),
                    force_sts_header: Some(true),
                    content_type_nosniff: Some(true),
                    browser_xss_filter: Some(true),
                    ..Headers::default()
                }),
                ip_allow_list: Some(IpAllowList {
                    source_range: vec!["10.0.0.0/8".into()],
                    ip_strategy: None,
                }),
                forward_auth: Some(ForwardAuth {
                    address: "http://auth.svc/verify".into(),
                    trust_forward_header: Some(true),
                    auth_response_headers: vec!["X-Auth-User".into()],
                    max_response_body_size: None,
                }),
                ..MiddlewareSpec::default()
            },
        ))?;
        assert_type_meta(&v, "traefik.io/v1alpha1", "Middleware");
        assert_eq!(
            v["spec"]["headers"],
            json!({
                "stsSeconds": 31_536_000,
                "forceSTSHeader": true,
                "contentTypeNosniff": true,
                "browserXssFilter": true,
            })
        );
        assert_eq!(
            v["spec"]["ipAllowList"]["sourceRange"],
            json!(["10.0.0.0/8"])
        );
        assert_eq!(v["spec"]["forwardAuth"]["trustForwardHeader"], true);
        assert_eq!(
            v["spec"]["forwardAuth"]["authResponseHeaders"],
            json!(["X-Auth-User"])
        );
        Ok(())
    }

    #[test]
    fn middleware_rate_limit_and_basic_auth() -> TestResult {
        let v = serde_json::to_value(MiddlewareSpec {
            rate_limit: Some(RateLimit {
                average: 100,
                burst: 50,
                period: Some("1m".into()),
                source_criterion: None,
            }),
            basic_auth: Some(BasicAuth {
                secret: "admin-users".into(),
            }),
            ..MiddlewareSpec::default()
        })?;
        assert_eq!(
            v,
            json!({
                "rateLimit": { "average": 100, "burst": 50, "period": "1m" },
                "basicAuth": { "secret": "admin-users" },
            })
        );
        Ok(())
    }

    #[test]
    fn external_secret() -> TestResult {
        let v = serde_json::to_value(ExternalSecret::new(
            meta("db"),
            ExternalSecretSpec {
                refresh_interval: "1h".into(),
                secret_store_ref: SecretStoreRef {
                    name: "vault".into(),
                    kind: "ClusterSecretStore".into(),
                },
                target: ExternalSecretTarget {
                    name: "db".into(),
                    creation_policy: "Owner".into(),
                    deletion_policy: None,
                },
                data_from: vec![ExternalSecretDataFrom {
                    extract: RemoteRef {
                        key: "tenants/a/db".into(),
                        property: None,
                    },
                }],
                data: vec![ExternalSecretData {
                    secret_key: "password".into(),
                    remote_ref: RemoteRef {
                        key: "tenants/a/db".into(),
                        property: Some("password".into()),
                    },
                }],
            },
        ))?;
        assert_type_meta(&v, "external-secrets.io/v1", "ExternalSecret");
        assert_eq!(v["spec"]["secretStoreRef"]["kind"], "ClusterSecretStore");
        assert_eq!(
            v["spec"]["target"],
            json!({ "name": "db", "creationPolicy": "Owner" })
        );
        assert_eq!(
            v["spec"]["dataFrom"][0]["extract"],
            json!({ "key": "tenants/a/db" })
        );
        assert_eq!(v["spec"]["data"][0]["secretKey"], "password");
        assert_eq!(v["spec"]["data"][0]["remoteRef"]["property"], "password");
        Ok(())
    }

    #[test]
    fn helm_chart_config() -> TestResult {
        let v = serde_json::to_value(HelmChartConfig::new(
            meta("traefik"),
            HelmChartConfigSpec {
                values_content: "logs:\n  access:\n    enabled: true\n".into(),
                failure_policy: None,
            },
        ))?;
        assert_type_meta(&v, "helm.cattle.io/v1", "HelmChartConfig");
        assert_eq!(
            v["spec"],
            json!({ "valuesContent": "logs:\n  access:\n    enabled: true\n" })
        );
        Ok(())
    }
}
