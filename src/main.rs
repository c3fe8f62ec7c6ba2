//! The `cortex-emu` binary.

/// Counts allocations so that worker processes can enforce each run's memory limit.
#[global_allocator]
static ALLOC: cortex_emu::CountingAlloc = cortex_emu::CountingAlloc;

fn main() {
    std::process::exit(cortex_emu::cli::main());
}
