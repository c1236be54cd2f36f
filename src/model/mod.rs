//! model: the validated domain. Built from the wire types after the schema and the lints pass;
//! every default is applied here, once, and every per-zone decision is recorded with its origin
//! so that `explain` can say why. Nothing downstream sees `catalog` types.

use std::collections::BTreeMap;

use crate::catalog::{
    self as raw, Distribution, Hosting, IngressMode, Middleware, Protocol, Size, TlsMode,
};

mod capacity;
mod workload;

pub use capacity::{Capacity, DEFAULT_QUOTA_PVCS, QuotaLimits, effective_quota};

pub use workload::{
    DEFAULT_WORKLOAD, HttpPlan, Schedule, Shared, TcpPort, Volume, WorkloadPlan, plans,
    spread_schedule,
};

/// Resources and replica count of a tier (SPEC §2, from the source documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub cpu_request: &'static str,
    pub cpu_limit: &'static str,
    pub memory_request: &'static str,
    pub memory_limit: &'static str,
    /// Shared: the replica count. Dedicated: the autoscaling floor.
    pub replicas: u32,
}

impl Tier {
    /// `None` when the size is not offered for the hosting model.
    pub fn of(hosting: Hosting, size: Size) -> Option<Tier> {
        let t = |cpu_request, cpu_limit, memory_request, memory_limit, replicas| Tier {
            cpu_request,
            cpu_limit,
            memory_request,
            memory_limit,
            replicas,
        };
        match (hosting, size) {
            (Hosting::Shared, Size::Small) => Some(t("10m", "100m", "32Mi", "128Mi", 1)),
            (Hosting::Shared, Size::Medium) => Some(t("50m", "250m", "64Mi", "256Mi", 2)),
            (Hosting::Shared | Hosting::Dedicated, Size::Large) => {
                Some(t("100m", "500m", "128Mi", "512Mi", 2))
            }
            (Hosting::Dedicated, Size::Xlarge) => Some(t("200m", "1000m", "256Mi", "1Gi", 3)),
            _ => None,
        }
    }
}

/// Default maximum of a dedicated client's autoscaler.
pub const DEFAULT_AUTOSCALING_MAX: u32 = 10;
/// Default CPU target of a dedicated client's autoscaler.
pub const DEFAULT_CPU_PERCENT: u32 = 70;

/// Where a per-zone value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Tier,
    Client,
    Override(String),
    Default,
    /// Set on the workload itself.
    Workload,
    /// One replica, since the workload mounts this single-node volume.
    SingleNodeVolume(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Tier => f.write_str("tier default"),
            Origin::Client => f.write_str("client setting"),
            Origin::Override(zone) => write!(f, "override for zone {zone}"),
            Origin::Default => f.write_str("platform default"),
            Origin::Workload => f.write_str("workload setting"),
            Origin::SingleNodeVolume(v) => write!(f, "single-node volume {v}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub name: String,
    pub platform: Platform,
    /// In promotion order.
    pub zones: Vec<Zone>,
    /// Sorted by name, so file order never reaches the output.
    pub clients: Vec<Client>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    pub domain: String,
    pub ingress_namespace: String,
    pub ingress_class: String,
    pub cert_resolver: String,
    pub run_as_user: i64,
    /// The platform's own namespaces, in catalog order.
    pub namespaces: Vec<raw::PlatformNamespace>,
    pub git: Option<raw::Git>,
    pub flux_shards: Option<u32>,
    /// Service account tenant Kustomizations impersonate (multi-tenancy lockdown).
    pub flux_service_account: Option<String>,
    pub landing_page: Option<raw::LandingPage>,
    pub ip_allow_list: Vec<String>,
    pub forward_auth_address: Option<String>,
    /// Every secret of a client lies under this Vault path, `{client}` standing for its name.
    pub vault_path_prefix: String,
    /// Where the Prometheus that scrapes clients runs.
    pub monitoring_namespace: String,
}

/// The ranges `ip-allowlist` admits when the catalog names none.
pub const PRIVATE_RANGES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub distribution: Distribution,
    pub kubernetes_version: String,
    pub storage_class: Option<String>,
    pub ingress: IngressMode,
    pub ingress_namespace: String,
    pub node_cidrs: Vec<String>,
    pub tls: TlsMode,
    /// cert-manager ClusterIssuer (used when `tls` is cert-manager).
    pub cluster_issuer: String,
    /// Proxies whose forwarded headers Traefik trusts; empty when the visitor's address
    /// reaches Traefik directly.
    pub edge_cidrs: Vec<String>,
    /// The last zone of the path: versions there must be digest-pinned.
    pub production: bool,
    /// The Prometheus operator runs here: metrics get ServiceMonitors.
    pub prometheus_operator: bool,
}

