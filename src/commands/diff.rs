//! `tenantgen diff`: what a change does to every zone, for pull-request reviewers. Both
//! catalogs are read from git objects (no checkout, no worktree) and rendered in-process,
//! one at a time where they can be: the base is checked first and, when only some clients
//! differ, only their rendering is kept of it before the head is checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::{self, Checked};
use crate::cli::{Compare, DiffArgs, DiffFormat};
use crate::diff::{self, Object, Side};
use crate::report::{self, Links};
use crate::source::Source;
use crate::yaml::{self, Numbers};

use super::render::{self, each_file};
use super::{CommandError, CommandResult, EXIT_OK, print_data, print_problems};

const EXIT_CHANGES: u8 = 2;
const EXIT_RISK: u8 = 3;
const EXIT_STALE: u8 = 4;

/// Threads rendering head for the stale check, a zone at a time: one per core of a small CI
/// runner. A third (for three zones) evens out the work but holds a third zone's rendering.
const STALE_WORKERS: usize = 2;

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The merge-base with the default branch, or HEAD when there is none, and what it is for
/// people ("merge-base with origin/main").
fn default_base(repo: &Path) -> (String, String) {
    let mut candidates = Vec::new();
    if let Ok(r) = git(
        repo,
        &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
    ) {
        candidates.push(r.trim().to_owned());
    }
    candidates.extend(["origin/main", "origin/master", "main", "master"].map(str::to_owned));
    for c in candidates {
        if git(
            repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{c}^{{commit}}"),
            ],
        )
        .is_ok()
            && let Ok(mb) = git(repo, &["merge-base", "HEAD", &c])
        {
            let name = c.strip_prefix("refs/remotes/").unwrap_or(&c);
            return (mb.trim().to_owned(), format!("merge-base with {name}"));
        }
    }
    ("HEAD".into(), "HEAD".into())
}

/// The catalog at `rev` (from git objects), or `None` when it does not exist there.
fn catalog_at(repo: &Path, rev: &str, rel: &str) -> Option<String> {
    git(repo, &["show", &format!("{rev}:{rel}")]).ok()
}

fn check_side(name: String, text: String, which: &str) -> Result<Checked, CommandError> {
    check::check_source(Source::from_text(name, text)).map_err(|problems| {
        print_problems(&problems);
        CommandError::failure(format!("the {which} catalog does not validate; a render error is never reported as a difference"))
    })
}

