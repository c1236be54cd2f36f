//! tenantgen as a KRM function and kustomize plugin (SPEC §5), driven by its real callers.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use serde_json::Value;
use tenantgen::source::Source;
use tenantgen::yaml::{self, Numbers};

use crate::support::{parse_stream, rendered_repo, root, stderr, tool};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tenantgen")
}

/// The sample catalog annotated for `zone`, as a KRM function config.
fn catalog_for(zone: &str, extra_annotations: &str) -> String {
    let text = std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample");
    text.replacen(
        "metadata:\n  name: ge-hosting\n",
        &format!("metadata:\n  name: ge-hosting\n  annotations:\n    tenantgen.io/zone: {zone}\n{extra_annotations}"),
        1,
    )
}

fn krm(input: &str, dir: &Path) -> std::process::Output {
    let mut child = Command::new(bin())
        .arg("krm")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

/// A ResourceList with one user item and the catalog (indented) as functionConfig.
fn resource_list(catalog: &str) -> String {
    let mut s = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    s.push_str("  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: keep-me\n      namespace: default\n      annotations:\n        internal.config.kubernetes.io/path: keep.yaml\n        config.kubernetes.io/index: '0'\n    data:\n      on: on\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: mode\n      namespace: default\n    data: {}\n    immutable: true\n");
    s.push_str("functionConfig:\n");
    for line in catalog.lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn function_keeps_items_appends_the_zone_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = resource_list(&catalog_for(
        "staging",
        "    config.kubernetes.io/local-config: \"true\"\n    config.kubernetes.io/function: |\n      exec:\n        path: tenantgen\n",
    ));
    let out = krm(&input, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "the function never writes to the filesystem"
    );
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    assert_eq!(s(&list, "/kind"), "ResourceList");
    let items = list["items"].as_array().expect("items");
    assert_eq!(
        items[0]["metadata"]["name"], "keep-me",
        "input items come first, unchanged"
    );
    assert_eq!(
        items[0]["metadata"]["annotations"]["internal.config.kubernetes.io/path"],
        "keep.yaml"
    );
    assert_eq!(items[0]["data"]["on"], "on");
    for generated in &items[2..] {
        let annotations = generated
            .pointer("/metadata/annotations")
            .and_then(Value::as_object);
        for key in annotations.into_iter().flat_map(|a| a.keys()) {
            assert!(
                !key.starts_with("config.kubernetes.io/")
                    && !key.starts_with("internal.config.kubernetes.io/"),
                "{key} copied onto {}",
                s(generated, "/metadata/name")
            );
        }
    }
    assert!(
        items
            .iter()
            .any(|i| s(i, "/kind") == "Deployment" && s(i, "/metadata/namespace") == "ded-bigcorp")
    );
    assert!(
        list.get("results").is_none(),
        "no results on success without warnings"
    );

    // Fed its own output, the function replaces what it generated instead of duplicating it.
    let mut again = list.clone();
    again["functionConfig"] = parse_stream(&input).remove(0)["functionConfig"].clone();
    let mut text = String::new();
    tenantgen::emit::document(&mut text, &again);
    let second = parse_stream(&String::from_utf8_lossy(&krm(&text, dir.path()).stdout)).remove(0);
    assert_eq!(second["items"], list["items"]);
}

#[test]
fn problems_become_results_with_a_readable_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = catalog_for("staging", "").replacen("size: small", "size: huge", 1);
    let out = krm(&resource_list(&bad), dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("spec.clients[acme-corp].size"),
        "kustomize shows no results, so stderr says it: {}",
        stderr(&out)
    );
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    let results = list["results"].as_array().expect("results");
    assert_eq!(results[0]["severity"], "error");
    assert_eq!(results[0]["field"]["path"], "spec.clients[acme-corp].size");
    assert!(s(&results[0], "/message").contains("`huge`"));
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(2),
        "items are kept, nothing generated"
    );

    // Without the zone annotation.
    let text = std::fs::read_to_string(root().join("clients/clients.yaml")).expect("sample");
    let out = krm(&resource_list(&text), dir.path());
    assert_eq!(out.status.code(), Some(1));
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    assert!(s(&list, "/results/0/message").contains("tenantgen.io/zone"));

    // An unknown zone.
    let out = krm(&resource_list(&catalog_for("qa", "")), dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("zone `qa` is not in the catalog"));

    // When the config names its file, results point at the line in it.
    let file = dir.path().join("catalog.yaml");
    std::fs::write(&file, bad.clone()).expect("write");
    let with_path = bad.replacen(
        "    tenantgen.io/zone: staging\n",
        &format!(
            "    tenantgen.io/zone: staging\n    config.kubernetes.io/path: {}\n",
            file.display()
        ),
        1,
    );
    let out = krm(&resource_list(&with_path), dir.path());
    let line = bad
        .lines()
        .position(|l| l.contains("size: huge"))
        .expect("line")
        + 1;
    assert!(
        stderr(&out).contains(&format!("catalog.yaml:{line}:")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn warnings_are_results_but_not_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let warn = catalog_for("staging", "").replacen(
        "egress:\n",
        "egress:\n        - cidr: 0.0.0.0/0\n          allowLinkLocal: true\n",
        1,
    );
    let out = krm(&resource_list(&warn), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    assert_eq!(list["results"][0]["severity"], "warning");
}

fn identity(v: &Value) -> String {
    let group = s(v, "/apiVersion").rsplit_once('/').map_or("", |(g, _)| g);
    format!(
        "{group}/{}/{}/{}",
        s(v, "/kind"),
        s(v, "/metadata/namespace"),
        s(v, "/metadata/name")
    )
}

/// The objects the rendered tree applies in a zone: the union of `kubectl kustomize` over
/// every Flux Kustomization path.
fn tree_objects(repo: &Path, zone: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut queue = vec![format!("./clusters/{zone}")];
    let mut seen = BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let o = tool("kubectl", &["kustomize", &path], repo);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for obj in parse_stream(&String::from_utf8_lossy(&o.stdout)) {
            if s(&obj, "/kind") == "Kustomization"
                && s(&obj, "/apiVersion").starts_with("kustomize.toolkit.fluxcd.io")
            {
                queue.push(s(&obj, "/spec/path").to_owned());
            }
            out.push(obj);
        }
    }
    out.sort_by_key(identity);
    out
}

/// With `tenantgen.io/flux: "true"` the function yields exactly the objects the standalone
/// tree applies in the zone; by default the same minus Flux's own kinds, which a cluster that
/// applies objects directly (kpt, Argo CD) has no use for.
#[test]
fn function_output_equals_the_tree_in_every_zone() {
    let repo = rendered_repo(&root().join("clients/clients.yaml"));
    let is_flux = |v: &Value| {
        s(v, "/apiVersion")
            .split('/')
            .next()
            .is_some_and(|g| g.ends_with(".toolkit.fluxcd.io"))
    };
    for zone in ["dev", "staging", "production"] {
        let tree = tree_objects(repo.path(), zone);
        for (annotations, flux) in [("    tenantgen.io/flux: \"true\"\n", true), ("", false)] {
            let input = format!(
                "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n{}",
                catalog_for(zone, annotations)
                    .lines()
                    .map(|l| format!("  {l}\n"))
                    .collect::<String>()
            );
            let out = krm(&input, repo.path());
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            let mut generated: Vec<Value> = parse_stream(&String::from_utf8_lossy(&out.stdout))
                .remove(0)["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            generated.sort_by_key(identity);
            let expected: Vec<&Value> = tree.iter().filter(|o| flux || !is_flux(o)).collect();
            assert!(
                flux || generated.iter().all(|o| !is_flux(o)),
                "{zone}: no Flux object without the opt-in"
            );
            assert!(
                expected.iter().any(|o| s(o, "/kind") == "Deployment"),
                "{zone}: the client workloads are there"
            );
            assert_eq!(
                generated.len(),
                expected.len(),
                "{zone} (flux {flux}): same number of objects"
            );
            for (g, t) in generated.iter().zip(&expected) {
                assert_eq!(g, *t, "{zone}: {} differs", identity(g));
            }
        }
    }
}

#[test]
fn kpt_fn_eval_with_exec_and_fn_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(pkg.join("existing.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep-me\n  namespace: default\ndata:\n  a: b\n").expect("write");
    std::fs::write(
        dir.path().join("catalog.yaml"),
        catalog_for("production", ""),
    )
    .expect("write");
    let exec = format!("{} krm", bin());
    let eval = || {
        let args = [
            "fn",
            "eval",
            "pkg",
            "--exec",
            &exec,
            "--fn-config",
            "catalog.yaml",
            "-o",
            "unwrap",
        ];
        tool("kpt", &args, dir.path())
    };
    let out = eval();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = parse_stream(&String::from_utf8_lossy(&out.stdout));
    assert!(objects.iter().any(|o| s(o, "/metadata/name") == "keep-me"));
    assert!(objects.iter().any(|o| s(o, "/kind") == "Deployment" && s(o, "/metadata/namespace") == "sh-acme-corp"));
    assert!(
        !objects
            .iter()
            .any(|o| s(o, "/metadata/namespace") == "sh-initech"),
        "initech has no production version"
    );
    let bad = catalog_for("production", "").replacen("hosting: shared", "hosting: premium", 1);
    std::fs::write(dir.path().join("catalog.yaml"), bad).expect("write");
    let out = eval();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[error] spec.clients[acme-corp].hosting"),
        "kpt shows the results: {err}"
    );
}

#[test]
fn kpt_fn_render_runs_the_kptfile_pipeline_idempotently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path();
    std::fs::write(
        pkg.join("catalog.yaml"),
        catalog_for("dev", "    config.kubernetes.io/local-config: \"true\"\n"),
    )
    .expect("write");
    std::fs::write(pkg.join("Kptfile"), format!("apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: hosting\npipeline:\n  mutators:\n    - exec: \"{} krm\"\n      configPath: catalog.yaml\n", bin())).expect("write");
    let render = || {
        let out = tool("kpt", &["fn", "render", "--allow-exec", "."], pkg);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let o = tool("kpt", &["fn", "source", "."], pkg);
        parse_stream(&String::from_utf8_lossy(&o.stdout)).remove(0)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let first = render();
    let deployments = |items: &[Value]| {
        items
            .iter()
            .filter(|i| s(i, "/kind") == "Deployment")
            .count()
    };
    assert_eq!(
        deployments(&first),
        11,
        "six one-workload clients, honeydue's api, admin and worker, sensorhub's broker and the landing page in dev"
    );
    let second = render();
    assert_eq!(
        deployments(&second),
        11,
        "a second render replaces, never duplicates"
    );
    let text = std::fs::read_to_string(pkg.join("catalog.yaml"))
        .expect("read")
        .replacen("    - name: initech\n", "    - name: initech2\n", 1);
    std::fs::write(pkg.join("catalog.yaml"), text).expect("write");
    let third = render();
    assert!(
        !third
            .iter()
            .any(|i| s(i, "/metadata/namespace") == "sh-initech"),
        "a removed client's objects go"
    );
    assert!(
        third
            .iter()
            .any(|i| s(i, "/metadata/namespace") == "sh-initech2")
    );
}

#[test]
fn legacy_exec_plugin_for_kubectl_kustomize() {
    for via_xdg in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("plugins");
        let mut install = Command::new(bin());
        install
            .args(["plugin", "install"])
            .env_remove("KUSTOMIZE_PLUGIN_HOME")
            .env_remove("XDG_CONFIG_HOME");
        if via_xdg {
            install.env("XDG_CONFIG_HOME", dir.path().join("xdg"));
        } else {
            install.env("KUSTOMIZE_PLUGIN_HOME", &home);
        }
        let out = install.output().expect("install");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = if via_xdg {
            dir.path().join("xdg/kustomize/plugin")
        } else {
            home.clone()
        }
        .join("tenantgen.io/v1alpha1/clientcatalog/ClientCatalog");
        assert!(expected.is_file(), "plugin at {}", expected.display());
        let k = dir.path().join("k");
        std::fs::create_dir_all(&k).expect("mkdir");
        std::fs::write(k.join("catalog.yaml"), catalog_for("staging", "")).expect("write");
        std::fs::write(k.join("kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ngenerators:\n  - catalog.yaml\n").expect("write");
        let mut build = Command::new("kubectl");
        build
            .args(["kustomize", "--enable-alpha-plugins", "."])
            .current_dir(&k)
            .env_remove("KUSTOMIZE_PLUGIN_HOME")
            .env_remove("XDG_CONFIG_HOME");
        if via_xdg {
            build.env("XDG_CONFIG_HOME", dir.path().join("xdg"));
        } else {
            build.env("KUSTOMIZE_PLUGIN_HOME", &home);
        }
        let out = build.output().expect("kubectl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let objects = parse_stream(&String::from_utf8_lossy(&out.stdout));
        assert!(
            objects
                .iter()
                .any(|o| s(o, "/kind") == "HorizontalPodAutoscaler"
                    && s(o, "/metadata/namespace") == "ded-globex")
        );
    }
}

/// A ResourceList of `items` (already indented list entries) and the sample catalog for dev.
fn list_with_items(items: &str) -> String {
    let mut s = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    s.push_str(items);
    s.push_str("functionConfig:\n");
    for line in catalog_for("dev", "").lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

/// A ResourceList of exactly `bytes` bytes: ConfigMaps of about 1 MiB each, named `big-N`,
/// and a trailing comment for the last bytes. Returns the text and the item names.
fn list_of_bytes(bytes: usize) -> (String, Vec<String>) {
    let base = list_with_items("");
    let entry = |i: usize, data: usize| {
        format!(
            "  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: big-{i}\n    data:\n      blob: {}\n",
            "x".repeat(data)
        )
    };
    let mut items = String::new();
    let mut names = Vec::new();
    let step = entry(0, 1 << 20).len();
    while base.len() + items.len() + step + 16 <= bytes {
        items.push_str(&entry(names.len(), 1 << 20));
        names.push(format!("big-{}", names.len()));
    }
    let mut text = list_with_items(&items);
    let room = bytes - text.len();
    assert!(room >= 3, "room for the padding comment");
    text.push('#');
    text.push_str(&"p".repeat(room - 2));
    text.push('\n');
    assert_eq!(text.len(), bytes);
    (text, names)
}

#[test]
fn input_at_the_cap_keeps_every_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cap = tenantgen::krm::MAX_INPUT_BYTES as usize;
    let (text, names) = list_of_bytes(cap);
    let out = krm(&text, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer = String::from_utf8_lossy(&out.stdout);
    let kept: Vec<&str> = answer
        .lines()
        .filter_map(|l| l.strip_prefix("      name: big-"))
        .collect();
    assert_eq!(kept.len(), names.len(), "every item comes back");
    assert_eq!(kept.last().copied(), Some(&*format!("{}", names.len() - 1)));
    assert!(
        answer.contains(&format!("blob: {}\n", "x".repeat(1 << 20))),
        "items are kept whole"
    );
}

#[test]
fn input_over_the_cap_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cap = tenantgen::krm::MAX_INPUT_BYTES as usize;
    let (text, _) = list_of_bytes(cap + 1);
    let out = krm(&text, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("is {} bytes", cap + 1)) && err.contains(&format!("{cap}-byte")),
        "stderr names the size and the cap: {err}"
    );
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing of a cut input is passed on"
    );
    assert_eq!(list["results"][0]["severity"], "error");
    assert!(s(&list, "/results/0/message").contains("cap"));
}

