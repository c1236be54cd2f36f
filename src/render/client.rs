//! client: every object of one client in one zone (SPEC §3.1).

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota,
    ResourceQuotaSpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{IngressServiceBackend, ServiceBackendPort};

use super::crds::{
    BasicAuth, Errors, ErrorsService, ExternalSecret, ExternalSecretDataFrom, ExternalSecretSpec,
    ExternalSecretTarget, ForwardAuth, Headers, IpAllowList, IpStrategy,
    Middleware as TraefikMiddleware, MiddlewareSpec, RateLimit, RemoteRef, SecretStoreRef,
    SourceCriterion,
};
use super::workload::{self, Probes, Workload};
use super::{Object, Placed, Unit, extras, labels, meta, object, policy};
use crate::catalog::{Hosting, Middleware};
use crate::model::{Catalog, Client, Deployment, HttpPlan, Platform, Scaling, WorkloadPlan, Zone};

/// Name of the ClusterSecretStore that reads Vault (a platform prerequisite).
pub const SECRET_STORE: &str = "vault";

pub fn render(catalog: &Catalog, zone: &Zone, c: &Client, d: &Deployment, out: &mut Vec<Placed>) {
    let mut push = |object: Object| {
        out.push(Placed {
            unit: Unit::Tenant(c.name.clone()),
            client: Some(c.name.clone()),
            object,
        });
    };
    let platform = &catalog.platform;
    let ns = c.namespace.as_str();
    push(namespace(c, d, zone));
    let tcp_ports: BTreeMap<&str, Vec<(String, u16)>> =
        c.tcp_ports.iter().fold(BTreeMap::new(), |mut m, t| {
            m.entry(t.workload.as_str())
                .or_insert_with(Vec::new)
                .push((t.name.clone(), t.target_port));
            m
        });
    let config_hashes: Vec<Option<String>> = d
        .workloads
        .iter()
        .map(|p| (!p.config.is_empty()).then(|| config_hash(&p.config)))
        .collect();
    let config_maps: Vec<String> = d
        .workloads
        .iter()
        .map(|p| format!("{}-config", p.name))
        .collect();
    let workloads: Vec<Workload> = d
        .workloads
        .iter()
        .zip(&config_hashes)
        .zip(&config_maps)
        .map(|((p, hash), config_map)| Workload {
            name: &p.name,
            namespace: ns,
            selector: workload_selector(&p.name, &c.name),
            image: &d.image,
            digest_pinned: d.digest_pinned(),
            path_has_production: catalog.zones.iter().any(|z| z.production),
            port: p.http.as_ref().map(|h| h.port),
            probes: p.http.as_ref().map(|h| Probes {
                liveness: &h.liveness_path,
                readiness: &h.readiness_path,
                startup: h.startup.as_ref().map(|(path, s)| (path.as_str(), *s)),
            }),
            command: &p.command,
            args: &p.args,
            metrics_port: c
                .metrics
                .as_ref()
                .filter(|m| m.workload == p.name)
                .map(|m| m.port),
            claims: &p.mounts,
            recreate: p.recreate,
            tier: p.tier,
            replicas: match p.scaling {
                Scaling::Fixed(n) => Some(n),
                Scaling::Autoscaled { .. } => None,
            },
            spread: match p.scaling {
                Scaling::Fixed(n) => n > 1,
                Scaling::Autoscaled { max, .. } => max > 1,
            },
            run_as_user: platform.run_as_user,
            config_map: hash.is_some().then_some(config_map.as_str()),
            config_hash: hash.clone(),
            secrets: &c.secrets,
            tcp_ports: tcp_ports.get(p.name.as_str()).map_or(&[], Vec::as_slice),
        })
        .collect();
    let plans = || d.workloads.iter().zip(&workloads);
    for (p, w) in plans() {
        push(workload::service_account(w));
        match &p.schedule {
            Some(s) => push(workload::cron_job(
                w,
                &s.cron,
                s.concurrency.as_str(),
                zone.kubernetes_minor() >= 27,
            )),
            None => push(workload::deployment(w)),
        }
    }
    for (_, w) in plans().filter(|(p, _)| p.http.is_some()) {
        push(workload::service(w));
    }
    let oauth = c
        .middlewares
        .contains(&Middleware::ForwardAuth)
        .then(|| {
            platform
                .forward_auth_address
                .as_deref()
                .and_then(oauth_proxy)
        })
        .flatten();
    let mut middlewares = Vec::new();
    for m in &c.middlewares {
        if *m == Middleware::ForwardAuth && oauth.is_some() {
            // Outside forward-auth, so the proxy's 401 becomes the sign-in page.
            middlewares.push(format!("{ns}-{OAUTH_ERRORS}@kubernetescrd"));
        }
        middlewares.push(format!("{ns}-{}@kubernetescrd", middleware_name(*m)));
    }
    let http: Vec<(&WorkloadPlan, &HttpPlan, &Workload)> = plans()
        .filter_map(|(p, w)| p.http.as_ref().map(|h| (p, h, w)))
        .collect();
    for (p, h, w) in &http {
        // Workloads sharing a host set share one certificate, asked for by the first of them.
        let owner = http
            .iter()
            .find(|(_, other, _)| other.hosts == h.hosts)
            .map_or(p.name.as_str(), |(o, _, _)| o.name.as_str());
        push(workload::ingress(
            w,
            zone,
            &platform.ingress_class,
            &platform.cert_resolver,
            &h.hosts,
            &h.path,
            owner,
            &middlewares,
        ));
    }
    // Without an http workload there is no route to sign in on.
    if let Some(proxy) = oauth.as_ref().filter(|_| !http.is_empty()) {
        let mut hosts: Vec<String> = Vec::new();
        for (_, h, _) in &http {
            for host in h.hosts.iter() {
                if !hosts.contains(host) {
                    hosts.push(host.clone());
                }
            }
        }
        let secret = http.first().map_or("web", |(p, _, _)| p.name.as_str());
        for object in oauth_objects(ns, zone, platform, &hosts, secret, proxy) {
            push(object);
        }
    }
    for object in extras::services(c, zone) {
        push(object);
    }
    // Policies: deny all, then admit exactly what each workload needs.
    push(policy::default_deny(ns));
    for (p, h, w) in &http {
        let name = if c.explicit_workloads {
            format!("allow-traefik-to-{}", p.name)
        } else {
            "allow-ingress-from-traefik".to_owned()
        };
        push(policy::allow_from(
            &name,
            ns,
            &w.selector,
            policy::traefik_peers(zone),
            &[h.port],
        ));
    }
    push(policy::allow_dns(ns));
    let egress_pods = match (c.explicit_workloads, workloads.first()) {
        (false, Some(w)) => w.selector.clone(),
        _ => labels([("app.kubernetes.io/instance", c.name.as_str())]),
    };
    if let Some(p) = policy::allow_egress(ns, &egress_pods, &c.egress) {
        push(p);
    }
    for object in extras::policies(c, zone, platform) {
        push(object);
    }
    for (p, w) in plans().filter(|(p, _)| !p.config.is_empty()) {
        push(object(ConfigMap {
            metadata: meta(w.config_map.unwrap_or_default(), Some(ns), BTreeMap::new()),
            data: Some((*p.config).clone()),
            ..Default::default()
        }));
    }
    for s in &c.secrets {
        push(object(ExternalSecret::new(
            meta(&s.name, Some(ns), BTreeMap::new()),
            ExternalSecretSpec {
                refresh_interval: "1h".into(),
                secret_store_ref: SecretStoreRef {
                    name: SECRET_STORE.into(),
                    kind: "ClusterSecretStore".into(),
                },
                target: ExternalSecretTarget {
                    name: s.name.clone(),
                    creation_policy: "Owner".into(),
                    deletion_policy: None,
                },
                data_from: vec![ExternalSecretDataFrom {
                    extract: RemoteRef {
                        key: s.vault_path.clone(),
                        property: None,
                    },
                }],
                data: Vec::new(),
            },
        )));
    }
    for m in &c.middlewares {
        push(middleware(*m, ns, platform, zone));
    }
    for object in extras::claims_routes_and_monitors(c, zone) {
        push(object);
    }
    if c.hosting == Hosting::Dedicated {
        for object in dedicated(c, d, &workloads) {
            push(object);
        }
    }
}

