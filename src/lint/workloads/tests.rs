//! tests: generated catalogs of every shape the workload fields allow reach the model and
//! render without a panic, or are refused by a lint.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::source::Source;

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &[T]) -> impl Strategy<Value = T> + use<T> {
    prop::sample::select(items.to_vec())
}

const NAMES: [&str; 5] = ["web", "api", "worker", "report", "oauth2"];

fn workload() -> impl Strategy<Value = Value> {
    (
        pick(&["http", "worker", "cron"]),
        prop::option::of(pick(&[8080u16, 9090, 1883])),
        prop::option::of(pick(&[0u32, 1, 3])),
        prop::option::of(pick(&["H 3 * * *", "60 * * * *", "*/5 * * * 7"])),
        prop::option::of(pick(&["small", "large", "xlarge"])),
        prop::option::of(pick(&["/", "/api"])),
    )
        .prop_map(|(kind, port, replicas, schedule, size, path)| {
            let fields = [
                ("kind", Some(json!(kind))),
                ("port", port.map(|p| json!(p))),
                ("replicas", replicas.map(|r| json!(r))),
                ("schedule", schedule.map(|s| json!(s))),
                ("size", size.map(|s| json!(s))),
                ("path", path.map(|p| json!(p))),
            ];
            let w: serde_json::Map<String, Value> = fields
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                .collect();
            Value::Object(w)
        })
}

fn client() -> impl Strategy<Value = Value> {
    (
        pick(&["shared", "dedicated"]),
        pick(&["small", "large", "xlarge"]),
        prop::collection::btree_map(pick(&NAMES), workload(), 0..4),
        prop::collection::btree_map(
            pick(&["data", "files"]),
            (
                pick(&["single-node", "shared"]),
                prop::collection::btree_map(pick(&NAMES), pick(&["/data", "/tmp"]), 0..3),
                pick(&["1Gi", "0"]),
            ),
            0..3,
        ),
        prop::collection::vec(
            (
                pick(&["mqtt", "web", "http"]),
                pick(&[80u16, 8443, 1883]),
                pick(&NAMES),
            ),
            0..3,
        ),
        prop::option::of((pick(&NAMES), pick(&[9090u16, 8080, 1883]))),
        prop::option::of((pick(&NAMES), prop::option::of(pick(&[0u32, 2])))),
        prop::option::of(pick(&[1u32, 3])),
        any::<bool>(),
    )
        .prop_map(
            |(hosting, size, workloads, volumes, tcp, metrics, ov, replicas, autoscale)| {
                let volumes: serde_json::Map<String, Value> = volumes
                    .into_iter()
                    .map(|(name, (access, mounts, size))| {
                        (
                            name.to_owned(),
                            json!({"size": size, "access": access, "mounts": mounts}),
                        )
                    })
                    .collect();
                let tcp: Vec<Value> = tcp
                    .into_iter()
                    .map(|(name, port, w)| json!({"name": name, "port": port, "workload": w}))
                    .collect();
                let mut c = json!({
                    "name": "acme",
                    "hosting": hosting,
                    "size": size,
                    "image": "registry.example.com/acme/app",
                    "versions": {"dev": "1.0.0", "staging": "1.0.0"},
                    "workloads": workloads,
                    "volumes": volumes,
                    "tcpPorts": tcp,
                });
                if let Some(m) = c.as_object_mut() {
                    if let Some((w, port)) = metrics {
                        m.insert("metrics".into(), json!({"workload": w, "port": port}));
                    }
                    if let Some((w, r)) = ov {
                        let wov = r.map_or(json!({}), |r| json!({"replicas": r}));
                        m.insert("overrides".into(), json!({"dev": {"workloads": {w: wov}}}));
                    }
                    if let Some(r) = replicas {
                        m.insert("replicas".into(), json!(r));
                    }
                    if autoscale {
                        m.insert("autoscaling".into(), json!({"max": 4}));
                    }
                }
                c
            },
        )
}

