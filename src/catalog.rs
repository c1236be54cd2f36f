//! catalog: the wire types of `clients/clients.yaml`. They mirror the file field for field,
//! reject unknown fields, and their doc comments become the JSON Schema's descriptions.
//! Cross-field rules live in `lint`; the validated domain lives in `model`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::patterns as p;

/// A tenantgen client catalog: every client a hosting platform runs, and the zones it runs them in.
/// The same file serves as the config of the `tenantgen krm` function.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "ClientCatalog")]
pub struct Catalog {
    /// Always `tenantgen.io/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `ClientCatalog`.
    pub kind: CatalogKind,
    pub metadata: Metadata,
    pub spec: Spec,
}

/// The catalog's API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "tenantgen.io/v1alpha1")]
    V1alpha1,
}

/// The catalog's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CatalogKind {
    ClientCatalog,
}

/// Object metadata. Annotations carry KRM function settings such as `tenantgen.io/zone`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// A name for the catalog, as any Kubernetes-style object has (kustomize and kpt need it
    /// when the file is a KRM function config). Rendered objects do not carry it.
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub name: String,
    /// Ignored by tenantgen; allowed so the file can live in a kustomize or kpt package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels on the catalog object itself (not copied to generated objects).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations on the catalog object itself (not copied to generated objects).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What to host and where.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub platform: Platform,
    /// The zones, in promotion order (the first is where versions start; each later zone
    /// receives versions from the one before it). Default: dev (k3s), staging and production
    /// (managed Kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<Zone>>,
    /// The hosted clients. Their order in the file does not matter.
    pub clients: Vec<Client>,
}

/// Platform-wide settings shared by every client and zone.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Platform {
    /// The hosting domain. A client's default host is `<name>.<domain>`.
    #[schemars(pattern(p::DNS_NAME), length(max = 253))]
    pub domain: String,
    /// Namespace of the in-cluster Traefik that client NetworkPolicies admit traffic from.
    #[serde(default = "default_ingress_namespace")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub ingress_namespace: String,
    /// IngressClass name used by every generated Ingress.
    #[serde(default = "default_ingress_class")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub ingress_class: String,
    /// Traefik certificate resolver named on Ingresses in edge-proxy zones.
    #[serde(default = "default_cert_resolver")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub cert_resolver: String,
    /// The uid and gid client containers run as (the platform's images are built for 101).
    #[serde(default = "default_run_as_user")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub run_as_user: i64,
    /// The platform's own namespaces, created in every zone with their Pod Security level.
    /// Default: ge-hosting (restricted), ge-system, ge-agents, ge-data (baseline) and
    /// ge-monitoring (privileged, for node-level collectors). A list replaces them all; the
    /// landing page's namespace must be one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<PlatformNamespace>>,
    /// When set, tenantgen writes `flux-system/gotk-sync.yaml` for each zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Git>,
    /// Flux controller settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux: Option<Flux>,
    /// The shared hosting pool's landing page, served on the bare domain from `ge-hosting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<LandingPage>,
    /// Settings of the platform's Traefik middlewares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middlewares: Option<MiddlewareSettings>,
    /// The Vault path every secret of a client must lie under, `{client}` standing for the
    /// client's name. All clients read Vault through one shared ClusterSecretStore, so this
    /// prefix is what keeps one tenant from reading another's secrets.
    /// Default: `secret/data/{client}/`.
    #[serde(default = "default_vault_path_prefix")]
    #[schemars(pattern(p::VAULT_PATH_PREFIX))]
    pub vault_path_prefix: String,
    /// Namespace of the Prometheus that scrapes clients' `metrics`: their NetworkPolicies admit
    /// it on the metrics port. Default: `ge-monitoring`.
    #[serde(default = "default_monitoring_namespace")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub monitoring_namespace: String,
}

fn default_monitoring_namespace() -> String {
    "ge-monitoring".into()
}

/// A namespace of the platform itself.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlatformNamespace {
    /// Namespace name.
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub name: String,
    /// The Pod Security level enforced there (audit and warn stay `restricted`).
    pub pod_security: PodSecurity,
}