/// The committed tree's files at head: from the working tree, or from git objects at `rev`.
/// The working tree is read through the render scope (head's zones, regular files only):
/// what render would never touch is not part of the tree, and a FIFO is an error, not a hang.
fn committed_tree(
    repo: &Path,
    output: &Path,
    head_rev: Option<&str>,
    head: &Checked,
) -> Result<BTreeMap<String, String>, CommandError> {
    let mut files = BTreeMap::new();
    let out = output.display().to_string();
    match head_rev {
        None => {
            let scope = render::scope(&repo.join(output), head, None)?;
            for rel in scope.owned_files()? {
                if let Some(bytes) = scope.existing(&rel)? {
                    files.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        Some(rev) => {
            let listing =
                git(repo, &["ls-tree", "-r", "--name-only", rev, "--", &out]).unwrap_or_default();
            for path in listing.lines() {
                if let Ok(text) = git(repo, &["show", &format!("{rev}:{path}")]) {
                    files.insert(path.trim_start_matches(&format!("{out}/")).to_owned(), text);
                }
            }
        }
    }
    files.retain(|_, text| text.starts_with(crate::tree::OWNED_PREFIX));
    Ok(files)
}

/// A git object id as bytes: SHA-1 (20 bytes), or SHA-256 (32) in a repository that uses it.
/// Held instead of hex strings: a large tree lists hundreds of thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Oid {
    bytes: [u8; 32],
    len: u8,
}

impl Oid {
    fn from_hex(hex: &str) -> Option<Oid> {
        let len = match hex.len() {
            40 => 20,
            64 => 32,
            _ => return None,
        };
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().take(len).enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Oid {
            bytes,
            len: len as u8,
        })
    }

    fn hex(&self) -> String {
        self.bytes[..usize::from(self.len)]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The blob id of `content` in the object format of `self`: what git lists for a file
    /// with these bytes.
    fn of_blob_like(&self, content: &[u8]) -> Oid {
        use sha2::Digest as _;
        let header = format!("blob {}\0", content.len());
        let mut bytes = [0u8; 32];
        if self.len == 32 {
            let mut h = sha2::Sha256::new();
            h.update(header.as_bytes());
            h.update(content);
            bytes.copy_from_slice(&h.finalize());
        } else {
            let mut h = sha1::Sha1::new();
            h.update(header.as_bytes());
            h.update(content);
            bytes[..20].copy_from_slice(&h.finalize());
        }
        Oid {
            bytes,
            len: self.len,
        }
    }
}

/// Whether a committed file (at `rev`, or in the working tree) is tenantgen's.
fn committed_is_owned(repo: &Path, output: &Path, rev: Option<&str>, rel: &str) -> bool {
    let path = output.join(rel);
    let text = match rev {
        Some(rev) => git(repo, &["show", &format!("{rev}:{}", path.display())]).ok(),
        None => crate::tree::read_regular(&repo.join(&path))
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    };
    text.is_some_and(|t| t.starts_with(crate::tree::OWNED_PREFIX))
}

/// Which of the blobs `ids` are tenantgen's files, read in one `git cat-file --batch`
/// instead of a `git show` per file.
fn owned_blobs(repo: &Path, ids: &BTreeSet<String>) -> BTreeSet<String> {
    use std::io::{BufRead as _, Read as _, Write as _};
    let mut owned = BTreeSet::new();
    if ids.is_empty() {
        return owned;
    }
    let Ok(mut child) = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(repo)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return owned;
    };
    let input: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let mut stdin = child.stdin.take();
    // Written from a thread: git answers while it reads, and a full pipe each way would
    // deadlock.
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(input.as_bytes());
        }
    });
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::BufReader::new(stdout);
        let mut header = String::new();
        let mut body = Vec::new();
        for _ in 0..ids.len() {
            header.clear();
            if out.read_line(&mut header).unwrap_or(0) == 0 {
                break;
            }
            // `<id> blob <size>`, then the content and a newline; `<id> missing` alone.
            let mut parts = header.split_whitespace();
            let (Some(id), Some(_), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let Ok(size) = size.parse::<u64>() else {
                continue;
            };
            body.clear();
            if (&mut out).take(size + 1).read_to_end(&mut body).is_err() {
                break;
            }
            if body.starts_with(crate::tree::OWNED_PREFIX.as_bytes()) {
                owned.insert(id.to_owned());
            }
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    owned
}

/// Starts git with `args`, its output piped.
fn spawn_git(repo: &Path, args: &[&str]) -> Option<std::process::Child> {
    Command::new("git")
        .args(args)
        .current_dir(repo)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

/// Calls `each` with every NUL-separated entry of a started git's output as it comes (a
/// listing of a large tree is tens of megabytes, never held whole). Whether git succeeded:
/// when not, the caller drops what it was given.
fn read_each(mut child: std::process::Child, mut each: impl FnMut(&str)) -> bool {
    use std::io::BufRead as _;
    let mut read_all = false;
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::BufReader::with_capacity(1 << 16, stdout);
        let mut entry = Vec::new();
        loop {
            entry.clear();
            match out.read_until(0, &mut entry) {
                Ok(0) => {
                    read_all = true;
                    break;
                }
                Ok(_) => {
                    if entry.last() == Some(&0) {
                        entry.pop();
                    }
                    if !entry.is_empty() {
                        each(&String::from_utf8_lossy(&entry));
                    }
                }
                Err(_) => break,
            }
        }
    }
    child.wait().is_ok_and(|s| s.success()) && read_all
}

/// Runs git with `args` and calls `each` with every entry of its output (see `read_each`).
fn git_each(repo: &Path, args: &[&str], each: impl FnMut(&str)) -> bool {
    spawn_git(repo, args).is_some_and(|child| read_each(child, each))
}

/// Git listings started early and read late: git walks a large tree while the catalogs are
/// checked, and what it found waits in git's own memory (a full pipe holds it) until the
/// stale check reads it, instead of in ours while both catalogs are checked.
struct Pending(Vec<std::process::Child>);

impl Pending {
    /// Every entry of each listing, one after another, NUL-separated; a listing whose git
    /// failed is left out whole.
    fn read(mut self) -> String {
        let mut paths = String::new();
        for child in std::mem::take(&mut self.0) {
            let mut listed = String::new();
            let ok = read_each(child, |p| {
                listed.push_str(p);
                listed.push('\0');
            });
            if ok {
                paths.push_str(&listed);
            }
        }
        paths
    }
}

impl Drop for Pending {
    /// A diff that fails before its stale check stops the listings it started.
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The working tree's paths under `output` that git's index cannot vouch for: changed since
/// staged (or gone), and untracked (ignored ones included). Started before the catalogs are
/// checked: git's walk over a large tree then costs no time of its own.
fn unsure_paths(repo: &Path, output: &Path) -> Pending {
    let out = output.display().to_string();
    Pending(
        [
            &["diff-files", "--name-only", "-z", "--", &out][..],
            &["ls-files", "--others", "-z", "--", &out][..],
        ]
        .into_iter()
        .filter_map(|args| spawn_git(repo, args))
        .collect(),
    )
}

/// Paths, each with a value, held one after another in one string and sorted for lookup: a
/// zone of a large tree lists a hundred thousand files, and a map of strings would cost
/// several times their bytes.
struct Listed<T> {
    paths: String,
    /// (start and end of the path in `paths`, value, whether it was taken), sorted by path
    /// once sealed.
    entries: Vec<(u32, u32, T, bool)>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed {
            paths: String::new(),
            entries: Vec::new(),
        }
    }
}

impl<T: Copy> Listed<T> {
    fn path(&self, e: &(u32, u32, T, bool)) -> &str {
        self.paths.get(e.0 as usize..e.1 as usize).unwrap_or("")
    }

    fn push(&mut self, rel: &str, value: T) {
        let start = self.paths.len();
        self.paths.push_str(rel);
        // Past 4 GiB of paths the offsets would wrap: such a path is left out (unknown to
        // git, so read or rendered as missing), never mistaken for another.
        if let (Ok(a), Ok(b)) = (u32::try_from(start), u32::try_from(self.paths.len())) {
            self.entries.push((a, b, value, false));
        }
    }

    /// Sorts the entries for lookup, once each, keeping the paths `keep` accepts.
    fn seal(&mut self, keep: impl Fn(&str) -> bool) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_by(|a, b| self.path(a).cmp(self.path(b)));
        entries.dedup_by(|a, b| self.path(a) == self.path(b));
        entries.retain(|e| keep(self.path(e)));
        self.entries = entries;
    }

    fn find(&self, rel: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|e| self.path(e).cmp(rel))
            .ok()
    }

    fn contains(&self, rel: &str) -> bool {
        self.find(rel).is_some()
    }

    /// The value listed for `rel`, the first time it is asked for.
    fn take(&mut self, rel: &str) -> Option<T> {
        let i = self.find(rel)?;
        let e = &mut self.entries[i];
        if e.3 {
            return None;
        }
        e.3 = true;
        Some(e.2)
    }

    /// The listed paths no one took, with their values.
    fn left(&self) -> impl Iterator<Item = (String, T)> + '_ {
        self.entries
            .iter()
            .filter(|e| !e.3)
            .map(|e| (self.path(e).to_owned(), e.2))
    }
}

