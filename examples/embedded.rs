//! The emulator inside another program, through the public API only: start it on the bundled
//! sample tools, run one, and shut it down.
//!
//! ```text
//! cargo run --example embedded
//! ```
//!
//! Handlers run in worker processes. This example serves as its own worker binary: it installs
//! the emulator's counting allocator (which enforces each run's memory limit) and hands the
//! process to the worker when started as one. A test binary, which cannot do that, names the
//! `cortex-emu` binary instead (`.worker_program(...)` or `CORTEX_EMU_WORKER_BIN`).

#[global_allocator]
static ALLOC: cortex_emu::CountingAlloc = cortex_emu::CountingAlloc;

fn main() -> anyhow::Result<()> {
    cortex_emu::run_worker_if_requested();
    tokio::runtime::Runtime::new()?.block_on(demo())
}

async fn demo() -> anyhow::Result<()> {
    let functions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-functions");
    let emu = cortex_emu::Emulator::builder()
        .functions(functions)
        .in_memory()
        .worker_program(std::env::current_exe()?)
        .start()
        .await?;
    println!("emulator on {} (key {})", emu.url(), emu.key());

    let url = format!("{}/api/v1/functions/hello-python/invoke", emu.url());
    let reply = tokio::task::spawn_blocking({
        let key = emu.key().to_string();
        move || {
            reqwest::blocking::Client::new()
                .post(url)
                .header("Authorization", key)
                .body(r#"{"event": {"name": "Ada"}}"#)
                .send()
                .and_then(|r| Ok((r.status().as_u16(), r.text()?)))
        }
    })
    .await??;
    println!("{} {}", reply.0, reply.1);

    emu.shutdown().await?;
    Ok(())
}