/// A Pod Security Admission level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PodSecurity {
    Privileged,
    Baseline,
    Restricted,
}

impl PodSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurity::Privileged => "privileged",
            PodSecurity::Baseline => "baseline",
            PodSecurity::Restricted => "restricted",
        }
    }
}

/// The platform namespaces when the catalog names none.
pub fn default_platform_namespaces() -> Vec<PlatformNamespace> {
    let ns = |name: &str, pod_security| PlatformNamespace {
        name: name.into(),
        pod_security,
    };
    vec![
        ns("ge-hosting", PodSecurity::Restricted),
        ns("ge-system", PodSecurity::Baseline),
        ns("ge-agents", PodSecurity::Baseline),
        ns("ge-data", PodSecurity::Baseline),
        ns("ge-monitoring", PodSecurity::Privileged),
    ]
}

/// The Git repository Flux syncs each zone from.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Git {
    /// Clone URL (`https://` or `ssh://`).
    #[schemars(pattern(p::GIT_URL))]
    pub url: String,
    /// Branch Flux follows.
    #[serde(default = "default_branch")]
    #[schemars(length(min = 1, max = 255))]
    pub branch: String,
    /// How often Flux fetches the repository.
    #[serde(default = "default_interval")]
    #[schemars(pattern(p::DURATION))]
    pub interval: String,
}

/// Flux controller settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Flux {
    /// Number of kustomize-controller shards; each tenant Kustomization gets a
    /// `sharding.fluxcd.io/key` from a stable hash of the client name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub shards: Option<u32>,
    /// Service account (in `flux-system`) every tenant Kustomization impersonates; needed on
    /// clusters locked down with kustomize-controller's `--default-service-account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub service_account_name: Option<String>,
}

/// The landing page of the shared hosting pool.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LandingPage {
    /// Full image reference with a tag and/or digest.
    #[schemars(pattern(p::IMAGE_REFERENCE))]
    pub image: String,
    /// Container port the page listens on.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Namespace the page runs in; one of `platform.namespaces`.
    #[serde(default = "default_landing_namespace")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub namespace: String,
}

fn default_landing_namespace() -> String {
    "ge-hosting".into()
}

/// Settings of the platform middlewares clients can attach.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MiddlewareSettings {
    /// Source ranges the `ip-allowlist` middleware admits. Default: the private ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(p::CIDR)))]
    pub ip_allow_list: Vec<String>,
    /// Auth endpoint of the OAuth proxy used by `forward-auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::HTTP_URL))]
    pub forward_auth_address: Option<String>,
}

/// A cluster clients are deployed to.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Zone {
    /// Zone name; also the directory under `clusters/`.
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub name: String,
    /// Kubernetes distribution; k3s bundles Traefik, which is then configured, not installed.
    #[serde(default)]
    pub distribution: Distribution,
    /// Kubernetes minor version of the zone; output is validated against its schema.
    #[serde(default = "default_kubernetes_version")]
    #[schemars(pattern(p::KUBE_VERSION))]
    pub kubernetes_version: String,
    /// Default StorageClass of the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::DNS_LABEL))]
    pub storage_class: Option<String>,
    /// How traffic reaches the zone's Traefik.
    #[serde(default)]
    pub ingress: IngressMode,
    /// Namespace Traefik runs in here. Default: `kube-system` on k3s (its bundled Traefik,
    /// configured with a HelmChartConfig), `platform.ingressNamespace` elsewhere. Another
    /// namespace on k3s installs a second Traefik: start k3s with `--disable=traefik` then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub ingress_namespace: Option<String>,
    /// Node CIDRs; required with `host-network`, where client policies admit traffic from
    /// the nodes because no pod selector matches host-network pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(p::CIDR)))]
    pub node_cidrs: Vec<String>,
    /// Who terminates TLS for the zone's clients. Default: `edge` in `edge-proxy` zones,
    /// `acme` (Traefik's own Let's Encrypt resolver) otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMode>,
    /// The cert-manager ClusterIssuer that signs client certificates when `tls` is
    /// `cert-manager`. Default: `platform.certResolver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub cluster_issuer: Option<String>,
    /// Addresses of the proxies in front of the zone's Traefik (an edge proxy, a CDN). Traefik
    /// trusts their `X-Forwarded-*` headers, and allow-lists and rate limits read the visitor
    /// from the address they forwarded. Default: the private ranges in `edge-proxy` zones,
    /// none elsewhere (a load balancer keeps the visitor's address with
    /// `externalTrafficPolicy: Local`; host-network Traefik sees it directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(pattern(p::CIDR)))]
    pub edge_cidrs: Option<Vec<String>>,
    /// Whether the zone runs the Prometheus operator: clients' `metrics` then get a
    /// ServiceMonitor (monitoring.coreos.com/v1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prometheus_operator: bool,
}

