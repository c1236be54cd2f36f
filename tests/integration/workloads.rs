//! Clients with several workloads, volumes, raw TCP ports and metrics (SPEC §2.1), as a user
//! of the rendered tree would notice them: a single-node volume never meets a surge pod, data
//! outlives Flux's prune, a TCP port or the scraper reaches exactly one port of one workload,
//! scheduled jobs do not all start at once, and the quota admits what the workloads run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::root;

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn fixture() -> PathBuf {
    root().join("tests/fixtures/valid/workloads.yaml")
}

/// One zone's rendering of a catalog.
struct Zone {
    model: tenantgen::model::Zone,
    objects: Vec<Value>,
}

impl Zone {
    fn of(&self, kind: &str, namespace: &str) -> impl Iterator<Item = &Value> {
        let (kind, namespace) = (kind.to_owned(), namespace.to_owned());
        self.objects
            .iter()
            .filter(move |o| s(o, "/kind") == kind && s(o, "/metadata/namespace") == namespace)
    }

    fn named(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.of(kind, namespace)
            .find(|o| s(o, "/metadata/name") == name)
    }

    fn namespace(&self, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| s(o, "/kind") == "Namespace" && s(o, "/metadata/name") == name)
            .unwrap_or_else(|| panic!("{}: namespace {name} is rendered", self.model.name))
    }
}

fn render(catalog: &Path) -> (tenantgen::model::Catalog, Vec<Zone>) {
    let model = tenantgen::check::check_file(catalog)
        .unwrap_or_else(|e| panic!("{} is valid: {e:?}", catalog.display()))
        .model;
    let zones = model
        .zones
        .iter()
        .map(|z| Zone {
            model: z.clone(),
            objects: tenantgen::render::zone(&model, z, &tenantgen::render::Options::default())
                .into_iter()
                .map(|p| p.value())
                .collect(),
        })
        .collect();
    (model, zones)
}

fn render_text(text: &str) -> (tenantgen::model::Catalog, Vec<Zone>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("clients.yaml");
    std::fs::write(&path, text).expect("write");
    render(&path)
}

/// Whether `selector` (matchLabels) selects pods labelled `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn pod_spec(workload: &Value) -> &Value {
    match s(workload, "/kind") {
        "CronJob" => &workload["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &workload["spec"]["template"]["spec"],
    }
}

fn pod_labels(workload: &Value) -> &Value {
    match s(workload, "/kind") {
        "CronJob" => &workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
        _ => &workload["spec"]["template"]["metadata"]["labels"],
    }
}

fn claims(workload: &Value) -> Vec<&str> {
    list(pod_spec(workload), "/volumes")
        .iter()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
        .filter_map(Value::as_str)
        .collect()
}

/// The container port named `name` of a workload's pods.
fn container_port(workload: &Value, name: &str) -> Option<i64> {
    list(pod_spec(workload), "/containers")
        .iter()
        .flat_map(|c| list(c, "/ports"))
        .find(|p| s(p, "/name") == name)
        .and_then(|p| p["containerPort"].as_i64())
}

#[test]
fn a_workload_on_a_single_node_volume_runs_one_pod_replaced_not_surged() {
    let mut checked = 0;
    for catalog in [fixture(), root().join("clients/clients.yaml")] {
        let (model, zones) = render(&catalog);
        for zone in &zones {
            for c in &model.clients {
                let ns = c.namespace.as_str();
                let single: BTreeSet<&str> = zone
                    .of("PersistentVolumeClaim", ns)
                    .filter(|p| list(p, "/spec/accessModes") == [Value::from("ReadWriteOnce")])
                    .map(|p| s(p, "/metadata/name"))
                    .collect();
                for d in zone.of("Deployment", ns) {
                    let name = s(d, "/metadata/name");
                    let at = format!("{}/{ns}/{name}", zone.model.name);
                    let hpa = zone.of("HorizontalPodAutoscaler", ns).find(|h| {
                        s(h, "/spec/scaleTargetRef/name") == name
                            && s(h, "/spec/scaleTargetRef/kind") == "Deployment"
                    });
                    if !claims(d).iter().any(|c| single.contains(c)) {
                        continue;
                    }
                    checked += 1;
                    assert_eq!(d["spec"]["replicas"], 1, "{at}: one pod on the volume");
                    assert_eq!(
                        s(d, "/spec/strategy/type"),
                        "Recreate",
                        "{at}: a surge pod could not attach the volume (Multi-Attach error)"
                    );
                    assert!(
                        d.pointer("/spec/strategy/rollingUpdate").is_none(),
                        "{at}: Recreate takes no rollingUpdate"
                    );
                    assert!(hpa.is_none(), "{at}: no autoscaler may add a pod");
                }
            }
        }
    }
    // orchard/queue and beacon/broker in 3 zones, sensorhub/broker in 3.
    assert!(
        checked >= 9,
        "single-node workloads were checked ({checked})"
    );

    // A shared volume does not pin its workloads: orchard's api keeps its autoscaler and
    // rolling update in production.
    let (_, zones) = render(&fixture());
    let production = zones
        .iter()
        .find(|z| z.model.name == "production")
        .expect("zone");
    let api = production
        .named("Deployment", "ded-orchard", "api")
        .expect("api");
    assert!(claims(api).contains(&"uploads"));
    assert_eq!(s(api, "/spec/strategy/type"), "RollingUpdate");
    assert!(
        api.pointer("/spec/replicas").is_none(),
        "the HPA owns the count"
    );
    assert!(
        production
            .named("HorizontalPodAutoscaler", "ded-orchard", "api")
            .is_some()
    );
}

