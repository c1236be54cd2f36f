//! Unit tests of the comparison and its flags on synthetic objects.

use super::*;
use serde_json::json;

fn side(objects: &[(&str, Option<&str>, &str, Value)]) -> Side {
    objects
        .iter()
        .map(|(zone, client, by, v)| {
            (
                key_of(zone, v),
                Object {
                    client: client.map(str::to_owned),
                    applied_by: (*by).to_owned(),
                    value: v.clone(),
                },
            )
        })
        .collect()
}

fn rules(r: &Report) -> Vec<&'static str> {
    r.flags.iter().map(|f| f.rule).collect()
}

fn ns(name: &str, level: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}})
}

fn deployment(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "sh-a"}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[test]
fn pod_security_lowered_is_blocking() {
    let r = compare(
        &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "restricted"))]),
        &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "baseline"))]),
        None,
    );
    assert_eq!(rules(&r), ["pod-security-lowered"]);
    assert_eq!(r.flags[0].severity, Severity::Block);
    let raised = compare(
        &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "baseline"))]),
        &side(&[("dev", Some("a"), "sh-a", ns("sh-a", "restricted"))]),
        None,
    );
    assert!(raised.flags.is_empty());
}

#[test]
fn images_moving_to_latest_or_losing_their_digest_in_production_are_blocking() {
    let pinned = deployment("r/a:1.0@sha256:00");
    for (zone, image, rule) in [
        ("dev", "r/a:latest", "image-latest"),
        ("dev", "r/a", "image-latest"),
        ("production", "r/a:1.1", "image-without-digest"),
    ] {
        let r = compare(
            &side(&[(zone, Some("a"), "sh-a", pinned.clone())]),
            &side(&[(zone, Some("a"), "sh-a", deployment(image))]),
            None,
        );
        assert_eq!(rules(&r), [rule], "{zone} {image}");
    }
    let ok = compare(
        &side(&[("staging", Some("a"), "sh-a", pinned.clone())]),
        &side(&[("staging", Some("a"), "sh-a", deployment("r/a:1.1"))]),
        None,
    );
    assert!(ok.flags.is_empty(), "tags are fine before production");
}

#[test]
fn moving_an_object_between_kustomizations_and_removing_volumes_are_flagged() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ge-hosting"}});
    let r = compare(
        &side(&[("dev", None, "infra-configs", cm.clone())]),
        &side(&[("dev", None, "infra-controllers", cm)]),
        None,
    );
    assert_eq!(rules(&r), ["moved-between-kustomizations"]);
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "ded-a"}});
    let staying = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ded-a"}});
    let r = compare(
        &side(&[
            ("dev", Some("a"), "ded-a", pvc),
            ("dev", Some("a"), "ded-a", staying.clone()),
        ]),
        &side(&[("dev", Some("a"), "ded-a", staying)]),
        None,
    );
    assert_eq!(rules(&r), ["volume-removed"]);
}

#[test]
fn a_client_leaving_a_zone_is_one_flag_there_saying_what_prune_deletes() {
    let obj = |kind: &str, name: &str| json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "ded-a"}});
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ded-a"}});
    let deny = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": "ded-a"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
    let objects = |zone| {
        vec![
            (zone, Some("a"), "ded-a", ns.clone()),
            (zone, Some("a"), "ded-a", deny.clone()),
            (
                zone,
                Some("a"),
                "ded-a",
                obj("PersistentVolumeClaim", "data"),
            ),
            (zone, Some("a"), "ded-a", obj("ResourceQuota", "compute")),
        ]
    };
    let base = side(&[objects("dev"), objects("staging")].concat());
    // `a` stays in staging with one object less; it leaves dev.
    let mut r = compare(&base, &side(&objects("staging")[..3]), None);
    assert_eq!(rules(&r), ["client-removed", "guardrail-removed"]);
    let removal = &r.flags[0];
    assert_eq!(
        (removal.severity, removal.zone.as_deref()),
        (Severity::Block, Some("dev"))
    );
    assert_eq!(
        removal.message,
        "`a` leaves dev: Flux prune deletes namespace `ded-a` and everything in it \
         (3 objects: 1 × NetworkPolicy, 1 × PersistentVolumeClaim, 1 × ResourceQuota); \
         the data of 1 PersistentVolumeClaim is lost"
    );
    // Approval downgrades exactly the removal, and says so.
    r.approve(Approval::Removal);
    assert_eq!(r.flags[0].severity, Severity::Caution, "the guardrail flag");
    assert_eq!(r.flags[1].rule, "client-removed");
    assert_eq!(r.flags[1].severity, Severity::Info);
    assert!(
        r.flags[1]
            .message
            .ends_with("approved as deliberate (`--approve removal`)")
    );
    assert_eq!(r.approved, [Approval::Removal]);
}

#[test]
fn two_clients_routing_one_host_is_blocking() {
    let ing = |ns: &str| json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": ns}, "spec": {"rules": [{"host": "shop.example.com"}]}});
    let r = compare(
        &Side::new(),
        &side(&[
            ("dev", Some("a"), "sh-a", ing("sh-a")),
            ("dev", Some("b"), "sh-b", ing("sh-b")),
        ]),
        None,
    );
    assert!(rules(&r).contains(&"host-claimed-twice"));
}

#[test]
fn secret_values_are_never_printed() {
    let secret = |data: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "sh-a"}, "data": data});
    let base = side(&[(
        "dev",
        Some("a"),
        "sh-a",
        secret(json!({"password": "aHVudGVyMg==", "user": "YWRtaW4="})),
    )]);
    let head = side(&[(
        "dev",
        Some("a"),
        "sh-a",
        secret(json!({"password": "c2VjcmV0LXZhbHVl", "token": "dG9rZW4="})),
    )]);
    let r = compare(&base, &head, None);
    let diff = &r.changes[0].diff;
    for value in [
        "aHVudGVyMg==",
        "YWRtaW4=",
        "c2VjcmV0LXZhbHVl",
        "dG9rZW4=",
        "hunter2",
    ] {
        assert!(!diff.contains(value), "{value} leaked:\n{diff}");
    }
    assert!(
        diff.contains("+  password: \"<secret: changed, 7→12 bytes>\""),
        "{diff}"
    );
    assert!(
        diff.contains("-  user: \"<secret: 5 bytes>\""),
        "removed keys are shown: {diff}"
    );
    assert!(
        diff.contains("+  token: \"<secret: 5 bytes>\""),
        "added keys are shown: {diff}"
    );
}