#[test]
fn items_that_are_not_a_list_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (items, found) in [("  {a: 1}\n", "a mapping"), ("  3\n", "a number")] {
        let out = krm(&list_with_items(items), dir.path());
        assert_eq!(out.status.code(), Some(1), "items: {items}{}", stderr(&out));
        let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
        assert_eq!(list["results"][0]["field"]["path"], "items");
        assert!(
            s(&list, "/results/0/message").contains(found),
            "{}",
            list["results"]
        );
        assert!(stderr(&out).contains("<stdin>:4:3"), "{}", stderr(&out));
    }
}

#[test]
fn an_item_that_is_not_an_object_is_refused_not_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n  - just text\n  - [1, 2]\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: b}\n";
    let out = krm(&list_with_items(items), dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    let fields: Vec<&str> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| s(r, "/field/path"))
        .collect();
    assert_eq!(fields, ["items[1]", "items[2]"]);
    assert!(stderr(&out).contains("<stdin>:7:5"), "{}", stderr(&out));
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| s(i, "/metadata/name"))
        .collect();
    assert_eq!(names, ["a", "b"], "the objects are kept, nothing generated");
}

/// The config's file is read for line numbers only when it is about the config's size: a
/// path annotation naming a much larger file (here the same catalog under 200 KiB of
/// comments) costs no read, and results carry no lines.
#[test]
fn a_path_annotation_naming_a_much_larger_file_is_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = catalog_for("staging", "").replacen("size: small", "size: huge", 1);
    let with_path = |file: &Path| {
        bad.replacen(
            "    tenantgen.io/zone: staging\n",
            &format!(
                "    tenantgen.io/zone: staging\n    config.kubernetes.io/path: {}\n",
                file.display()
            ),
            1,
        )
    };
    let small = dir.path().join("small.yaml");
    std::fs::write(&small, &bad).expect("write");
    let large = dir.path().join("large.yaml");
    let padding = "# padding\n".repeat(20 * 1024);
    std::fs::write(&large, format!("{bad}{padding}")).expect("write");
    let line = bad
        .lines()
        .position(|l| l.contains("size: huge"))
        .expect("line")
        + 1;
    let out = krm(&resource_list(&with_path(&small)), dir.path());
    assert!(
        stderr(&out).contains(&format!("small.yaml:{line}:")),
        "{}",
        stderr(&out)
    );
    let out = krm(&resource_list(&with_path(&large)), dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("spec.clients[acme-corp].size"), "{err}");
    assert!(!err.contains(&format!("large.yaml:{line}:")), "{err}");
}

