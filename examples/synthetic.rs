//! For `scripts/bench-scale`. `synthetic N` prints a synthetic catalog of N clients (default
//! 1000). `synthetic --render-to-memory FILE` checks the catalog in FILE and renders every
//! zone's files without writing them (counting files and bytes), so the script can set the
//! rendering itself against `tenantgen render`, which also does the file I/O.
// Rendering makes and drops millions of small strings and maps; mimalloc serves them about
// a third faster than the system allocator (scripts/bench-scale, render to memory).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, file] = args.as_slice()
        && flag == "--render-to-memory"
    {
        let checked = match tenantgen::check::check_file(std::path::Path::new(file)) {
            Ok(c) => c,
            Err(problems) => {
                eprintln!("{file}: {} problems", problems.len());
                std::process::exit(1);
            }
        };
        let options = tenantgen::render::Options::default();
        let (mut files, mut bytes) = (0usize, 0usize);
        for zone in &checked.model.zones {
            let _ =
                tenantgen::layout::each_zone_file(&checked.model, zone, &options, |_, content| {
                    files += 1;
                    bytes += std::hint::black_box(content).len();
                    Ok::<(), ()>(())
                });
        }
        println!("{files} files, {bytes} bytes");
        return;
    }
    let n = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    print!("{}", tenantgen::synthetic::catalog(n));
}
