//! `tenantgen promote`: copies a client's version from the previous zone of the path.

use std::fs::{File, Metadata};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::cli::PromoteArgs;
use crate::promote::{self, PromoteError};
use crate::source;

use super::render::checked;
use super::{CommandError, CommandResult, EXIT_OK, print_data, refused_catalog};

const BOM: &[u8] = b"\xEF\xBB\xBF";

pub fn run(args: &PromoteArgs) -> CommandResult {
    let path = &args.catalog.catalog;
    // Through a symlink, the file it points to is edited and the link stays a link.
    let name = path.display().to_string();
    let unreadable = |d| refused_catalog(&name, &[d], "");
    match std::fs::metadata(path) {
        Err(e) => return Err(unreadable(source::unreadable(path, &e))),
        Ok(m) if m.is_dir() => return Err(unreadable(source::directory(path))),
        Ok(_) => {}
    }
    let target = path
        .canonicalize()
        .map_err(|e| unreadable(source::unreadable(path, &e)))?;
    // Held from before the catalog is read until after it is replaced, so two promotions
    // never start from the same text and one never overwrites the other's edit.
    let locked = lock_catalog(&target)?;
    let checked = checked(path)?;
    let p = match promote::plan(&checked, &args.client, &args.to) {
        Ok(p) => p,
        Err(e @ PromoteError::NoOp { .. }) => {
            eprintln!("{e}; `{}` is unchanged", path.display());
            return Ok(EXIT_OK);
        }
        Err(e) => {
            return Err(
                CommandError::failure(format!("{e}; `{}` is unchanged", path.display()))
                    .hint(e.hint()),
            );
        }
    };
    let summary = format!(
        "{}:{}: {} in {}: {} -> {} (from {})\n",
        path.display(),
        p.line,
        p.client,
        p.to,
        p.old.as_deref().unwrap_or("(not deployed)"),
        p.new,
        p.from
    );
    if args.dry_run {
        print_data(&summary)?;
        eprintln!("dry run: `{}` was not changed", path.display());
        return Ok(EXIT_OK);
    }
    // The reader drops a byte-order mark; the file keeps it.
    let mut head = Vec::new();
    (&locked.file)
        .take(BOM.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error("read", &target, e))?;
    let mut bytes = Vec::with_capacity(p.text.len() + BOM.len());
    if head == BOM {
        bytes.extend_from_slice(BOM);
    }
    bytes.extend_from_slice(p.text.as_bytes());
    replace(&target, &locked.meta, &bytes)?;
    drop(locked);
    print_data(&summary)?;
    Ok(EXIT_OK)
}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> CommandError {
    CommandError::failure(format!("cannot {action} `{}`: {e}", path.display()))
        .hint("check the permissions and free space of the catalog's directory; the catalog was not changed")
}

/// The catalog file, locked (flock), with its metadata as it was when the lock was taken.
struct Locked {
    file: File,
    meta: Metadata,
}

/// Waits for the lock on `target`. A run that held it replaced the file by rename, so the
/// lock taken may be on the old inode: then the new file is opened and locked instead.
fn lock_catalog(target: &Path) -> Result<Locked, CommandError> {
    loop {
        let file = File::open(target).map_err(|e| io_error("open", target, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "waiting for another run to release the lock on `{}`",
                    target.display()
                );
                file.lock().map_err(|e| io_error("lock", target, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("lock", target, e)),
        }
        let meta = file.metadata().map_err(|e| io_error("read", target, e))?;
        match std::fs::metadata(target) {
            Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {
                return Ok(Locked { file, meta });
            }
            Ok(_) => continue,
            Err(e) => return Err(io_error("read", target, e)),
        }
    }
}

/// Replaces `target` with `bytes` atomically: a fresh temporary beside it (a name no other
/// run uses, created exclusively), given the original's mode and owner, synced, then renamed
/// over it. A crash leaves the old or the new catalog, never a mix.
fn replace(target: &Path, meta: &Metadata, bytes: &[u8]) -> Result<(), CommandError> {
    if meta.nlink() > 1 {
        return Err(CommandError::failure(format!(
            "`{}` has {} hard links; replacing it would break them; the catalog was not changed",
            target.display(),
            meta.nlink()
        ))
        .hint("keep one link and point the others at it with symlinks, which promote follows"));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut file) = create_temporary(dir, &name)?;
    let result = (|| -> std::io::Result<()> {
        file.write_all(bytes)?;
        if file.metadata()?.uid() != meta.uid() || file.metadata()?.gid() != meta.gid() {
            std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()))?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        file.sync_all()?;
        std::fs::rename(&tmp, target)?;
        // Makes the rename durable.
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error("replace", target, e));
    }
    Ok(())
}

/// A temporary no other run can be using: named after this process, created exclusively
/// (never opening a file, link or FIFO already there).
fn create_temporary(dir: &Path, name: &str) -> Result<(PathBuf, File), CommandError> {
    let mut attempt = 0u32;
    loop {
        let tmp = dir.join(format!(
            ".{name}.{}.{attempt}.tenantgen-tmp",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(io_error("create", &tmp, e)),
        }
    }
}
