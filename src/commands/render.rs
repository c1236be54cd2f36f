//! `tenantgen render`: writes the Flux tree, or with `--check` says whether it is current.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::check::{self, Checked};
use crate::cli::RenderArgs;
use crate::layout;
use crate::render::Options;
use crate::tree::{self, Scope, TreeError};

use super::{
    CommandError, CommandResult, EXIT_FAILURE, EXIT_OK, count, print_problems, refused_catalog,
};

impl From<TreeError> for CommandError {
    fn from(e: TreeError) -> Self {
        let hint = e.hint();
        CommandError::failure(e.to_string()).hint(hint)
    }
}

/// Checks the catalog or reports its problems (exit 1, nothing written).
pub fn checked(path: &Path) -> Result<Checked, CommandError> {
    match check::check_file(path) {
        Ok(c) => {
            print_problems(&c.warnings);
            Ok(c)
        }
        Err(problems) => {
            let e = refused_catalog(
                &path.display().to_string(),
                &problems,
                "; nothing was written",
            );
            Err(if e.hint.is_some() {
                e
            } else {
                e.hint(format!(
                    "fix the problems above (each says where and how), then `tenantgen validate {}` checks again",
                    path.display()
                ))
            })
        }
    }
}

/// `to` relative to `from` (both absolute), with `/` separators.
fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_owned(), f.len() - common).collect();
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The directory Flux syncs, which its paths are relative to: the top level of the git
/// repository holding `out` (the nearest directory with a `.git` entry, a worktree's `.git`
/// file included; no git process needed), or `out`'s parent when there is none, as the
/// default `./clusters` implies. Never the working directory.
fn flux_base(out: &Path) -> PathBuf {
    out.ancestors()
        .find(|d| d.join(".git").symlink_metadata().is_ok())
        .or_else(|| out.parent())
        .unwrap_or(out)
        .to_path_buf()
}

/// The rendering options that depend on the disk: where the tree sits in the repository
/// (for Flux paths) and which clients have a hand-written Component. The same tree gives the
/// same bytes however `-o` is spelled and wherever tenantgen runs.
pub fn options(catalog_path: &Path, output: &Path, checked: &Checked, zone: &str) -> Options {
    let out = tree::resolve(output);
    let from_base = relative(&flux_base(&out), &out);
    let flux_root = if from_base.is_empty() {
        ".".to_owned()
    } else {
        format!("./{from_base}")
    };
    let clients_dir = tree::resolve(catalog_path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // The catalog's directory is listed once: a client without an entry there has no
    // Component, and is not asked about three times per zone.
    // (A directory that cannot be listed is asked about client by client.)
    let present: Option<std::collections::HashSet<std::ffi::OsString>> =
        std::fs::read_dir(&clients_dir)
            .ok()
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect());
    let mut components = BTreeMap::new();
    for c in &checked.model.clients {
        if present
            .as_ref()
            .is_some_and(|p| !p.contains(std::ffi::OsStr::new(&c.name)))
        {
            continue;
        }
        let dir = clients_dir.join(&c.name);
        let has = KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file());
        if has {
            let from = out.join(zone).join("tenants").join(&c.name);
            components.insert(c.name.clone(), relative(&from, &dir));
        }
    }
    let mut bootstrapped = std::collections::BTreeSet::new();
    if bootstrap_kustomization(&out.join(zone).join("flux-system")) {
        bootstrapped.insert(zone.to_owned());
    }
    Options {
        flux_root,
        components,
        bootstrapped,
    }
}

/// Whether `flux-system/` holds a kustomization of its own, as `flux bootstrap` writes it.
/// Only a regular file counts: a link or anything else there is not bootstrap's.
pub fn bootstrap_kustomization(flux_system: &Path) -> bool {
    KUSTOMIZATION_FILES.iter().any(|f| {
        std::fs::symlink_metadata(flux_system.join(f)).is_ok_and(|m| m.file_type().is_file())
    })
}