/// Pod labels of a client's workload.
fn workload_selector(workload: &str, client: &str) -> BTreeMap<String, String> {
    labels([
        ("app.kubernetes.io/name", workload),
        ("app.kubernetes.io/instance", client),
    ])
}

fn namespace(c: &Client, d: &Deployment, zone: &Zone) -> Object {
    let hosting = match c.hosting {
        Hosting::Shared => "shared",
        Hosting::Dedicated => "dedicated",
    };
    let size = crate::model::size_name(d.size);
    let version = format!("v{}", zone.kubernetes_version);
    let l = labels([
        ("tenantgen.io/client", c.name.as_str()),
        ("tenantgen.io/hosting", hosting),
        ("tenantgen.io/size", size),
        ("pod-security.kubernetes.io/enforce", "restricted"),
        (
            "pod-security.kubernetes.io/enforce-version",
            version.as_str(),
        ),
        ("pod-security.kubernetes.io/audit", "restricted"),
        ("pod-security.kubernetes.io/warn", "restricted"),
    ]);
    let mut metadata = meta(&c.namespace, None, l);
    if !c.volumes.is_empty() {
        // Deleting the namespace would delete its volumes: a client removed from the catalog
        // keeps its namespace until someone who has saved the data deletes it.
        metadata.annotations = Some(labels([extras::PRUNE_DISABLED]));
    }
    object(Namespace {
        metadata,
        ..Default::default()
    })
}