/// A YAML node for the property below: scalars as written (Go number forms, YAML 1.1 words,
/// quoted text), nested mappings and lists.
#[derive(Debug, Clone)]
enum Node {
    Scalar(&'static str),
    Map(Vec<Node>),
    List(Vec<Node>),
}

const SCALARS: [&str; 16] = [
    "0644",
    "0x1F",
    "on",
    "~",
    "null",
    "1.10",
    "1e3",
    "-0",
    "true",
    "plain words",
    "\"quoted: text\"",
    "'single'",
    "\"\\u00e9\\n\"",
    "12345678901234567890",
    "\"\"",
    "a-b_c.d",
];

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop::sample::select(SCALARS.to_vec()).prop_map(Node::Scalar);
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Node::Map),
            prop::collection::vec(inner, 0..4).prop_map(Node::List),
        ]
    })
}

impl Node {
    /// Flow style: `{k0: 0644, k1: [on, ~]}`.
    fn flow(&self, out: &mut String) {
        match self {
            Node::Scalar(s) => out.push_str(s),
            Node::Map(entries) | Node::List(entries) => {
                let map = matches!(self, Node::Map(_));
                out.push(if map { '{' } else { '[' });
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if map {
                        out.push_str(&format!("k{i}: "));
                    }
                    e.flow(out);
                }
                out.push(if map { '}' } else { ']' });
            }
        }
    }

    /// Block style, the node's lines indented by `indent`, after a `key:` or `- ` that
    /// is already written.
    fn block(&self, out: &mut String, indent: usize) {
        match self {
            Node::Map(entries) if !entries.is_empty() => {
                out.push('\n');
                for (i, e) in entries.iter().enumerate() {
                    out.push_str(&format!("{:indent$}k{i}:", ""));
                    e.block(out, indent + 2);
                }
            }
            Node::List(entries) if !entries.is_empty() => {
                out.push('\n');
                for e in entries {
                    out.push_str(&format!("{:indent$}-", ""));
                    e.block(out, indent + 2);
                }
            }
            other => {
                out.push(' ');
                other.flow(out);
                out.push('\n');
            }
        }
    }
}

