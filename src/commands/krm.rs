//! `tenantgen krm` (a KRM function, or the legacy kustomize exec plugin) and
//! `tenantgen plugin install`.

use std::io::Read;
use std::path::PathBuf;

use crate::check;
use crate::cli::{KrmArgs, PluginInstallArgs};
use crate::diagnostics::Diagnostic;
use crate::krm::{self, ZONE_ANNOTATION};

use super::{
    CommandError, CommandResult, EXIT_FAILURE, EXIT_OK, Stdout, count, print_data, print_problems,
};

pub fn run(args: &KrmArgs) -> CommandResult {
    if let Some(config) = &args.legacy_plugin {
        return legacy(config, args.zone.as_deref());
    }
    let outcome = match read_input()? {
        Input::Text(text) => krm::process_with(
            text,
            &krm::Settings {
                zone: args.zone.clone(),
            },
        ),
        Input::TooLarge { bytes, complete } => krm::too_large(bytes, complete),
    };
    let mut out = Stdout::locked();
    outcome.write(|text| out.write(text))?;
    out.finish()?;
    // kustomize never shows `results`, so problems are also printed for people.
    print_problems(&outcome.problems);
    if outcome.failed() {
        let errors = outcome.problems.iter().filter(|d| d.is_error()).count();
        return Err(CommandError::failure(format!(
            "tenantgen krm: {}; no objects generated",
            count(errors, "error")
        )));
    }
    Ok(EXIT_OK)
}

enum Input {
    Text(String),
    /// More than the cap: `bytes` read in all, `complete` if that was the end of stdin.
    TooLarge {
        bytes: u64,
        complete: bool,
    },
}

/// How far past the cap stdin is drained to say how big it was: draining lets the writer
/// finish (no broken pipe in kustomize's log), the bound keeps an endless stream from hanging.
const DRAIN_LIMIT: u64 = 16 * krm::MAX_INPUT_BYTES;

/// Stdin, read to one byte past the cap so that a longer input is refused whole, never cut.
fn read_input() -> Result<Input, CommandError> {
    let failed = |e: std::io::Error| {
        CommandError::failure(format!("cannot read the ResourceList from stdin: {e}"))
            .hint("pipe a config.kubernetes.io/v1 ResourceList in UTF-8")
    };
    let mut stdin = std::io::stdin().lock();
    let mut bytes = Vec::new();
    (&mut stdin)
        .take(krm::MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > krm::MAX_INPUT_BYTES {
        let read = bytes.len() as u64;
        drop(bytes);
        let rest = std::io::copy(&mut (&mut stdin).take(DRAIN_LIMIT), &mut std::io::sink())
            .map_err(failed)?;
        let complete = rest < DRAIN_LIMIT;
        return Ok(Input::TooLarge {
            bytes: read + rest,
            complete,
        });
    }
    String::from_utf8(bytes).map(Input::Text).map_err(|e| {
        CommandError::failure(format!(
            "the ResourceList on stdin is not UTF-8 (byte {} cannot start or continue a character)",
            e.utf8_error().valid_up_to()
        ))
        .hint("pipe a config.kubernetes.io/v1 ResourceList in UTF-8")
    })
}

/// The legacy exec plugin protocol: config file as the first argument, a YAML stream of the
/// generated objects on stdout.
fn legacy(config: &std::path::Path, zone_flag: Option<&str>) -> CommandResult {
    let checked = check::check_file(config).map_err(|problems| fail(&problems))?;
    print_problems(&checked.warnings);
    let Some(zone) = checked
        .raw
        .metadata
        .annotations
        .get(ZONE_ANNOTATION)
        .cloned()
        .or_else(|| zone_flag.map(str::to_owned))
    else {
        return Err(CommandError::failure(format!(
            "the ClientCatalog in `{}` has no `{ZONE_ANNOTATION}` annotation",
            config.display()
        ))
        .hint(format!(
            "add `{ZONE_ANNOTATION}: <zone>` to its metadata.annotations"
        )));
    };
    let flux = checked
        .raw
        .metadata
        .annotations
        .get(krm::FLUX_ANNOTATION)
        .is_some_and(|v| v == "true");
    let zone = krm::zone_of(&checked, &zone).map_err(|d| fail(&[*d]))?;
    let mut out = Stdout::locked();
    krm::each_generated_text(
        &checked,
        zone,
        flux,
        |p, text| {
            text.push_str("---\n");
            p.object.emit(text);
        },
        |text| out.write(text),
    )?;
    out.finish()?;
    Ok(EXIT_OK)
}

fn fail(problems: &[Diagnostic]) -> CommandError {
    print_problems(problems);
    let errors = problems.iter().filter(|d| d.is_error()).count();
    CommandError {
        exit: EXIT_FAILURE,
        message: format!(
            "tenantgen: {}; no objects generated",
            count(errors, "error")
        ),
        hint: None,
    }
}

/// Where kustomize looks for legacy plugins: `$KUSTOMIZE_PLUGIN_HOME`, else
/// `$XDG_CONFIG_HOME/kustomize/plugin`, else `$HOME/.config/kustomize/plugin`.
fn plugin_home() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("KUSTOMIZE_PLUGIN_HOME")
        .or_else(|| var("XDG_CONFIG_HOME").map(|x| x.join("kustomize/plugin")))
        .or_else(|| var("HOME").map(|h| h.join(".config/kustomize/plugin")))
}

