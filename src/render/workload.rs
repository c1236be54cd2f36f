//! workload: the hardened web workload shared by every client and the landing page:
//! ServiceAccount, Deployment or CronJob, Service and Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource;
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, HTTPGetAction, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretVolumeSource,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, TopologySpreadConstraint,
    Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Object, labels, meta, object};
use crate::catalog::{SecretRef, TlsMode};
use crate::model::{Tier, Zone};

/// Size of the writable /tmp; the read-only root filesystem leaves no other scratch space.
pub const TMP_SIZE: &str = "256Mi";
pub const EPHEMERAL_REQUEST: &str = "64Mi";
pub const EPHEMERAL_LIMIT: &str = "512Mi";
/// Mode of mounted secret files: owner and the pod's fsGroup may read.
const SECRET_MODE: i32 = 0o440;

/// What differs between one hardened workload and another.
pub struct Workload<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    /// Pod labels that select the workload.
    pub selector: BTreeMap<String, String>,
    pub image: &'a str,
    pub digest_pinned: bool,
    /// Whether the promotion path ends in a production zone (whose images are digest-pinned).
    pub path_has_production: bool,
    /// The `http` container port; `None` for workers and jobs.
    pub port: Option<u16>,
    /// `None`: no probes (workers and jobs serve no HTTP).
    pub probes: Option<Probes<'a>>,
    /// Overrides of the image's entrypoint and its arguments.
    pub command: &'a [String],
    pub args: &'a [String],
    /// The `metrics` container port.
    pub metrics_port: Option<u16>,
    /// Volume -> mount path of the PersistentVolumeClaims the pods mount.
    pub claims: &'a [(String, String)],
    /// Replace pods with `Recreate` (a single-node volume cannot follow a surge pod).
    pub recreate: bool,
    pub tier: Tier,
    /// `None` when an HPA owns the count (Flux would otherwise reset it on every reconcile).
    pub replicas: Option<u32>,
    /// Spread pods over nodes (more than one replica).
    pub spread: bool,
    pub run_as_user: i64,
    pub config_map: Option<&'a str>,
    pub config_hash: Option<String>,
    pub secrets: &'a [SecretRef],
    /// Named container ports of raw TCP ports this workload receives.
    pub tcp_ports: &'a [(String, u16)],
}

/// The HTTP probe paths of a workload.
#[derive(Debug, Clone, Copy)]
pub struct Probes<'a> {
    pub liveness: &'a str,
    pub readiness: &'a str,
    /// Path and the seconds allowed for the first healthy answer.
    pub startup: Option<(&'a str, u32)>,
}

impl<'a> Probes<'a> {
    /// One path for every probe.
    pub fn on(path: &'a str, startup_seconds: Option<u32>) -> Self {
        Probes {
            liveness: path,
            readiness: path,
            startup: startup_seconds.map(|s| (path, s)),
        }
    }
}

fn q(s: &str) -> Quantity {
    Quantity(s.to_owned())
}

fn selector(l: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(l.clone()),
        ..Default::default()
    }
}

pub fn service_account(w: &Workload) -> Object {
    object(ServiceAccount {
        metadata: meta(w.name, Some(w.namespace), w.selector.clone()),
        automount_service_account_token: Some(false),
        ..Default::default()
    })
}

/// Reasons for the scanner rules the platform departs from on purpose (listed in the README).
/// Checkov reads them from the Deployment's own annotations; a `=` in a reason breaks it.
fn scanner_exceptions(w: &Workload, job: bool) -> BTreeMap<String, String> {
    let mut skips = Vec::new();
    if w.run_as_user < 10000 {
        skips.push(format!(
            "CKV_K8S_40=uid {} is the platform images' unprivileged user; runAsNonRoot and Pod Security restricted still apply",
            w.run_as_user
        ));
    }
    if !w.digest_pinned {
        // Only true reasons: a lint makes every production image carry a digest, so a tag here
        // is either a zone before production or a path without one.
        skips.push(if w.path_has_production {
            "CKV_K8S_43=zones before production run tags; promotion pins production to a digest"
                .to_owned()
        } else {
            "CKV_K8S_43=the catalog's promotion path has no production zone, where digests are required; this zone runs a tag".to_owned()
        });
    }
    if w.probes.is_none() && !job {
        skips.extend([
            "CKV_K8S_8=a worker serves no HTTP to probe; Kubernetes restarts it when its process exits".to_owned(),
            "CKV_K8S_9=a worker takes no traffic, so there is nothing to be ready for".to_owned(),
        ]);
    }
    skips
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("checkov.io/skip{}", i + 1), s))
        .collect()
}

