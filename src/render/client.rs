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
use serde_json::Value;
use sha2::{Digest, Sha256};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{IngressServiceBackend, ServiceBackendPort};

use super::crds::{
    BasicAuth, Errors, ErrorsService, ExternalSecret, ExternalSecretDataFrom, ExternalSecretSpec,
    ExternalSecretTarget, ForwardAuth, Headers, IpAllowList, IpStrategy,
    Middleware as TraefikMiddleware, MiddlewareSpec, RateLimit, RemoteRef, SecretStoreRef,
    SourceCriterion,
};
use super::workload::{self, Workload};
use super::{Placed, Unit, builtin, labels, meta, to_value};
use crate::catalog::{Hosting, Middleware};
use crate::model::{Catalog, Client, Deployment, Platform, Scaling, Zone};

/// Name of the ClusterSecretStore that reads Vault (a platform prerequisite).
pub const SECRET_STORE: &str = "vault";

pub fn render(catalog: &Catalog, zone: &Zone, c: &Client, d: &Deployment, out: &mut Vec<Placed>) {
    let mut push = |object: Value| {
        out.push(Placed {
            unit: Unit::Tenant(c.name.clone()),
            client: Some(c.name.clone()),
            object,
        });
    };
    let platform = &catalog.platform;
    let ns = c.namespace.as_str();
    push(namespace(c, d, zone));
    let selector = labels([
        ("app.kubernetes.io/name", "web"),
        ("app.kubernetes.io/instance", c.name.as_str()),
    ]);
    let w = Workload {
        name: "web",
        namespace: ns,
        selector,
        image: &d.image,
        digest_pinned: d.digest_pinned(),
        path_has_production: catalog.zones.iter().any(|z| z.production),
        port: c.port,
        health_path: &c.health.path,
        startup_seconds: c.health.startup_seconds,
        tier: d.tier,
        replicas: match d.scaling {
            Scaling::Fixed(n) => Some(n),
            Scaling::Autoscaled { .. } => None,
        },
        spread: match d.scaling {
            Scaling::Fixed(n) => n > 1,
            Scaling::Autoscaled { max, .. } => max > 1,
        },
        run_as_user: platform.run_as_user,
        config_map: (!c.config.is_empty()).then_some("web-config"),
        config_hash: (!c.config.is_empty()).then(|| config_hash(&c.config)),
        secrets: &c.secrets,
    };
    push(workload::service_account(&w));
    push(workload::deployment(&w));
    push(workload::service(&w));
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
    push(workload::ingress(
        &w,
        zone,
        &platform.ingress_class,
        &platform.cert_resolver,
        &c.hosts,
        &middlewares,
    ));
    if let Some(proxy) = &oauth {
        for object in oauth_objects(ns, zone, platform, &c.hosts, proxy) {
            push(object);
        }
    }
    for p in workload::network_policies(&w, zone, &c.egress) {
        push(p);
    }
    if !c.config.is_empty() {
        push(builtin(&ConfigMap {
            metadata: meta("web-config", Some(ns), BTreeMap::new()),
            data: Some(c.config.clone()),
            ..Default::default()
        }));
    }
    for s in &c.secrets {
        push(to_value(&ExternalSecret::new(
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
    if let (
        Hosting::Dedicated,
        Scaling::Autoscaled {
            min,
            max,
            cpu_percent,
        },
    ) = (c.hosting, d.scaling)
    {
        for object in dedicated(c, d, min, max, cpu_percent, &w.selector) {
            push(object);
        }
    }
}

fn namespace(c: &Client, d: &Deployment, zone: &Zone) -> Value {
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
    builtin(&Namespace {
        metadata: meta(&c.namespace, None, l),
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
    proxy: &OauthProxy,
) -> Vec<Value> {
    let port = i64::from(proxy.port);
    let selector = labels([("app.kubernetes.io/name", OAUTH_SERVICE)]);
    let service = builtin(&Service {
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
    let errors = to_value(&TraefikMiddleware::new(
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
        // The web Ingress asks for the certificate; this one shares its Secret.
        secret: "web",
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
pub fn middleware(m: Middleware, namespace: &str, platform: &Platform, zone: &Zone) -> Value {
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
    to_value(&TraefikMiddleware::new(
        meta(middleware_name(m), Some(namespace), BTreeMap::new()),
        spec,
    ))
}

fn dedicated(
    c: &Client,
    d: &Deployment,
    min: u32,
    max: u32,
    cpu_percent: u32,
    selector: &BTreeMap<String, String>,
) -> Vec<Value> {
    let ns = Some(c.namespace.as_str());
    let i = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let q = |s: &str| Quantity(s.to_owned());
    let quota = crate::model::effective_quota(c.quota.as_ref(), d);
    let tier = d.tier;
    vec![
        builtin(&HorizontalPodAutoscaler {
            metadata: meta("web", ns, selector.clone()),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: "Deployment".into(),
                    name: "web".into(),
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
        }),
        builtin(&PodDisruptionBudget {
            metadata: meta("web", ns, selector.clone()),
            spec: Some(PodDisruptionBudgetSpec {
                // One below the floor, so a drain can always evict a pod.
                min_available: Some(IntOrString::Int(i(min.saturating_sub(1)))),
                selector: Some(LabelSelector {
                    match_labels: Some(selector.clone()),
                    ..Default::default()
                }),
                unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        builtin(&ResourceQuota {
            metadata: meta("compute", ns, BTreeMap::new()),
            spec: Some(ResourceQuotaSpec {
                hard: Some(BTreeMap::from([
                    ("limits.cpu".to_owned(), q(&quota.limits_cpu)),
                    ("limits.memory".to_owned(), q(&quota.limits_memory)),
                    (
                        "persistentvolumeclaims".to_owned(),
                        q(&quota.persistent_volume_claims.to_string()),
                    ),
                    ("requests.cpu".to_owned(), q(&quota.requests_cpu)),
                    ("requests.memory".to_owned(), q(&quota.requests_memory)),
                ])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        builtin(&LimitRange {
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
    ]
}