/// The objects the sample catalog generates for dev, once.
fn generated_for_dev() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        let outcome = tenantgen::krm::process(&list_with_items("  []\n"));
        assert!(!outcome.failed(), "{:?}", outcome.problems);
        outcome.into_value()["items"].as_array().map_or(0, Vec::len)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever objects an accepted ResourceList holds, in block or flow style, the answer
    /// holds each of them, unchanged and in order, before the zone's objects.
    #[test]
    fn every_accepted_item_comes_back(
        objects in prop::collection::vec((prop::collection::vec(node(), 0..5), any::<bool>()), 0..8),
        flow_list in any::<bool>(),
    ) {
        let mut items = String::new();
        let mut expected = Vec::new();
        if flow_list {
            items.push_str("  [");
        }
        for (i, (fields, flow)) in objects.iter().enumerate() {
            let object = Node::Map(fields.clone());
            let mut text = String::new();
            if *flow || flow_list {
                object.flow(&mut text);
            } else {
                object.block(&mut text, 4);
            }
            let own = if flow_list || *flow { text.clone() } else { text.replacen("\n    ", "\n", usize::MAX) };
            expected.push(
                yaml::parse_with(&Source::from_text("item", own.trim_start()), Numbers::Go)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}\n{own}")))?
                    .value,
            );
            match (flow_list, i) {
                (true, 0) => items.push_str(&text),
                (true, _) => { items.push_str(", "); items.push_str(&text); }
                (false, _) if *flow => { items.push_str("  - "); items.push_str(&text); items.push('\n'); }
                (false, _) => { items.push_str("  -"); items.push_str(&text); }
            }
        }
        if flow_list {
            items.push_str("]\n");
        } else if objects.is_empty() {
            items.push_str("  []\n");
        }
        let input = list_with_items(&items);
        let outcome = tenantgen::krm::process(&input);
        prop_assert!(!outcome.failed(), "{:?}\n{}", outcome.problems, input);
        let mut streamed = String::new();
        let _ = outcome.write(|t| { streamed.push_str(t); Ok::<(), ()>(()) });
        let answer = yaml::parse_with(&Source::from_text("answer", streamed.as_str()), Numbers::Go)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?
            .value;
        let out = answer["items"].as_array().cloned().unwrap_or_default();
        prop_assert_eq!(out.len(), expected.len() + generated_for_dev(), "{}", input);
        prop_assert_eq!(&out[..expected.len()], &expected[..], "{}", input);
    }
}

