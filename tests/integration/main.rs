//! One integration-test binary (link time matters on two cores): the CLI as users run it.

mod cli;
mod consumers;
mod fixtures;
mod golden;
mod psa;
mod support;