/// The names kustomize accepts for a directory's kustomization.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Refuses a `--zone` the catalog does not have.
fn known_zone(checked: &Checked, zone: Option<&str>) -> Result<(), CommandError> {
    let m = &checked.model;
    if let Some(z) = zone.filter(|z| !m.zones.iter().any(|x| x.name == *z)) {
        let names: Vec<_> = m.zones.iter().map(|x| x.name.as_str()).collect();
        return Err(
            CommandError::failure(format!("zone `{z}` is not in the catalog"))
                .hint(format!("use one of: {}", names.join(", "))),
        );
    }
    Ok(())
}

/// Every file of the tree for the selected zones, by path relative to the output directory,
/// handed to `sink` one at a time (a zone's platform files, then client by client). A zone
/// the catalog does not have selects nothing: `run` refuses it first, with `known_zone`.
pub fn each_file<E>(
    args_catalog: &Path,
    output: &Path,
    checked: &Checked,
    zone: Option<&str>,
    mut sink: impl FnMut(String, String) -> Result<(), E>,
) -> Result<(), E> {
    let m = &checked.model;
    for z in m.zones.iter().filter(|x| zone.is_none_or(|n| n == x.name)) {
        let opts = options(args_catalog, output, checked, &z.name);
        layout::each_zone_file(m, z, &opts, |rel, content| {
            sink(format!("{}/{rel}", z.name), content)
        })?;
    }
    Ok(())
}

/// What this render may touch: `<output>/<zone>/` for the selected zones of the catalog.
/// A zone removed from the catalog is out of reach like everything else under the output
/// directory: its files are the user's to remove.
pub fn scope(output: &Path, checked: &Checked, zone: Option<&str>) -> Result<Scope, TreeError> {
    let zones = checked
        .model
        .zones
        .iter()
        .map(|z| z.name.clone())
        .filter(|z| zone.is_none_or(|n| n == z));
    Scope::new(output, zones)
}

/// Directories beside the zones that render never touches, named so that a zone removed
/// from the catalog does not linger unnoticed. Only listed, never opened.
fn not_zones(out: &Path, checked: &Checked) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !checked.model.zones.iter().any(|z| z.name == *n))
        .collect();
    names.sort();
    names
}

fn is_client_file(rel: &str) -> bool {
    // Asked of every file: no list of the parts is made.
    let mut parts = rel.split('/');
    parts.next();
    parts.next() == Some("tenants") && parts.nth(1).is_some()
}