/// Single-quotes a path for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `tenantgen` on PATH, if any: the plugin then finds whatever tenantgen is installed.
fn on_path() -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join("tenantgen")).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

pub fn install_plugin(args: &PluginInstallArgs) -> CommandResult {
    let home = plugin_home().ok_or_else(|| {
        CommandError::failure("cannot tell where kustomize plugins live")
            .hint("set KUSTOMIZE_PLUGIN_HOME")
    })?;
    let command = match &args.binary {
        Some(binary) => {
            let abs = std::fs::canonicalize(binary).map_err(|e| {
                CommandError::failure(format!("`{}`: {e}", binary.display())).hint(
                    "give the path of a tenantgen binary, e.g. `--binary /usr/local/bin/tenantgen`",
                )
            })?;
            if !std::fs::metadata(&abs).is_ok_and(|m| m.is_file()) {
                return Err(CommandError::failure(format!(
                    "`{}` is not a file",
                    binary.display()
                ))
                .hint("give the path of a tenantgen binary, e.g. `--binary /usr/local/bin/tenantgen`"));
            }
            sh_quote(&abs.to_string_lossy())
        }
        None if on_path() => "tenantgen".to_owned(),
        None => {
            let exe = std::env::current_exe().map_err(|e| {
                CommandError::failure(format!("cannot find the tenantgen binary: {e}"))
                    .hint("pass `--binary PATH`")
            })?;
            eprintln!(
                "tenantgen is not on PATH: the plugin runs `{}`; reinstall it after moving that binary, or pass `--binary`",
                exe.display()
            );
            sh_quote(&exe.to_string_lossy())
        }
    };
    let dir = home.join("tenantgen.io/v1alpha1/clientcatalog");
    let path = dir.join("ClientCatalog");
    let script = format!(
        "#!/bin/sh\n# Installed by `tenantgen plugin install`: the legacy kustomize exec plugin for ClientCatalog.\nexec {command} krm --legacy-plugin \"$@\"\n"
    );
    fs_err::create_dir_all(&dir)?;
    let tmp = dir.join(".ClientCatalog.tenantgen-tmp");
    fs_err::write(&tmp, script)?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    }
    fs_err::rename(&tmp, &path)?;
    print_data(&format!("{}\n", path.display()))?;
    eprintln!(
        "installed the kustomize plugin; use it with `kubectl kustomize --enable-alpha-plugins` (set KUSTOMIZE_PLUGIN_HOME={} if that is not kustomize's default)",
        home.display()
    );
    Ok(EXIT_OK)
}
