//! platform: the objects every zone gets whatever its clients (SPEC §3.2): core namespaces,
//! the zone's Traefik, the IngressClass, the platform middlewares and the landing page.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::{IngressClass, IngressClassSpec};
use serde_json::{Value, json};

use super::client::{middleware, middleware_name};
use super::crds::{
    HelmAction, HelmChartConfig, HelmChartConfigSpec, HelmChartTemplate, HelmChartTemplateSpec,
    HelmRelease, HelmReleaseSpec, HelmRepository, HelmRepositorySpec, Remediation, SourceRef,
};
use super::workload::{self, Probes, Workload};
use super::{Object, Placed, Unit, labels, meta, object};
use crate::catalog::{IngressMode, Middleware, Size, TlsMode};
use crate::model::{Catalog, Platform, Tier, Zone};

/// The Traefik Helm chart tenantgen installs (Traefik v3.6, as bundled by k3s v1.34).
pub const TRAEFIK_CHART_VERSION: &str = "39.0.5";
pub const TRAEFIK_CHART_REPOSITORY: &str = "https://traefik.github.io/charts";

pub fn render(catalog: &Catalog, zone: &Zone, out: &mut Vec<Placed>) {
    let mut push = |unit: Unit, object: Object| {
        out.push(Placed {
            unit,
            client: None,
            object,
        })
    };
    let platform = &catalog.platform;
    if zone.ingress_namespace != "kube-system" {
        // hostNetwork and host ports are only admitted at the privileged level.
        let level = if zone.ingress == IngressMode::HostNetwork {
            "privileged"
        } else {
            "baseline"
        };
        push(
            Unit::InfraControllers,
            namespace(&zone.ingress_namespace, level, Some("ingress")),
        );
    }
    for ns in &platform.namespaces {
        if ns.name != zone.ingress_namespace {
            push(
                Unit::InfraControllers,
                namespace(&ns.name, ns.pod_security.as_str(), None),
            );
        }
    }
    // Raw TCP ports of the zone's clients, each an entry point of its own.
    let tcp_ports: std::collections::BTreeSet<u16> = catalog
        .clients
        .iter()
        .filter(|c| c.deployments.contains_key(&zone.name))
        .flat_map(|c| c.tcp_ports.iter().map(|t| t.port))
        .collect();
    for object in traefik(zone, platform, &tcp_ports) {
        push(Unit::InfraControllers, object);
    }
    push(
        Unit::InfraConfigs,
        object(IngressClass {
            metadata: meta(&platform.ingress_class, None, BTreeMap::new()),
            spec: Some(IngressClassSpec {
                controller: Some("traefik.io/ingress-controller".into()),
                ..Default::default()
            }),
        }),
    );
    // No platform basic-auth: it needs a Secret of users nothing here creates, and Traefik
    // reports the missing Secret on every reload. Clients get theirs from their own secret.
    let mut platform_middlewares = vec![
        Middleware::SecurityHeaders,
        Middleware::RateLimit,
        Middleware::IpAllowlist,
    ];
    if platform.forward_auth_address.is_some() {
        platform_middlewares.push(Middleware::ForwardAuth);
    }
    platform_middlewares.sort();
    for m in platform_middlewares {
        push(
            Unit::InfraConfigs,
            middleware(m, &zone.ingress_namespace, platform, zone),
        );
    }
    if let Some(page) = &platform.landing_page {
        let ns = page.namespace.as_str();
        let w = Workload {
            name: "landing",
            namespace: ns,
            selector: labels([
                ("app.kubernetes.io/name", "landing"),
                ("app.kubernetes.io/instance", "landing"),
            ]),
            image: &page.image,
            digest_pinned: page.image.contains("@sha256:"),
            path_has_production: catalog.zones.iter().any(|z| z.production),
            port: Some(page.port),
            probes: Some(Probes::on("/", None)),
            command: &[],
            args: &[],
            metrics_port: None,
            claims: &[],
            recreate: false,
            tier: Tier::of(crate::catalog::Hosting::Shared, Size::Small).unwrap_or(LANDING_TIER),
            replicas: Some(2),
            spread: true,
            run_as_user: platform.run_as_user,
            config_map: None,
            config_hash: None,
            secrets: &[],
            tcp_ports: &[],
        };
        let headers = format!(
            "{ns}-{}@kubernetescrd",
            middleware_name(Middleware::SecurityHeaders)
        );
        push(Unit::InfraConfigs, workload::service_account(&w));
        push(Unit::InfraConfigs, workload::deployment(&w));
        push(Unit::InfraConfigs, workload::service(&w));
        push(
            Unit::InfraConfigs,
            workload::ingress(
                &w,
                zone,
                &platform.ingress_class,
                &platform.cert_resolver,
                std::slice::from_ref(&platform.domain),
                "/",
                "landing",
                &[headers],
            ),
        );
        push(
            Unit::InfraConfigs,
            middleware(Middleware::SecurityHeaders, ns, platform, zone),
        );
        for p in super::policy::network_policies(&w, zone, &[]) {
            push(Unit::InfraConfigs, p);
        }
    }
}