#[test]
fn volumes_outlive_flux_prune_and_use_the_zone_storage_class() {
    let prune = "/metadata/annotations/kustomize.toolkit.fluxcd.io~1prune";
    let mut claims_seen = 0;
    for catalog in [fixture(), root().join("clients/clients.yaml")] {
        let (model, zones) = render(&catalog);
        for zone in &zones {
            let class = zone.model.storage_class.as_deref().expect("storage class");
            for c in model
                .clients
                .iter()
                .filter(|c| c.deployments.contains_key(&zone.model.name))
            {
                let ns = c.namespace.as_str();
                let at = format!("{}/{}", zone.model.name, c.name);
                let pvcs: Vec<&Value> = zone.of("PersistentVolumeClaim", ns).collect();
                assert_eq!(pvcs.len(), c.volumes.len(), "{at}: a claim per volume");
                for v in &c.volumes {
                    let p = zone
                        .named("PersistentVolumeClaim", ns, &v.name)
                        .unwrap_or_else(|| panic!("{at}: claim {}", v.name));
                    claims_seen += 1;
                    assert_eq!(
                        s(p, prune),
                        "disabled",
                        "{at}/{}: Flux never deletes data",
                        v.name
                    );
                    assert_eq!(s(p, "/spec/storageClassName"), class, "{at}/{}", v.name);
                    assert_eq!(s(p, "/spec/resources/requests/storage"), v.size);
                    let mode = match v.access {
                        tenantgen::catalog::VolumeAccess::SingleNode => "ReadWriteOnce",
                        tenantgen::catalog::VolumeAccess::Shared => "ReadWriteMany",
                    };
                    assert_eq!(list(p, "/spec/accessModes"), [Value::from(mode)], "{at}");
                }
                // Deleting the namespace would delete its claims with it.
                let expected = if c.volumes.is_empty() { "" } else { "disabled" };
                assert_eq!(s(zone.namespace(ns), prune), expected, "{at}: namespace");
            }
        }
    }
    assert!(claims_seen >= 12, "claims were checked ({claims_seen})");
}

/// Every (port, protocol) a namespace's NetworkPolicies admit into pods labelled `labels`,
/// with the peers admitting it.
fn admitted(zone: &Zone, ns: &str, labels: &Value) -> BTreeMap<i64, Vec<Value>> {
    let mut out: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for p in zone.of("NetworkPolicy", ns) {
        let selector = &p["spec"]["podSelector"]["matchLabels"];
        let all = p["spec"]["podSelector"]
            .as_object()
            .is_some_and(|m| m.is_empty());
        if !all && !selects(selector, labels) {
            continue;
        }
        for rule in list(p, "/spec/ingress") {
            let ports = list(rule, "/ports");
            assert!(
                !ports.is_empty(),
                "{}: {} admits every port",
                zone.model.name,
                s(p, "/metadata/name")
            );
            for port in ports {
                assert_eq!(s(port, "/protocol"), "TCP");
                out.entry(port["port"].as_i64().expect("numbered port"))
                    .or_default()
                    .extend(list(rule, "/from").iter().cloned());
            }
        }
    }
    out
}

#[test]
fn a_tcp_port_and_the_scraper_each_reach_exactly_their_port_of_their_workload() {
    let mut seen = (0, 0);
    for catalog in [fixture(), root().join("clients/clients.yaml")] {
        let (model, zones) = render(&catalog);
        for zone in &zones {
            for c in model
                .clients
                .iter()
                .filter(|c| c.deployments.contains_key(&zone.model.name))
            {
                let ns = c.namespace.as_str();
                for d in zone.of("Deployment", ns).chain(zone.of("CronJob", ns)) {
                    let workload = s(d, "/metadata/name");
                    let at = format!("{}/{ns}/{workload}", zone.model.name);
                    let ports = admitted(zone, ns, pod_labels(d));
                    let mut expected = BTreeSet::new();
                    if let Some(http) = container_port(d, "http") {
                        expected.insert(http);
                    }
                    for t in c.tcp_ports.iter().filter(|t| t.workload == workload) {
                        seen.0 += 1;
                        expected.insert(i64::from(t.target_port));
                        assert_eq!(
                            container_port(d, &t.name),
                            Some(i64::from(t.target_port)),
                            "{at}: the pods name the port the Service targets"
                        );
                        let policy = zone
                            .named("NetworkPolicy", ns, &format!("allow-tcp-{}", t.name))
                            .unwrap_or_else(|| panic!("{at}: a policy for {}", t.name));
                        assert_eq!(
                            policy["spec"]["podSelector"]["matchLabels"],
                            serde_json::json!({
                                "app.kubernetes.io/instance": c.name,
                                "app.kubernetes.io/name": workload,
                            }),
                            "{at}: only the receiving workload"
                        );
                        let rules = list(policy, "/spec/ingress");
                        assert_eq!(rules.len(), 1, "{at}");
                        assert_eq!(
                            list(&rules[0], "/ports"),
                            [serde_json::json!({"port": t.target_port, "protocol": "TCP"})],
                            "{at}: exactly the port"
                        );
                        assert!(!list(&rules[0], "/from").is_empty(), "{at}: from someone");
                    }
                    if let Some(m) = c.metrics.as_ref().filter(|m| m.workload == workload) {
                        seen.1 += 1;
                        expected.insert(i64::from(m.port));
                        assert_eq!(container_port(d, "metrics"), Some(i64::from(m.port)));
                        let policy = zone
                            .named(
                                "NetworkPolicy",
                                ns,
                                &format!("allow-monitoring-to-{workload}"),
                            )
                            .unwrap_or_else(|| panic!("{at}: a policy for the scraper"));
                        let rules = list(policy, "/spec/ingress");
                        assert_eq!(rules.len(), 1, "{at}");
                        assert_eq!(
                            list(&rules[0], "/ports"),
                            [serde_json::json!({"port": m.port, "protocol": "TCP"})],
                            "{at}: the metrics port only"
                        );
                        assert_eq!(
                            list(&rules[0], "/from"),
                            [serde_json::json!({"namespaceSelector": {"matchLabels": {
                                "kubernetes.io/metadata.name": model.platform.monitoring_namespace,
                            }}})],
                            "{at}: the monitoring namespace only"
                        );
                    }
                    assert_eq!(
                        ports.keys().copied().collect::<BTreeSet<_>>(),
                        expected,
                        "{at}: admitted ports"
                    );
                    // The monitoring namespace reaches nothing but the metrics port.
                    for (port, peers) in &ports {
                        let from_monitoring = peers.iter().any(|p| {
                            s(
                                p,
                                "/namespaceSelector/matchLabels/kubernetes.io~1metadata.name",
                            ) == model.platform.monitoring_namespace
                        });
                        let metrics = c
                            .metrics
                            .as_ref()
                            .filter(|m| m.workload == workload)
                            .map(|m| i64::from(m.port));
                        assert_eq!(from_monitoring, metrics == Some(*port), "{at}: port {port}");
                    }
                }
            }
        }
    }
    assert!(
        seen.0 >= 9 && seen.1 >= 9,
        "ports and scrapers were checked ({seen:?})"
    );
}