/// Who terminates TLS for a zone's clients.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// The edge proxy terminates TLS and forwards plain HTTP: routers serve the `web` entry
    /// point without TLS.
    Edge,
    /// Traefik's ACME resolver (`platform.certResolver`) gets Let's Encrypt certificates and
    /// keeps them on a volume; HTTP redirects to HTTPS. Traefik runs one replica, since the
    /// resolver's storage cannot be shared.
    Acme,
    /// cert-manager issues each client's certificate into a Secret named in the Ingress
    /// (`zones[].clusterIssuer`); HTTP redirects to HTTPS.
    CertManager,
}

/// Kubernetes distribution of a zone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// k3s: Traefik is bundled and configured with a HelmChartConfig.
    K3s,
    /// A managed service (UKS, EKS, GKE...): Traefik is installed with Flux.
    Managed,
    /// Any other conformant cluster: Traefik is installed with Flux.
    #[default]
    Generic,
}

/// How external traffic reaches the zone's Traefik.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum IngressMode {
    /// An edge proxy outside the cluster terminates TLS; Traefik's Service stays ClusterIP.
    EdgeProxy,
    /// Traefik runs as a DaemonSet on the nodes' ports 80 and 443.
    HostNetwork,
    /// Traefik is exposed by a managed load balancer.
    #[default]
    LoadBalancer,
}

/// A hosted client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Client {
    /// Client name (DNS label). The namespace is `sh-<name>` or `ded-<name>`.
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub name: String,
    /// Shared clients share nodes on small tiers; dedicated clients get autoscaling, a
    /// disruption budget and a quota.
    pub hosting: Hosting,
    /// Resource tier: shared is small, medium or large; dedicated is large or xlarge.
    pub size: Size,
    /// Image repository, without tag or digest (the version comes from `versions`).
    #[schemars(pattern(p::IMAGE_REPOSITORY))]
    pub image: String,
    /// Zone -> version: `tag`, `tag@sha256:<64 hex>` or `sha256:<64 hex>`. A zone left out
    /// does not run the client. Production versions must carry a digest.
    #[serde(default)]
    #[schemars(extend("additionalProperties" = {"type": "string", "pattern": p::VERSION}))]
    pub versions: BTreeMap<String, String>,
    /// Host names routed to the client. Default: `<name>.<platform.domain>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(p::HOST), length(max = 253)))]
    pub hosts: Vec<String>,
    /// Container port, named `http`.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Health endpoint used by the probes.
    #[serde(default)]
    pub health: Health,
    /// Plain settings, rendered into the ConfigMap `web-config`. Never secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// References to secrets in Vault, mounted as read-only files. Never values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRef>,
    /// Destinations the client may reach besides cluster DNS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Egress>,
    /// Platform Traefik middlewares attached to the client's Ingress, applied in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<Middleware>,
    /// Replica count, overriding the tier default (dedicated: the autoscaling floor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<u32>,
    /// Horizontal autoscaling; dedicated clients only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// Namespace ResourceQuota; dedicated clients only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Per-zone overrides of replicas, size, autoscaling, hosts, config and workloads.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Override>,
    /// The client's processes, by name. Left out, the client runs one HTTP workload named
    /// `web` from the fields above (`port`, `health`, `hosts`). All workloads run the client's
    /// image at its zone's version, each with its own command.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": p::DNS_LABEL, "maxLength": 40}))]
    pub workloads: BTreeMap<String, WorkloadSpec>,
    /// Persistent volumes, by name (the PersistentVolumeClaim's name). Flux never prunes them:
    /// removing a volume or the client leaves the data for you to delete.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": p::DNS_LABEL, "maxLength": 50}))]
    pub volumes: BTreeMap<String, VolumeSpec>,
    /// Raw TCP ports open to the internet (protocols no HTTP router carries, such as MQTT).
    /// A public port belongs to one client per zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_ports: Vec<TcpPort>,
    /// Where Prometheus scrapes the client: a ServiceMonitor in zones with
    /// `prometheusOperator`, and a NetworkPolicy admitting `platform.monitoringNamespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
}