/// One zone of the committed tree as git knows it.
#[derive(Default)]
struct ZoneIds {
    /// Relative path -> blob id.
    ids: Listed<Oid>,
    /// Working tree files git cannot vouch for: changed since staged (or gone), untracked
    /// (ignored ones included), or not regular files. They are read.
    unsure: Listed<()>,
}

impl ZoneIds {
    /// Sorts both lists; a path git cannot vouch for is not looked up by id.
    fn seal(&mut self) {
        self.unsure.seal(|_| true);
        let unsure = &self.unsure;
        self.ids.seal(|p| !unsure.contains(p));
    }
}

/// The committed tree's files as git knows them, zone by zone: at a revision, from one
/// `git ls-tree`; for the working tree, from the index, with what git cannot vouch for set
/// apart. Only the zones head renders are part of the tree.
fn committed_ids(
    repo: &Path,
    output: &Path,
    head_rev: Option<&str>,
    head: &Checked,
    unsure: Option<String>,
) -> BTreeMap<String, ZoneIds> {
    let out = output.display().to_string();
    let zones_of = || -> BTreeMap<String, ZoneIds> {
        head.model
            .zones
            .iter()
            .map(|z| (z.name.clone(), ZoneIds::default()))
            .collect()
    };
    let mut zones = zones_of();
    let place = |zones: &mut BTreeMap<String, ZoneIds>, path: &str, id: Option<Oid>| {
        let Some(rel) = path.strip_prefix(&out).and_then(|r| r.strip_prefix('/')) else {
            return;
        };
        let zone = rel.split('/').next().unwrap_or("");
        if let Some(z) = zones.get_mut(zone) {
            match id {
                Some(id) => z.ids.push(rel, id),
                None => z.unsure.push(rel, ()),
            }
        }
    };
    let listing: &[&str] = match head_rev {
        Some(rev) => &["ls-tree", "-r", "-z", "--full-tree", rev, "--", &out],
        None => &["ls-files", "-s", "-z", "--", &out],
    };
    let listed = git_each(repo, listing, |line| {
        // `<mode> blob <id>\t<path>` (ls-tree) or `<mode> <id> <stage>\t<path>` (ls-files).
        let Some((meta, path)) = line.split_once('\t') else {
            return;
        };
        let mut fields = meta.split(' ');
        let fields = [fields.next(), fields.next(), fields.next(), fields.next()];
        match (head_rev, fields) {
            (Some(_), [Some(_), Some(_), Some(id), None]) => {
                if let Some(id) = Oid::from_hex(id) {
                    place(&mut zones, path, Some(id));
                }
            }
            (None, [Some("100644" | "100755"), Some(id), Some("0"), None]) => {
                place(&mut zones, path, Oid::from_hex(id));
            }
            (None, _) => place(&mut zones, path, None),
            _ => {}
        }
    });
    if !listed {
        zones = zones_of();
    }
    for path in unsure.iter().flat_map(|u| u.split('\0')) {
        if !path.is_empty() {
            place(&mut zones, path, None);
        }
    }
    for z in zones.values_mut() {
        z.seal();
    }
    zones
}