/// A short, stable hash of the config: a change rolls the pods.
fn config_hash(config: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in config {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn middleware_name(m: Middleware) -> &'static str {
    match m {
        Middleware::SecurityHeaders => "security-headers",
        Middleware::RateLimit => "rate-limit",
        Middleware::IpAllowlist => "ip-allowlist",
        Middleware::BasicAuth => "basic-auth",
        Middleware::ForwardAuth => "forward-auth",
    }
}

/// The largest answer Traefik reads from the OAuth proxy's auth endpoint.
const FORWARD_AUTH_MAX_RESPONSE_BYTES: i64 = 1 << 20;

/// Name of the errors middleware, Service and Ingress that send a visitor forward-auth
/// refuses to the OAuth proxy's sign-in page.
pub const OAUTH_ERRORS: &str = "oauth-errors";
const OAUTH_SERVICE: &str = "oauth2-proxy";
const OAUTH_INGRESS: &str = "oauth2";
/// The OAuth proxy's own paths (sign-in, callback), routed to it on every client host.
const OAUTH_PATH: &str = "/oauth2/";

/// Host and port of the OAuth proxy from its auth endpoint (`http://host[:port]/path`).
pub struct OauthProxy {
    pub host: String,
    pub port: u16,
}

pub fn oauth_proxy(address: &str) -> Option<OauthProxy> {
    let (rest, default_port) = if let Some(r) = address.strip_prefix("https://") {
        (r, 443)
    } else {
        (address.strip_prefix("http://")?, 80)
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, default_port),
    };
    (!host.is_empty()).then(|| OauthProxy {
        host: host.to_owned(),
        port,
    })
}

