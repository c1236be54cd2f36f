//! Prints a synthetic catalog of N clients (default 1000), for `scripts/bench-scale`.
fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    print!("{}", tenantgen::synthetic::catalog(n));
}
