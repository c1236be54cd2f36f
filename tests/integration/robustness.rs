//! Robustness (SPEC §10, issue 7): no input makes tenantgen panic, and the writer keeps its
//! promises under faults. The properties below are the CI equivalents of the cargo-fuzz
//! targets in `fuzz/` (bounded cases, small inputs); the fault injection drives the real
//! binary: SIGKILL mid-write, two concurrent renders, a read-only output directory and a full
//! disk. A symlink in the tree, a hand-written file at a generated path and a held lock are
//! covered in `writer.rs`.
//!
//! The mount tests need root (CI runs as root); where mounting is refused they say `SKIPPED`
//! on stderr and return.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use tenantgen::check::check_source;
use tenantgen::diagnostics::Diagnostic;
use tenantgen::source::Source;

use crate::support::assert_exit;
use crate::support::repo_with_catalog;
use crate::support::{root, stderr, tenantgen};
use crate::writer::{Tree, snapshot, tree_diff};

// ---------------------------------------------------------------------------------------
// Inputs: parse + validate never panics, and every error explains itself.
// ---------------------------------------------------------------------------------------

/// The catalogs mutations start from: the sample and the valid fixtures.
fn bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        [
            "clients/clients.yaml",
            "tests/fixtures/valid/all_options.yaml",
            "tests/fixtures/valid/k3s_host_network.yaml",
            "tests/fixtures/valid/minimal.yaml",
            "tests/fixtures/valid/yaml11_lookalikes.yaml",
            "tests/fixtures/valid/workloads.yaml",
        ]
        .iter()
        .map(|p| fs::read(root().join(p)).expect("base catalog"))
        .collect()
    })
}

/// Fragments that YAML parsers and the catalog's own rules trip over.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "!!str ",
    "!tag ",
    "? ",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "{",
    "}",
    "[",
    "]",
    "|\n",
    ">-\n",
    "\t",
    "\"",
    "'",
    "#",
    "%YAML 1.1\n",
    "~",
    "null",
    "yes",
    "0755",
    "1e400",
    "-1",
    "99999999999999999999",
    "\u{feff}",
    "\u{0}",
    "\r",
    "\u{85}",
    "@sha256:",
    "latest",
    "0.0.0.0/0",
    "*.hosting.example.com",
    "hosting: dedicated\n",
    "size: xlarge\n",
    "autoscaling: {min: 9, max: 1}\n",
    "overrides: {nowhere: {}}\n",
    "- name: acme-corp\n",
];

/// One edit of a catalog's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at the index with a non-zero mask.
    Flip(Index, u8),
    /// Insert bytes (random or a token) at the index.
    Insert(Index, Vec<u8>),
    /// Delete up to `n` bytes from the index.
    Delete(Index, usize),
    DuplicateLine(Index),
    DeleteLine(Index),
    SwapLines(Index, Index),
    /// Add (true) or remove (false) two spaces of indentation.
    Indent(Index, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..4),
        prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
    ];
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<Index>(), insert).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1..40usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::DeleteLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), any::<bool>()).prop_map(|(i, b)| Mutation::Indent(i, b)),
    ]
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::Flip(i, mask) if !bytes.is_empty() => {
            let i = i.index(bytes.len());
            bytes[i] ^= mask;
        }
        Mutation::Insert(i, b) => {
            let at = i.index(bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Delete(i, n) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::DuplicateLine(i) | Mutation::DeleteLine(i) | Mutation::Indent(i, _) => {
            let mut ls = lines(&bytes);
            if ls.is_empty() {
                return bytes;
            }
            let at = i.index(ls.len());
            match m {
                Mutation::DuplicateLine(_) => {
                    let line = ls[at].clone();
                    ls.insert(at, line);
                }
                Mutation::DeleteLine(_) => {
                    ls.remove(at);
                }
                Mutation::Indent(_, true) => {
                    ls[at].splice(0..0, *b"  ");
                }
                _ => {
                    if ls[at].starts_with(b"  ") {
                        ls[at].drain(..2);
                    }
                }
            }
            bytes = ls.concat();
        }
        Mutation::SwapLines(a, b) => {
            let mut ls = lines(&bytes);
            if !ls.is_empty() {
                let (a, b) = (a.index(ls.len()), b.index(ls.len()));
                ls.swap(a, b);
                bytes = ls.concat();
            }
        }
        _ => {}
    }
    bytes
}

/// A valid catalog with 1 to 8 edits.
fn mutated_catalog() -> impl Strategy<Value = Vec<u8>> {
    (0..bases().len(), prop::collection::vec(mutation(), 1..8))
        .prop_map(|(base, ms)| ms.iter().fold(bases()[base].clone(), apply))
}

/// Text assembled from YAML tokens, indentation, keys and words: near-YAML from scratch.
fn yamlish_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::sample::select(TOKENS).prop_map(str::to_owned),
        prop::sample::select(vec![
            "apiVersion: tenantgen.io/v1alpha1\n",
            "kind: ClientCatalog\n",
            "metadata:\n  name: x\n",
            "spec:\n",
            "  platform:\n    domain: example.com\n",
            "  clients:\n",
            "    - name: a\n",
            "      hosting: shared\n",
            "      size: small\n",
            "      image: r.example.com/a/web\n",
            "      versions: {dev: \"1.0.0\"}\n",
            "  zones:\n",
            "\n",
            "  ",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,8}",
        "[ \n]{1,4}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|ps| ps.concat().into_bytes())
}