/// What a workload is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Serves HTTP: a Deployment, a Service and an Ingress for its hosts and path, with probes.
    #[default]
    Http,
    /// A long-running process without a Service or Ingress (a queue consumer, a scheduler).
    Worker,
    /// A scheduled job: a CronJob.
    Cron,
}

/// One process of a client.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// `http` (default), `worker` or `cron`.
    #[serde(default)]
    pub kind: WorkloadKind,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the command (or to the image's entrypoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Container port (http only), named `http`. Default: 8080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Hosts routed to this workload (http only). Default: the client's hosts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(p::HOST), length(max = 253)))]
    pub hosts: Vec<String>,
    /// Path prefix routed to this workload on its hosts (http only). Default: `/`. Two http
    /// workloads may share hosts when their paths differ; the longer prefix wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub path: Option<String>,
    /// Probes (http only). Default: liveness and readiness on `/health`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<WorkloadHealth>,
    /// Resource tier of this workload. Default: the client's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
    /// Replica count (http and worker). Default: the client's; set on a dedicated client's
    /// workload, it fixes the count and the workload gets no autoscaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<u32>,
    /// Cron schedule (cron only), five fields in UTC. `H` as the minute or hour field stands
    /// for a value derived from the client and workload names, so that hundreds of clients do
    /// not all start at the same minute (`H 3 * * *`: once between 03:00 and 03:59).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::CRON_SCHEDULE))]
    pub schedule: Option<String>,
    /// What happens when a run is due while the last one still runs (cron only).
    /// Default: `Forbid` (skip the new run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    /// Plain settings for this workload only, over the client's `config`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

/// Probes of an http workload; each path defaults to `path`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadHealth {
    /// Path of every probe not given its own. Default: `/health`.
    #[serde(default = "default_health_path")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub path: String,
    /// Path of the liveness probe (a failure restarts the container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub liveness_path: Option<String>,
    /// Path of the readiness probe (a failure takes the pod out of the Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub readiness_path: Option<String>,
    /// Path of the startup probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub startup_path: Option<String>,
    /// Adds a startupProbe that allows this many seconds for the first healthy answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600))]
    pub startup_seconds: Option<u32>,
}

/// A CronJob's concurrency policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum ConcurrencyPolicy {
    /// Skip a run while the previous one is still running.
    Forbid,
    /// Run alongside the previous one.
    Allow,
    /// Stop the previous run and start the new one.
    Replace,
}

impl ConcurrencyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// A persistent volume of a client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeSpec {
    /// Requested capacity (`10Gi`).
    #[schemars(pattern(p::QUANTITY))]
    pub size: String,
    /// `single-node` (ReadWriteOnce, default): attached to one node at a time, so the
    /// workloads mounting it run one replica and are replaced with `Recreate`. `shared`
    /// (ReadWriteMany): needs a storage class that supports it.
    #[serde(default)]
    pub access: VolumeAccess,
    /// Workload name -> directory the volume is mounted at.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("additionalProperties" = {"type": "string", "pattern": p::MOUNT_PATH}))]
    pub mounts: BTreeMap<String, String>,
}

