//! `tenantgen package` and `tenantgen verify`: immutable deploy packages.

use std::path::{Path, PathBuf};

use crate::cli::{PackageArgs, VerifyArgs};
use crate::model::image_ref;
use crate::package::{self, Inputs, Package};

use super::render::checked;
use super::{CommandError, CommandResult, EXIT_FAILURE, EXIT_OK, count, print_data};

/// The creation time: SOURCE_DATE_EPOCH, else the last commit touching the catalog's
/// repository. Never the clock, so the same input always gives the same bytes.
fn created(catalog: &Path) -> Result<i64, CommandError> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v.trim().parse::<i64>().map_err(|_| {
            CommandError::failure(format!(
                "SOURCE_DATE_EPOCH `{v}` is not a number of seconds"
            ))
            .hint("set it to a Unix time, e.g. `$(git log -1 --format=%ct)`")
        });
    }
    let dir = catalog
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = std::process::Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<i64>()
            .map_err(|_| no_time()),
        _ => Err(no_time()),
    }
}

fn no_time() -> CommandError {
    CommandError::failure("cannot tell when this package was created without using the clock")
        .hint("run inside the catalog's git repository (the last commit's time is used) or set SOURCE_DATE_EPOCH")
}

pub fn run(args: &PackageArgs) -> CommandResult {
    let path = &args.catalog.catalog;
    let checked = checked(path)?;
    let m = &checked.model;
    let zone = m
        .zones
        .iter()
        .find(|z| z.name == args.zone)
        .ok_or_else(|| {
            let names: Vec<_> = m.zones.iter().map(|z| z.name.as_str()).collect();
            CommandError::failure(format!("zone `{}` is not in the catalog", args.zone))
                .hint(format!("use one of: {}", names.join(", ")))
        })?;
    let client = m
        .clients
        .iter()
        .find(|c| c.name == args.client)
        .ok_or_else(|| {
            CommandError::failure(format!(
                "client `{}` is not in `{}`",
                args.client,
                path.display()
            ))
        })?;
    let version = match (&args.version, client.deployments.get(&zone.name)) {
        (_, None) => {
            return Err(CommandError::failure(format!(
                "`{}` has no version in zone `{}`",
                client.name, zone.name
            ))
            .hint("add one under `versions` (or promote into the zone) before packaging it"));
        }
        (Some(v), Some(_)) => {
            let valid = regex::Regex::new(crate::patterns::VERSION).is_ok_and(|r| r.is_match(v));
            if !valid || v.split('@').next() == Some("latest") {
                return Err(CommandError::failure(format!("`{v}` is not a valid version")).hint("use a tag (`1.2.3`), a tag with digest (`1.2.3@sha256:<64 hex>`) or a digest"));
            }
            v.clone()
        }
        (None, Some(d)) => d.version.clone(),
    };
    let inputs = Inputs {
        client,
        zone,
        image: image_ref(&client.image, &version),
        version,
        created: created(path)?,
        source: path.display().to_string(),
    };
    let pkg = package::build(m, &inputs).map_err(|e| {
        CommandError::failure(e.to_string()).hint("package a digest-pinned version: `--version <tag>@sha256:<digest>`, or pin it in the catalog")
    })?;
    let dir = args.output.join(&pkg.name);
    write_package(&pkg, &dir)?;
    let mut out = format!("{}\n", dir.display());
    if args.archive {
        let bytes = package::archive(&pkg, inputs.created)?;
        let file = args.output.join(format!("{}.tar.gz", pkg.name));
        write_immutable(&file, &bytes)?;
        out.push_str(&format!("{}\n", file.display()));
    }
    print_data(&out)?;
    Ok(EXIT_OK)
}

/// Writes the package directory once: staged beside it, then renamed into place. An
/// existing package is left alone when identical and refused when not (packages are
/// immutable).
fn write_package(pkg: &Package, dir: &Path) -> Result<(), CommandError> {
    if dir.exists() {
        let same = pkg.files.iter().all(|(rel, f)| {
            crate::tree::read_within(dir, rel).is_ok_and(|b| b.as_ref() == Some(&f.bytes))
        }) && !package::verify(dir).iter().any(|p| p.error);
        if same {
            eprintln!("`{}` already exists with the same content", dir.display());
            return Ok(());
        }
        return Err(CommandError::failure(format!(
            "`{}` already exists with other content; packages are immutable",
            dir.display()
        ))
        .hint("package a new version, or remove the old package deliberately"));
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging: PathBuf = parent.join(format!(".{name}.{}.tenantgen-tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        for (rel, f) in &pkg.files {
            let path = staging.join(rel);
            if let Some(p) = path.parent() {
                fs_err::create_dir_all(p)?;
            }
            fs_err::write(&path, &f.bytes)?;
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(f.mode))?;
        }
        fs_err::rename(&staging, dir)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.into());
    }
    Ok(())
}

fn write_immutable(file: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    if let Ok(existing) = std::fs::read(file) {
        if existing == bytes {
            return Ok(());
        }
        return Err(CommandError::failure(format!(
            "`{}` already exists with other content; packages are immutable",
            file.display()
        )));
    }
    let tmp = file.with_extension("gz.tenantgen-tmp");
    fs_err::write(&tmp, bytes)?;
    fs_err::rename(&tmp, file)?;
    Ok(())
}

pub fn verify(args: &VerifyArgs) -> CommandResult {
    let dir = &args.package;
    if !dir.is_dir() {
        return Err(CommandError::failure(format!(
            "`{}` is not a package directory",
            dir.display()
        ))
        .hint("pass the directory `tenantgen package` wrote"));
    }
    let problems = package::verify(dir);
    for p in &problems {
        let kind = if p.error { "" } else { "warning: " };
        eprintln!("{}: {kind}{}", dir.join(&p.file).display(), p.message);
    }
    let errors = problems.iter().filter(|p| p.error).count();
    if errors > 0 {
        return Err(CommandError {
            exit: EXIT_FAILURE,
            message: format!(
                "`{}` does not verify: {}",
                dir.display(),
                count(errors, "problem")
            ),
            hint: None,
        });
    }
    print_data(&format!("{}: verified\n", dir.display()))?;
    Ok(EXIT_OK)
}
