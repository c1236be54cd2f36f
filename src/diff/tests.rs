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

fn pvc(size: &str, class: &str, modes: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "files", "namespace": "ded-a"},
        "spec": {"storageClassName": class, "accessModes": modes, "resources": {"requests": {"storage": size}}}})
}

/// The flags of one object changing from `before` to `after` in `zone`.
fn change(zone: &str, before: Option<Value>, after: Option<Value>) -> Report {
    let one = |v: Option<Value>| {
        side(
            &v.map(|v| vec![(zone, Some("a"), "ded-a", v)])
                .unwrap_or_default(),
        )
    };
    // Another object of the client stays, so a removal is of one object, not of the client.
    let mut base = one(before);
    let mut head = one(after);
    let stay = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stays", "namespace": "ded-a"}});
    for s in [&mut base, &mut head] {
        s.extend(side(&[(zone, Some("a"), "ded-a", stay.clone())]));
    }
    compare(&base, &head, None)
}

#[test]
fn a_volume_that_shrinks_or_changes_class_or_access_modes_is_blocking() {
    let was = pvc("10Gi", "local-path", &["ReadWriteOnce"]);
    for (now, why) in [
        (
            pvc("5Gi", "local-path", &["ReadWriteOnce"]),
            "storage shrinks from 10Gi to 5Gi",
        ),
        (
            pvc("10Gi", "block", &["ReadWriteOnce"]),
            "storage class changes from `local-path` to `block`",
        ),
        (
            pvc("10Gi", "local-path", &["ReadWriteMany"]),
            "access modes change from ReadWriteOnce to ReadWriteMany",
        ),
    ] {
        let r = change("dev", Some(was.clone()), Some(now));
        assert_eq!(rules(&r), ["volume-change-refused"], "{why}");
        assert_eq!(r.flags[0].severity, Severity::Block);
        assert!(r.flags[0].message.contains(why), "{}", r.flags[0].message);
    }
    let grown = change(
        "dev",
        Some(was),
        Some(pvc("20Gi", "local-path", &["ReadWriteOnce"])),
    );
    assert!(
        grown.flags.is_empty(),
        "a volume may grow: {:?}",
        grown.flags
    );
}

fn cronjob(schedule: &str, time_zone: Option<&str>, image: &str) -> Value {
    let mut v = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "ded-a"},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "report", "image": image}]}}}}}});
    if let Some(z) = time_zone {
        v["spec"]["timeZone"] = json!(z);
    }
    v
}

#[test]
fn a_cron_schedule_or_time_zone_change_is_a_caution_saying_old_and_new() {
    let image = "r/a:1.0@sha256:00";
    let r = change(
        "dev",
        Some(cronjob("7 3 * * *", None, image)),
        Some(cronjob("7 4 * * *", None, image)),
    );
    assert_eq!(rules(&r), ["schedule-changed"]);
    assert_eq!(r.flags[0].severity, Severity::Caution);
    assert!(
        r.flags[0]
            .message
            .ends_with("runs at `7 4 * * *` instead of `7 3 * * *`"),
        "{}",
        r.flags[0].message
    );
    let r = change(
        "dev",
        Some(cronjob("7 3 * * *", None, image)),
        Some(cronjob("7 3 * * *", Some("Europe/Amsterdam"), image)),
    );
    assert_eq!(
        rules(&r),
        ["schedule-changed"],
        "the time zone moves the runs too"
    );
    let r = change(
        "dev",
        Some(cronjob("7 3 * * *", None, image)),
        Some(cronjob("7 3 * * *", None, "r/a:1.1@sha256:01")),
    );
    assert!(r.flags.is_empty(), "a new image is not a new schedule");
}

#[test]
fn images_of_cron_jobs_and_jobs_are_checked_like_deployments() {
    let r = change(
        "dev",
        Some(cronjob("7 3 * * *", None, "r/a:1.0")),
        Some(cronjob("7 3 * * *", None, "r/a:latest")),
    );
    assert_eq!(rules(&r), ["image-latest"]);
    let job = |image: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "ded-a"},
        "spec": {"template": {"spec": {"containers": [{"name": "migrate", "image": image}]}}}})
    };
    let r = change("production", None, Some(job("r/a:1.1")));
    assert_eq!(rules(&r), ["image-without-digest"]);
}

fn route_tcp(port: u16) -> Value {
    json!({"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRouteTCP", "metadata": {"name": "mqtt", "namespace": "ded-a"},
        "spec": {"entryPoints": [format!("tcp-{port}")], "routes": [{"match": "HostSNI(`*`)", "services": [{"name": "mqtt", "port": 1883}]}]}})
}