/// The hardened pod of a workload: what its Deployment and its CronJob share.
fn pod_template(w: &Workload, restart_policy: Option<&str>) -> PodTemplateSpec {
    let http_get = |path: &str| HTTPGetAction {
        path: Some(path.to_owned()),
        port: IntOrString::String("http".into()),
        ..Default::default()
    };
    let probe = |path: &str, initial: i32, period: i32| Probe {
        http_get: Some(http_get(path)),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Default::default()
    };
    let startup = w.probes.and_then(|p| p.startup).map(|(path, s)| Probe {
        http_get: Some(http_get(path)),
        period_seconds: Some(5),
        timeout_seconds: Some(2),
        failure_threshold: Some(i32::try_from(s.div_ceil(5)).unwrap_or(i32::MAX)),
        ..Default::default()
    });
    let mut mounts = vec![VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..Default::default()
    }];
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(q(TMP_SIZE)),
            ..Default::default()
        }),
        ..Default::default()
    }];
    for s in w.secrets {
        let volume = format!("secret-{}", s.name);
        mounts.push(VolumeMount {
            name: volume.clone(),
            mount_path: s.mount_path.clone(),
            read_only: Some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name: volume,
            secret: Some(SecretVolumeSource {
                secret_name: Some(s.name.clone()),
                default_mode: Some(SECRET_MODE),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    for (claim, path) in w.claims {
        let volume = format!("volume-{claim}");
        mounts.push(VolumeMount {
            name: volume.clone(),
            mount_path: path.clone(),
            ..Default::default()
        });
        volumes.push(Volume {
            name: volume,
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.clone(),
                read_only: None,
            }),
            ..Default::default()
        });
    }
    let resources = |cpu: &str, memory: &str, ephemeral: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), q(cpu)),
            ("ephemeral-storage".to_owned(), q(ephemeral)),
            ("memory".to_owned(), q(memory)),
        ])
    };
    let container_port = |name: &str, port: u16| ContainerPort {
        name: Some(name.into()),
        container_port: i32::from(port),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let ports: Vec<ContainerPort> = w
        .port
        .map(|p| container_port("http", p))
        .into_iter()
        .chain(w.metrics_port.map(|p| container_port("metrics", p)))
        .chain(w.tcp_ports.iter().map(|(name, p)| container_port(name, *p)))
        .collect();
    let container = Container {
        name: w.name.to_owned(),
        image: Some(w.image.to_owned()),
        image_pull_policy: Some("Always".into()),
        command: (!w.command.is_empty()).then(|| w.command.to_vec()),
        args: (!w.args.is_empty()).then(|| w.args.to_vec()),
        ports: (!ports.is_empty()).then_some(ports),
        env_from: w.config_map.map(|name| {
            vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: name.to_owned(),
                    optional: Some(false),
                }),
                ..Default::default()
            }]
        }),
        resources: Some(ResourceRequirements {
            requests: Some(resources(
                w.tier.cpu_request,
                w.tier.memory_request,
                EPHEMERAL_REQUEST,
            )),
            limits: Some(resources(
                w.tier.cpu_limit,
                w.tier.memory_limit,
                EPHEMERAL_LIMIT,
            )),
            ..Default::default()
        }),
        liveness_probe: w.probes.map(|p| probe(p.liveness, 5, 10)),
        readiness_probe: w.probes.map(|p| probe(p.readiness, 3, 5)),
        startup_probe: startup,
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let spread_selector = selector(&w.selector);
    let (affinity, spread) = if w.spread {
        (
            Some(Affinity {
                pod_anti_affinity: Some(PodAntiAffinity {
                    preferred_during_scheduling_ignored_during_execution: Some(vec![
                        WeightedPodAffinityTerm {
                            weight: 100,
                            pod_affinity_term: PodAffinityTerm {
                                label_selector: Some(spread_selector.clone()),
                                topology_key: "kubernetes.io/hostname".into(),
                                ..Default::default()
                            },
                        },
                    ]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            Some(vec![TopologySpreadConstraint {
                label_selector: Some(spread_selector),
                max_skew: 1,
                topology_key: "kubernetes.io/hostname".into(),
                when_unsatisfiable: "ScheduleAnyway".into(),
                ..Default::default()
            }]),
        )
    } else {
        (None, None)
    };
    let mut template_meta = meta_without_name(w.selector.clone());
    if let Some(hash) = &w.config_hash {
        template_meta.annotations = Some(labels([("tenantgen.io/config-hash", hash.as_str())]));
    }
    PodTemplateSpec {
        metadata: Some(template_meta),
        spec: Some(PodSpec {
            affinity,
            automount_service_account_token: Some(false),
            containers: vec![container],
            enable_service_links: Some(false),
            restart_policy: restart_policy.map(str::to_owned),
            security_context: Some(PodSecurityContext {
                fs_group: Some(w.run_as_user),
                run_as_group: Some(w.run_as_user),
                run_as_non_root: Some(true),
                run_as_user: Some(w.run_as_user),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            service_account_name: Some(w.name.to_owned()),
            topology_spread_constraints: spread,
            volumes: Some(volumes),
            ..Default::default()
        }),
    }
}

fn workload_meta(w: &Workload, job: bool) -> ObjectMeta {
    let mut metadata = meta(w.name, Some(w.namespace), w.selector.clone());
    let skips = scanner_exceptions(w, job);
    if !skips.is_empty() {
        metadata.annotations = Some(skips);
    }
    metadata
}

pub fn deployment(w: &Workload) -> Object {
    let strategy = if w.recreate {
        DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        }
    } else {
        DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(1)),
                max_unavailable: Some(IntOrString::Int(0)),
            }),
        }
    };
    object(Deployment {
        metadata: workload_meta(w, false),
        spec: Some(DeploymentSpec {
            replicas: w.replicas.map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            revision_history_limit: Some(5),
            selector: selector(&w.selector),
            strategy: Some(strategy),
            template: pod_template(w, None),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// How long a due run may still start after its time (a controller restart, say).
const STARTING_DEADLINE_SECONDS: i64 = 300;

/// A scheduled workload: the same pod as a Deployment's, run to completion on `schedule`.
/// `utc` names the time zone (Kubernetes 1.27 and later); older clusters run schedules in
/// the controller's zone, UTC on every distribution tenantgen knows.
pub fn cron_job(w: &Workload, schedule: &str, concurrency: &str, utc: bool) -> Object {
    object(CronJob {
        metadata: workload_meta(w, true),
        spec: Some(CronJobSpec {
            schedule: schedule.to_owned(),
            time_zone: utc.then(|| "Etc/UTC".into()),
            concurrency_policy: Some(concurrency.to_owned()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(meta_without_name(w.selector.clone())),
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    template: pod_template(w, Some("Never")),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn meta_without_name(
    l: BTreeMap<String, String>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        labels: Some(l),
        ..Default::default()
    }
}

pub fn service(w: &Workload) -> Object {
    object(Service {
        metadata: meta(w.name, Some(w.namespace), w.selector.clone()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(w.selector.clone()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::String("http".into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Traefik and cert-manager annotations of an Ingress in `zone`, by who terminates TLS.
/// `issuer` asks cert-manager for the certificate; only one Ingress per Secret may ask.
fn tls_annotations(zone: &Zone, cert_resolver: &str, issuer: bool) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let mut set = |k: &str, v: &str| a.insert(k.to_owned(), v.to_owned());
    match zone.tls {
        // The edge terminates and forwards plain HTTP: a TLS router would never match.
        TlsMode::Edge => {
            set("traefik.ingress.kubernetes.io/router.entrypoints", "web");
        }
        TlsMode::Acme => {
            set(
                "traefik.ingress.kubernetes.io/router.entrypoints",
                "websecure",
            );
            set("traefik.ingress.kubernetes.io/router.tls", "true");
            set(
                "traefik.ingress.kubernetes.io/router.tls.certresolver",
                cert_resolver,
            );
        }
        TlsMode::CertManager => {
            set(
                "traefik.ingress.kubernetes.io/router.entrypoints",
                "websecure",
            );
            set("traefik.ingress.kubernetes.io/router.tls", "true");
            if issuer {
                set("cert-manager.io/cluster-issuer", &zone.cluster_issuer);
            }
        }
    }
    a
}

/// `spec.tls` of an Ingress: none behind the edge; the hosts, with the Secret cert-manager
/// fills, where the cluster terminates.
fn tls_section(zone: &Zone, name: &str, hosts: &[String]) -> Option<Vec<IngressTLS>> {
    let secret_name = match zone.tls {
        TlsMode::Edge => return None,
        TlsMode::Acme => None,
        TlsMode::CertManager => Some(format!("{name}-tls")),
    };
    Some(vec![IngressTLS {
        hosts: Some(hosts.to_vec()),
        secret_name,
    }])
}

/// One Ingress: a rule per host, all with the same path and backend.
pub struct Route<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: BTreeMap<String, String>,
    pub hosts: &'a [String],
    pub path: &'a str,
    pub backend: IngressServiceBackend,
    /// Traefik middleware references, in chain order.
    pub middlewares: &'a [String],
    /// The Secret's name (`<secret>-tls`) for cert-manager, shared by the routes of one host set.
    pub secret: &'a str,
    /// Whether this Ingress asks cert-manager for the certificate.
    pub issuer: bool,
}

pub fn route(r: &Route, zone: &Zone, class: &str, cert_resolver: &str) -> Object {
    let mut annotations = tls_annotations(zone, cert_resolver, r.issuer);
    if !r.middlewares.is_empty() {
        annotations.insert(
            "traefik.ingress.kubernetes.io/router.middlewares".to_owned(),
            r.middlewares.join(","),
        );
    }
    let mut metadata = meta(r.name, Some(r.namespace), r.labels.clone());
    metadata.annotations = Some(annotations);
    let backend = IngressBackend {
        service: Some(r.backend.clone()),
        ..Default::default()
    };
    object(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(class.to_owned()),
            rules: Some(
                r.hosts
                    .iter()
                    .map(|h| IngressRule {
                        host: Some(h.clone()),
                        http: Some(HTTPIngressRuleValue {
                            paths: vec![HTTPIngressPath {
                                path: Some(r.path.to_owned()),
                                path_type: "Prefix".into(),
                                backend: backend.clone(),
                            }],
                        }),
                    })
                    .collect(),
            ),
            tls: tls_section(zone, r.secret, r.hosts),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Ingress of a workload: every host to its Service's `http` port. `certificate` names
/// the workload whose Ingress asks cert-manager for the hosts' certificate.
#[allow(clippy::too_many_arguments)]
pub fn ingress(
    w: &Workload,
    zone: &Zone,
    class: &str,
    cert_resolver: &str,
    hosts: &[String],
    path: &str,
    certificate: &str,
    middlewares: &[String],
) -> Object {
    let r = Route {
        name: w.name,
        namespace: w.namespace,
        labels: w.selector.clone(),
        hosts,
        path,
        backend: IngressServiceBackend {
            name: w.name.to_owned(),
            port: Some(ServiceBackendPort {
                name: Some("http".into()),
                ..Default::default()
            }),
        },
        middlewares,
        secret: certificate,
        issuer: certificate == w.name,
    };
    route(&r, zone, class, cert_resolver)
}
