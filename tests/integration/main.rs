//! One integration-test binary (link time matters on two cores): the CLI as users run it.

mod adoption;
mod cli;
mod consumers;
mod determinism;
mod diff;
mod diff_workloads;
mod fixtures;
mod golden;
mod krm;
mod messages;
mod package;
mod promote;
mod properties;
mod psa;
mod robustness;
mod scope;
mod support;
mod traefik;
mod typed_yaml;
mod workflow;
mod workloads;
mod writer;