/// A key only the explicit `? key` form can hold (over 1,024 characters) cannot be written
/// back as the answer writes keys: refused, never passed on as YAML nobody can read. A key
/// of 1,024 characters passes.
#[test]
fn an_item_with_a_key_too_long_to_write_back_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let longest = "k".repeat(1024);
    let ok = format!(
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: a}}\n    data:\n      {longest}: v\n"
    );
    let out = krm(&list_with_items(&ok), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    assert_eq!(list["items"][0]["data"][&longest], "v");

    let too_long = format!(
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: a}}\n    data:\n      ? {}\n      : v\n",
        "k".repeat(1025)
    );
    let out = krm(&list_with_items(&too_long), dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let list = parse_stream(&String::from_utf8_lossy(&out.stdout)).remove(0);
    assert_eq!(list["results"][0]["field"]["path"], "items[0]");
    assert!(
        s(&list, "/results/0/message").contains("1025 characters"),
        "{}",
        list["results"]
    );
}

/// The README's kpt example, run exactly as written from the repository root, with
/// `tenantgen` on PATH.
#[test]
fn readme_kpt_example_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let line = readme
        .lines()
        .find(|l| l.starts_with("kpt fn eval "))
        .expect("the README shows a kpt fn eval example");
    let dir = tempfile::tempdir().expect("tempdir");
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    std::os::unix::fs::symlink(bin(), bin_dir.join("tenantgen")).expect("symlink");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("clients")).expect("mkdir");
    std::fs::copy(
        root().join("clients/clients.yaml"),
        repo.join("clients/clients.yaml"),
    )
    .expect("copy");
    // The package the example names: one object of the user's own.
    let pkg = line.split_whitespace().nth(3).expect("a package argument");
    std::fs::create_dir_all(repo.join(pkg)).expect("mkdir");
    std::fs::write(
        repo.join(pkg).join("mine.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n  namespace: default\n",
    )
    .expect("write");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", line])
        .current_dir(&repo)
        .env("PATH", path)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "`{line}` fails:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut objects = Vec::new();
    for (_, bytes) in crate::support::tree_files(&repo.join(pkg)) {
        objects.extend(parse_stream(&String::from_utf8_lossy(&bytes)));
    }
    assert!(
        objects.iter().any(|o| s(o, "/metadata/name") == "mine"),
        "the package's own object is kept"
    );
    assert!(
        objects
            .iter()
            .any(|o| s(o, "/kind") == "Deployment" && s(o, "/metadata/namespace") == "ded-bigcorp"),
        "the zone's client objects are added"
    );
    assert!(
        !objects
            .iter()
            .any(|o| s(o, "/apiVersion").contains("toolkit.fluxcd.io")),
        "no Flux objects by default"
    );
}