#[test]
fn a_service_monitor_exists_only_with_the_operator_and_selects_the_metrics_service() {
    let mut monitors = 0;
    for catalog in [fixture(), root().join("clients/clients.yaml")] {
        let (model, zones) = render(&catalog);
        for zone in &zones {
            for c in model
                .clients
                .iter()
                .filter(|c| c.deployments.contains_key(&zone.model.name))
            {
                let ns = c.namespace.as_str();
                let at = format!("{}/{}", zone.model.name, c.name);
                let found: Vec<&Value> = zone.of("ServiceMonitor", ns).collect();
                let Some(m) = c
                    .metrics
                    .as_ref()
                    .filter(|_| zone.model.prometheus_operator)
                else {
                    assert!(
                        found.is_empty(),
                        "{at}: no operator or no metrics, no ServiceMonitor"
                    );
                    continue;
                };
                assert_eq!(found.len(), 1, "{at}: one ServiceMonitor");
                monitors += 1;
                let monitor = found[0];
                assert!(
                    monitor.pointer("/spec/namespaceSelector").is_none(),
                    "{at}: its own namespace"
                );
                let selector = &monitor["spec"]["selector"]["matchLabels"];
                let selected: Vec<&Value> = zone
                    .of("Service", ns)
                    .filter(|svc| selects(selector, &svc["metadata"]["labels"]))
                    .collect();
                let names: Vec<&str> = selected.iter().map(|v| s(v, "/metadata/name")).collect();
                assert_eq!(
                    names,
                    [format!("{}-metrics", m.workload)],
                    "{at}: selects exactly"
                );
                let service = selected[0];
                for e in list(monitor, "/spec/endpoints") {
                    assert_eq!(s(e, "/path"), m.path, "{at}");
                    assert!(
                        list(service, "/spec/ports")
                            .iter()
                            .any(|p| s(p, "/name") == s(e, "/port")),
                        "{at}: the endpoint's port `{}` is a port of the Service",
                        s(e, "/port")
                    );
                }
                // ... whose pods are the workload's and serve the named metrics port.
                let workload = zone
                    .named("Deployment", ns, &m.workload)
                    .unwrap_or_else(|| panic!("{at}: {} runs", m.workload));
                assert!(
                    selects(&service["spec"]["selector"], pod_labels(workload)),
                    "{at}"
                );
                assert_eq!(
                    s(service, "/spec/ports/0/targetPort"),
                    "metrics",
                    "{at}: targets the named port"
                );
                assert!(container_port(workload, "metrics").is_some(), "{at}");
            }
        }
    }
    // orchard and beacon in the fixture's production zone.
    assert!(monitors >= 2, "ServiceMonitors were checked ({monitors})");
}