/// The files of the committed tree at head (`head_rev`, or the working tree) that are not
/// head's rendering. Head is rendered zone by zone on `STALE_WORKERS` threads and each file
/// compared with what git says the committed tree holds (blob ids, so the tree is never read
/// whole);
/// in the working tree, only the files git cannot vouch for are read, through the render
/// scope (regular files only: a FIFO at a generated path is an error, not a hang).
/// Hand-written files are not part of the tree and never stale.
fn stale_files(
    repo: &Path,
    output: &Path,
    head_rev: Option<&str>,
    catalog_abs: &Path,
    head: &Checked,
    unsure: Option<Pending>,
) -> Result<Vec<String>, CommandError> {
    let root = repo.join(output);
    let scope = render::scope(&root, head, None)?;
    // Per zone: stale files, and files whose owner decides (path, blob id at a revision).
    type Found = (Vec<String>, Vec<(String, Oid)>);
    // A zone's platform and Flux files are rendered together (all its clients' Kustomizations
    // at once), its clients' files one client at a time: only one thread at a time renders
    // the former, so that the threads together hold one zone's Flux objects, not one each.
    let flux_part = std::sync::Mutex::new(());
    let zone_files = |zone: &str, mut z: ZoneIds| -> Result<Found, CommandError> {
        let (mut stale, mut ask) = (Vec::new(), Vec::new());
        let mut gate = Some(flux_part.lock());
        each_file(catalog_abs, &root, head, Some(zone), |rel, content| {
            if gate.is_some() && is_client_file(&rel) {
                gate = None;
            }
            if let Some(id) = z.ids.take(&rel) {
                if id != id.of_blob_like(content.as_bytes()) {
                    ask.push((rel, id));
                }
            } else if head_rev.is_none() {
                // Read as render would: a file that is not tenantgen's is left alone by
                // render, so it is never stale; a missing one is.
                z.unsure.take(&rel);
                let stale_here = match scope.existing(&rel)? {
                    Some(bytes) => {
                        bytes != content.as_bytes()
                            && bytes.starts_with(crate::tree::OWNED_PREFIX.as_bytes())
                    }
                    None => true,
                };
                if stale_here {
                    stale.push(rel);
                }
            } else {
                // No committed tree at all is the stalest tree: every file head renders is
                // missing (as `render --check` says), so a pull request that forgot to render
                // cannot pass.
                stale.push(rel);
            }
            Ok::<(), CommandError>(())
        })?;
        drop(gate);
        // What head no longer renders but the committed tree still holds.
        ask.extend(z.ids.left());
        for (rel, ()) in z.unsure.left() {
            if committed_is_owned(repo, output, head_rev, &rel) {
                stale.push(rel);
            }
        }
        Ok((stale, ask))
    };
    let unsure = unsure.map(Pending::read);
    let zones: Vec<(String, ZoneIds)> = committed_ids(repo, output, head_rev, head, unsure)
        .into_iter()
        .collect();
    // Zones are taken one at a time by STALE_WORKERS threads, so that a thread that is done
    // takes the next zone rather than wait for the other's.
    let queue = std::sync::Mutex::new(zones);
    let work = || -> Result<Vec<Found>, CommandError> {
        let mut found = Vec::new();
        loop {
            let next = queue.lock().ok().and_then(|mut q| q.pop());
            let Some((name, z)) = next else {
                return Ok(found);
            };
            found.push(zone_files(&name, z)?);
        }
    };
    let done: Vec<Result<Vec<Found>, CommandError>> = std::thread::scope(|s| {
        let workers: Vec<_> = (1..STALE_WORKERS).map(|_| s.spawn(work)).collect();
        let mut done = vec![work()];
        for w in workers {
            done.push(
                w.join()
                    .unwrap_or_else(|_| Err(CommandError::failure("the stale check failed"))),
            );
        }
        done
    });
    let mut stale = Vec::new();
    let mut ask: Vec<(String, Oid)> = Vec::new();
    for found in done {
        for (s, a) in found? {
            stale.extend(s);
            ask.extend(a);
        }
    }
    // A differing or leftover file is stale only if it is tenantgen's.
    match head_rev {
        Some(_) => {
            let owned = owned_blobs(repo, &ask.iter().map(|(_, id)| id.hex()).collect());
            stale.extend(
                ask.into_iter()
                    .filter(|(_, id)| owned.contains(&id.hex()))
                    .map(|(rel, _)| rel),
            );
        }
        None => stale.extend(
            ask.into_iter()
                .filter(|(rel, _)| committed_is_owned(repo, output, None, rel))
                .map(|(rel, _)| rel),
        ),
    }
    stale.sort();
    stale.dedup();
    Ok(stale)
}