fn traefik_release(ports: Value) -> Value {
    json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "traefik", "namespace": "traefik"},
        "spec": {"values": {"ports": ports}}})
}

fn k3s_traefik(values: &str) -> Value {
    json!({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig", "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"valuesContent": values}})
}

#[test]
fn opening_a_tcp_port_is_a_caution_and_closing_one_is_info() {
    let r = change("dev", None, Some(route_tcp(8443)));
    assert_eq!(rules(&r), ["tcp-port-opened"]);
    assert_eq!(r.flags[0].severity, Severity::Caution);
    assert!(
        r.flags[0]
            .message
            .contains("opens TCP port 8443 to the internet in zone dev"),
        "{}",
        r.flags[0].message
    );
    let moved = change("dev", Some(route_tcp(8443)), Some(route_tcp(8883)));
    assert_eq!(rules(&moved), ["tcp-port-opened", "tcp-port-closed"]);
    let closed = change("dev", Some(route_tcp(8443)), None);
    assert_eq!(rules(&closed), ["tcp-port-closed"]);
    assert_eq!(closed.flags[0].severity, Severity::Info);

    let web = json!({"web": {"port": 8000}});
    let with_tcp = json!({"web": {"port": 8000}, "tcp-8443": {"port": 8443, "exposedPort": 8443, "expose": {"default": true}, "protocol": "TCP"}});
    let r = change(
        "dev",
        Some(traefik_release(web)),
        Some(traefik_release(with_tcp)),
    );
    assert_eq!(rules(&r), ["tcp-port-opened"]);
    assert!(
        r.flags[0].message.contains("port 8443"),
        "{}",
        r.flags[0].message
    );

    let r = change(
        "dev",
        Some(k3s_traefik("ports:\n  web:\n    redirectTo: websecure\n")),
        Some(k3s_traefik(
            "ports:\n  web:\n    redirectTo: websecure\n  tcp-1883:\n    port: 1883\n    exposedPort: 1883\n    expose:\n      default: true\n    protocol: TCP\n",
        )),
    );
    assert_eq!(rules(&r), ["tcp-port-opened"]);
    assert!(
        r.flags[0].message.contains("port 1883"),
        "{}",
        r.flags[0].message
    );
    let same = change(
        "dev",
        Some(k3s_traefik("ports:\n  tcp-1883:\n    port: 1883\n")),
        Some(k3s_traefik(
            "ports:\n  tcp-1883:\n    port: 1883\n  web:\n    port: 8000\n",
        )),
    );
    assert!(same.flags.is_empty(), "{:?}", same.flags);
}

#[test]
fn past_the_diff_budget_every_change_is_listed_and_flagged_diffs_are_kept_first() {
    let cm = |i: usize, value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i:04}"), "namespace": "sh-a"}, "data": {"big": value.repeat(1000)}});
    let many = |value: &str| -> Vec<(&str, Option<&str>, &str, Value)> {
        (0..2000)
            .map(|i| ("dev", Some("a"), "sh-a", cm(i, value)))
            .collect()
    };
    // The last client by name loses a NetworkPolicy: flagged, so its diff is kept first. It is
    // larger than any one ConfigMap's, so no slack left under the budget would hold it.
    let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-web", "namespace": "sh-z", "annotations": {"note": "n".repeat(5000)}}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}});
    let stays = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stays", "namespace": "sh-z"}});
    let mut base = side(&many("x"));
    base.extend(side(&[
        ("dev", Some("z"), "sh-z", policy),
        ("dev", Some("z"), "sh-z", stays.clone()),
    ]));
    let mut head = side(&many("y"));
    head.extend(side(&[("dev", Some("z"), "sh-z", stays)]));
    let r = compare(&base, &head, None);
    assert_eq!(r.changes.len(), 2001, "every change is listed");
    assert_eq!(r.counts.changed, 2000);
    let kept: usize = r.changes.iter().map(|c| c.diff.len()).sum();
    assert!(kept <= DIFF_BUDGET, "{kept} bytes of diffs kept");
    assert!(r.diffs_omitted > 1000, "{} omitted", r.diffs_omitted);
    assert_eq!(
        r.diffs_omitted,
        r.changes
            .iter()
            .filter(|c| c.diff_omitted && c.diff.is_empty())
            .count()
    );
    let removed = r
        .changes
        .iter()
        .find(|c| c.change == Change::Removed)
        .expect("the policy");
    assert!(
        !removed.diff_omitted && removed.diff.contains("allow-web"),
        "the flagged diff is kept"
    );
    // Otherwise the first changes in report order keep theirs, the rest are left out.
    let first_left_out = r
        .changes
        .iter()
        .position(|c| c.diff_omitted)
        .expect("some left out");
    assert!(
        r.changes[..first_left_out]
            .iter()
            .all(|c| !c.diff.is_empty())
    );
    assert!(
        r.changes[first_left_out..]
            .iter()
            .all(|c| c.diff_omitted || c.change == Change::Removed)
    );
}