const LANDING_TIER: Tier = Tier {
    cpu_request: "10m",
    cpu_limit: "100m",
    memory_request: "32Mi",
    memory_limit: "128Mi",
    replicas: 2,
};

fn namespace(name: &str, level: &str, component: Option<&str>) -> Object {
    let mut l = labels([
        ("pod-security.kubernetes.io/enforce", level),
        ("pod-security.kubernetes.io/audit", "restricted"),
        ("pod-security.kubernetes.io/warn", "restricted"),
    ]);
    if let Some(c) = component {
        // What client NetworkPolicies and the source documents select the ingress namespace by.
        l.insert("app.kubernetes.io/component".into(), c.into());
    }
    object(Namespace {
        metadata: meta(name, None, l),
        ..Default::default()
    })
}

/// Size of the volume that keeps Traefik's ACME certificates across restarts.
const ACME_STORAGE_SIZE: &str = "128Mi";

/// Static configuration the chart has no stable value for, as Traefik command-line
/// arguments: they mean the same in every chart version, and a test can hand them to a real
/// Traefik as they are.
pub fn traefik_arguments(zone: &Zone, platform: &Platform) -> Vec<String> {
    let mut args = Vec::new();
    if !zone.edge_cidrs.is_empty() {
        // Forwarded headers are believed only from the proxies in front; anyone else's are
        // dropped, so a visitor cannot pose as another address.
        let cidrs = zone.edge_cidrs.join(",");
        for entry_point in ["web", "websecure"] {
            args.push(format!(
                "--entryPoints.{entry_point}.forwardedHeaders.trustedIPs={cidrs}"
            ));
        }
    }
    if zone.terminates_tls() {
        // The lowest priority lets an HTTP-01 challenge solver's router win over the redirect.
        // The target is the port visitors use: naming the entry point would send them to the
        // port it listens on inside the pod (the chart's 8443).
        let redirect = "--entryPoints.web.http.redirections.entryPoint";
        args.extend([
            format!("{redirect}.to=:443"),
            format!("{redirect}.scheme=https"),
            format!("{redirect}.permanent=true"),
            format!("{redirect}.priority=1"),
        ]);
    }
    if zone.tls == TlsMode::Acme {
        let resolver = format!("--certificatesresolvers.{}.acme", platform.cert_resolver);
        args.extend([
            format!("{resolver}.storage=/data/acme.json"),
            format!("{resolver}.tlschallenge=true"),
        ]);
    }
    args
}

/// Helm values of Traefik for the zone's ingress mode and TLS mode.
/// Where Traefik listens inside its pod for a public TCP port: clear of the chart's own
/// ports (8000, 8443, 8080, 9100), which a public port such as MQTT's 8443 would hit.
pub const TCP_CONTAINER_PORT_OFFSET: u16 = 10000;