/// Whether `rel` (`<zone>/tenants/<client>/<file>`) is one of a client's own files.
fn is_client_file(rel: &str) -> bool {
    let mut parts = rel.split('/');
    parts.nth(1) == Some("tenants") && parts.count() >= 2
}

/// Objects of a committed tree, attributed by their path.
fn parse_tree(files: &BTreeMap<String, String>, head: &Checked) -> Side {
    let mut side = Side::new();
    for (path, text) in files {
        let parts: Vec<&str> = path.split('/').collect();
        let (Some(zone), Some(file)) = (parts.first(), parts.last()) else {
            continue;
        };
        if *file == "kustomization.yaml" {
            continue;
        }
        let (client, applied_by) = match parts.get(1..) {
            Some(["tenants", c, _]) => {
                let ns = head
                    .model
                    .clients
                    .iter()
                    .find(|x| x.name == *c)
                    .map_or_else(|| (*c).to_owned(), |x| x.namespace.clone());
                (Some((*c).to_owned()), ns)
            }
            Some(["tenants", f]) => (
                Some(f.trim_end_matches(".yaml").to_owned()),
                crate::render::flux_names::TENANTS.to_owned(),
            ),
            Some(["infrastructure", "controllers", _]) => (
                None,
                crate::render::flux_names::INFRA_CONTROLLERS.to_owned(),
            ),
            Some(["infrastructure", "configs", _]) => {
                (None, crate::render::flux_names::INFRA_CONFIGS.to_owned())
            }
            _ => (None, crate::render::flux_names::FLUX_NAMESPACE.to_owned()),
        };
        let Ok(values) =
            yaml::parse_stream(&Source::from_text(path.clone(), text.clone()), Numbers::Go)
        else {
            continue;
        };
        for value in values {
            side.insert(
                diff::key_of(zone, &value),
                Object {
                    client: client.clone(),
                    applied_by: applied_by.clone(),
                    value,
                },
            );
        }
    }
    side
}