/// What forward-auth needs in the client's namespace: Traefik may only reach Services in a
/// Middleware's or Ingress's own namespace, so an ExternalName Service stands in for the
/// proxy; the errors middleware turns its 401 into the sign-in page; an Ingress without
/// middlewares serves the proxy's own paths (sign-in, callback) on the client's hosts.
fn oauth_objects(
    ns: &str,
    zone: &Zone,
    platform: &Platform,
    hosts: &[String],
    secret: &str,
    proxy: &OauthProxy,
) -> Vec<Object> {
    let port = i64::from(proxy.port);
    let selector = labels([("app.kubernetes.io/name", OAUTH_SERVICE)]);
    let service = object(Service {
        metadata: meta(OAUTH_SERVICE, Some(ns), selector.clone()),
        spec: Some(ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some(proxy.host.clone()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: i32::from(proxy.port),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    });
    let errors = object(TraefikMiddleware::new(
        meta(OAUTH_ERRORS, Some(ns), BTreeMap::new()),
        MiddlewareSpec {
            errors: Some(Errors {
                status: vec!["401".into()],
                service: ErrorsService {
                    name: OAUTH_SERVICE.into(),
                    port,
                },
                query: "/oauth2/sign_in?rd={url}".into(),
            }),
            ..Default::default()
        },
    ));
    let route = workload::Route {
        name: OAUTH_INGRESS,
        namespace: ns,
        labels: selector,
        hosts,
        path: OAUTH_PATH,
        backend: IngressServiceBackend {
            name: OAUTH_SERVICE.into(),
            port: Some(ServiceBackendPort {
                number: Some(i32::from(proxy.port)),
                ..Default::default()
            }),
        },
        middlewares: &[],
        // The workload's Ingress asks for the certificate; this one shares its Secret.
        secret,
        issuer: false,
    };
    vec![
        service,
        errors,
        workload::route(
            &route,
            zone,
            &platform.ingress_class,
            &platform.cert_resolver,
        ),
    ]
}

/// A platform middleware as a Traefik Middleware object in `namespace`. Behind proxies the
/// visitor is the last address they forwarded, not the connection's peer.
pub fn middleware(m: Middleware, namespace: &str, platform: &Platform, zone: &Zone) -> Object {
    let behind_proxy = !zone.edge_cidrs.is_empty();
    let ip_strategy = || behind_proxy.then_some(IpStrategy { depth: 1 });
    let spec = match m {
        Middleware::SecurityHeaders => MiddlewareSpec {
            headers: Some(Headers {
                sts_seconds: Some(31_536_000),
                sts_include_subdomains: Some(true),
                sts_preload: Some(true),
                force_sts_header: Some(true),
                frame_deny: Some(true),
                content_type_nosniff: Some(true),
                browser_xss_filter: Some(true),
                referrer_policy: Some("strict-origin-when-cross-origin".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        Middleware::RateLimit => MiddlewareSpec {
            rate_limit: Some(RateLimit {
                average: 100,
                burst: 200,
                period: Some("1m".into()),
                source_criterion: ip_strategy().map(|ip_strategy| SourceCriterion { ip_strategy }),
            }),
            ..Default::default()
        },
        Middleware::IpAllowlist => MiddlewareSpec {
            ip_allow_list: Some(IpAllowList {
                source_range: platform.ip_allow_list.clone(),
                ip_strategy: ip_strategy(),
            }),
            ..Default::default()
        },
        Middleware::BasicAuth => MiddlewareSpec {
            basic_auth: Some(BasicAuth {
                secret: "basic-auth".into(),
            }),
            ..Default::default()
        },
        Middleware::ForwardAuth => MiddlewareSpec {
            forward_auth: Some(ForwardAuth {
                address: platform.forward_auth_address.clone().unwrap_or_default(),
                trust_forward_header: Some(true),
                // An auth answer is a few headers; a huge body would only tie up Traefik.
                max_response_body_size: Some(FORWARD_AUTH_MAX_RESPONSE_BYTES),
                auth_response_headers: vec![
                    "X-Auth-Request-Email".into(),
                    "X-Auth-Request-User".into(),
                ],
            }),
            ..Default::default()
        },
    };
    object(TraefikMiddleware::new(
        meta(middleware_name(m), Some(namespace), BTreeMap::new()),
        spec,
    ))
}

fn dedicated(c: &Client, d: &Deployment, workloads: &[Workload]) -> Vec<Object> {
    let ns = Some(c.namespace.as_str());
    let i = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let q = |s: &str| Quantity(s.to_owned());
    let quota = crate::model::effective_quota(c.quota.as_ref(), d, &c.volumes);
    let tier = d.tier;
    let mut out = Vec::new();
    for (p, w) in d.workloads.iter().zip(workloads) {
        if p.schedule.is_some() {
            continue;
        }
        let floor = match p.scaling {
            Scaling::Autoscaled {
                min,
                max,
                cpu_percent,
            } => {
                out.push(hpa(w, min, max, cpu_percent));
                min
            }
            Scaling::Fixed(n) => n,
        };
        out.push(object(PodDisruptionBudget {
            metadata: meta(w.name, ns, w.selector.clone()),
            spec: Some(PodDisruptionBudgetSpec {
                // One below the floor, so a drain can always evict a pod.
                min_available: Some(IntOrString::Int(i(floor.saturating_sub(1)))),
                selector: Some(LabelSelector {
                    match_labels: Some(w.selector.clone()),
                    ..Default::default()
                }),
                unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }
    let mut hard = BTreeMap::from([
        ("limits.cpu".to_owned(), q(&quota.limits_cpu)),
        ("limits.memory".to_owned(), q(&quota.limits_memory)),
        (
            "persistentvolumeclaims".to_owned(),
            q(&quota.persistent_volume_claims.to_string()),
        ),
        ("requests.cpu".to_owned(), q(&quota.requests_cpu)),
        ("requests.memory".to_owned(), q(&quota.requests_memory)),
    ]);
    if let Some(storage) = &quota.requests_storage {
        hard.insert("requests.storage".to_owned(), q(storage));
    }
    out.extend([
        object(ResourceQuota {
            metadata: meta("compute", ns, BTreeMap::new()),
            spec: Some(ResourceQuotaSpec {
                hard: Some(hard),
                ..Default::default()
            }),
            ..Default::default()
        }),
        object(LimitRange {
            metadata: meta("defaults", ns, BTreeMap::new()),
            spec: Some(LimitRangeSpec {
                limits: vec![LimitRangeItem {
                    type_: "Container".into(),
                    default: Some(BTreeMap::from([
                        ("cpu".to_owned(), q(tier.cpu_limit)),
                        ("memory".to_owned(), q(tier.memory_limit)),
                    ])),
                    default_request: Some(BTreeMap::from([
                        ("cpu".to_owned(), q(tier.cpu_request)),
                        ("memory".to_owned(), q(tier.memory_request)),
                    ])),
                    ..Default::default()
                }],
            }),
        }),
    ]);
    out
}

fn hpa(w: &Workload, min: u32, max: u32, cpu_percent: u32) -> Object {
    let i = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    object(HorizontalPodAutoscaler {
        metadata: meta(w.name, Some(w.namespace), w.selector.clone()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: w.name.to_owned(),
            },
            min_replicas: Some(i(min)),
            max_replicas: i(max),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(i(cpu_percent)),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}