#[test]
fn cron_jobs_forbid_overlap_by_default_and_h_becomes_a_minute_of_their_own() {
    let (_, zones) = render(&fixture());
    let mut minutes = BTreeSet::new();
    for zone in &zones {
        let nightly = zone
            .named("CronJob", "ded-orchard", "nightly")
            .expect("nightly");
        assert_eq!(
            s(nightly, "/spec/concurrencyPolicy"),
            "Forbid",
            "the default"
        );
        let fields: Vec<&str> = s(nightly, "/spec/schedule").split(' ').collect();
        assert_eq!(fields.len(), 5);
        let minute: u32 = fields[0].parse().expect("H became a number");
        assert!(minute < 60);
        assert_eq!(fields[1..], ["3", "*", "*", "*"]);
        minutes.insert(minute);
        let sweep = zone
            .named("CronJob", "ded-orchard", "sweep")
            .expect("sweep");
        assert_eq!(s(sweep, "/spec/concurrencyPolicy"), "Replace", "as written");
        assert_eq!(
            s(sweep, "/spec/schedule"),
            "*/15 * * * *",
            "no H, unchanged"
        );
    }
    assert_eq!(minutes.len(), 1, "stable across zones");

    // 50 clients asking for `H 3 * * *` do not all start at the same minute.
    let mut text = String::from(
        "apiVersion: tenantgen.io/v1alpha1
kind: ClientCatalog
metadata: {name: many}
spec:
  platform: {domain: hosting.example.com}
  zones:
    - {name: only, distribution: managed, ingress: load-balancer}
  clients:
",
    );
    for i in 0..50 {
        text.push_str(&format!(
            "    - name: client-{i:02}
      hosting: shared
      size: small
      image: registry.example.com/c{i}/app
      versions: {{only: \"1.0.0\"}}
      workloads:
        web: {{}}
        report: {{kind: cron, schedule: \"H 3 * * *\", command: [/app/report]}}
"
        ));
    }
    let (_, zones) = render_text(&text);
    let schedules: Vec<String> = zones[0]
        .objects
        .iter()
        .filter(|o| s(o, "/kind") == "CronJob")
        .map(|o| s(o, "/spec/schedule").to_owned())
        .collect();
    assert_eq!(schedules.len(), 50);
    let minutes: BTreeSet<&str> = schedules
        .iter()
        .map(|sch| {
            let (minute, rest) = sch.split_once(' ').expect("five fields");
            assert_eq!(rest, "3 * * *", "{sch}");
            minute
        })
        .collect();
    assert!(minutes.len() > 10, "the minutes are spread: {minutes:?}");
}

/// CPU millis and memory bytes a pod template asks for (requests, limits), over its containers.
fn pod_resources(workload: &Value) -> [u64; 4] {
    let mut out = [0; 4];
    for c in list(pod_spec(workload), "/containers") {
        let cpu = |p: &str| tenantgen::quantity::cpu_millis(s(c, p)).expect("cpu");
        let mem = |p: &str| tenantgen::quantity::bytes(s(c, p)).expect("memory");
        out[0] += cpu("/resources/requests/cpu");
        out[1] += cpu("/resources/limits/cpu");
        out[2] += mem("/resources/requests/memory");
        out[3] += mem("/resources/limits/memory");
    }
    out
}

/// The volumes' total size in a namespace, and how many claims there are.
fn claimed_storage(zone: &Zone, ns: &str) -> (u64, usize) {
    let claims: Vec<&Value> = zone.of("PersistentVolumeClaim", ns).collect();
    let total = claims
        .iter()
        .map(|p| {
            tenantgen::quantity::bytes(s(p, "/spec/resources/requests/storage")).expect("size")
        })
        .sum();
    (total, claims.len())
}

/// What the ResourceQuota `compute` of `ns` admits less of than the namespace runs at its
/// peak: every Deployment at its autoscaler's maximum (or its replicas) plus a rollout's
/// surge pod (none with Recreate), every CronJob's run (two when runs may overlap), times
/// its pods' resources; the claims' storage and count.
fn quota_shortfalls(zone: &Zone, ns: &str, quota: &Value) -> Vec<String> {
    let mut need = [0u64; 4];
    for w in zone.of("Deployment", ns).chain(zone.of("CronJob", ns)) {
        let name = s(w, "/metadata/name");
        let surge = u64::from(s(w, "/spec/strategy/type") == "RollingUpdate");
        let hpa = zone.named("HorizontalPodAutoscaler", ns, name);
        let pods = match (s(w, "/kind"), hpa) {
            ("CronJob", _) if s(w, "/spec/concurrencyPolicy") == "Allow" => 2,
            ("CronJob", _) => 1,
            (_, Some(h)) => h["spec"]["maxReplicas"].as_u64().expect("max") + surge,
            (_, None) => w["spec"]["replicas"].as_u64().expect("replicas") + surge,
        };
        for (n, r) in need.iter_mut().zip(pod_resources(w)) {
            *n += r * pods;
        }
    }
    let hard = |k: &str| s(quota, &format!("/spec/hard/{k}")).to_owned();
    let have = [
        tenantgen::quantity::cpu_millis(&hard("requests.cpu")).expect("cpu"),
        tenantgen::quantity::cpu_millis(&hard("limits.cpu")).expect("cpu"),
        tenantgen::quantity::bytes(&hard("requests.memory")).expect("memory"),
        tenantgen::quantity::bytes(&hard("limits.memory")).expect("memory"),
    ];
    let mut out = Vec::new();
    for (i, what) in [
        "requests.cpu",
        "limits.cpu",
        "requests.memory",
        "limits.memory",
    ]
    .iter()
    .enumerate()
    {
        if have[i] < need[i] {
            out.push(format!(
                "{}/{ns}: {what} {} admits less than the workloads' peak {}",
                zone.model.name,
                hard(what),
                need[i]
            ));
        }
    }
    let (storage, claims) = claimed_storage(zone, ns);
    let admitted = tenantgen::quantity::bytes(&hard("requests.storage"));
    if claims > 0 && admitted.is_some_and(|a| a < storage) {
        out.push(format!(
            "{}/{ns}: requests.storage {} is below the volumes' {storage} bytes",
            zone.model.name,
            hard("requests.storage")
        ));
    }
    let pvcs: usize = hard("persistentvolumeclaims").parse().expect("count");
    if pvcs < claims {
        out.push(format!(
            "{}/{ns}: {claims} claims, {pvcs} admitted",
            zone.model.name
        ));
    }
    out
}

#[test]
fn a_dedicated_quota_admits_every_workload_at_its_peak_and_its_volumes() {
    let mut quotas = 0;
    for catalog in [fixture(), root().join("clients/clients.yaml")] {
        let (model, zones) = render(&catalog);
        for zone in &zones {
            for c in model
                .clients
                .iter()
                .filter(|c| c.deployments.contains_key(&zone.model.name))
            {
                let ns = c.namespace.as_str();
                let at = format!("{}/{}", zone.model.name, c.name);
                let Some(quota) = zone.named("ResourceQuota", ns, "compute") else {
                    assert_eq!(c.hosting, tenantgen::catalog::Hosting::Shared, "{at}");
                    continue;
                };
                quotas += 1;
                let short = quota_shortfalls(zone, ns, quota);
                assert!(short.is_empty(), "{short:#?}");
                // Left out of the catalog, requests.storage is the volumes' sum, or absent.
                let (storage, claims) = claimed_storage(zone, ns);
                let set = s(quota, "/spec/hard/requests.storage");
                if claims == 0 {
                    assert_eq!(set, "", "{at}: no storage line without volumes");
                } else {
                    assert_eq!(
                        tenantgen::quantity::bytes(set),
                        Some(storage),
                        "{at}: requests.storage is the sum of the volumes"
                    );
                }
            }
        }
    }
    assert!(quotas >= 10, "dedicated quotas were checked ({quotas})");
}

/// A quota the catalog sets must admit what the workloads run at once and the volumes'
/// storage, or the API server refuses the surplus pods and claims.
#[test]
fn a_quota_below_the_workloads_peak_is_refused() {
    let digest = format!("1.0.0@sha256:{}", "a".repeat(64));
    let text = format!(
        "apiVersion: tenantgen.io/v1alpha1
kind: ClientCatalog
metadata: {{name: probe}}
spec:
  platform: {{domain: hosting.example.com}}
  zones:
    - {{name: only, distribution: managed, ingress: load-balancer}}
  clients:
    - name: a
      hosting: dedicated
      size: large
      image: registry.example.com/a/app
      versions: {{only: \"{digest}\"}}
      autoscaling: {{min: 2, max: 3}}
      quota: {{limitsCpu: \"2\", limitsMemory: 2Gi, requestsCpu: 400m, requestsMemory: 512Mi, requestsStorage: 1Gi}}
      workloads:
        web: {{port: 8080}}
        api: {{port: 8081, path: /api}}
        w: {{kind: worker, replicas: 3}}
        c: {{kind: cron, schedule: \"H * * * *\", concurrencyPolicy: Allow}}
      volumes:
        data: {{size: 5Gi, access: shared, mounts: {{web: /data}}}}
"
    );
    let repo = crate::support::repo_with_catalog(&text);
    let out = crate::support::run(repo.path(), &["validate"]);
    if out.status.code() == Some(0) {
        let (_, zones) = render(&repo.path().join("clients/clients.yaml"));
        let quota = zones[0]
            .named("ResourceQuota", "ded-a", "compute")
            .expect("quota");
        panic!(
            "validate accepts it; it renders {:#?}",
            quota_shortfalls(&zones[0], "ded-a", quota)
        );
    }
    assert!(crate::support::stderr(&out).contains("hint:"));
}

/// The Traefik chart's own entry points: (name, container port, exposed port, exposed by
/// default), as the pinned chart defines them.
const CHART_ENTRY_POINTS: [(&str, i64, i64, bool); 4] = [
    ("metrics", 9100, 9100, false),
    ("traefik", 8080, 8080, false),
    ("web", 8000, 80, true),
    ("websecure", 8443, 443, true),
];

/// Every port two things would claim at once in one zone's rendering: a pod naming or
/// numbering a port twice (the API server refuses a name twice), two Services asking for one
/// NodePort (the second is refused), two Traefik entry points binding one port or exposed on
/// one port of its Service (Traefik cannot start, or the chart's Service is refused).
fn port_collisions(zone: &Zone) -> Vec<String> {
    let mut out = Vec::new();
    let mut dup = |what: String, seen: &mut BTreeSet<String>, key: String| {
        if !seen.insert(key.clone()) {
            out.push(format!("{}: {what}: {key} twice", zone.model.name));
        }
    };
    for o in &zone.objects {
        let at = format!(
            "{} {}/{}",
            s(o, "/kind"),
            s(o, "/metadata/namespace"),
            s(o, "/metadata/name")
        );
        if matches!(s(o, "/kind"), "Deployment" | "CronJob") {
            for c in list(pod_spec(o), "/containers") {
                let (mut names, mut numbers) = (BTreeSet::new(), BTreeSet::new());
                for p in list(c, "/ports") {
                    dup(
                        format!("{at} port name"),
                        &mut names,
                        s(p, "/name").to_owned(),
                    );
                    dup(
                        format!("{at} container port"),
                        &mut numbers,
                        format!("{}/{}", p["containerPort"], s(p, "/protocol")),
                    );
                }
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for o in zone.objects.iter().filter(|o| s(o, "/kind") == "Service") {
        for p in list(o, "/spec/ports") {
            if let Some(n) = p["nodePort"].as_i64() {
                dup("nodePort".into(), &mut node_ports, n.to_string());
            }
        }
    }
    for o in &zone.objects {
        let values = match s(o, "/kind") {
            "HelmRelease" => o.pointer("/spec/values").cloned().unwrap_or_default(),
            "HelmChartConfig" => crate::support::parse_stream(s(o, "/spec/valuesContent"))
                .pop()
                .unwrap_or_default(),
            _ => continue,
        };
        let host_network = values["hostNetwork"] == true;
        let mut entries: BTreeMap<String, (i64, i64, bool)> = CHART_ENTRY_POINTS
            .iter()
            .map(|(n, p, e, x)| ((*n).to_owned(), (*p, *e, *x)))
            .collect();
        for (name, set) in values["ports"].as_object().into_iter().flatten() {
            let entry = entries.entry(name.clone()).or_insert((0, 0, false));
            if let Some(p) = set["port"].as_i64() {
                entry.0 = p;
                if set.get("exposedPort").is_none()
                    && !CHART_ENTRY_POINTS.iter().any(|c| c.0 == name)
                {
                    entry.1 = p;
                }
            }
            if let Some(e) = set["exposedPort"].as_i64() {
                entry.1 = e;
            }
            if let Some(x) = set.pointer("/expose/default").and_then(Value::as_bool) {
                entry.2 = x;
            }
        }
        let (mut bound, mut exposed) = (BTreeSet::new(), BTreeSet::new());
        for (name, (port, exposed_port, is_exposed)) in &entries {
            // On the host network a port bound on loopback still collides with the same port
            // bound on every address.
            dup(
                format!("Traefik entry point {name} binds"),
                &mut bound,
                port.to_string(),
            );
            if *is_exposed && !host_network {
                dup(
                    format!("Traefik Service exposes {name} on"),
                    &mut exposed,
                    exposed_port.to_string(),
                );
            }
        }
    }
    out
}

#[test]
fn no_two_things_claim_one_port_in_the_rendered_trees() {
    let mut catalogs: Vec<PathBuf> = crate::support::catalogs()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    catalogs.push(fixture());
    for catalog in catalogs {
        let (_, zones) = render(&catalog);
        for zone in &zones {
            let found = port_collisions(zone);
            assert!(found.is_empty(), "{}: {found:#?}", catalog.display());
        }
    }
}

/// A catalog with one client on three zones (load balancer, host network, edge proxy) whose
/// `extra` lines add TCP ports or metrics.
fn port_probe(extra: &str) -> String {
    let digest = format!("1.0.0@sha256:{}", "a".repeat(64));
    format!(
        "apiVersion: tenantgen.io/v1alpha1
kind: ClientCatalog
metadata: {{name: probe}}
spec:
  platform: {{domain: hosting.example.com}}
  zones:
    - {{name: lb, distribution: managed, ingress: load-balancer}}
    - {{name: hn, distribution: generic, ingress: host-network, nodeCidrs: [10.0.0.0/24]}}
    - {{name: edge, distribution: k3s, ingress: edge-proxy}}
  clients:
    - name: a
      hosting: shared
      size: small
      image: registry.example.com/a/app
      versions: {{lb: \"{digest}\", hn: \"{digest}\", edge: \"{digest}\"}}
      workloads:
        web: {{port: 8080}}
        w: {{kind: worker}}
{extra}
"
    )
}

/// Whatever validates renders without two things on one port: each of these catalogs must
/// be refused by `validate` (with a hint), since its rendering would be refused by the API
/// server or keep Traefik from starting.
#[test]
fn a_catalog_whose_ports_would_collide_is_refused() {
    let mut accepted = Vec::new();
    for (what, extra) in [
        (
            "a TCP port on 443, websecure's",
            "      tcpPorts: [{name: t, port: 443, workload: w}]",
        ),
        (
            "a TCP port on 80, web's",
            "      tcpPorts: [{name: t, port: 80, workload: w}]",
        ),
        (
            "a TCP port on 8080, Traefik's own on the node",
            "      tcpPorts: [{name: t, port: 8080, workload: w}]",
        ),
        (
            "a TCP port on 9100, Traefik's metrics on the node",
            "      tcpPorts: [{name: t, port: 9100, workload: w}]",
        ),
        (
            "two TCP ports with one default nodePort",
            "      tcpPorts: [{name: t, port: 8883, workload: w}, {name: u, port: 11651, workload: w}]",
        ),
        (
            "a TCP port named http",
            "      tcpPorts: [{name: http, port: 7000, workload: web, targetPort: 7001}]",
        ),
        (
            "a TCP port named metrics",
            "      tcpPorts: [{name: metrics, port: 7000, workload: w, targetPort: 7001}]\n      metrics: {workload: w, port: 9090}",
        ),
        (
            "a TCP target port on the http port",
            "      tcpPorts: [{name: t, port: 7000, workload: web, targetPort: 8080}]",
        ),
        (
            "metrics on the http port",
            "      metrics: {workload: web, port: 8080}",
        ),
        (
            "a TCP target port on the metrics port",
            "      tcpPorts: [{name: t, port: 7000, workload: w, targetPort: 9090}]\n      metrics: {workload: w, port: 9090}",
        ),
    ] {
        let repo = crate::support::repo_with_catalog(&port_probe(extra));
        let out = crate::support::run(repo.path(), &["validate"]);
        if out.status.code() == Some(0) {
            let (_, zones) = render(&repo.path().join("clients/clients.yaml"));
            let found: Vec<String> = zones.iter().flat_map(port_collisions).collect();
            accepted.push(format!("{what}: validate accepts it; it renders {found:?}"));
        } else {
            assert!(
                crate::support::stderr(&out).contains("hint:"),
                "{what}: {}",
                crate::support::stderr(&out)
            );
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

/// Objects of one zone that share a kind, namespace and name (kustomize refuses to build
/// them), and ServiceAccounts that take over one the cluster creates itself.
fn name_collisions(zone: &Zone) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for o in &zone.objects {
        let id = format!(
            "{} {} {}/{}",
            s(o, "/apiVersion"),
            s(o, "/kind"),
            s(o, "/metadata/namespace"),
            s(o, "/metadata/name")
        );
        if s(o, "/kind") == "ServiceAccount" && s(o, "/metadata/name") == "default" {
            out.push(format!("{}: {id} is the namespace's own", zone.model.name));
        }
        if !seen.insert(id.clone()) {
            out.push(format!("{}: {id} twice", zone.model.name));
        }
    }
    out
}

#[test]
fn no_two_objects_share_a_name_in_the_rendered_trees() {
    for (name, catalog) in crate::support::catalogs() {
        let (_, zones) = render(&catalog);
        let found: Vec<String> = zones.iter().flat_map(name_collisions).collect();
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}

/// A workload is named after its objects (ServiceAccount, Deployment, Service, Ingress): a
/// name that the client's other objects or the cluster already use must be refused.
#[test]
fn a_workload_named_like_another_object_is_refused() {
    let mut accepted = Vec::new();
    for (what, workloads) in [
        (
            "oauth2-proxy, forward-auth's Service",
            "oauth2-proxy: {port: 8080}",
        ),
        ("oauth2, forward-auth's Ingress", "oauth2: {port: 8080}"),
        (
            "default, the namespace's ServiceAccount",
            "default: {port: 8080}",
        ),
    ] {
        let text = format!(
            "apiVersion: tenantgen.io/v1alpha1
kind: ClientCatalog
metadata: {{name: probe}}
spec:
  platform:
    domain: hosting.example.com
    middlewares: {{forwardAuthAddress: \"http://oauth2-proxy.ge-system.svc.cluster.local/oauth2/auth\"}}
  zones:
    - {{name: only, distribution: managed, ingress: load-balancer}}
  clients:
    - name: a
      hosting: shared
      size: small
      image: registry.example.com/a/app
      versions: {{only: \"1.0.0\"}}
      middlewares: [forward-auth]
      workloads:
        {workloads}
"
        );
        let repo = crate::support::repo_with_catalog(&text);
        let out = crate::support::run(repo.path(), &["validate"]);
        if out.status.code() == Some(0) {
            let (_, zones) = render(&repo.path().join("clients/clients.yaml"));
            let found: Vec<String> = zones.iter().flat_map(name_collisions).collect();
            accepted.push(format!("{what}: validate accepts it; it renders {found:?}"));
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

fn container(workload: &Value) -> &Value {
    &list(pod_spec(workload), "/containers")[0]
}

#[test]
fn each_probe_checks_its_own_path_and_workers_and_jobs_serve_nothing() {
    let (_, zones) = render(&fixture());
    for zone in &zones {
        let at = &zone.model.name;
        let api = zone.named("Deployment", "ded-orchard", "api").expect("api");
        let c = container(api);
        assert_eq!(s(c, "/livenessProbe/httpGet/path"), "/livez", "{at}");
        assert_eq!(s(c, "/readinessProbe/httpGet/path"), "/readyz", "{at}");
        assert_eq!(s(c, "/startupProbe/httpGet/path"), "/startz", "{at}");
        // 120 s for the first healthy answer, probed every 5 s.
        let startup = &c["startupProbe"];
        assert_eq!(
            startup["periodSeconds"].as_i64().unwrap_or(0)
                * startup["failureThreshold"].as_i64().unwrap_or(0),
            120,
            "{at}"
        );
        assert_eq!(list(c, "/command"), [Value::from("/app/api")]);
        assert_eq!(
            list(c, "/args"),
            [Value::from("--listen"), Value::from(":8000")]
        );
        // The site's probes all use its one path.
        let site = container(
            zone.named("Deployment", "ded-orchard", "site")
                .expect("site"),
        );
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(s(site, &format!("/{probe}/httpGet/path")), "/", "{at}");
        }
        assert!(site.get("startupProbe").is_none(), "{at}: none asked for");
        for (ns, name) in [
            ("ded-orchard", "queue"),
            ("ded-orchard", "nightly"),
            ("ded-orchard", "sweep"),
            ("sh-beacon", "broker"),
            ("sh-lantern", "inform"),
        ] {
            let w = zone
                .named("Deployment", ns, name)
                .or_else(|| zone.named("CronJob", ns, name))
                .unwrap_or_else(|| panic!("{at}: {ns}/{name}"));
            let c = container(w);
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                assert!(c.get(probe).is_none(), "{at}: {name} has no {probe}");
            }
            assert!(container_port(w, "http").is_none(), "{at}: {name}");
            assert!(zone.named("Service", ns, name).is_none(), "{at}: {name}");
            assert!(zone.named("Ingress", ns, name).is_none(), "{at}: {name}");
        }
        let job = zone
            .named("CronJob", "ded-orchard", "nightly")
            .expect("job");
        assert_eq!(s(pod_spec(job), "/restartPolicy"), "Never", "{at}");
        assert_eq!(
            list(container(job), "/command"),
            [Value::from("/app/report")]
        );
    }
}

/// Per-zone overrides change hosts, config, replicas and size of one workload in one zone,
/// and nothing elsewhere.
#[test]
fn per_zone_overrides_change_one_workload_in_one_zone() {
    let (_, zones) = render(&fixture());
    let zone = |name: &str| zones.iter().find(|z| z.model.name == name).expect("zone");
    let hosts = |z: &Zone, ns: &str, name: &str| -> Vec<String> {
        let ingress = z.named("Ingress", ns, name).expect("ingress");
        list(ingress, "/spec/rules")
            .iter()
            .map(|r| s(r, "/host").to_owned())
            .collect()
    };
    let cpu_limit = |z: &Zone, ns: &str, kind: &str, name: &str| {
        s(
            container(z.named(kind, ns, name).expect("workload")),
            "/resources/limits/cpu",
        )
        .to_owned()
    };
    let (dev, staging, production) = (zone("dev"), zone("staging"), zone("production"));
    // orchard's api: its own hosts in dev and staging, the client's in production.
    assert_eq!(
        hosts(dev, "ded-orchard", "api"),
        ["api.dev.orchard.example"]
    );
    assert_eq!(hosts(dev, "ded-orchard", "site"), ["dev.orchard.example"]);
    assert_eq!(
        hosts(staging, "ded-orchard", "api"),
        ["staging.orchard.example"]
    );
    assert_eq!(hosts(production, "ded-orchard", "api"), ["orchard.example"]);
    assert_eq!(
        hosts(production, "ded-orchard", "site"),
        ["orchard.example"]
    );
    // Paths split the shared host between the two http workloads.
    let path = |z: &Zone, name: &str| {
        s(
            z.named("Ingress", "ded-orchard", name).expect("ingress"),
            "/spec/rules/0/http/paths/0/path",
        )
        .to_owned()
    };
    assert_eq!(path(production, "api"), "/api");
    assert_eq!(path(production, "site"), "/");
    // Replicas: one pod and no autoscaler in dev, the autoscaler in production.
    let api_dev = dev.named("Deployment", "ded-orchard", "api").expect("api");
    assert_eq!(api_dev["spec"]["replicas"], 1);
    assert!(
        dev.named("HorizontalPodAutoscaler", "ded-orchard", "api")
            .is_none()
    );
    assert!(
        production
            .named("HorizontalPodAutoscaler", "ded-orchard", "api")
            .is_some()
    );
    // Size: api is xlarge but large in dev; sweep is xlarge but large in staging.
    assert_eq!(cpu_limit(dev, "ded-orchard", "Deployment", "api"), "500m");
    assert_eq!(
        cpu_limit(production, "ded-orchard", "Deployment", "api"),
        "1000m"
    );
    assert_eq!(
        cpu_limit(staging, "ded-orchard", "CronJob", "sweep"),
        "500m"
    );
    assert_eq!(
        cpu_limit(production, "ded-orchard", "CronJob", "sweep"),
        "1000m"
    );
    assert_eq!(cpu_limit(dev, "ded-orchard", "CronJob", "sweep"), "1000m");
    // Config: the zone's value over the client's, the workload's own keys kept.
    let config = |z: &Zone, name: &str| {
        z.named("ConfigMap", "ded-orchard", name)
            .expect("config map")["data"]
            .clone()
    };
    assert_eq!(
        config(dev, "api-config"),
        serde_json::json!({"API_MODE": "public", "LOG_LEVEL": "debug"})
    );
    assert_eq!(
        config(production, "api-config"),
        serde_json::json!({"API_MODE": "public", "LOG_LEVEL": "info"})
    );
    assert_eq!(
        config(production, "queue-config"),
        serde_json::json!({"LOG_LEVEL": "info"})
    );
    // lantern: hosts, config, replicas and size in staging only.
    assert_eq!(
        hosts(staging, "sh-lantern", "web"),
        ["lantern.staging.example"]
    );
    assert_eq!(hosts(production, "sh-lantern", "web"), ["lantern.example"]);
    let web = |z: &Zone| {
        z.named("Deployment", "sh-lantern", "web")
            .expect("web")
            .clone()
    };
    assert_eq!(web(staging)["spec"]["replicas"], 2);
    assert_eq!(web(production)["spec"]["replicas"], 1);
    assert_eq!(
        cpu_limit(staging, "sh-lantern", "Deployment", "web"),
        "250m"
    );
    assert_eq!(
        cpu_limit(production, "sh-lantern", "Deployment", "web"),
        "100m"
    );
    assert!(
        staging
            .named("ConfigMap", "sh-lantern", "web-config")
            .is_some()
    );
    assert!(
        production
            .named("ConfigMap", "sh-lantern", "web-config")
            .is_none()
    );
}

/// Claims no running pod mounts. A tenant Kustomization waits (`wait: true`) until every
/// object it applies is ready, and a claim is ready once Bound; storage classes that bind on
/// first use (`WaitForFirstConsumer`: k3s's local-path, most block storage) leave a claim
/// only a CronJob mounts, or none, Pending until that job's first run, or for ever.
fn unbound_claims(zone: &Zone) -> Vec<String> {
    let mut out = Vec::new();
    for p in zone
        .objects
        .iter()
        .filter(|o| s(o, "/kind") == "PersistentVolumeClaim")
    {
        let ns = s(p, "/metadata/namespace");
        let name = s(p, "/metadata/name");
        if !zone.of("Deployment", ns).any(|d| claims(d).contains(&name)) {
            out.push(format!(
                "{}: {ns}/{name} is mounted by no Deployment",
                zone.model.name
            ));
        }
    }
    out
}

#[test]
fn every_claim_is_mounted_by_a_running_workload() {
    for (name, catalog) in crate::support::catalogs() {
        let (_, zones) = render(&catalog);
        let found: Vec<String> = zones.iter().flat_map(unbound_claims).collect();
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}

#[test]
fn a_volume_no_running_workload_mounts_is_refused() {
    let mut accepted = Vec::new();
    for mounts in ["{}", "{report: /data}"] {
        let text = format!(
            "apiVersion: tenantgen.io/v1alpha1
kind: ClientCatalog
metadata: {{name: probe}}
spec:
  platform: {{domain: hosting.example.com}}
  zones:
    - {{name: only, distribution: k3s, ingress: edge-proxy, storageClass: local-path}}
  clients:
    - name: a
      hosting: shared
      size: small
      image: registry.example.com/a/app
      versions: {{only: \"1.0.0\"}}
      workloads:
        web: {{port: 8080}}
        report: {{kind: cron, schedule: \"H 3 * * *\"}}
      volumes:
        data: {{size: 1Gi, mounts: {mounts}}}
"
        );
        let repo = crate::support::repo_with_catalog(&text);
        let out = crate::support::run(repo.path(), &["validate"]);
        if out.status.code() == Some(0) {
            let (_, zones) = render(&repo.path().join("clients/clients.yaml"));
            let found: Vec<String> = zones.iter().flat_map(unbound_claims).collect();
            accepted.push(format!("mounts {mounts}: validate accepts it; {found:?}"));
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

/// forward-auth on a client without an http workload: nothing to sign in on, so no OAuth
/// route (an Ingress with no rules) and no stand-in Service for the proxy.
#[test]
fn forward_auth_without_an_http_workload_adds_no_sign_in_route() {
    let text = port_probe("").replace(
        "      workloads:\n        web: {port: 8080}\n",
        "      middlewares: [forward-auth]\n      workloads:\n",
    ).replace(
        "  platform: {domain: hosting.example.com}",
        "  platform:\n    domain: hosting.example.com\n    middlewares: {forwardAuthAddress: http://oauth2-proxy.ge-system.svc/oauth2/auth}",
    );
    let (_, zones) = render_text(&text);
    for zone in &zones {
        let ingresses: Vec<&Value> = zone.of("Ingress", "sh-a").collect();
        assert!(ingresses.is_empty(), "{}: {ingresses:?}", zone.model.name);
        assert!(
            zone.named("Service", "sh-a", "oauth2-proxy").is_none(),
            "{}",
            zone.model.name
        );
    }
}

/// A shared (ReadWriteMany) volume in a zone whose storage class attaches volumes to one node
/// (k3s local-path) would stay Pending: `validate` warns, naming the zone, and still passes.
#[test]
fn a_shared_volume_on_a_single_node_storage_class_is_a_warning() {
    let out = crate::support::run(
        &crate::support::root(),
        &["validate", "tests/fixtures/valid/workloads.yaml"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("zone `dev` provisions volumes with `local-path`")
            && err.contains("[shared-volume-on-single-node-class]"),
        "{err}"
    );
    assert!(!err.contains("zone `staging` provisions"), "{err}");
}
