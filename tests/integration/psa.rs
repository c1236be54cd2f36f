//! Pod Security Admission `restricted`, as a walker over every rendered pod template: the
//! same rules the API server enforces in the client namespaces (labelled `enforce:
//! restricted`), so a regression fails here before it fails in a cluster.

use serde_json::Value;

use crate::support::catalogs;

const ALLOWED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn pod_spec(object: &Value) -> Option<&Value> {
    match object.get("kind").and_then(Value::as_str)? {
        "Pod" => object.get("spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            object.pointer("/spec/template/spec")
        }
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

fn is_true(v: Option<&Value>) -> bool {
    v == Some(&Value::Bool(true))
}

/// Every `restricted` rule the pod template of `object` breaks (empty for other kinds).
pub fn violations(object: &Value) -> Vec<String> {
    let Some(spec) = pod_spec(object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(host)) {
            out.push(format!("{host} is true"));
        }
    }
    for v in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kinds: Vec<&String> = v
            .as_object()
            .map(|m| m.keys().filter(|k| *k != "name").collect())
            .unwrap_or_default();
        for k in kinds {
            if !ALLOWED_VOLUMES.contains(&k.as_str()) {
                out.push(format!("volume type {k} is not allowed"));
            }
        }
    }
    let pod_sc = spec.get("securityContext");
    let pod_non_root = pod_sc.and_then(|s| s.get("runAsNonRoot")) == Some(&Value::Bool(true));
    let pod_seccomp = pod_sc
        .and_then(|s| s.pointer("/seccompProfile/type"))
        .and_then(Value::as_str);
    if pod_sc
        .and_then(|s| s.get("runAsUser"))
        .and_then(Value::as_i64)
        == Some(0)
    {
        out.push("pod runAsUser is 0".into());
    }
    for sysctl in pod_sc
        .and_then(|s| s.get("sysctls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(format!("sysctl {sysctl} set"));
    }
    let containers = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten();
    for c in containers {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let sc = c.get("securityContext");
        let get = |k: &str| sc.and_then(|s| s.get(k));
        if is_true(get("privileged")) {
            out.push(format!("{name}: privileged"));
        }
        if get("allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
            out.push(format!("{name}: allowPrivilegeEscalation is not false"));
        }
        let drops: Vec<&str> = sc
            .and_then(|s| s.pointer("/capabilities/drop"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !drops.contains(&"ALL") {
            out.push(format!("{name}: capabilities do not drop ALL"));
        }
        for add in sc
            .and_then(|s| s.pointer("/capabilities/add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if add.as_str() != Some("NET_BIND_SERVICE") {
                out.push(format!("{name}: adds capability {add}"));
            }
        }
        let non_root = match get("runAsNonRoot") {
            Some(Value::Bool(b)) => *b,
            _ => pod_non_root,
        };
        if !non_root {
            out.push(format!("{name}: runAsNonRoot is not true"));
        }
        if get("runAsUser").and_then(Value::as_i64) == Some(0) {
            out.push(format!("{name}: runAsUser is 0"));
        }
        let seccomp = sc
            .and_then(|s| s.pointer("/seccompProfile/type"))
            .and_then(Value::as_str)
            .or(pod_seccomp);
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            out.push(format!(
                "{name}: seccompProfile is not RuntimeDefault or Localhost"
            ));
        }
        for p in c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                out.push(format!("{name}: uses a hostPort"));
            }
        }
        if get("procMount")
            .and_then(Value::as_str)
            .is_some_and(|m| m != "Default")
        {
            out.push(format!("{name}: procMount is not Default"));
        }
    }
    out
}

#[test]
fn every_rendered_pod_is_admitted_by_pod_security_restricted() {
    let mut pods = 0;
    for (name, catalog) in catalogs() {
        let checked = tenantgen::check::check_file(&catalog).expect("valid catalog");
        let model = &checked.model;
        for zone in &model.zones {
            let objects =
                tenantgen::render::zone(model, zone, &tenantgen::render::Options::default());
            for p in &objects {
                let value = p.value();
                if pod_spec(&value).is_some() {
                    pods += 1;
                    let v = violations(&value);
                    assert!(
                        v.is_empty(),
                        "{name}/{}: {}/{}/{} breaks restricted: {v:?}",
                        zone.name,
                        p.kind(),
                        p.namespace(),
                        p.name()
                    );
                    // ... and it runs in a namespace that enforces restricted.
                    let ns = objects
                        .iter()
                        .find(|n| n.kind() == "Namespace" && n.name() == p.namespace());
                    let level = ns
                        .and_then(|n| n.object.metadata().labels.as_ref())
                        .and_then(|l| l.get("pod-security.kubernetes.io/enforce"))
                        .map_or("", String::as_str);
                    assert_eq!(
                        level,
                        "restricted",
                        "{name}/{}: namespace {} must enforce restricted",
                        zone.name,
                        p.namespace()
                    );
                }
            }
        }
    }
    assert!(pods > 10, "the walker saw the workloads ({pods})");
}

#[test]
fn the_walker_catches_what_restricted_forbids() {
    let bad = serde_json::json!({
        "kind": "Deployment",
        "spec": {"template": {"spec": {
            "hostNetwork": true,
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}], "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]
        }}}
    });
    let v = violations(&bad);
    for expected in [
        "hostNetwork",
        "hostPath",
        "allowPrivilegeEscalation",
        "drop ALL",
        "SYS_ADMIN",
        "runAsNonRoot",
        "seccompProfile",
        "hostPort",
    ] {
        assert!(
            v.iter().any(|x| x.contains(expected)),
            "missing {expected} in {v:?}"
        );
    }
}