/// How far the base catalog got before the head is checked.
enum BaseFirst {
    /// Only what the comparison needs of it: a few clients differ.
    Kept(Box<diff::KeptBase>, BTreeMap<String, usize>),
    /// Checked whole: the platform or the zones differ, so every client can.
    Checked(Box<Checked>, BTreeMap<String, usize>),
    /// Not yet: the head is checked first, then the base, as `check_side` reports them.
    No,
}

/// Checks the base before the head and, when the documents say only some clients differ,
/// keeps only those clients' rendering of it, so that two checked catalogs of 10,000 clients
/// are never held at once. Either catalog that does not check gives `No`: the caller checks
/// them again, head first, and reports what is wrong as it always has.
fn base_first(head_name: &str, head_text: &str, base_name: &str, base_text: &str) -> BaseFirst {
    let fingerprint = |name: &str, text: &str| {
        let source = Source::from_text(name.to_owned(), text.to_owned());
        let doc = yaml::parse(&source).ok()?;
        let fingerprint = diff::Fingerprint::of(&doc.value)?;
        Some((source, doc, fingerprint))
    };
    let Some((_, _, head)) = fingerprint(head_name, head_text) else {
        return BaseFirst::No;
    };
    let Some((source, doc, base)) = fingerprint(base_name, base_text) else {
        return BaseFirst::No;
    };
    let Ok(checked) = check::check_document(source, doc) else {
        return BaseFirst::No;
    };
    let (checked, lines) = without_document(checked);
    match base.changed(&head) {
        Some(only) => BaseFirst::Kept(Box::new(diff::KeptBase::of(&checked, &only)), lines),
        None => BaseFirst::Checked(Box::new(checked), lines),
    }
}

/// Each client's line in a checked catalog, for links.
fn lines_of(c: &Checked) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for (i, client) in c.raw.spec.clients.iter().enumerate() {
        if let Some(pos) = c.doc.map.locate(&format!("/spec/clients/{i}")) {
            lines.insert(client.name.clone(), pos.line);
        }
    }
    lines
}

/// A checked catalog without its parsed document, once the clients' lines are taken from
/// it: the document and its source map are most of a large catalog's memory, and a diff
/// holds two catalogs while it renders.
fn without_document(mut c: Checked) -> (Checked, BTreeMap<String, usize>) {
    let lines = lines_of(&c);
    c.doc = crate::yaml::Document {
        value: serde_json::Value::Null,
        map: crate::yaml::SourceMap::default(),
    };
    (c, lines)
}