/// Every error says what is wrong and how to fix it.
fn explained(problems: &[Diagnostic]) -> Result<(), TestCaseError> {
    for d in problems.iter().filter(|d| d.is_error()) {
        prop_assert!(!d.message.trim().is_empty(), "empty message: {:?}", d);
        prop_assert!(
            d.hint.as_deref().is_some_and(|h| !h.trim().is_empty()),
            "no hint: {:?}",
            d
        );
    }
    Ok(())
}

/// What `tenantgen validate` does with `bytes`, minus the printing.
fn check_bytes(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let source = match Source::from_bytes("fuzz.yaml".into(), "fuzz.yaml".into(), bytes) {
        Ok(s) => s,
        Err(d) => return explained(&[*d]),
    };
    if let Err(problems) = check_source(source) {
        prop_assert!(
            problems.iter().any(Diagnostic::is_error),
            "rejected without an error: {:?}",
            problems
        );
        explained(&problems)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_explain_themselves(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        check_bytes(bytes)?;
    }

    #[test]
    fn mutated_catalogs_never_panic_and_errors_explain_themselves(bytes in mutated_catalog()) {
        check_bytes(bytes)?;
    }

    #[test]
    fn yamlish_text_never_panics_and_errors_explain_themselves(bytes in yamlish_text()) {
        check_bytes(bytes)?;
    }
}

fn sample_text() -> String {
    String::from_utf8(bases()[0].clone()).expect("utf-8 sample")
}

/// The errors `validate` gives for the sample with `from` replaced by `to`.
fn errors_of_edited_sample(from: &str, to: &str) -> Vec<Diagnostic> {
    let text = sample_text();
    assert!(text.contains(from), "the sample has `{from}`");
    let edited = text.replacen(from, to, 1);
    let problems = check_source(Source::from_text("clients.yaml", edited))
        .err()
        .unwrap_or_default();
    problems.into_iter().filter(Diagnostic::is_error).collect()
}

/// A bad value inside an optional mapping (`anyOf: [{$ref}, {type: null}]` in the schema) is
/// reported at the field, with the reason and a hint, not as "a mapping is not valid here".
#[test]
fn invalid_value_inside_an_optional_mapping_is_named_with_a_hint() {
    let cases = [
        (
            "      interval: 1m\n",
            "      interval: 1 m\n",
            "spec.platform.git.interval",
        ),
        (
            "fb733e8cfece",
            "fb733/8cfece",
            "spec.platform.landingPage.image",
        ),
        (
            "cpuPercent: 70}",
            "cpuPercent: 170}",
            "spec.clients[bigcorp].autoscaling.cpuPercent",
        ),
        (
            "limitsCpu: \"6\"",
            "limitsCpu: \"6 cores\"",
            "spec.clients[bigcorp].quota.limitsCpu",
        ),
    ];
    let mut wrong = Vec::new();
    for (from, to, field) in cases {
        let errors = errors_of_edited_sample(from, to);
        let named = errors.iter().any(|d| d.field == field && d.hint.is_some());
        if !named {
            wrong.push(format!("{field}: got {errors:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A value of the wrong shape says how to write the right one.
#[test]
fn wrong_type_errors_have_a_hint() {
    let cases = [
        ("        dev: \"0.2.0\"\n        staging: \"0.1.0\"\n", ""),
        ("config: {LOG_LEVEL: info}", "config: [LOG_LEVEL]"),
        (
            "      health:\n        path: /healthz\n",
            "      health: /healthz\n",
        ),
    ];
    let mut hintless = Vec::new();
    for (from, to) in cases {
        let errors = errors_of_edited_sample(from, to);
        assert!(!errors.is_empty(), "`{to}` is an error");
        hintless.extend(errors.into_iter().filter(|d| d.hint.is_none()));
    }
    assert!(hintless.is_empty(), "errors without a hint: {hintless:#?}");
}

// ---------------------------------------------------------------------------------------
// Render: generated valid catalogs render, pass Pod Security, and ignore client order.
// ---------------------------------------------------------------------------------------

/// The knobs of one generated client (its name comes separately, so names are unique).
#[derive(Debug, Clone)]
struct ClientSpec {
    tier: (&'static str, &'static str),
    /// Bit `i` set: the client runs in zone `i`.
    zones: u8,
    version: (u8, u8, u8),
    digest: u64,
    port: u16,
    extra_host: bool,
    config: BTreeMap<String, String>,
    secret: bool,
    egress: Option<(u8, u16)>,
    middlewares: Vec<&'static str>,
    /// Dedicated only: autoscaling floor and extra headroom.
    autoscaling: Option<(u32, u32)>,
    quota: bool,
}

fn client_spec() -> impl Strategy<Value = ClientSpec> {
    let tier = prop::sample::select(vec![
        ("shared", "small"),
        ("shared", "medium"),
        ("shared", "large"),
        ("dedicated", "large"),
        ("dedicated", "xlarge"),
    ]);
    // Keys no secret rule matches (too short), values no credential rule matches.
    let config = prop::collection::btree_map("[A-Z][A-Z0-9_.-]{0,3}", "[a-z0-9 ./:_-]{0,20}", 0..4);
    let middlewares = prop::sample::subsequence(
        vec!["security-headers", "rate-limit", "ip-allowlist"],
        0..=3,
    );
    (
        tier,
        any::<u8>(),
        (0..20u8, 0..20u8, 0..20u8),
        any::<u64>(),
        prop::sample::select(vec![80u16, 3000, 8080]),
        any::<bool>(),
        config,
        any::<bool>(),
        proptest::option::of((any::<u8>(), 1..=65535u16)),
        middlewares,
        proptest::option::of((2..5u32, 0..6u32)),
        any::<bool>(),
    )
        .prop_map(
            |(
                tier,
                zones,
                version,
                digest,
                port,
                extra_host,
                config,
                secret,
                egress,
                middlewares,
                autoscaling,
                quota,
            )| ClientSpec {
                tier,
                zones,
                version,
                digest,
                port,
                extra_host,
                config,
                secret,
                egress,
                middlewares,
                autoscaling,
                quota,
            },
        )
}

/// Two promotion paths: the default three zones, or a k3s host-network edge zone with the
/// bundled Traefik and a managed production.
fn zone_names(custom: bool) -> Vec<&'static str> {
    if custom {
        vec!["edge", "live"]
    } else {
        vec!["dev", "staging", "production"]
    }
}

fn client_json(name: &str, c: &ClientSpec, zones: &[&str]) -> Value {
    let (hosting, size) = c.tier;
    let mut versions = serde_json::Map::new();
    for (i, z) in zones.iter().enumerate() {
        if c.zones & (1 << i) != 0 {
            let (a, b, p) = c.version;
            let mut v = format!("{a}.{b}.{p}");
            if i + 1 == zones.len() {
                v.push_str("@sha256:");
                v.push_str(&format!("{:016x}", c.digest).repeat(4));
            }
            versions.insert((*z).to_owned(), Value::String(v));
        }
    }
    let mut client = json!({
        "name": name,
        "hosting": hosting,
        "size": size,
        "image": format!("registry.example.com/{name}/web"),
        "versions": versions,
        "port": c.port,
    });
    if c.extra_host {
        client["hosts"] = json!([
            format!("{name}.hosting.example.com"),
            format!("www.{name}.example")
        ]);
    }
    if !c.config.is_empty() {
        client["config"] = json!(c.config);
    }
    if c.secret {
        client["secrets"] = json!([{
            "name": "db",
            "vaultPath": format!("secret/data/{name}/db"),
            "mountPath": "/var/run/secrets/db",
        }]);
    }
    if let Some((net, port)) = c.egress {
        client["egress"] = json!([{"cidr": format!("10.{net}.0.0/16"), "ports": [port]}]);
    }
    if !c.middlewares.is_empty() {
        client["middlewares"] = json!(c.middlewares);
    }
    if hosting == "dedicated" {
        if let Some((min, more)) = c.autoscaling {
            // Never below the tier's replica floor (xlarge: 3), which the lints enforce.
            let min = if size == "xlarge" { min.max(3) } else { min };
            client["autoscaling"] = json!({"min": min, "max": min + more, "cpuPercent": 70});
        }
        if c.quota {
            client["quota"] = json!({
                "requestsCpu": "8",
                "requestsMemory": "16Gi",
                "limitsCpu": "16",
                "limitsMemory": "32Gi",
                "persistentVolumeClaims": 4,
            });
        }
    }
    client
}

fn catalog_json(custom_zones: bool, run_as_user: u16, clients: &[(String, ClientSpec)]) -> Value {
    let zones = zone_names(custom_zones);
    let mut spec = json!({
        "platform": {"domain": "hosting.example.com", "runAsUser": run_as_user},
        "clients": clients.iter().map(|(n, c)| client_json(n, c, &zones)).collect::<Vec<_>>(),
    });
    if custom_zones {
        spec["zones"] = json!([
            {"name": "edge", "distribution": "k3s", "ingress": "host-network",
             "ingressNamespace": "kube-system", "nodeCidrs": ["192.168.10.0/24"]},
            {"name": "live", "distribution": "managed", "ingress": "load-balancer"},
        ]);
    }
    json!({
        "apiVersion": "tenantgen.io/v1alpha1",
        "kind": "ClientCatalog",
        "metadata": {"name": "generated"},
        "spec": spec,
    })
}

fn catalog_text(catalog: &Value) -> String {
    let mut text = String::new();
    tenantgen::emit::document(&mut text, catalog);
    text
}

/// Every file of every zone, as `render` lays them out.
fn render_all(checked: &tenantgen::check::Checked) -> BTreeMap<String, String> {
    let opts = tenantgen::render::Options::default();
    let mut files = BTreeMap::new();
    for zone in &checked.model.zones {
        let objects = tenantgen::render::zone(&checked.model, zone, &opts);
        for (rel, text) in tenantgen::layout::zone_files(&zone.name, &objects, &opts) {
            files.insert(format!("{}/{rel}", zone.name), text);
        }
    }
    files
}

fn checked(text: &str) -> Result<tenantgen::check::Checked, TestCaseError> {
    check_source(Source::from_text("generated.yaml", text)).map_err(|problems| {
        let list: Vec<String> = problems
            .iter()
            .map(|d| format!("{}: {}: {}", d.code, d.field, d.message))
            .collect();
        TestCaseError::fail(format!(
            "a generated catalog is invalid:\n{}\n{text}",
            list.join("\n")
        ))
    })
}

fn generated_catalog() -> impl Strategy<Value = (bool, u16, Vec<(String, ClientSpec)>, u64)> {
    let names = prop::collection::btree_set("[a-z]([a-z0-9-]{0,14}[a-z0-9])?", 1..6);
    (any::<bool>(), 1..=65535u16, names, any::<u64>()).prop_flat_map(
        |(custom, uid, names, seed)| {
            let n = names.len();
            (
                Just(custom),
                Just(uid),
                prop::collection::vec(client_spec(), n)
                    .prop_map(move |specs| names.iter().cloned().zip(specs).collect::<Vec<_>>()),
                Just(seed),
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any valid catalog renders; every pod passes Pod Security `restricted`; each client is
    /// in exactly the zones it has a version for; client order never reaches the output.
    #[test]
    fn generated_catalogs_render_restricted_pods_in_any_client_order(
        (custom, uid, clients, seed) in generated_catalog(),
    ) {
        let catalog = catalog_json(custom, uid, &clients);
        let text = catalog_text(&catalog);
        let first = checked(&text)?;
        let files = render_all(&first);

        let mut pods = 0;
        for zone in &first.model.zones {
            let objects = tenantgen::render::zone(&first.model, zone, &tenantgen::render::Options::default());
            for p in &objects {
                let v = crate::psa::violations(&p.value());
                prop_assert!(v.is_empty(), "{}: {}/{} breaks restricted: {:?}\n{}", zone.name, p.namespace(), p.name(), v, text);
                if p.kind() == "Deployment" && p.client.is_some() {
                    pods += 1;
                }
            }
        }
        let zones = zone_names(custom);
        let mut expected_pods = 0;
        for (name, c) in &clients {
            for (i, z) in zones.iter().enumerate() {
                let deployed = c.zones & (1 << i) != 0;
                expected_pods += usize::from(deployed);
                prop_assert_eq!(
                    files.contains_key(&format!("{z}/tenants/{name}.yaml")),
                    deployed,
                    "{} in {}", name, z
                );
            }
        }
        prop_assert_eq!(pods, expected_pods);

        // A seeded Fisher-Yates shuffle of the clients.
        let mut shuffled = catalog.clone();
        if let Some(list) = shuffled.pointer_mut("/spec/clients").and_then(Value::as_array_mut) {
            let mut state = seed;
            for i in (1..list.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = usize::try_from(state >> 33).unwrap_or(0) % (i + 1);
                list.swap(i, j);
            }
        }
        let again = render_all(&checked(&catalog_text(&shuffled))?);
        prop_assert!(again == files, "shuffling the clients changed the tree");
    }
}

// ---------------------------------------------------------------------------------------
// Diff input: any two catalogs give a report that fits, parses and means what it says.
// ---------------------------------------------------------------------------------------

/// What the `diff` fuzz target checks, for two catalog texts (an invalid side is skipped: the
/// CLI reports it as an error, never as a difference).
fn diff_holds(base: &str, head: &str) -> Result<(), TestCaseError> {
    use tenantgen::{diff, report};
    let (Ok(b), Ok(h)) = (
        check_source(Source::from_text("base.yaml", base)),
        check_source(Source::from_text("head.yaml", head)),
    ) else {
        return Ok(());
    };
    let r = diff::compare_catalogs(&b, &h);
    let md = report::markdown(
        &r,
        &report::Links::default(),
        report::DEFAULT_TEMPLATE,
        report::COMMENT_LIMIT,
    )
    .map_err(|e| TestCaseError::fail(format!("the built-in template fails: {e}")))?;
    prop_assert!(md.chars().count() <= report::COMMENT_LIMIT);
    let json: Result<Value, _> = serde_json::from_str(&report::json(&r));
    prop_assert!(json.is_ok_and(|j| j.is_object()), "the JSON report parses");
    // Rendering only the clients that changed finds exactly what rendering everything finds.
    let (b_all, h_all) = (diff::render_side(&b, None), diff::render_side(&h, None));
    let full = diff::compare(&b_all, &h_all, Some((&b, &h)));
    prop_assert_eq!(report::json(&full), report::json(&r));
    let same = diff::compare(&h_all, &h_all, Some((&h, &h)));
    prop_assert_eq!(same.counts.total(), 0, "a side differs from itself");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Two generated catalogs: clients added, removed, re-tiered, re-versioned, zones changed.
    #[test]
    fn diff_of_any_two_catalogs_fits_parses_and_matches_a_full_render(
        (c1, u1, k1, _) in generated_catalog(),
        (c2, u2, k2, _) in generated_catalog(),
    ) {
        // Head's clients take base's names where both have one: changed clients, not only
        // added and removed ones.
        let k2: Vec<(String, ClientSpec)> = k2
            .into_iter()
            .enumerate()
            .map(|(i, (name, spec))| (k1.get(i).map_or(name, |(n, _)| n.clone()), spec))
            .collect();
        diff_holds(
            &catalog_text(&catalog_json(c1, u1, &k1)),
            &catalog_text(&catalog_json(c2, u2, &k2)),
        )?;
    }

    /// The sample against an edited sample (an edit that keeps it valid is a real change).
    #[test]
    fn diff_of_the_sample_against_an_edit_of_it(bytes in mutated_catalog()) {
        if let Ok(head) = String::from_utf8(bytes) {
            diff_holds(&sample_text(), &head)?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// KRM input: whatever arrives on stdin, a ResourceList comes back.
// ---------------------------------------------------------------------------------------

/// Valid ResourceLists to mutate: a synthetic one, and the sample wrapped with an item.
fn krm_bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let sample = String::from_utf8(bases()[0].clone()).expect("utf-8");
        let annotated = sample.replacen(
            "metadata:\n  name: ge-hosting\n",
            "metadata:\n  name: ge-hosting\n  annotations:\n    tenantgen.io/zone: staging\n",
            1,
        );
        let mut wrapped = String::from(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: mine, namespace: default}\n    data: {a: \"1\"}\nfunctionConfig:\n",
        );
        for line in annotated.lines() {
            wrapped.push_str("  ");
            wrapped.push_str(line);
            wrapped.push('\n');
        }
        vec![
            tenantgen::synthetic::resource_list(3, "dev").into_bytes(),
            wrapped.into_bytes(),
        ]
    })
}

fn krm_answers(input: &str) -> Result<(), TestCaseError> {
    let outcome = tenantgen::krm::process(input);
    let failed = outcome.failed();
    // The answer is written a piece at a time; it must be the whole list's one document.
    let mut streamed = String::new();
    let _ = outcome.write(|t| {
        streamed.push_str(t);
        Ok::<(), ()>(())
    });
    let list = &outcome.into_value();
    let mut whole = String::new();
    tenantgen::emit::document(&mut whole, list);
    prop_assert!(
        streamed == whole,
        "streamed:\n{}\nwhole:\n{}",
        streamed,
        whole
    );
    prop_assert_eq!(
        list.get("kind").and_then(Value::as_str),
        Some("ResourceList")
    );
    prop_assert!(list.get("items").is_some_and(Value::is_array), "{}", list);
    if failed {
        let results = list
            .get("results")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        prop_assert!(!results.is_empty(), "failed without results: {}", list);
        for r in &results {
            prop_assert!(
                r.get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.trim().is_empty()),
                "result without a message: {}",
                r
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn krm_arbitrary_text_always_answers_a_resource_list(input in "\\PC{0,300}") {
        krm_answers(&input)?;
    }

    #[test]
    fn krm_mutated_resource_lists_always_answer_a_resource_list(
        base in 0..2usize,
        ms in prop::collection::vec(mutation(), 1..6),
    ) {
        let bytes = ms.iter().fold(krm_bases()[base].clone(), apply);
        krm_answers(&String::from_utf8_lossy(&bytes))?;
    }
}

/// The valid ResourceLists themselves: generated objects are written as they are rendered,
/// and the text is the one document of the whole list.
#[test]
fn krm_streams_exactly_the_whole_resource_list() {
    for base in krm_bases() {
        let text = String::from_utf8(base.clone()).expect("utf-8");
        let outcome = tenantgen::krm::process(&text);
        assert!(!outcome.failed(), "{:?}", outcome.problems);
        krm_answers(&text).expect("answers");
    }
}

/// `tenantgen krm` reading `input` on stdin; `None` if it is still running after `limit`.
fn krm_within(input: &str, limit: Duration) -> Option<Output> {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tenantgen(dir.path())
        .arg("krm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tenantgen krm");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().expect("poll").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The path annotation is a hint from the input: a FIFO there is never opened.
#[test]
fn krm_does_not_hang_on_a_path_annotation_naming_a_fifo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("catalog.yaml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo");
    let list = tenantgen::synthetic::resource_list(1, "dev").replacen(
        "tenantgen.io/zone: dev\n",
        &format!(
            "tenantgen.io/zone: dev\n      config.kubernetes.io/path: {}\n",
            fifo.display()
        ),
        1,
    );
    assert!(list.contains("config.kubernetes.io/path"), "{list}");
    let out = krm_within(&list, Duration::from_secs(5));
    assert!(
        out.is_some(),
        "`tenantgen krm` was still blocked on the FIFO after 5 s"
    );
}

// ---------------------------------------------------------------------------------------
// Fault injection on the writer, with the real binary.
// ---------------------------------------------------------------------------------------

const TMP_SUFFIX: &str = ".tenantgen-tmp";
/// Clients of the big catalog: 11,000 files, 1,200 of them rewritten by a version bump, so
/// the write phase is long enough to be hit.
const BIG: usize = 400;
/// The first file a version bump of the big catalog stages and renames (updates go in path
/// order).
const FIRST_UPDATED: &str = "dev/tenants/client-00000/deployment.yaml";

/// `text` with every client's version changed (`"1.x.y` -> `"2.x.y`, digests kept).
fn bumped(text: &str) -> String {
    let out = text.replace(": \"1.", ": \"2.");
    assert_ne!(out, text, "the catalog has versions to bump");
    out
}

fn render(repo: &Path) -> Output {
    tenantgen(repo)
        .arg("render")
        .output()
        .expect("tenantgen runs")
}

fn set_catalog(repo: &Path, text: &str) {
    fs::write(repo.join("clients/clients.yaml"), text).expect("catalog");
}

/// Temporaries of phase one in a snapshot.
fn temporaries(tree: &Tree) -> Vec<&str> {
    tree.iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| p.ends_with(TMP_SUFFIX))
        .collect()
}

#[track_caller]
fn assert_same_tree(dir: &Path, expected: &Tree, what: &str) {
    let diff = tree_diff(expected, &snapshot(dir));
    assert!(
        diff.is_empty(),
        "{what}: {dir:?} differs from the expected tree:\n{}",
        diff.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// A scratch repository on a RAM disk when there is one, else in the usual temporary
/// directory. Thousands of files are written there per test, and fsync on a RAM disk is
/// free; a process killed or locked out behaves the same on either (a kill is not a power
/// loss: what the kernel has, it keeps).
fn scratch_repo(catalog: &str) -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
    } else {
        tempfile::tempdir()
    }
    .expect("tempdir");
    fs::create_dir_all(dir.path().join("clients")).expect("clients/");
    set_catalog(dir.path(), catalog);
    dir
}

/// The big catalog (A), its bumped version (B), their clean renders, and the files that
/// differ between the two. Rendered once, shared by the crash and the lock tests.
struct Big {
    b: String,
    tree_a: Tree,
    tree_b: Tree,
    /// (path, A's bytes) of every file B rewrites.
    changed: Vec<(String, Vec<u8>)>,
}

fn big() -> &'static Big {
    static BIG_TREES: OnceLock<Big> = OnceLock::new();
    BIG_TREES.get_or_init(|| {
        let a = tenantgen::synthetic::catalog(BIG);
        let b = bumped(&a);
        let clean = |text: &str| {
            let repo = scratch_repo(text);
            assert_exit(&render(repo.path()), 0, "clean render");
            snapshot(&repo.path().join("clusters"))
        };
        let (tree_a, tree_b) = (clean(&a), clean(&b));
        let keys = |t: &Tree| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&tree_a), keys(&tree_b), "B changes contents only");
        let changed: Vec<(String, Vec<u8>)> = tree_a
            .iter()
            .zip(&tree_b)
            .filter(|(x, y)| x.1 != y.1)
            .map(|(x, _)| x.clone())
            .collect();
        assert_eq!(changed.len(), 3 * BIG, "one Deployment per client and zone");
        assert_eq!(changed[0].0, FIRST_UPDATED);
        Big {
            b,
            tree_a,
            tree_b,
            changed,
        }
    })
}

/// A scratch repository holding A's tree (copied: faster than a render), with B as its
/// catalog.
fn repo_with_tree_a() -> tempfile::TempDir {
    let big = big();
    let repo = scratch_repo(&big.b);
    let clusters = repo.path().join("clusters");
    for (rel, bytes) in &big.tree_a {
        match rel.strip_suffix('/') {
            Some(d) => fs::create_dir_all(clusters.join(d)).expect("mkdir"),
            None => fs::write(clusters.join(rel), bytes).expect("write"),
        }
    }
    repo
}

/// Puts A's content back in every file B rewrites and removes temporaries beside them:
/// the tree is A's again, cheaply.
fn reset_to_a(clusters: &Path) {
    for (rel, bytes) in &big().changed {
        let path = clusters.join(rel);
        if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            fs::write(&path, bytes).expect("reset");
        }
        let dir = path.parent().expect("parent");
        for e in fs::read_dir(dir).expect("list").flatten() {
            if e.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                fs::remove_file(e.path()).expect("remove temporary");
            }
        }
    }
}

/// How the tree looks after a kill.
#[derive(Debug, Default)]
struct Observed {
    old: usize,
    new: usize,
    temporaries: usize,
}

fn files_only(tree: &Tree) -> BTreeMap<&str, &[u8]> {
    tree.iter()
        .filter(|(p, _)| !p.ends_with('/') && !p.ends_with(TMP_SUFFIX))
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect()
}

/// Fails unless every file under `dir` is A's or B's, whole, and none is missing or extra.
fn observe(dir: &Path, round: usize) -> Observed {
    let big = big();
    let (a, b) = (files_only(&big.tree_a), files_only(&big.tree_b));
    let now = snapshot(dir);
    let mut seen = Observed {
        temporaries: temporaries(&now).len(),
        ..Observed::default()
    };
    let current = files_only(&now);
    let mut bad = Vec::new();
    for (rel, bytes) in &current {
        let (old, new) = (a.get(rel), b.get(rel));
        if old == Some(bytes) && old != new {
            seen.old += 1;
        } else if new == Some(bytes) && old != new {
            seen.new += 1;
        } else if old != Some(bytes) {
            bad.push(format!(
                "{rel}: {} bytes, neither A ({:?} bytes) nor B ({:?} bytes)",
                bytes.len(),
                old.map(|x| x.len()),
                new.map(|x| x.len())
            ));
        }
    }
    for rel in a.keys().filter(|r| !current.contains_key(*r)) {
        bad.push(format!("{rel}: missing"));
    }
    assert!(
        bad.is_empty(),
        "round {round}: after SIGKILL, {} files are neither old nor new:\n{}",
        bad.len(),
        bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    seen
}

/// When a round kills the render.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// This long after the start (reading, rendering, planning).
    Start(Duration),
    /// This long after the first temporary appears (staging).
    FirstTemporary(Duration),
    /// This long after the first file is renamed into place (renaming).
    FirstRename(Duration),
}

/// Whether the render has reached `moment`'s phase yet.
fn reached(moment: Moment, dir: &Path, first: &Path, old_first: &[u8]) -> bool {
    match moment {
        Moment::Start(_) => true,
        Moment::FirstTemporary(_) => fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(TMP_SUFFIX))
        }),
        Moment::FirstRename(_) => fs::read(first).is_ok_and(|b| b != old_first),
    }
}

/// SIGKILL a render that rewrites every client's Deployment, at moments in each phase: every
/// file under `clusters/` is always A's or B's, whole; a plain re-run converges to B and
/// removes the temporaries.
#[test]
fn sigkill_mid_render_leaves_every_file_old_or_new_and_a_rerun_converges() {
    let big = big();
    let repo = repo_with_tree_a();
    let clusters = repo.path().join("clusters");
    let first = clusters.join(FIRST_UPDATED);
    let first_dir = first.parent().expect("parent").to_path_buf();
    let old_first = big.changed[0].1.clone();

    // A seeded jitter within each phase.
    let mut state: u64 = 0x005e_ed0f_7e57;
    let mut jitter = |max_ms: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_micros((state >> 33) % (max_ms * 1000 + 1))
    };
    let moments = [
        Moment::Start(jitter(1000)),
        Moment::FirstTemporary(Duration::ZERO),
        Moment::FirstTemporary(jitter(10)),
        Moment::FirstRename(Duration::ZERO),
        Moment::FirstRename(jitter(2)),
    ];
    let (mut mixed, mut with_temporaries, mut missed) = (0, 0, 0);
    for (round, &moment) in moments.iter().enumerate() {
        reset_to_a(&clusters);
        let started = Instant::now();
        let mut child = tenantgen(repo.path())
            .arg("render")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tenantgen");
        let mut phase_started = None;
        let running = loop {
            if child.try_wait().expect("poll").is_some() {
                break false;
            }
            if phase_started.is_none() && reached(moment, &first_dir, &first, &old_first) {
                phase_started = Some(Instant::now());
            }
            let due = match (moment, phase_started) {
                (Moment::Start(d), _) => started.elapsed() >= d,
                (Moment::FirstTemporary(d) | Moment::FirstRename(d), Some(at)) => at.elapsed() >= d,
                _ => false,
            };
            if due {
                break true;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let _ = child.kill();
        let killed_at = started.elapsed();
        let status = child.wait().expect("reap");
        let seen = observe(&clusters, round);
        eprintln!(
            "round {round}: {moment:?}, killed {} ms after the start ({}): {} old, {} new, {} temporaries",
            killed_at.as_millis(),
            if running {
                status.to_string()
            } else {
                "had already exited".into()
            },
            seen.old,
            seen.new,
            seen.temporaries
        );
        missed += usize::from(!running);
        with_temporaries += usize::from(seen.temporaries > 0);
        mixed += usize::from(seen.old > 0 && seen.new > 0);
    }
    eprintln!(
        "{} rounds: {missed} missed the render, {with_temporaries} left temporaries, {mixed} left a mix of old and new files",
        moments.len()
    );
    assert!(missed <= 1, "{missed} kills came after the render finished");
    assert!(
        with_temporaries >= 1 && mixed >= 1,
        "the kills must hit both staging and renaming"
    );

    // The last kill left temporaries and a mixed tree: a plain re-run converges.
    let out = render(repo.path());
    assert_exit(&out, 0, "re-run");
    let after = snapshot(&clusters);
    assert!(
        temporaries(&after).is_empty(),
        "temporaries left: {:?}",
        temporaries(&after)
    );
    assert_same_tree(&clusters, &big.tree_b, "the re-run converges to B");
}

struct Run {
    out: Output,
}

fn spawn_render(repo: &Path) -> Child {
    tenantgen(repo)
        .arg("render")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tenantgen")
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("tenantgen runs");
    Run { out }
}

/// Two renders of the big catalog started together, over a tree they both must rewrite: one
/// writes, the other fails naming the lock (or runs after it); never an interleaving, and the
/// tree is always exactly a clean render. That a refused run does not wait for the lock is
/// shown without a clock by writer::a_held_lock_makes_render_fail_fast_and_write_nothing.
#[test]
fn two_concurrent_renders_never_interleave() {
    let big = big();
    let repo = repo_with_tree_a();
    let clusters = repo.path().join("clusters");
    const ROUNDS: usize = 3;
    let mut conflicts = 0;
    for round in 0..ROUNDS {
        reset_to_a(&clusters);
        let first = spawn_render(repo.path());
        let second = spawn_render(repo.path());
        let runs = [finish(first), finish(second)];
        let mut ok = 0;
        for (i, run) in runs.iter().enumerate() {
            let err = stderr(&run.out);
            match run.out.status.code() {
                Some(0) => ok += 1,
                Some(1) => {
                    assert!(
                        err.contains("holds the lock on `clusters`"),
                        "round {round}, run {i}: a failure must name the lock on `clusters`:\n{err}"
                    );
                    conflicts += 1;
                }
                other => panic!("round {round}, run {i}: exit {other:?}:\n{err}"),
            }
        }
        assert!(ok >= 1, "round {round}: at least one render succeeds");
        assert_same_tree(
            &clusters,
            &big.tree_b,
            &format!("round {round}: the tree is exactly a clean render"),
        );
    }
    eprintln!("{conflicts}/{ROUNDS} rounds had one render refused by the lock");
    assert!(
        conflicts >= 1,
        "two renders started together never overlapped in {ROUNDS} rounds: the test proved nothing"
    );
}

/// A mount that is undone when the guard drops (also when a test fails).
struct Mount {
    dir: PathBuf,
}

/// Runs `mount ARGS... DIR`; `Err` says why it is not possible here.
fn mount(args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new("mount")
        .args(args)
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run `mount`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`mount {} {}` failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Mount {
    fn new(args: &[&str], dir: &Path) -> Result<Mount, String> {
        mount(args, dir)?;
        Ok(Mount {
            dir: dir.to_path_buf(),
        })
    }

    /// `dir` bound onto itself, then made read-only (one mount: one unmount undoes both).
    fn read_only(dir: &Path) -> Result<Mount, String> {
        let bind = Mount::new(&["--bind", &dir.to_string_lossy()], dir)?;
        mount(&["-o", "remount,bind,ro"], dir)?;
        Ok(bind)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why} (needs root and permission to mount)");
}

/// The sample catalog with one version bumped and one client removed: an update, a removal.
fn sample_changed() -> String {
    let sample = fs::read_to_string(root().join("clients/clients.yaml")).expect("sample");
    let bumped = sample.replacen(r#"dev: "1.3.0""#, r#"dev: "1.3.1""#, 1);
    assert_ne!(bumped, sample);
    crate::determinism::without_client(&bumped, "globex")
}

#[test]
fn read_only_output_directory_gives_a_clear_error_and_changes_nothing() {
    let sample = fs::read_to_string(root().join("clients/clients.yaml")).expect("sample");
    let repo = repo_with_catalog(&sample);
    assert_exit(&render(repo.path()), 0, "first render");
    let clusters = repo.path().join("clusters");
    set_catalog(repo.path(), &sample_changed());
    let before = snapshot(&clusters);

    let guard = match Mount::read_only(&clusters) {
        Ok(g) => g,
        Err(why) => return skip("read_only_output_directory", &why),
    };
    let out = render(repo.path());
    assert_exit(&out, 1, "render into a read-only tree");
    let err = stderr(&out);
    assert!(
        err.contains("Read-only file system") && err.contains("clusters/"),
        "the error names the path and the cause:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    drop(guard);
    assert_same_tree(&clusters, &before, "nothing changed");

    // A tree that does not exist yet, under a read-only repository: cannot even be created.
    let fresh = repo_with_catalog(&sample);
    let guard = match Mount::read_only(fresh.path()) {
        Ok(g) => g,
        Err(why) => return skip("read_only_output_directory", &why),
    };
    let out = render(fresh.path());
    assert_exit(&out, 1, "render under a read-only repository");
    let err = stderr(&out);
    assert!(
        err.contains("Read-only file system") && err.contains("clusters"),
        "{err}"
    );
    drop(guard);
    assert!(!fresh.path().join("clusters").exists());
}

/// Bytes a tree takes on tmpfs: whole pages per file.
fn pages(tree: &Tree) -> u64 {
    tree.iter()
        .map(|(_, b)| (b.len() as u64).div_ceil(4096).max(1) * 4096)
        .sum()
}

/// A repository whose `clusters/` is a tmpfs just big enough for the tree of a small
/// catalog, which is rendered there; the catalog is then swapped for one that needs far more
/// room. Fields drop in order: the filesystem is unmounted before the directory goes.
struct FullDisk {
    _disk: Mount,
    repo: tempfile::TempDir,
    small: String,
    /// The small catalog's tree, as rendered on the tmpfs.
    before: Tree,
}

fn full_disk(test: &str) -> Option<FullDisk> {
    let small = tenantgen::synthetic::catalog(2);
    let large = bumped(&tenantgen::synthetic::catalog(60));
    // Size the filesystem from a render of the small catalog on the ordinary disk.
    let probe = repo_with_catalog(&small);
    assert_exit(&render(probe.path()), 0, "probe render");
    let size = pages(&snapshot(&probe.path().join("clusters"))) + 48 * 4096;

    let repo = repo_with_catalog(&small);
    let clusters = repo.path().join("clusters");
    fs::create_dir(&clusters).expect("mount point");
    let disk = match Mount::new(
        &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
        &clusters,
    ) {
        Ok(m) => m,
        Err(why) => {
            skip(test, &why);
            return None;
        }
    };
    assert_exit(&render(repo.path()), 0, "the small tree fits");
    let before = snapshot(&clusters);
    set_catalog(repo.path(), &large);
    Some(FullDisk {
        _disk: disk,
        repo,
        small,
        before,
    })
}

/// The render that no longer fits fails with ENOSPC naming a path, leaves every file of the
/// previous tree as it was and no temporaries; the small catalog still finds its tree current.
#[test]
fn full_disk_gives_a_clear_error_and_leaves_the_previous_files_whole() {
    let Some(disk) = full_disk("full_disk") else {
        return;
    };
    let (repo, clusters) = (disk.repo.path(), disk.repo.path().join("clusters"));
    let out = render(repo);
    assert_exit(&out, 1, "render onto a full disk");
    let err = stderr(&out);
    assert!(
        err.contains("No space left on device") && err.contains("clusters/"),
        "the error names the path and the cause:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let after = snapshot(&clusters);
    assert!(
        temporaries(&after).is_empty(),
        "temporaries left: {:?}",
        temporaries(&after)
    );
    // Files only: see `full_disk_leaves_no_new_directories` for directories.
    let changed: Vec<String> = tree_diff(&disk.before, &after)
        .into_iter()
        .filter(|l| !l.ends_with('/'))
        .collect();
    assert!(
        changed.is_empty(),
        "no file changed, none appeared or went:\n{}",
        changed.join("\n")
    );

    set_catalog(repo, &disk.small);
    let out = render(repo);
    assert_exit(&out, 0, "re-render of the small catalog");
    assert!(
        stderr(&out).contains("0 created, 0 updated, 0 removed"),
        "{}",
        stderr(&out)
    );
}

/// A render that fails in phase one also takes away the directories it made for new clients.
#[test]
fn full_disk_leaves_no_new_directories() {
    let Some(disk) = full_disk("full_disk_directories") else {
        return;
    };
    let clusters = disk.repo.path().join("clusters");
    assert_exit(&render(disk.repo.path()), 1, "render onto a full disk");
    let diff = tree_diff(&disk.before, &snapshot(&clusters));
    assert!(
        diff.is_empty(),
        "the failed render changed the tree:\n{}",
        diff.join("\n")
    );
}