impl Zone {
    /// k3s with Traefik in kube-system: the bundled chart is configured, not installed.
    pub fn uses_bundled_traefik(&self) -> bool {
        self.distribution == Distribution::K3s && self.ingress_namespace == "kube-system"
    }

    /// The minor version of the zone's Kubernetes (`1.34` -> 34; 0 if unreadable).
    pub fn kubernetes_minor(&self) -> u32 {
        self.kubernetes_version
            .split_once('.')
            .and_then(|(_, m)| m.parse().ok())
            .unwrap_or(0)
    }

    /// Whether Traefik in this zone terminates TLS (and so redirects HTTP to HTTPS).
    pub fn terminates_tls(&self) -> bool {
        self.tls != TlsMode::Edge
    }
}

/// The TLS mode of a zone that names none: behind an edge proxy the edge terminates.
pub fn default_tls(ingress: IngressMode) -> TlsMode {
    match ingress {
        IngressMode::EdgeProxy => TlsMode::Edge,
        IngressMode::HostNetwork | IngressMode::LoadBalancer => TlsMode::Acme,
    }
}

/// The namespace of a zone's Traefik when the zone names none: k3s bundles one in
/// kube-system, and a second one would fight it for the IngressClass and ports 80/443.
pub fn default_ingress_namespace(distribution: Distribution, platform: &str) -> String {
    match distribution {
        Distribution::K3s => "kube-system".to_owned(),
        Distribution::Managed | Distribution::Generic => platform.to_owned(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub name: String,
    pub hosting: Hosting,
    pub namespace: String,
    pub image: String,
    /// Lowercase, without trailing dots, in catalog order.
    pub hosts: Vec<String>,
    pub hosts_origin: Origin,
    pub port: u16,
    pub health: raw::Health,
    pub config: BTreeMap<String, String>,
    pub secrets: Vec<raw::SecretRef>,
    pub egress: Vec<Egress>,
    /// In catalog order (Traefik's chain order), each once.
    pub middlewares: Vec<Middleware>,
    /// The quota the catalog sets; dedicated clients without one get a derived quota.
    pub quota: Option<raw::Quota>,
    /// Zone name -> what runs there; zones the client is not deployed to are absent.
    pub deployments: BTreeMap<String, Deployment>,
    /// The catalog lists `workloads`; otherwise the client runs the one workload `web` made
    /// of its own fields, with the object names it always had.
    pub explicit_workloads: bool,
    /// Sorted by name.
    pub volumes: Vec<Volume>,
    /// Sorted by name.
    pub tcp_ports: Vec<TcpPort>,
    pub metrics: Option<raw::Metrics>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Egress {
    pub cidr: String,
    pub ports: Vec<u16>,
    pub protocol: Protocol,
    /// The entry may reach link-local (cloud metadata) addresses.
    pub allow_link_local: bool,
}

/// The client in one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// As written in `versions`.
    pub version: String,
    /// The full reference the pods run (`repo:tag@sha256:...`).
    pub image: String,
    pub size: Size,
    pub size_origin: Origin,
    pub tier: Tier,
    pub scaling: Scaling,
    pub scaling_origin: Origin,
    /// What runs in this zone, by name: the implicit `web`, or the catalog's workloads.
    /// Zones that run the same plans share one copy.
    pub workloads: std::sync::Arc<[WorkloadPlan]>,
}

impl Deployment {
    pub fn digest_pinned(&self) -> bool {
        self.image.contains("@sha256:")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// The Deployment sets `replicas`.
    Fixed(u32),
    /// An HPA owns the count; the Deployment leaves `replicas` unset.
    Autoscaled {
        min: u32,
        max: u32,
        cpu_percent: u32,
    },
}

impl Scaling {
    /// The fewest pods that run; what the PDB and anti-affinity are sized by.
    pub fn floor(self) -> u32 {
        match self {
            Scaling::Fixed(n) => n,
            Scaling::Autoscaled { min, .. } => min,
        }
    }
}

pub fn size_name(s: Size) -> &'static str {
    match s {
        Size::Small => "small",
        Size::Medium => "medium",
        Size::Large => "large",
        Size::Xlarge => "xlarge",
    }
}

pub fn namespace_of(hosting: Hosting, name: &str) -> String {
    match hosting {
        Hosting::Shared => format!("sh-{name}"),
        Hosting::Dedicated => format!("ded-{name}"),
    }
}

pub fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The image reference for a version: `repo:tag`, `repo:tag@sha256:…` or `repo@sha256:…`.
pub fn image_ref(image: &str, version: &str) -> String {
    if version.starts_with("sha256:") {
        format!("{image}@{version}")
    } else {
        format!("{image}:{version}")
    }
}

/// The zones of a catalog (its own or the defaults), in path order.
pub fn zones_of(spec: &raw::Spec) -> Vec<raw::Zone> {
    spec.zones.clone().unwrap_or_else(raw::default_zones)
}

/// Resolves a client's scaling in one zone, with where it came from. `None` when the tier
/// does not exist (a lint reports it).
pub fn resolve_zone(
    client: &raw::Client,
    zone: &str,
) -> Option<(Size, Origin, Tier, Scaling, Origin)> {
    let ov = client.overrides.get(zone);
    let (size, size_origin) = match ov.and_then(|o| o.size) {
        Some(s) => (s, Origin::Override(zone.to_owned())),
        None => (client.size, Origin::Client),
    };
    let tier = Tier::of(client.hosting, size)?;
    let replicas = ov
        .and_then(|o| o.replicas.map(|r| (r, Origin::Override(zone.to_owned()))))
        .or_else(|| client.replicas.map(|r| (r, Origin::Client)));
    let (scaling, origin) = match client.hosting {
        Hosting::Shared => match replicas {
            Some((n, origin)) => (Scaling::Fixed(n), origin),
            None => (Scaling::Fixed(tier.replicas), Origin::Tier),
        },
        Hosting::Dedicated => {
            let auto = ov
                .and_then(|o| {
                    o.autoscaling
                        .clone()
                        .map(|a| (a, Origin::Override(zone.to_owned())))
                })
                .or_else(|| client.autoscaling.clone().map(|a| (a, Origin::Client)));
            let (min, min_origin) = match (
                auto.as_ref()
                    .and_then(|(a, o)| a.min.map(|m| (m, o.clone()))),
                replicas,
            ) {
                (Some(m), _) => m,
                (None, Some(r)) => r,
                (None, None) => (tier.replicas, Origin::Tier),
            };
            let a = auto.as_ref().map(|(a, _)| a);
            let scaling = Scaling::Autoscaled {
                min,
                max: a.and_then(|a| a.max).unwrap_or(DEFAULT_AUTOSCALING_MAX),
                cpu_percent: a.and_then(|a| a.cpu_percent).unwrap_or(DEFAULT_CPU_PERCENT),
            };
            (scaling, min_origin)
        }
    };
    Some((size, size_origin, tier, scaling, origin))
}

/// Converts a catalog the lints passed. The lints guarantee every lookup here succeeds; a
/// failure is reported as a message rather than a panic all the same.
impl TryFrom<&raw::Catalog> for Catalog {
    type Error = String;

    fn try_from(catalog: &raw::Catalog) -> Result<Self, Self::Error> {
        let raw::Catalog {
            api_version: _,
            kind: _,
            metadata,
            spec,
        } = catalog;
        let raw::Platform {
            domain,
            ingress_namespace,
            ingress_class,
            cert_resolver,
            run_as_user,
            namespaces,
            git,
            flux,
            landing_page,
            middlewares,
            vault_path_prefix,
            monitoring_namespace,
        } = &spec.platform;
        let middlewares = middlewares.clone().unwrap_or_default();
        let platform = Platform {
            domain: normalize_host(domain),
            ingress_namespace: ingress_namespace.clone(),
            ingress_class: ingress_class.clone(),
            cert_resolver: cert_resolver.clone(),
            run_as_user: *run_as_user,
            namespaces: namespaces
                .clone()
                .unwrap_or_else(raw::default_platform_namespaces),
            git: git.clone(),
            flux_shards: flux.as_ref().and_then(|f| f.shards),
            flux_service_account: flux.as_ref().and_then(|f| f.service_account_name.clone()),
            landing_page: landing_page.clone(),
            ip_allow_list: if middlewares.ip_allow_list.is_empty() {
                PRIVATE_RANGES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                middlewares.ip_allow_list.clone()
            },
            forward_auth_address: middlewares.forward_auth_address.clone(),
            vault_path_prefix: vault_path_prefix.clone(),
            monitoring_namespace: monitoring_namespace.clone(),
        };
        let raw_zones = zones_of(spec);
        let last = raw_zones.len().saturating_sub(1);
        let zones: Vec<Zone> = raw_zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let raw::Zone {
                    name,
                    distribution,
                    kubernetes_version,
                    storage_class,
                    ingress,
                    ingress_namespace,
                    node_cidrs,
                    tls,
                    cluster_issuer,
                    edge_cidrs,
                    prometheus_operator,
                } = z;
                Zone {
                    name: name.clone(),
                    distribution: *distribution,
                    kubernetes_version: kubernetes_version.clone(),
                    storage_class: storage_class.clone(),
                    ingress: *ingress,
                    ingress_namespace: ingress_namespace.clone().unwrap_or_else(|| {
                        default_ingress_namespace(*distribution, &platform.ingress_namespace)
                    }),
                    node_cidrs: node_cidrs.clone(),
                    tls: tls.unwrap_or_else(|| default_tls(*ingress)),
                    cluster_issuer: cluster_issuer
                        .clone()
                        .unwrap_or_else(|| platform.cert_resolver.clone()),
                    edge_cidrs: match (edge_cidrs, ingress) {
                        (Some(cidrs), _) => cidrs.clone(),
                        (None, IngressMode::EdgeProxy) => {
                            PRIVATE_RANGES.iter().map(|s| (*s).to_owned()).collect()
                        }
                        (None, IngressMode::HostNetwork | IngressMode::LoadBalancer) => Vec::new(),
                    },
                    production: i == last && raw_zones.len() > 1,
                    prometheus_operator: *prometheus_operator,
                }
            })
            .collect();
        let mut clients = spec
            .clients
            .iter()
            .map(|c| client(c, &platform, &zones))
            .collect::<Result<Vec<_>, _>>()?;
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Catalog {
            name: metadata.name.clone(),
            platform,
            zones,
            clients,
        })
    }
}