/// How a volume may be attached.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeAccess {
    /// ReadWriteOnce: one node at a time.
    #[default]
    SingleNode,
    /// ReadWriteMany: any number of nodes.
    Shared,
}

/// A raw TCP port of a client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpPort {
    /// Name of the port (and of its Service).
    #[schemars(pattern(p::DNS_LABEL), length(max = 15))]
    pub name: String,
    /// The public port. Load-balancer and host-network zones open it as a Traefik entry point
    /// (`tcp-<port>`); edge-proxy zones expose it as a NodePort for the edge to forward.
    #[schemars(range(min = 1, max = 55535))]
    pub port: u16,
    /// The workload that receives the connections (http or worker).
    #[schemars(pattern(p::DNS_LABEL))]
    pub workload: String,
    /// The container port. Default: `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub target_port: Option<u16>,
    /// The NodePort edge-proxy zones expose (30000-32767). Default: 30000 + port modulo 2768.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30000, max = 32767))]
    pub node_port: Option<u16>,
}

/// Where a client's Prometheus metrics are served.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// The workload serving them (http or worker).
    #[schemars(pattern(p::DNS_LABEL))]
    pub workload: String,
    /// Container port, named `metrics`; not the workload's `http` port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// HTTP path. Default: `/metrics`.
    #[serde(default = "default_metrics_path")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub path: String,
    /// How often Prometheus scrapes. Default: 30s.
    #[serde(default = "default_scrape_interval")]
    #[schemars(pattern(p::DURATION))]
    pub interval: String,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}
fn default_scrape_interval() -> String {
    "30s".into()
}

/// Hosting model of a client.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Hosting {
    /// Namespace `sh-<name>`; small footprint, no autoscaling.
    Shared,
    /// Namespace `ded-<name>`; autoscaling, disruption budget and quota.
    Dedicated,
}

/// Resource tier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Size {
    /// 10m/100m CPU, 32Mi/128Mi memory, 1 replica (shared only).
    Small,
    /// 50m/250m CPU, 64Mi/256Mi memory, 2 replicas (shared only).
    Medium,
    /// 100m/500m CPU, 128Mi/512Mi memory, 2 replicas.
    Large,
    /// 200m/1000m CPU, 256Mi/1Gi memory, 3 replicas at least (dedicated only).
    Xlarge,
}

/// Health endpoint of the workload.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Health {
    /// HTTP path answered with 2xx when the workload is healthy.
    #[serde(default = "default_health_path")]
    #[schemars(pattern(p::HTTP_PATH))]
    pub path: String,
    /// Adds a startupProbe that allows this many seconds for the first healthy answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600))]
    pub startup_seconds: Option<u32>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            path: default_health_path(),
            startup_seconds: None,
        }
    }
}

/// A secret kept in Vault, synced by External Secrets and mounted as files.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Kubernetes Secret (and its ExternalSecret).
    #[schemars(pattern(p::DNS_LABEL), length(max = 63))]
    pub name: String,
    /// Path in Vault; every key found there becomes a file.
    #[schemars(pattern(p::VAULT_PATH))]
    pub vault_path: String,
    /// Directory the files are mounted at, read-only.
    #[schemars(pattern(p::MOUNT_PATH))]
    pub mount_path: String,
}

/// An allowed egress destination.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Egress {
    /// Destination network.
    #[schemars(pattern(p::CIDR))]
    pub cidr: String,
    /// Destination ports. Left out, every port is allowed; an empty list is refused, since
    /// it reads as "no port" but would allow them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(range(min = 1, max = 65535)))]
    pub ports: Vec<u16>,
    /// Transport protocol of `ports`.
    #[serde(default)]
    pub protocol: Protocol,
    /// Allows a destination that contains link-local addresses (169.254.0.0/16, fe80::/10),
    /// where clouds serve instance metadata and node credentials. Without it such an entry
    /// (`0.0.0.0/0` included) is an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_link_local: bool,
}

/// Transport protocol.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