fn checked(text: &str) -> crate::check::Checked {
    match crate::check::check_source(crate::source::Source::from_text("c.yaml", text)) {
        Ok(c) => c,
        Err(problems) => panic!("{problems:?}"),
    }
}

fn fingerprint(text: &str) -> Fingerprint {
    let source = crate::source::Source::from_text("c.yaml", text);
    let doc = crate::yaml::parse(&source).expect("parses");
    Fingerprint::of(&doc.value).expect("a catalog")
}

/// The synthetic catalog with `client`'s entry edited by `edit` (its lines, without the next
/// client's).
fn edit_client(text: &str, client: &str, edit: impl Fn(&str) -> String) -> String {
    let start = text
        .find(&format!("    - name: {client}\n"))
        .expect("client");
    let end = text[start..]
        .find("\n    - name: ")
        .map_or(text.len(), |i| start + i + 1);
    format!(
        "{}{}{}",
        &text[..start],
        edit(&text[start..end]),
        &text[end..]
    )
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn fingerprints_tell_which_clients_differ_and_anything_else_differing_is_everything() {
    let base = crate::synthetic::catalog(20);
    let fp = fingerprint(&base);
    assert_eq!(fp.changed(&fp), Some(BTreeSet::new()));
    let sizes = edit_client(&base, "client-00000", |c| {
        c.replace("size: small", "size: medium")
    });
    let sizes = edit_client(&sizes, "client-00010", |c| {
        c.replace("size: small", "size: large")
    });
    assert_eq!(
        fp.changed(&fingerprint(&sizes)),
        Some(names(&["client-00000", "client-00010"]))
    );
    let gone = edit_client(&base, "client-00004", |_| String::new());
    let added = format!(
        "{base}    - name: client-99999\n      hosting: shared\n      size: small\n      image: r/x\n      versions:\n        dev: \"1.0.0\"\n"
    );
    assert_eq!(
        fp.changed(&fingerprint(&gone)),
        Some(names(&["client-00004"]))
    );
    assert_eq!(
        fingerprint(&added).changed(&fp),
        Some(names(&["client-99999"]))
    );
    // Written differently, meaning the same: not a difference.
    let quoted = edit_client(&base, "client-00000", |c| {
        c.replace("size: small", "size: \"small\"")
    });
    assert_eq!(fp.changed(&fingerprint(&quoted)), Some(BTreeSet::new()));
    // The platform reaches every client.
    let platform = base.replace("domain: hosting.example.com", "domain: hosting.example.org");
    assert_eq!(fp.changed(&fingerprint(&platform)), None);
}

#[test]
fn a_kept_base_gives_the_report_of_both_catalogs_held_whole() {
    let base_text = crate::synthetic::catalog(20);
    let base = checked(&base_text);
    let resized = edit_client(&base_text, "client-00005", |c| {
        c.replace("size: small", "size: medium")
    });
    let heads = [
        resized.clone(),
        edit_client(&resized, "client-00001", |c| {
            c.replace("dev: \"1.2.0\"", "dev: \"1.3.0\"")
                .replace("staging: \"1.1.0\"", "staging: \"1.2.0\"")
        }),
        edit_client(&base_text, "client-00004", |_| String::new()),
        format!(
            "{base_text}    - name: client-99999\n      hosting: shared\n      size: small\n      image: r/x\n      versions:\n        dev: \"1.0.0\"\n"
        ),
    ];
    for head_text in heads {
        let head = checked(&head_text);
        let whole = compare_catalogs(&base, &head);
        assert!(whole.counts.total() > 0);
        let only = fingerprint(&base_text)
            .changed(&fingerprint(&head_text))
            .expect("clients differ, nothing else");
        assert_eq!(compare_kept(KeptBase::of(&base, &only), &head), whole);
        // More clients kept than differ (an entry written differently): the same report.
        let mut more = only.clone();
        more.extend(names(&["client-00000", "client-00002", "client-00017"]));
        let mut kept = KeptBase::of(&base, &more);
        kept.narrow(&head);
        assert_eq!(compare_kept(kept, &head), whole);
    }
}
