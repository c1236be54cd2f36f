//! cli: the command line, as clap derive types only. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Render a client catalog into the Flux GitOps tree of a multi-tenant Kubernetes hosting
/// platform: one `clients/clients.yaml` in, hardened per-client manifests for every zone out.
#[derive(Debug, Parser)]
#[command(name = "tenantgen", version = env!("TENANTGEN_VERSION"), max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a catalog against the JSON Schema and every lint; report all problems at once
    Validate(ValidateArgs),
    /// Write the clusters/<zone>/ tree Flux reconciles (or check that it is up to date)
    Render(RenderArgs),
    /// Print the catalog's JSON Schema (the same bytes as schema/clients.schema.json)
    Schema,
    /// Compare the rendering at a base revision with the working tree, for pull requests
    Diff(DiffArgs),
    /// Run as a KRM function: ResourceList on stdin, ResourceList on stdout
    Krm(KrmArgs),
    /// Build an immutable, checksummed deploy package of one client in one zone
    Package(PackageArgs),
    /// Check a deploy package: checksums, manifest, digests, no secret values
    Verify(VerifyArgs),
    /// Copy a client's version from the previous zone of the promotion path into ZONE
    Promote(PromoteArgs),
    /// Show what is rendered for a client and why, with kubectl commands to inspect it
    Explain(ExplainArgs),
    /// Manage the legacy kustomize exec plugin
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Start a catalog repository: a sample catalog with its editor modeline, the schema and
    /// the pull-request workflow; refuses to overwrite any file
    Init(InitArgs),
    /// Print shell completions for bash, zsh or fish
    Completions(CompletionsArgs),
    /// Print the man page (roff) for `man -l -`
    Man,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory of the new repository (created if missing)
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The hosting domain: a client's default host is `<name>.<domain>`
    #[arg(long, value_name = "DOMAIN", default_value = "hosting.example.com")]
    pub domain: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish (also elvish and powershell)
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Where the catalog is read from.
#[derive(Debug, Clone, Args)]
pub struct CatalogArg {
    /// The catalog file
    #[arg(
        long = "catalog",
        value_name = "FILE",
        default_value = "clients/clients.yaml"
    )]
    pub catalog: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The catalog file (same as --catalog)
    #[arg(value_name = "CATALOG", conflicts_with = "catalog")]
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub catalog: CatalogArg,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The catalog file (same as --catalog)
    #[arg(value_name = "CATALOG", conflicts_with = "catalog")]
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// Directory of the tree
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = "clusters"
    )]
    pub output: PathBuf,
    /// Render only this zone
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
    /// Write nothing; exit 1 and name every stale, missing or extra file if the tree is not
    /// what the catalog renders
    #[arg(long)]
    pub check: bool,
    /// Allow a catalog without clients to remove every client from a non-empty tree
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// Base revision (default: the merge-base with the default branch)
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Head revision (default: the working tree)
    #[arg(long, value_name = "REF")]
    pub head: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 0 without changes, 2 with changes, 3 with risk flags at or above --fail-on,
    /// 4 when the committed tree is stale, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// The lowest risk severity that makes --detailed-exitcode exit 3
    #[arg(long, value_enum, default_value_t = crate::diff::Severity::Block)]
    pub fail_on: crate::diff::Severity,
    /// Approve flags of this kind as deliberate: they become info, and the report says so
    /// (`removal`: a client leaving a zone, whose namespace Flux prune deletes)
    #[arg(long, value_enum, value_name = "WHAT")]
    pub approve: Vec<crate::diff::Approval>,
    /// A minijinja template replacing the built-in markdown report
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// What to compare: the catalog's rendering at base and head, or (generator) the
    /// committed tree at head with what this tenantgen renders from head's catalog
    #[arg(long, value_enum, default_value_t = Compare::Rendered)]
    pub compare: Compare,
    /// Directory of the committed tree, relative to the repository root
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = "clusters"
    )]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compare {
    Rendered,
    Generator,
}

#[derive(Debug, Args)]
pub struct KrmArgs {
    /// Legacy kustomize exec plugin protocol: read the catalog from this file (kustomize
    /// passes it as the first argument) and print the zone's objects as a YAML stream
    #[arg(long = "legacy-plugin", value_name = "CONFIG")]
    pub legacy_plugin: Option<PathBuf>,
    /// The zone to generate when the config has no `tenantgen.io/zone` annotation (for
    /// `kpt fn eval --exec "tenantgen krm --zone staging" --fn-config clients/clients.yaml`)
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The client to package
    pub client: String,
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// The zone whose objects are packaged
    #[arg(long, value_name = "ZONE")]
    pub zone: String,
    /// Package this version instead of the zone's
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Directory to write the package into
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Also write a reproducible `<package>.tar.gz`
    #[arg(long)]
    pub archive: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The package directory
    pub package: PathBuf,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The client to promote
    pub client: String,
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// The zone to promote into
    #[arg(long, value_name = "ZONE")]
    pub to: String,
    /// Show the change without writing it
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The client to explain
    pub client: String,
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// Explain only this zone
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Put the legacy kustomize exec plugin in place
    Install(PluginInstallArgs),
}

#[derive(Debug, Args)]
pub struct PluginInstallArgs {
    /// The tenantgen binary the plugin runs. Default: `tenantgen` as found on PATH when the
    /// plugin runs (so an upgrade is picked up), or this binary when PATH has none
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
}

impl ValidateArgs {
    pub fn catalog_path(&self) -> &std::path::Path {
        self.path.as_deref().unwrap_or(&self.catalog.catalog)
    }
}

impl RenderArgs {
    pub fn catalog_path(&self) -> &std::path::Path {
        self.path.as_deref().unwrap_or(&self.catalog.catalog)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
