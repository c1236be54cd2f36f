//! package: the immutable deploy package of one client in one zone (SPEC §6), built in memory
//! so the bytes depend only on the catalog and the given creation time; and `verify`, which
//! checks a package on disk names every problem it finds.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::emit;
use crate::model::{Catalog, Client, Zone};
use crate::render::{self, Options, Unit};
use crate::tree;

pub const MANIFEST: &str = "MANIFEST.json";
pub const ALL: &str = "manifests/all.yaml";
pub const IMAGES: &str = "images.txt";
pub const SECRETS: &str = "secrets.ref";
pub const DEPLOY: &str = "deploy.sh";
pub const CHECKSUMS: &str = "checksum.sha256";

/// One file of a package: bytes and Unix mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// A package: its directory name and files (relative path -> file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub files: BTreeMap<String, File>,
}

/// What goes into a package besides the model.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub client: &'a Client,
    pub zone: &'a Zone,
    pub version: String,
    pub image: String,
    /// Seconds since the epoch, from SOURCE_DATE_EPOCH or the last commit; never the clock.
    pub created: i64,
    /// Where the catalog came from, as given.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("`{image}` has no digest, and production packages must pin images by digest")]
    ProductionWithoutDigest { image: String },
}

/// A directory-safe name: `<client>-<tag>`, or `<client>-sha256-<12 hex>` for a bare digest.
pub fn package_name(client: &str, version: &str) -> String {
    let tag = version.split('@').next().unwrap_or(version);
    if let Some(hex) = tag.strip_prefix("sha256:") {
        format!("{client}-sha256-{}", &hex[..hex.len().min(12)])
    } else {
        format!("{client}-{tag}")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// RFC 3339 UTC for a Unix time, without a date library (days-from-civil, inverted).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Builds the package of `inputs.client` in `inputs.zone`.
pub fn build(catalog: &Catalog, inputs: &Inputs) -> Result<Package, PackageError> {
    let Inputs {
        client,
        zone,
        version,
        image,
        created,
        source,
    } = inputs;
    let pinned = image.contains("@sha256:");
    if zone.production && !pinned {
        return Err(PackageError::ProductionWithoutDigest {
            image: image.clone(),
        });
    }
    // Render the zone with this client at the packaged version; keep its own objects only
    // (Flux's Kustomization is not part of a package: deploy.sh applies directly).
    let mut model = catalog.clone();
    if let Some(d) = model
        .clients
        .iter_mut()
        .find(|c| c.name == client.name)
        .and_then(|c| c.deployments.get_mut(&zone.name))
    {
        d.version.clone_from(version);
        d.image.clone_from(image);
    }
    let objects = render::zone(&model, zone, &Options::default());
    let mut all = String::from(emit::HEADER);
    all.push('\n');
    for p in objects
        .iter()
        .filter(|p| p.unit == Unit::Tenant(client.name.clone()))
    {
        all.push_str("---\n");
        p.object.emit(&mut all);
    }
    // The packaged version changes the image only, not which workloads run.
    let plans: &[crate::model::WorkloadPlan] = client
        .deployments
        .get(&zone.name)
        .map_or(&[], |d| &d.workloads);
    let mut images = String::new();
    if client.explicit_workloads {
        // Every workload runs the client's image at this version, each with its own command.
        let names: Vec<&str> = plans.iter().map(|w| w.name.as_str()).collect();
        images.push_str(&format!("# run by the workloads {}\n", names.join(", ")));
    }
    images.push_str(&format!("{image}\n"));
    let deployments: Vec<&str> = plans
        .iter()
        .filter(|w| w.schedule.is_none())
        .map(|w| w.name.as_str())
        .collect();
    let mut secrets = String::from(
        "# Secret references of this release: name, Vault path, mount path. Never values.\n",
    );
    for s in &client.secrets {
        secrets.push_str(&format!("{}\t{}\t{}\n", s.name, s.vault_path, s.mount_path));
    }
    let deploy = deploy_script(&client.namespace, &deployments);
    let mut files: BTreeMap<String, File> = BTreeMap::new();
    let file = |bytes: Vec<u8>, mode: u32| File { bytes, mode };
    files.insert(ALL.into(), file(all.into_bytes(), 0o644));
    files.insert(IMAGES.into(), file(images.into_bytes(), 0o644));
    files.insert(SECRETS.into(), file(secrets.into_bytes(), 0o644));
    files.insert(DEPLOY.into(), file(deploy.into_bytes(), 0o755));
    let content_digest = content_digest(&files);
    let manifest = json!({
        "client": client.name,
        "version": version,
        "namespace": client.namespace,
        "zone": zone.name,
        "production": zone.production,
        "image": image,
        "created": rfc3339(*created),
        "created_by": format!("tenantgen {}", env!("CARGO_PKG_VERSION")),
        "source": source,
        "files": {
            "manifests": ALL,
            "images": IMAGES,
            "secrets_ref": SECRETS,
            "deploy_script": DEPLOY,
            "checksums": CHECKSUMS,
        },
        "content_digest": format!("sha256:{content_digest}"),
    });
    let mut manifest_text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    manifest_text.push('\n');
    files.insert(MANIFEST.into(), file(manifest_text.into_bytes(), 0o644));
    let sums: String = files
        .iter()
        .map(|(path, f)| format!("{}  {path}\n", sha256_hex(&f.bytes)))
        .collect();
    files.insert(CHECKSUMS.into(), file(sums.into_bytes(), 0o644));
    Ok(Package {
        name: package_name(&client.name, version),
        files,
    })
}

/// One digest over the payload files (everything but MANIFEST.json and the checksums), so a
/// package can be identified by its content alone.
fn content_digest(files: &BTreeMap<String, File>) -> String {
    let mut h = Sha256::new();
    for (path, f) in files
        .iter()
        .filter(|(p, _)| *p != MANIFEST && *p != CHECKSUMS)
    {
        h.update(path.as_bytes());
        h.update([0]);
        h.update(sha256_hex(&f.bytes).as_bytes());
        h.update([b'\n']);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn deploy_script(namespace: &str, deployments: &[&str]) -> String {
    let mut script = format!(
        r#"#!/usr/bin/env bash
# Deploys this package: verifies it, applies it server-side, waits for the rollout, and rolls
# back when the rollout fails. Generated by tenantgen; part of the package's checksums.
set -euo pipefail
cd "$(dirname "$0")"

NAMESPACE="{namespace}"
TIMEOUT="${{ROLLOUT_TIMEOUT:-300s}}"

if ! sha256sum --check --quiet checksum.sha256; then
  echo "deploy.sh: checksums do not verify; refusing to deploy a modified package" >&2
  exit 1
fi

kubectl apply --server-side --field-manager=tenantgen --force-conflicts -f manifests/all.yaml
"#
    );
    for d in deployments {
        script.push_str(&format!(
            r#"
if ! kubectl -n "$NAMESPACE" rollout status deployment/{d} --timeout="$TIMEOUT"; then
  echo "deploy.sh: rollout of deployment/{d} in $NAMESPACE failed; rolling back" >&2
  kubectl -n "$NAMESPACE" rollout undo deployment/{d} || true
  exit 1
fi
"#
        ));
    }
    let listed: Vec<String> = deployments
        .iter()
        .map(|d| format!("deployment/{d}"))
        .collect();
    let verb = if deployments.len() == 1 { "is" } else { "are" };
    script.push_str(&format!(
        "echo \"deploy.sh: {} in $NAMESPACE {verb} rolled out\"\n",
        listed.join(", ")
    ));
    script
}

/// A reproducible `.tar.gz` of a package: sorted entries under `<name>/`, fixed mtime, owner
/// 0:0 without names, modes from the package, gzip without time or file name.
pub fn archive(package: &Package, mtime: i64) -> std::io::Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let mtime = u64::try_from(mtime).unwrap_or(0);
    let mut dirs: Vec<String> = vec![format!("{}/", package.name)];
    for path in package.files.keys() {
        if let Some((dir, _)) = path.rsplit_once('/') {
            let d = format!("{}/{dir}/", package.name);
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs.sort();
    for d in dirs {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        tar.append_data(&mut h, &d, std::io::empty())?;
    }
    for (path, f) in &package.files {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(f.mode);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(f.bytes.len() as u64);
        tar.append_data(
            &mut h,
            format!("{}/{path}", package.name),
            f.bytes.as_slice(),
        )?;
    }
    tar.into_inner()?.finish()
}

/// A problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub message: String,
    pub error: bool,
}

fn problem(file: &str, message: impl Into<String>) -> Problem {
    Problem {
        file: file.into(),
        message: message.into(),
        error: true,
    }
}

/// The bytes of a package file: regular files only, never through a symlink, never a FIFO,
/// socket or device (those are reported by `verify` itself).
fn read(dir: &Path, rel: &str) -> Result<Vec<u8>, ()> {
    match tree::read_within(dir, rel) {
        Ok(Some(bytes)) => Ok(bytes),
        _ => Err(()),
    }
}

/// Checks a package directory: only regular files (a symlink could point anywhere, a FIFO
/// would hang), checksums, MANIFEST.json, digests, no secret values.
pub fn verify(dir: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    let entries = match tree::entries_under(dir, dir) {
        Ok(e) => e,
        Err(e) => return vec![problem(".", e.to_string())],
    };
    let mut not_regular = std::collections::BTreeSet::new();
    for (rel, ft) in &entries {
        let kind = if ft.is_symlink() {
            "a symlink"
        } else if ft.is_dir() || ft.is_file() {
            continue;
        } else {
            tree::special_kind(ft).unwrap_or("not a regular file")
        };
        out.push(problem(
            rel,
            format!("is {kind}; a package holds regular files only, and verify never opens it"),
        ));
        not_regular.insert(rel.clone());
    }
    let read = |rel: &str| read(dir, rel);
    let Ok(sums) = read(CHECKSUMS) else {
        if !not_regular.contains(CHECKSUMS) {
            out.push(problem(
                CHECKSUMS,
                "missing: the package has no checksum list",
            ));
        }
        return out;
    };
    let sums = String::from_utf8_lossy(&sums).into_owned();
    let mut listed = BTreeMap::new();
    for (n, line) in sums.lines().enumerate() {
        let Some((hex, path)) = line.split_once("  ") else {
            out.push(problem(
                CHECKSUMS,
                format!("line {} is not `<sha256>  <file>`", n + 1),
            ));
            continue;
        };
        listed.insert(path.to_owned(), hex.to_owned());
        if path.contains("..") || path.starts_with('/') {
            out.push(problem(path, "names a path outside the package"));
            continue;
        }
        if not_regular.contains(path) {
            continue;
        }
        match read(path) {
            Ok(bytes) if sha256_hex(&bytes) == hex => {}
            Ok(_) => out.push(problem(
                path,
                "modified: its sha256 differs from checksum.sha256",
            )),
            Err(_) => out.push(problem(
                path,
                "missing: listed in checksum.sha256 but not in the package",
            )),
        }
    }
    let files: Vec<&String> = entries
        .iter()
        .filter(|(_, ft)| ft.is_file())
        .map(|(rel, _)| rel)
        .collect();
    for &rel in &files {
        if rel != CHECKSUMS && !listed.contains_key(rel) {
            out.push(problem(rel, "unexpected: not listed in checksum.sha256"));
        }
    }
    for required in [MANIFEST, ALL, IMAGES, SECRETS, DEPLOY] {
        if !listed.contains_key(required) {
            out.push(problem(
                required,
                "missing from checksum.sha256: every package file must be covered",
            ));
        }
    }
    out.extend(verify_manifest(dir));
    if let Ok(images) = read(IMAGES) {
        let zone_is_production = read(MANIFEST)
            .ok()
            .and_then(|m| serde_json::from_slice::<Value>(&m).ok())
            .and_then(|m| m.get("production").and_then(Value::as_bool));
        for line in String::from_utf8_lossy(&images)
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let pinned = line.split_once("@sha256:").is_some_and(|(_, hex)| {
                hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
            if !pinned {
                let mut p = problem(IMAGES, format!("`{line}` is not pinned by digest"));
                p.error = zone_is_production != Some(false);
                out.push(p);
            }
        }
    }
    for &rel in &files {
        if let Ok(bytes) = read(rel) {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(why) = secret_value(&text) {
                out.push(problem(
                    rel,
                    format!("holds a secret value ({why}); packages carry references only"),
                ));
            }
        }
    }
    out
}

fn verify_manifest(dir: &Path) -> Vec<Problem> {
    let Ok(bytes) = read(dir, MANIFEST) else {
        return Vec::new();
    };
    let Ok(m) = serde_json::from_slice::<Value>(&bytes) else {
        return vec![problem(MANIFEST, "is not valid JSON")];
    };
    let mut out = Vec::new();
    for key in [
        "client",
        "version",
        "namespace",
        "zone",
        "image",
        "created",
        "created_by",
        "source",
        "content_digest",
    ] {
        if !m.get(key).is_some_and(Value::is_string) {
            out.push(problem(
                MANIFEST,
                format!("field `{key}` is missing or not a string"),
            ));
        }
    }
    for (key, path) in [
        ("manifests", ALL),
        ("images", IMAGES),
        ("secrets_ref", SECRETS),
        ("deploy_script", DEPLOY),
        ("checksums", CHECKSUMS),
    ] {
        if m.pointer(&format!("/files/{key}")).and_then(Value::as_str) != Some(path) {
            out.push(problem(MANIFEST, format!("`files.{key}` must be `{path}`")));
        }
    }
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let name = package_name(s("client"), s("version"));
    if let Some(dir_name) = dir.file_name().map(|n| n.to_string_lossy().into_owned())
        && !s("client").is_empty()
        && name != dir_name
    {
        out.push(problem(
            MANIFEST,
            format!("client and version say `{name}`, but the package directory is `{dir_name}`"),
        ));
    }
    let mut files = BTreeMap::new();
    for rel in [ALL, IMAGES, SECRETS, DEPLOY] {
        if let Ok(bytes) = read(dir, rel) {
            files.insert(rel.to_owned(), File { bytes, mode: 0 });
        }
    }
    if s("content_digest") != format!("sha256:{}", content_digest(&files)) {
        out.push(problem(
            MANIFEST,
            "`content_digest` does not match the package's files",
        ));
    }
    if let Ok(all) = read(dir, ALL).map(|b| String::from_utf8_lossy(&b).into_owned()) {
        if !s("namespace").is_empty() && !all.contains(&format!("namespace: {}\n", s("namespace")))
        {
            out.push(problem(
                MANIFEST,
                format!(
                    "namespace `{}` is not the manifests' namespace",
                    s("namespace")
                ),
            ));
        }
        if !s("image").is_empty()
            && !all.contains(&format!("image: {}\n", s("image")))
            && !all.contains(&format!("image: \"{}\"\n", s("image")))
        {
            out.push(problem(
                MANIFEST,
                format!("image `{}` is not the image the manifests run", s("image")),
            ));
        }
    }
    out
}

/// Why `text` looks like it holds a secret value, if it does: a Secret object with data, or
/// a credential pattern.
fn secret_value(text: &str) -> Option<&'static str> {
    let secret_with_data = text.split("\n---\n").any(|doc| {
        doc.lines().any(|l| l == "kind: Secret")
            && doc
                .lines()
                .any(|l| l.starts_with("data:") || l.starts_with("stringData:"))
    });
    if secret_with_data {
        return Some("a Secret object with data");
    }
    crate::lint::credential_pattern(text)
}

#[cfg(test)]
mod tests {
    use super::{package_name, rfc3339};

    #[test]
    fn unix_times_format_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn package_names_are_directory_safe() {
        assert_eq!(package_name("acme", "1.2.3@sha256:abc"), "acme-1.2.3");
        assert_eq!(
            package_name("acme", "sha256:0123456789abcdef0123"),
            "acme-sha256-0123456789ab"
        );
    }
}