fn client(c: &raw::Client, platform: &Platform, zones: &[Zone]) -> Result<Client, String> {
    let raw::Client {
        name,
        hosting,
        size: _,
        image,
        versions,
        hosts: _,
        port,
        health,
        config,
        secrets,
        egress,
        middlewares,
        replicas: _,
        autoscaling: _,
        quota,
        overrides: _,
        workloads: _,
        volumes: _,
        tcp_ports,
        metrics,
    } = c;
    let mut tcp_ports: Vec<TcpPort> = tcp_ports
        .iter()
        .map(|t| TcpPort {
            name: t.name.clone(),
            port: t.port,
            workload: t.workload.clone(),
            target_port: t.target_port.unwrap_or(t.port),
            node_port: t.node_port.unwrap_or_else(|| default_node_port(t.port)),
        })
        .collect();
    tcp_ports.sort_by(|a, b| a.name.cmp(&b.name));
    let volumes = Volume::all_of(c);
    let shared = workload::Shared::of(c, &platform.domain);
    let mut deployments = BTreeMap::new();
    let mut last: Option<std::sync::Arc<[WorkloadPlan]>> = None;
    for zone in zones {
        let Some(version) = versions.get(&zone.name) else {
            continue;
        };
        let (size, size_origin, tier, scaling, scaling_origin) = resolve_zone(c, &zone.name)
            .ok_or_else(|| format!("client `{name}` has no tier in zone `{}`", zone.name))?;
        let workloads = workload::plans(c, &shared, &zone.name, &volumes).ok_or_else(|| {
            format!(
                "client `{name}` has a workload without a tier in zone `{}`",
                zone.name
            )
        })?;
        // Most clients run the same workloads in every zone: keep one copy.
        let workloads: std::sync::Arc<[WorkloadPlan]> = match &last {
            Some(previous) if **previous == *workloads => std::sync::Arc::clone(previous),
            _ => workloads.into(),
        };
        last = Some(std::sync::Arc::clone(&workloads));
        deployments.insert(
            zone.name.clone(),
            Deployment {
                version: version.clone(),
                image: image_ref(image, version),
                size,
                size_origin,
                tier,
                scaling,
                scaling_origin,
                workloads,
            },
        );
    }
    let (hosts, hosts_origin) = (shared.hosts.to_vec(), shared.hosts_origin.clone());
    let mut seen = std::collections::BTreeSet::new();
    let middlewares: Vec<Middleware> = middlewares
        .iter()
        .copied()
        .filter(|m| seen.insert(*m))
        .collect();
    Ok(Client {
        name: name.clone(),
        hosting: *hosting,
        namespace: namespace_of(*hosting, name),
        image: image.clone(),
        hosts,
        hosts_origin,
        port: *port,
        health: health.clone(),
        config: config.clone(),
        secrets: secrets.clone(),
        egress: egress
            .iter()
            .map(|e| Egress {
                cidr: e.cidr.clone(),
                ports: e.ports.clone(),
                protocol: e.protocol,
                allow_link_local: e.allow_link_local,
            })
            .collect(),
        middlewares,
        quota: quota.clone(),
        deployments,
        explicit_workloads: !c.workloads.is_empty(),
        volumes,
        tcp_ports,
        metrics: metrics.clone(),
    })
}

/// The NodePort of a TCP port in edge-proxy zones when the catalog names none.
pub fn default_node_port(port: u16) -> u16 {
    30000 + port % 2768
}