/// The commit id `rev` names, so a link stays right when the branch moves (`HEAD` would not).
fn commit_id(repo: &Path, rev: &str) -> Option<String> {
    git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .ok()
    .map(|s| s.trim().to_owned())
}

fn links(
    repo: &Path,
    rel: &str,
    (base_rev, head_rev): (&str, Option<&str>),
    (head_lines, base_lines): (BTreeMap<String, usize>, BTreeMap<String, usize>),
) -> Links {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let head_commit = match head_rev {
        Some(h) => commit_id(repo, h),
        None => env("GITHUB_HEAD_SHA")
            .or_else(|| env("GITHUB_SHA"))
            .or_else(|| commit_id(repo, "HEAD")),
    };
    let url = |rev: Option<String>| match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY"), rev)
    {
        (Some(server), Some(repo), Some(rev)) => Some(format!("{server}/{repo}/blob/{rev}/{rel}")),
        _ => None,
    };
    Links {
        catalog_url: url(head_commit),
        base_url: url(commit_id(repo, base_rev)),
        catalog_path: rel.to_owned(),
        lines: head_lines,
        base_lines,
    }
}

pub fn run(args: &DiffArgs) -> CommandResult {
    let cwd = std::env::current_dir()?;
    let repo = PathBuf::from(
        git(&cwd, &["rev-parse", "--show-toplevel"])
            .map_err(|e| {
                CommandError::failure(format!("not inside a git repository: {e}"))
                    .hint("run `tenantgen diff` inside the repository that holds the catalog")
            })?
            .trim(),
    );
    let catalog_abs = if args.catalog.catalog.is_absolute() {
        args.catalog.catalog.clone()
    } else {
        cwd.join(&args.catalog.catalog)
    };
    let catalog_abs = catalog_abs.canonicalize().unwrap_or(catalog_abs);
    let repo_canon = repo.canonicalize().unwrap_or_else(|_| repo.clone());
    let rel = catalog_abs
        .strip_prefix(&repo_canon)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|_| {
            CommandError::failure(format!(
                "`{}` is not inside the repository `{}`",
                args.catalog.catalog.display(),
                repo.display()
            ))
        })?;
    let (base_rev, base_name) = match &args.base {
        Some(b) => (b.clone(), b.clone()),
        None => default_base(&repo),
    };
    git(
        &repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base_rev}^{{commit}}"),
        ],
    )
    .map_err(|_| {
        CommandError::failure(format!("`{base_rev}` is not a revision of this repository"))
            .hint("fetch it first (CI: checkout with fetch-depth: 0)")
    })?;
    let head_rev = args.head.as_deref();
    let unsure = head_rev
        .is_none()
        .then(|| unsure_paths(&repo, &args.output));
    let head_text = match head_rev {
        Some(h) => catalog_at(&repo, h, &rel)
            .ok_or_else(|| CommandError::failure(format!("`{rel}` does not exist at `{h}`")))?,
        None => fs_err::read_to_string(&catalog_abs)
            .map_err(|e| CommandError::failure(e.to_string()))?,
    };
    let head_label = head_rev.unwrap_or("working tree").to_owned();
    let (head_name, base_source) = (format!("{head_label}:{rel}"), format!("{base_rev}:{rel}"));
    let base_text = catalog_at(&repo, &base_rev, &rel);
    let first = match (args.compare, &base_text) {
        (Compare::Rendered, Some(text)) => base_first(&head_name, &head_text, &base_source, text),
        _ => BaseFirst::No,
    };
    // Read again below only when the base was not checked first.
    let base_text = base_text.filter(|_| matches!(first, BaseFirst::No));
    let (mut head, head_lines) = without_document(check_side(head_name, head_text, "head")?);
    print_problems(&head.warnings);
    head.source = Source::from_text(String::new(), String::new());
    let (mut report, base_lines) = match first {
        BaseFirst::Kept(mut kept, lines) => {
            // The comparison renders head's model alone once it knows which clients differ.
            kept.narrow(&head);
            head.raw.spec.clients = Vec::new();
            (diff::compare_kept(*kept, &head), lines)
        }
        BaseFirst::Checked(base, lines) => (diff::compare_catalogs(&base, &head), lines),
        BaseFirst::No => {
            let (base, base_lines) = without_document(match base_text {
                Some(text) => check_side(base_source, text, "base")?,
                None => check_side(base_source, empty_like(&head), "base")?,
            });
            let report = match args.compare {
                Compare::Rendered => diff::compare_catalogs(&base, &head),
                Compare::Generator => diff::compare(
                    &parse_tree(
                        &committed_tree(&repo, &args.output, head_rev, &head)?,
                        &head,
                    ),
                    &diff::render_side(&head, None),
                    None,
                ),
            };
            (report, base_lines)
        }
    };
    // The stale check renders head's model alone: its catalog entries go first.
    head.raw.spec.clients = Vec::new();
    if args.compare == Compare::Generator {
        report.order_zones(head.model.zones.iter().map(|z| z.name.as_str()));
    }
    // What was compared, by name and commit: a ref moves, a commit does not.
    let short = |id: &str| id.chars().take(12).collect::<String>();
    let describe = |rev: &str, id: &Option<String>| match id {
        Some(id) if id.starts_with(rev) => short(id),
        Some(id) => format!("{rev} ({})", short(id)),
        None => rev.to_owned(),
    };
    report.base_commit = commit_id(&repo, &base_rev);
    report.head_commit = commit_id(&repo, head_rev.unwrap_or("HEAD"));
    let head_desc = match (head_rev, &report.head_commit) {
        (Some(h), id) => describe(h, id),
        (None, Some(id)) => match git(&repo, &["symbolic-ref", "--quiet", "--short", "HEAD"]) {
            Ok(branch) => format!("working tree (on {} at {})", branch.trim(), short(id)),
            Err(_) => format!("working tree (on {})", short(id)),
        },
        (None, None) => "working tree".to_owned(),
    };
    if args.compare == Compare::Generator {
        report.base = format!("committed {} in {head_desc}", args.output.display());
        report.head = format!(
            "tenantgen {} rendering {head_desc}",
            env!("CARGO_PKG_VERSION")
        );
        report.base_commit = report.head_commit.clone();
    } else {
        report.base = describe(&base_name, &report.base_commit);
        report.head = head_desc;
    }
    for what in &args.approve {
        report.approve(*what);
    }
    // The committed tree at head must be head's rendering.
    report.stale = stale_files(&repo, &args.output, head_rev, &catalog_abs, &head, unsure)?
        .into_iter()
        .map(|p| format!("{}/{p}", args.output.display()))
        .collect();
    let text = match args.format {
        DiffFormat::Text => report::text(&report),
        DiffFormat::Json => report::json(&report),
        DiffFormat::Markdown => {
            let template = match &args.template {
                Some(t) => fs_err::read_to_string(t)?,
                None => report::DEFAULT_TEMPLATE.to_owned(),
            };
            let l = links(&repo, &rel, (&base_rev, head_rev), (head_lines, base_lines));
            report::markdown(&report, &l, &template, report::COMMENT_LIMIT).map_err(|e| {
                CommandError::failure(format!("the markdown template fails: {e}"))
                    .hint("check the template against the built-in one in src/templates/diff.md.j2")
            })?
        }
    };
    print_data(&text)?;
    if !args.detailed_exitcode {
        return Ok(EXIT_OK);
    }
    Ok(
        if report.max_severity().is_some_and(|s| s <= args.fail_on) {
            EXIT_RISK
        } else if !report.stale.is_empty() {
            EXIT_STALE
        } else if report.counts.total() > 0 {
            EXIT_CHANGES
        } else {
            EXIT_OK
        },
    )
}

/// A catalog with head's platform and zones and no clients: the base of a brand-new catalog.
fn empty_like(head: &Checked) -> String {
    let mut raw = head.raw.clone();
    raw.spec.clients.clear();
    let mut text = String::new();
    crate::emit::document(&mut text, &serde_json::to_value(&raw).unwrap_or_default());
    text
}
