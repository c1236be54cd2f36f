//! tenantgen turns one client catalog into everything a GitOps repository needs to host those
//! clients on Kubernetes. Data flows one way:
//!
//! source (read) -> yaml (parse, positions) -> schema + lint (validate) -> model -> render
//! (objects per zone, pure) -> layout + emit (paths, canonical YAML) -> tree (write, prune).
//!
//! `check` runs the stages up to the model; `commands` drives them for each CLI verb and is
//! the only module that prints.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod commands;
pub mod diagnostics;
pub mod diff;
pub mod emit;
pub mod krm;
pub mod layout;
pub mod lint;
pub mod model;
pub mod package;
pub mod par;
pub mod patterns;
pub mod promote;
pub mod quantity;
pub mod render;
pub mod report;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod synthetic;
pub mod tree;
pub mod yaml;