pub fn run(args: &RenderArgs) -> CommandResult {
    let catalog = args.catalog_path();
    let mut checked = checked(catalog)?;
    // Rendering reads the model alone: the parsed document, its source map and the loaded
    // catalog are a third of the memory at 10,000 clients, and are let go before the tree
    // is rendered.
    checked.doc = crate::yaml::Document {
        value: serde_json::Value::Null,
        map: crate::yaml::SourceMap::default(),
    };
    checked.raw.spec.clients = Vec::new();
    known_zone(&checked, args.zone.as_deref())?;
    let scope = scope(&args.output, &checked, args.zone.as_deref())?;
    scope.refuse_unsafe_root(catalog)?;
    let out = scope.root().to_path_buf();
    let _lock = if args.check {
        None
    } else {
        Some(scope.lock()?)
    };
    // Files are compared (and, to render, staged) as they are made, so memory never holds
    // the whole tree; any error below drops the planner and its temporaries with it. The
    // planner removes the temporaries a crashed run left when it lists the zones.
    let mut planner = tree::Planner::new(scope, !args.check);
    let mut renders_clients = false;
    let mut progress = Progress::new(if args.check { "checking" } else { "rendering" });
    let mut counter = ClientCounter::default();
    let per_zone: BTreeMap<&str, usize> = checked
        .model
        .zones
        .iter()
        .map(|z| {
            let n = checked
                .model
                .clients
                .iter()
                .filter(|c| c.deployments.contains_key(&z.name))
                .count();
            (z.name.as_str(), n)
        })
        .collect();
    // Rendering (CPU) and writing (mostly the kernel making inodes) overlap on two threads:
    // files are rendered on one and handed over in order, through a short queue, to be
    // compared and staged here, so the plan is the same as on one thread. When staging
    // fails, the queue is dropped and the rendering stops at its next file. Files go over in
    // batches: a hand-over per file cost two futex calls per file.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(String, String)>>(8);
    let zone = args.zone.as_deref();
    let added = std::thread::scope(|s| {
        let checked = &checked;
        let output = &args.output;
        s.spawn(move || {
            const BATCH: usize = 64;
            let mut batch = Vec::with_capacity(BATCH);
            let rendered = each_file(catalog, output, checked, zone, |rel, content| {
                batch.push((rel, content));
                if batch.len() < BATCH {
                    return Ok(());
                }
                tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
            });
            if rendered.is_ok() && !batch.is_empty() {
                let _ = tx.send(batch);
            }
        });
        for (rel, content) in rx.into_iter().flatten() {
            renders_clients |= is_client_file(&rel);
            if let Some((zone, done)) = counter.see(&rel) {
                let total = per_zone.get(zone).copied().unwrap_or_default();
                progress.show(&format!(
                    "{zone}: {}/{} clients",
                    thousands(done),
                    thousands(total)
                ));
            }
            planner.add(rel, &content)?;
        }
        Ok::<(), TreeError>(())
    });
    added?;
    let plan = planner.finish()?;
    let removes_every_client = !renders_clients && plan.remove.iter().any(|f| is_client_file(f));
    if removes_every_client && !args.allow_empty {
        return Err(CommandError::failure(format!(
            "the catalog renders no client, but `{}` holds clients; refusing to remove them all",
            out.display()
        ))
        .hint("an empty or truncated catalog must never read as \"delete everything\"; pass `--allow-empty` if that is what you mean"));
    }
    if args.check {
        progress.clear();
        if plan.is_clean() {
            eprintln!(
                "`{}` is up to date ({} files)",
                out.display(),
                plan.unchanged
            );
            return Ok(EXIT_OK);
        }
        for rel in &plan.create {
            eprintln!("missing: {}", out.join(rel).display());
        }
        for rel in &plan.update {
            eprintln!("stale: {}", out.join(rel).display());
        }
        for rel in &plan.remove {
            eprintln!("extra: {}", out.join(rel).display());
        }
        let n = plan.create.len() + plan.update.len() + plan.remove.len();
        return Err(CommandError {
            exit: EXIT_FAILURE,
            message: format!(
                "`{}` is stale: {} differ from the catalog",
                out.display(),
                count(n, "file")
            ),
            hint: Some(format!(
                "run `tenantgen render --catalog {} -o {}` and commit the result",
                catalog.display(),
                out.display()
            )),
        });
    }
    let summary = format!(
        "rendered `{}` into `{}`: {} created, {} updated, {} removed, {} unchanged",
        catalog.display(),
        out.display(),
        plan.create.len(),
        plan.update.len(),
        plan.remove.len(),
        plan.unchanged
    );
    let foreign: Vec<String> = plan.foreign.iter().cloned().collect();
    progress.show_now(&format!(
        "writing {} files",
        thousands(plan.create.len() + plan.update.len() + plan.remove.len())
    ));
    tree::apply(plan)?;
    progress.clear();
    eprintln!("{summary}");
    for rel in &foreign {
        eprintln!(
            "left alone: {} (not generated by tenantgen)",
            out.join(rel).display()
        );
    }
    for dir in not_zones(&out, &checked) {
        eprintln!(
            "left alone: {}/ (not a zone of the catalog; remove it by hand if its zone is gone)",
            out.join(dir).display()
        );
    }
    Ok(EXIT_OK)
}

