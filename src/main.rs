//! The `cortex-emu` binary.

/// Counts allocations so that worker processes can enforce each run's memory limit.
#[global_allocator]
static ALLOC: cortex_emu::executor::alloc::CountingAlloc =
    cortex_emu::executor::alloc::CountingAlloc;

fn main() {
    std::process::exit(cortex_emu::cli::main());
}
