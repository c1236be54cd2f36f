//! `tenantgen schema`: prints the catalog's JSON Schema.

use super::{CommandResult, EXIT_OK, print_data};

pub fn run() -> CommandResult {
    print_data(&crate::schema::generate())?;
    Ok(EXIT_OK)
}
