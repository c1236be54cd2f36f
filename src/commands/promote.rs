//! `tenantgen promote`: copies a client's version from the previous zone of the path.

use std::io::Write;

use crate::cli::PromoteArgs;
use crate::promote::{self, PromoteError};

use super::render::checked;
use super::{CommandError, CommandResult, EXIT_OK, print_data};

pub fn run(args: &PromoteArgs) -> CommandResult {
    let path = &args.catalog.catalog;
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
    // Written beside the catalog and renamed over it, keeping its permissions.
    let tmp = path.with_extension("yaml.tenantgen-tmp");
    let perms = fs_err::metadata(path)?.permissions();
    {
        let mut f = fs_err::File::create(&tmp)?;
        f.write_all(p.text.as_bytes())?;
        f.sync_all()?;
    }
    fs_err::set_permissions(&tmp, perms)?;
    fs_err::rename(&tmp, path)?;
    print_data(&summary)?;
    Ok(EXIT_OK)
}