fn traefik_values(
    zone: &Zone,
    platform: &Platform,
    tcp_ports: &std::collections::BTreeSet<u16>,
) -> Value {
    let class = &platform.ingress_class;
    // ExternalName Services are how a client namespace reaches the OAuth proxy; Traefik
    // refuses them unless told, so only zones with forward-auth allow them.
    let external_names = platform.forward_auth_address.is_some();
    let mut crd = json!({"allowCrossNamespace": false});
    let mut ingress = json!({"ingressClass": class});
    if external_names {
        crd["allowExternalNameServices"] = Value::Bool(true);
        ingress["allowExternalNameServices"] = Value::Bool(true);
    }
    let mut values = json!({
        "ingressClass": {"enabled": false},
        "providers": {"kubernetesCRD": crd, "kubernetesIngress": ingress},
    });
    let replicas = if zone.tls == TlsMode::Acme { 1 } else { 2 };
    let mode = match zone.ingress {
        // Behind an edge proxy that owns ports 80/443 and the certificates: a LoadBalancer
        // here would take both from it.
        IngressMode::EdgeProxy => json!({
            "deployment": {"kind": "Deployment", "replicas": replicas},
            "service": {"type": "ClusterIP"},
        }),
        // Host ports cannot be shared, so a rollout must free a node before it starts there.
        // The health and metrics entry points listen on the node's loopback only: on the host
        // network every port Traefik opens is the node's (9100 is node-exporter's).
        IngressMode::HostNetwork => json!({
            "deployment": {"kind": "DaemonSet"},
            "hostNetwork": true,
            "service": {"enabled": false},
            "ports": {
                "web": {"port": 80, "hostPort": 80},
                "websecure": {"port": 443, "hostPort": 443},
                "traefik": {"hostIP": "127.0.0.1"},
                "metrics": {"hostIP": "127.0.0.1"},
            },
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "securityContext": {
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                "readOnlyRootFilesystem": true,
                "runAsNonRoot": true,
                "runAsUser": 65532,
                "runAsGroup": 65532,
            },
        }),
        // Local keeps the visitor's address (no SNAT to another node), so allow-lists and
        // rate limits see the visitor.
        IngressMode::LoadBalancer => json!({
            "deployment": {"kind": "Deployment", "replicas": replicas},
            "service": {"type": "LoadBalancer", "spec": {"externalTrafficPolicy": "Local"}},
        }),
    };
    if let (Some(v), Value::Object(m)) = (values.as_object_mut(), mode) {
        v.extend(m);
    }
    if zone.tls == TlsMode::Acme {
        let mut persistence = json!({"enabled": true, "size": ACME_STORAGE_SIZE, "path": "/data"});
        if let Some(class) = &zone.storage_class {
            persistence["storageClass"] = Value::from(class.as_str());
        }
        values["persistence"] = persistence;
        if zone.ingress != IngressMode::HostNetwork {
            // One pod owns the certificate volume: a surge pod could not mount it.
            values["updateStrategy"] = json!({"type": "Recreate"});
        }
    }
    if super::extras::traefik_carries_tcp(zone) {
        for port in tcp_ports {
            // On the host network the container port is the node's port.
            let entry = if zone.ingress == IngressMode::HostNetwork {
                json!({"port": port, "hostPort": port, "protocol": "TCP"})
            } else {
                json!({
                    "port": u32::from(*port) + u32::from(TCP_CONTAINER_PORT_OFFSET),
                    "exposedPort": port,
                    "expose": {"default": true},
                    "protocol": "TCP",
                })
            };
            values["ports"][super::extras::entry_point(*port)] = entry;
        }
    }
    let args = traefik_arguments(zone, platform);
    if !args.is_empty() {
        values["additionalArguments"] = Value::from(args);
    }
    values
}

fn traefik(
    zone: &Zone,
    platform: &Platform,
    tcp_ports: &std::collections::BTreeSet<u16>,
) -> Vec<Object> {
    let values = traefik_values(zone, platform, tcp_ports);
    if zone.uses_bundled_traefik() {
        let mut text = String::new();
        crate::emit::document(&mut text, &values);
        return vec![object(HelmChartConfig::new(
            meta("traefik", Some("kube-system"), BTreeMap::new()),
            HelmChartConfigSpec {
                values_content: text,
                failure_policy: None,
            },
        ))];
    }
    let ns = Some(zone.ingress_namespace.as_str());
    vec![
        object(HelmRepository::new(
            meta("traefik", ns, BTreeMap::new()),
            HelmRepositorySpec {
                interval: "24h".into(),
                url: TRAEFIK_CHART_REPOSITORY.into(),
                repo_type: None,
            },
        )),
        object(HelmRelease::new(
            meta("traefik", ns, BTreeMap::new()),
            HelmReleaseSpec {
                interval: "30m".into(),
                chart: HelmChartTemplate {
                    spec: HelmChartTemplateSpec {
                        chart: "traefik".into(),
                        version: TRAEFIK_CHART_VERSION.into(),
                        source_ref: SourceRef {
                            kind: "HelmRepository".into(),
                            name: "traefik".into(),
                            namespace: None,
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
                values: Some(values),
                target_namespace: None,
            },
        )),
    ]
}