/// Counts the clients of each zone as their files go by (a zone's files come client by
/// client): `see` returns the zone and how many of its clients have begun, when that grows.
#[derive(Default)]
struct ClientCounter {
    zone: String,
    client: String,
    done: usize,
}

impl ClientCounter {
    fn see<'a>(&mut self, rel: &'a str) -> Option<(&'a str, usize)> {
        let mut parts = rel.split('/');
        let (zone, tenants, client) = (parts.next()?, parts.next()?, parts.next()?);
        parts.next()?;
        if tenants != "tenants" {
            return None;
        }
        if zone != self.zone {
            zone.clone_into(&mut self.zone);
            self.client.clear();
            self.done = 0;
        }
        if client == self.client {
            return None;
        }
        client.clone_into(&mut self.client);
        self.done += 1;
        Some((zone, self.done))
    }
}

/// `10,000`: counts in the progress line.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A progress line on stderr for a render that takes more than about a second: only when a
/// person watches (stderr is a terminal, `CI` unset, `TERM` not `dumb`), so CI logs and
/// pipes never hold it. Redrawn in place with `\r` at most ten times a second and erased
/// before anything else is printed (also when an error ends the command: on drop).
struct Progress {
    verb: &'static str,
    enabled: bool,
    start: Instant,
    after: Duration,
    last: Option<Instant>,
    width: usize,
}

/// How often the line is redrawn, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    fn new(verb: &'static str) -> Self {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let enabled = io::stderr().is_terminal() && std::env::var_os("CI").is_none() && !dumb;
        // The delay can be shortened (in milliseconds) so that the terminal path can be
        // tested on a small catalog.
        let after = std::env::var("TENANTGEN_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(1), Duration::from_millis);
        Progress {
            verb,
            enabled,
            start: Instant::now(),
            after,
            last: None,
            width: 0,
        }
    }

    /// Shows `what` if the render has run long enough and the line was not just drawn.
    fn show(&mut self, what: &str) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.start) < self.after
            || self
                .last
                .is_some_and(|l| now.duration_since(l) < PROGRESS_EVERY)
        {
            return;
        }
        self.draw(what, now);
    }

    /// Shows `what` at once if the line is already on screen (a new stage has begun).
    fn show_now(&mut self, what: &str) {
        if self.enabled && self.last.is_some() {
            self.draw(what, Instant::now());
        }
    }

    fn draw(&mut self, what: &str, now: Instant) {
        let line = format!("{} {what}", self.verb);
        let len = line.chars().count();
        let pad = " ".repeat(self.width.saturating_sub(len));
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r{line}{pad}");
        let _ = err.flush();
        self.width = len;
        self.last = Some(now);
    }

    fn clear(&mut self) {
        if self.enabled && self.last.is_some() {
            let mut err = io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(self.width));
            let _ = err.flush();
            self.last = None;
            self.width = 0;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{ClientCounter, relative, thousands};
    use std::path::Path;

    #[test]
    fn progress_counts_each_zones_clients_once() {
        let mut c = ClientCounter::default();
        assert_eq!(c.see("dev/platform/namespaces.yaml"), None);
        assert_eq!(c.see("dev/tenants/a/deployment.yaml"), Some(("dev", 1)));
        assert_eq!(c.see("dev/tenants/a/service.yaml"), None);
        assert_eq!(c.see("dev/tenants/b.yaml"), None);
        assert_eq!(c.see("dev/tenants/b/deployment.yaml"), Some(("dev", 2)));
        assert_eq!(
            c.see("staging/tenants/a/deployment.yaml"),
            Some(("staging", 1))
        );
        assert_eq!(thousands(4200), "4,200");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        assert_eq!(
            relative(
                Path::new("/r/clusters/dev/tenants/a"),
                Path::new("/r/clients/a")
            ),
            "../../../../clients/a"
        );
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/clusters")),
            "clusters"
        );
    }
}