/// `plugin install` never hard-codes a build directory: it runs `tenantgen` from PATH when
/// there is one, or the binary it is told with `--binary`.
#[test]
fn plugin_install_uses_path_or_the_binary_it_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    std::os::unix::fs::symlink(bin(), bin_dir.join("tenantgen")).expect("symlink");
    let plugin = dir
        .path()
        .join("plugins/tenantgen.io/v1alpha1/clientcatalog/ClientCatalog");
    let install = |extra: &[&str], path: &str| {
        let out = Command::new(bin())
            .args(["plugin", "install"])
            .args(extra)
            .env("KUSTOMIZE_PLUGIN_HOME", dir.path().join("plugins"))
            .env("PATH", path)
            .output()
            .expect("install");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&plugin).expect("plugin")
    };
    let script = install(&[], &format!("{}:/usr/bin:/bin", bin_dir.display()));
    assert!(
        script.contains("exec tenantgen krm --legacy-plugin"),
        "{script}"
    );
    let given = dir.path().join("given-tenantgen");
    std::fs::copy(bin(), &given).expect("copy");
    let script = install(&["--binary", &given.display().to_string()], "/usr/bin:/bin");
    assert!(
        script.contains(&format!("exec '{}' krm", given.display())),
        "{script}"
    );
    let out = Command::new(bin())
        .args(["plugin", "install", "--binary", "/nonexistent/tenantgen"])
        .env("KUSTOMIZE_PLUGIN_HOME", dir.path().join("plugins"))
        .output()
        .expect("install");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
}
