//! `tenantgen init`: a working catalog repository in one step. Every file is checked to be
//! new before any is written, and written with create-new semantics, so nothing a user has is
//! ever overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::check;
use crate::cli::InitArgs;
use crate::source::Source;

use super::{CommandError, CommandResult, EXIT_OK};

const CATALOG: &str = include_str!("../templates/init-catalog.yaml");
const WORKFLOW: &str = include_str!("../templates/catalog-workflow.yaml");
/// The workflow runs this copy: a catalog repository holds no tenantgen source to run it from.
const PR_COMMENT: &str = include_str!("../../scripts/pr-comment.py");

/// Where init puts the pull-request workflow and the script it runs.
const WORKFLOW_PATH: &str = ".github/workflows/tenantgen-diff.yaml";
const PR_COMMENT_PATH: &str = ".github/tenantgen/pr-comment.py";

/// The pull-request workflow for a catalog-only repository, pinned to this tenantgen's
/// version: the tree it renders is the tree CI checks, until someone changes the pin.
fn catalog_workflow() -> String {
    WORKFLOW.replace("__VERSION__", env!("CARGO_PKG_VERSION"))
}

/// The starter catalog for a repository named `name` hosting under `domain`.
pub fn starter_catalog(name: &str, domain: &str) -> String {
    CATALOG
        .replace("__NAME__", name)
        .replace("__DOMAIN__", domain)
}

/// A DNS label from the repository's directory name (`Ops Repo` -> `ops-repo`).
fn catalog_name(dir: &Path) -> String {
    // The directory may not exist yet: resolve `.` and `..` by their names, not on disk.
    let mut abs = std::env::current_dir().unwrap_or_default();
    for c in dir.components() {
        match c {
            std::path::Component::ParentDir => {
                abs.pop();
            }
            std::path::Component::CurDir => {}
            other => abs.push(other),
        }
    }
    let raw = abs
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-').to_owned();
    if name.is_empty() {
        "hosting".to_owned()
    } else {
        name
    }
}

pub fn run(args: &InitArgs) -> CommandResult {
    let dir = &args.dir;
    if let Ok(meta) = std::fs::symlink_metadata(dir)
        && !meta.is_dir()
    {
        return Err(CommandError::failure(format!(
            "`{}` exists and is not a directory",
            dir.display()
        ))
        .hint("name a new or existing directory: `tenantgen init my-ops-repo`"));
    }
    let catalog = starter_catalog(&catalog_name(dir), &args.domain);
    // The starter must pass the checks `validate` makes, so the user's first command works.
    if let Err(problems) = check::check_source(Source::from_text("clients/clients.yaml", &catalog))
    {
        let first = problems
            .first()
            .map(|d| d.message.clone())
            .unwrap_or_default();
        return Err(CommandError::failure(format!(
            "`--domain {}` does not work: {first}",
            args.domain
        ))
        .hint("give a DNS name such as `hosting.example.com`"));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        CommandError::failure(format!("cannot create `{}`: {e}", dir.display()))
            .hint("check the path and its permissions")
    })?;
    let files: Vec<(PathBuf, String)> = vec![
        (PathBuf::from("clients/clients.yaml"), catalog),
        (
            PathBuf::from("schema/clients.schema.json"),
            crate::schema::generate(),
        ),
        (PathBuf::from(WORKFLOW_PATH), catalog_workflow()),
        (PathBuf::from(PR_COMMENT_PATH), PR_COMMENT.to_owned()),
    ];
    let taken: Vec<String> = files
        .iter()
        .filter(|(rel, _)| std::fs::symlink_metadata(dir.join(rel)).is_ok())
        .map(|(rel, _)| format!("`{}`", dir.join(rel).display()))
        .collect();
    if !taken.is_empty() {
        return Err(CommandError::failure(format!(
            "{} already exist{}; nothing was written",
            taken.join(", "),
            if taken.len() == 1 { "s" } else { "" }
        ))
        .hint(
            "init never overwrites a file: run it in a new directory, or move those files away",
        ));
    }
    for (rel, content) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                CommandError::failure(format!("cannot create `{}`: {e}", path.display()))
            })?;
        f.write_all(content.as_bytes())?;
        eprintln!("created `{}`", path.display());
    }
    eprintln!(
        "next: `cd {}`, edit clients/clients.yaml, then `tenantgen validate` and `tenantgen render`",
        dir.display()
    );
    Ok(EXIT_OK)
}