/// A platform middleware. Traefik chains a client's middlewares in the order the catalog
/// lists them: put `security-headers` first so that even a refusal (401, 403, 429) carries
/// them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Middleware {
    /// Admits only `platform.middlewares.ipAllowList`.
    IpAllowlist,
    /// 100 requests per minute on average, bursts of 200.
    RateLimit,
    /// HTTP basic auth; needs a secret reference named `basic-auth` holding `users`.
    BasicAuth,
    /// Delegates authentication to the platform's OAuth proxy.
    ForwardAuth,
    /// HSTS, frame denial, no sniffing, strict referrer policy.
    SecurityHeaders,
}

/// Autoscaling bounds; dedicated clients only.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    /// Minimum replicas. Default: the tier's replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub min: Option<u32>,
    /// Maximum replicas. Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub max: Option<u32>,
    /// Target average CPU utilisation, in percent of requests. Default: 70.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub cpu_percent: Option<u32>,
}

/// Namespace ResourceQuota of a dedicated client. A field left out is the platform default
/// (requests 2 cpu and 4Gi, limits 4 cpu and 8Gi, 10 claims), raised to what the autoscaling
/// maximum plus one rollout surge needs; a field set must admit that much.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Quota {
    /// `requests.cpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::QUANTITY))]
    pub requests_cpu: Option<String>,
    /// `requests.memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::QUANTITY))]
    pub requests_memory: Option<String>,
    /// `limits.cpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::QUANTITY))]
    pub limits_cpu: Option<String>,
    /// `limits.memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::QUANTITY))]
    pub limits_memory: Option<String>,
    /// `persistentvolumeclaims`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub persistent_volume_claims: Option<u32>,
    /// `requests.storage`. Default: the sum of the client's volumes (none without volumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(p::QUANTITY))]
    pub requests_storage: Option<String>,
}

/// What one zone changes for a client.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Override {
    /// Replica count in this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<u32>,
    /// Resource tier in this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
    /// Autoscaling in this zone (dedicated only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// Hosts in this zone (a staging host, say), in place of the client's `hosts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(p::HOST), length(max = 253)))]
    pub hosts: Vec<String>,
    /// Settings in this zone, over the client's `config` key by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// Per-workload changes in this zone, by workload name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workloads: BTreeMap<String, WorkloadOverride>,
}

/// What one zone changes for one workload.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadOverride {
    /// Replica count of the workload in this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<u32>,
    /// Resource tier of the workload in this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
    /// Hosts of the workload in this zone (http only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(p::HOST), length(max = 253)))]
    pub hosts: Vec<String>,
}

fn default_ingress_namespace() -> String {
    "ge-ingress".into()
}
fn default_ingress_class() -> String {
    "traefik".into()
}
fn default_cert_resolver() -> String {
    "letsencrypt".into()
}
fn default_run_as_user() -> i64 {
    101
}
fn default_branch() -> String {
    "main".into()
}
fn default_interval() -> String {
    "1m".into()
}
fn default_vault_path_prefix() -> String {
    "secret/data/{client}/".into()
}
fn default_port() -> u16 {
    8080
}
fn default_kubernetes_version() -> String {
    "1.34".into()
}
fn default_health_path() -> String {
    "/health".into()
}

/// The zones used when the catalog names none, in promotion order.
pub fn default_zones() -> Vec<Zone> {
    let zone = |name: &str, distribution, storage: &str, ingress| Zone {
        name: name.into(),
        distribution,
        kubernetes_version: default_kubernetes_version(),
        storage_class: Some(storage.into()),
        ingress,
        ingress_namespace: None,
        node_cidrs: Vec::new(),
        tls: None,
        cluster_issuer: None,
        edge_cidrs: None,
        prometheus_operator: false,
    };
    vec![
        zone(
            "dev",
            Distribution::K3s,
            "local-path",
            IngressMode::EdgeProxy,
        ),
        zone(
            "staging",
            Distribution::Managed,
            "upcloud-block-storage",
            IngressMode::LoadBalancer,
        ),
        zone(
            "production",
            Distribution::Managed,
            "upcloud-block-storage",
            IngressMode::LoadBalancer,
        ),
    ]
}