/// Drops what the lints would refuse for a reason other than how workloads, volumes,
/// ports and replicas combine, so that many generated catalogs reach the model.
fn tidy(c: &mut Value) {
    let Some(m) = c.as_object_mut() else { return };
    m.insert("size".into(), json!("large"));
    let dedicated = m.get("hosting") == Some(&json!("dedicated"));
    if !dedicated {
        m.remove("autoscaling");
    }
    if dedicated && m.get("replicas").is_some_and(|r| r.as_u64() < Some(2)) {
        m.remove("replicas");
    }
    let mut kinds = serde_json::Map::new();
    if let Some(Value::Object(ws)) = m.get_mut("workloads") {
        ws.remove("oauth2");
        for (name, w) in ws.iter_mut() {
            let Some(w) = w.as_object_mut() else { continue };
            let kind = w.get("kind").cloned().unwrap_or(json!("http"));
            w.remove("size");
            w.remove("schedule");
            if kind != json!("http") {
                w.remove("port");
                w.remove("path");
            }
            if kind == json!("cron") {
                w.remove("replicas");
                w.insert("schedule".into(), json!("H 3 * * *"));
            }
            kinds.insert(name.clone(), kind);
        }
    }
    if kinds.is_empty() {
        kinds.insert("web".into(), json!("http"));
    }
    let usable = |w: &Value| {
        w.as_str()
            .and_then(|w| kinds.get(w))
            .is_some_and(|k| *k != json!("cron"))
    };
    if let Some(Value::Object(vs)) = m.get_mut("volumes") {
        for (name, v) in vs.iter_mut() {
            v["size"] = json!("1Gi");
            if let Some(Value::Object(mounts)) = v.get_mut("mounts") {
                mounts.retain(|w, _| kinds.contains_key(w));
                for path in mounts.values_mut() {
                    *path = json!(format!("/data/{name}"));
                }
            }
        }
    }
    if let Some(Value::Array(ts)) = m.get_mut("tcpPorts") {
        ts.retain(|t| usable(&t["workload"]));
        for (i, t) in ts.iter_mut().enumerate() {
            t["name"] = json!(format!("tcp{i}"));
            t["port"] = json!(20000 + i);
        }
    }
    if m.get("metrics").is_some_and(|mt| !usable(&mt["workload"])) {
        m.remove("metrics");
    }
    if let Some(mt) = m.get_mut("metrics") {
        mt["port"] = json!(9999);
    }
    let explicit = m
        .get("workloads")
        .is_some_and(|w| w.as_object().is_some_and(|w| !w.is_empty()));
    if let Some(Value::Object(ov)) = m.get_mut("overrides")
        && let Some(Value::Object(ws)) = ov.get_mut("dev").and_then(|d| d.get_mut("workloads"))
    {
        ws.retain(|w, _| explicit && kinds.contains_key(w));
        for (w, o) in ws.iter_mut() {
            if kinds.get(w) == Some(&json!("cron"))
                && let Some(o) = o.as_object_mut()
            {
                o.remove("replicas");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// Whatever a user writes about workloads, volumes, ports and metrics, the lints
    /// either refuse it or the model takes it and every zone renders: never a panic,
    /// never an internal error.
    #[test]
    fn what_the_lints_pass_models_and_renders(
        clients in prop::collection::vec((client(), any::<bool>()), 1..3)
    ) {
        let clients: Vec<Value> = clients
            .into_iter()
            .enumerate()
            .map(|(i, (mut c, tidied))| {
                c["name"] = json!(format!("client-{i}"));
                if tidied {
                    tidy(&mut c);
                }
                c
            })
            .collect();
        let catalog = json!({
            "apiVersion": "tenantgen.io/v1alpha1",
            "kind": "ClientCatalog",
            "metadata": {"name": "t"},
            "spec": {"platform": {"domain": "example.com"}, "clients": clients},
        });
        let text = catalog.to_string();
        match crate::check::check_source(Source::from_text("c.yaml", text.clone())) {
            Ok(checked) => {
                for zone in &checked.model.zones {
                    let objects = crate::render::zone(&checked.model, zone, &crate::render::Options::default());
                    prop_assert!(!objects.is_empty());
                }
            }
            Err(problems) => {
                let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
                prop_assert!(
                    !all.iter().any(|p| p.contains("[internal]")),
                    "{text}\n{}", all.join("\n")
                );
            }
        }
    }
}

/// What the workload rules must not refuse: one host split by path, a shared volume on two
/// workloads, a single-node volume at one replica, named schedule fields, ports that differ
/// only by zone, NodePorts set apart by hand, metrics beside the http port.
#[test]
fn rules_leave_what_works_alone() {
    let text = r#"
apiVersion: tenantgen.io/v1alpha1
kind: ClientCatalog
metadata: {name: t}
spec:
  platform: {domain: example.com}
  zones:
    - {name: dev, ingress: edge-proxy}
    - {name: metal, ingress: host-network, nodeCidrs: [10.0.0.0/24]}
  clients:
    - name: acme
      hosting: dedicated
      size: large
      image: registry.example.com/acme/app
      versions: {dev: "1.0.0"}
      hosts: [acme.example]
      quota: {persistentVolumeClaims: 2, requestsStorage: 12Gi}
      workloads:
        web: {port: 8000}
        api: {port: 8001, path: /api}
        admin: {port: 8002, path: /admin, hosts: [admin.acme.example]}
        worker: {kind: worker, replicas: 1}
        report: {kind: cron, schedule: "H 3 1-15/2 jan-JUN MON-FRI", concurrencyPolicy: Allow}
      volumes:
        uploads: {size: 10Gi, access: shared, mounts: {web: /data/uploads, worker: /data/uploads}}
        queue: {size: 2Gi, mounts: {worker: /data/queue}}
      tcpPorts:
        - {name: mqtt, port: 8443, workload: worker, targetPort: 1883}
        - {name: amqp, port: 11211, workload: worker, nodePort: 31111}
      metrics: {workload: web, port: 9090}
      overrides:
        dev:
          workloads:
            admin: {hosts: [admin.dev.acme.example], replicas: 2}
            worker: {replicas: 1}
    - name: globex
      hosting: shared
      size: small
      image: registry.example.com/globex/app
      versions: {metal: "1.0.0@sha256:5b2e9d1c7a3f8e6d4c2b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"}
      volumes:
        data: {size: 1Gi, mounts: {web: /data}}
      tcpPorts:
        - {name: mqtt, port: 8443, workload: web, targetPort: 1883}
"#;
    let checked = crate::check::check_source(Source::from_text("ok.yaml", text));
    let problems: Vec<String> = checked
        .as_ref()
        .err()
        .map(|ps| ps.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `routes` (what the catalog-wide host rules read) resolves hosts as the model does: a
/// workload override, then the workload's own, then a zone override of the client's, then
/// the client's, then `<name>.<domain>`; each with the pointer it was written at.
#[test]
fn routes_name_each_host_where_it_was_written() {
    let client: crate::catalog::Client = serde_json::from_value(json!({
        "name": "acme", "hosting": "shared", "size": "small",
        "image": "registry.example.com/acme/app",
        "versions": {"dev": "1", "staging": "1", "nowhere": "1"},
        "hosts": ["A.example."],
        "workloads": {
            "api": {"hosts": ["api.example"]},
            "admin": {"path": "/admin/"},
            "worker": {"kind": "worker"},
        },
        "overrides": {
            "dev": {"workloads": {"api": {"hosts": ["api.dev.example"]}}},
            "staging": {"hosts": ["s.example"]},
        },
    }))
    .expect("client");
    let zones = super::deployed_zones(&client, Some(&["dev", "staging"]));
    assert_eq!(zones, ["dev", "staging"]);
    let got: Vec<(String, String, String, String, String)> =
        super::routes(&client, "/c", &zones, Some("example.com"))
            .into_iter()
            .map(|r| (r.zone, r.workload, r.host, r.path, r.pointer))
            .collect();
    let want = [
        ("dev", "admin", "a.example", "/admin", "/c/hosts/0"),
        (
            "dev",
            "api",
            "api.dev.example",
            "/",
            "/c/overrides/dev/workloads/api/hosts/0",
        ),
        (
            "staging",
            "admin",
            "s.example",
            "/admin",
            "/c/overrides/staging/hosts/0",
        ),
        (
            "staging",
            "api",
            "api.example",
            "/",
            "/c/workloads/api/hosts/0",
        ),
    ]
    .map(|(a, b, c, d, e)| (a.into(), b.into(), c.into(), d.into(), e.into()));
    assert_eq!(got, want);
    let plain: crate::catalog::Client = serde_json::from_value(json!({
        "name": "globex", "hosting": "shared", "size": "small",
        "image": "registry.example.com/globex/app", "versions": {"dev": "1"},
    }))
    .expect("client");
    let r = super::routes(&plain, "/g", &["dev"], Some("example.com"));
    assert_eq!(r.len(), 1);
    assert_eq!(
        (
            r[0].host.as_str(),
            r[0].pointer.as_str(),
            r[0].default,
            r[0].workload.as_str()
        ),
        ("globex.example.com", "/g/name", true, "web")
    );
}
