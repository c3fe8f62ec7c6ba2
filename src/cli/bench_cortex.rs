//! `cortex-emu bench --plane cortex-api`: recall latency at 10 000 and 100 000 chunks and raw
//! embedding search at 100 000 vectors, through HTTP against a real emulator process, written
//! into its own section of `BENCHMARKS.md` (between markers, so the main bench keeps it).
//!
//! The corpus is synthetic and deterministic: paragraphs of words drawn from a fixed
//! vocabulary by a linear congruential generator, one chunk per paragraph; queries are words
//! of the same vocabulary. Each query waits for the previous answer (c = 1).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

use super::bench::{tempfile_dir, Server, KEY};

const BEGIN: &str = "<!-- cortex-api bench: begin -->";
const END: &str = "<!-- cortex-api bench: end -->";
const VOCABULARY: usize = 5000;
/// Paragraphs per upload (one file each): about 0.6 MB of text.
const PER_UPLOAD: usize = 1000;
const QUERIES: usize = 200;
const VECTOR_DIM: usize = 384;
const VECTORS_PER_INSERT: usize = 2000;

/// A deterministic stream of numbers (Knuth's MMIX LCG): the corpus is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self) -> String {
        word(self.next() as usize % VOCABULARY)
    }

    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 - 0.5
    }
}

/// Vocabulary word `i`: syllables, so the trigram embedding sees real overlaps.
fn word(i: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ter", "sun", "ra", "vel", "do", "qui", "nor", "pa", "zen", "bri", "to",
        "gal", "ex",
    ];
    let mut n = i + 17;
    let mut w = String::new();
    while n > 0 {
        w.push_str(SYLLABLES[n % 16]);
        n /= 16;
    }
    w
}

/// A paragraph of about 90 words (about 600 characters, so two never share a 1000-char chunk).
fn paragraph(rng: &mut Lcg) -> String {
    let mut p = String::new();
    for i in 0..90 {
        if i > 0 {
            p.push(' ');
        }
        p.push_str(&rng.word());
    }
    p.push('.');
    p
}

struct Stats {
    p50: f64,
    p99: f64,
}

fn stats(h: &Histogram<u64>) -> Stats {
    Stats {
        p50: h.value_at_quantile(0.5) as f64 / 1000.0,
        p99: h.value_at_quantile(0.99) as f64 / 1000.0,
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let r = client
        .post(url)
        .header("Authorization", format!("Bearer {KEY}"))
        .json(body)
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// Uploads `chunks` paragraphs into a new tenant; returns the seconds it took.
async fn seed_tenant(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    chunks: usize,
) -> anyhow::Result<f64> {
    post(
        client,
        &format!("{base}/tenants/create"),
        &json!({"tenant_id": tenant}),
    )
    .await?;
    let mut rng = Lcg(chunks as u64);
    let t0 = Instant::now();
    let mut done = 0;
    while done < chunks {
        let n = PER_UPLOAD.min(chunks - done);
        let text: Vec<String> = (0..n).map(|_| paragraph(&mut rng)).collect();
        let form = reqwest::multipart::Form::new()
            .text("tenant_id", tenant.to_string())
            .part(
                "files",
                reqwest::multipart::Part::bytes(text.join("\n\n").into_bytes())
                    .file_name(format!("part-{done}.txt"))
                    .mime_str("text/plain")?,
            );
        let r = client
            .post(format!("{base}/ingestion/upload_knowledge"))
            .header("Authorization", format!("Bearer {KEY}"))
            .multipart(form)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "upload: {}", r.text().await?);
        done += n;
        eprint!("\rbench: {tenant}: {done} / {chunks} chunks");
    }
    eprintln!();
    Ok(t0.elapsed().as_secs_f64())
}

async fn time_queries(
    client: &reqwest::Client,
    url: &str,
    mut body: impl FnMut(&mut Lcg) -> Value,
) -> anyhow::Result<Stats> {
    let mut h = Histogram::<u64>::new(3)?;
    let mut rng = Lcg(7);
    for _ in 0..QUERIES {
        let b = body(&mut rng);
        let t0 = Instant::now();
        post(client, url, &b).await?;
        h.record(t0.elapsed().as_micros() as u64)?;
    }
    Ok(stats(&h))
}

async fn seed_vectors(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    count: usize,
) -> anyhow::Result<f64> {
    post(
        client,
        &format!("{base}/tenants/create"),
        &json!({"tenant_id": tenant, "is_embeddings_tenant": true, "embeddings_dimension": VECTOR_DIM}),
    )
    .await?;
    let mut rng = Lcg(3);
    let t0 = Instant::now();
    let mut done = 0;
    while done < count {
        let n = VECTORS_PER_INSERT.min(count - done);
        let docs: Vec<Value> = (done..done + n)
            .map(|i| {
                let v: Vec<f64> = (0..VECTOR_DIM).map(|_| rng.unit()).collect();
                json!({"source_id": format!("doc-{}", i / 10), "metadata": {"group": i % 10},
                       "embeddings": [{"chunk_id": format!("c{i}"), "embedding": v}]})
            })
            .collect();
        post(
            client,
            &format!("{base}/embeddings/insert_raw_embeddings"),
            &json!({"tenant_id": tenant, "embeddings": docs}),
        )
        .await?;
        done += n;
        eprint!("\rbench: {tenant}: {done} / {count} vectors");
    }
    eprintln!();
    Ok(t0.elapsed().as_secs_f64())
}

pub async fn run(output: PathBuf) -> anyhow::Result<i32> {
    let exe = std::env::current_exe()?;
    let scratch = tempfile_dir()?;
    let functions = scratch.join("functions");
    std::fs::create_dir_all(&functions)?;
    eprintln!("bench: starting the emulator");
    let server = Server::start(&exe, &scratch, &functions, true)?;
    let base = format!("{}/cortex-api", server.base);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let mut md = String::new();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    writeln!(md, "{BEGIN}\n## Cortex API plane\n\nMeasured by `cargo run --release -- bench --plane cortex-api` on {date}: {QUERIES} queries each, one at a time, over HTTP on loopback; synthetic paragraphs of 90 words from a {VOCABULARY}-word vocabulary, one chunk each; queries of 3 words.\n")?;
    writeln!(
        md,
        "| measurement | corpus | p50 ms | p99 ms |\n|---|---|---|---|"
    )?;
    for chunks in [10_000, 100_000] {
        let tenant = format!("bench_{chunks}");
        let secs = seed_tenant(&client, &base, &tenant, chunks).await?;
        eprintln!("bench: {tenant}: seeded in {secs:.1} s; querying");
        for (route, label) in [
            ("boolean_recall", "`boolean_recall` (FTS5, or)"),
            ("full_recall", "`full_recall` (hybrid, alpha 0.5)"),
            ("qna", "`qna` (hybrid + extractive answer)"),
        ] {
            let url = format!("{base}/recall/{route}");
            let t = tenant.clone();
            let s = time_queries(&client, &url, |rng| {
                let q = format!("{} {} {}", rng.word(), rng.word(), rng.word());
                if route == "qna" {
                    json!({"tenant_id": t, "question": q})
                } else {
                    json!({"tenant_id": t, "query": q, "max_results": 10})
                }
            })
            .await?;
            writeln!(
                md,
                "| {label} | {chunks} chunks | {:.2} | {:.2} |",
                s.p50, s.p99
            )?;
        }
        writeln!(
            md,
            "| upload + index (whole corpus) | {chunks} chunks | {secs:.1} s total | |"
        )?;
    }
    let vectors = 100_000;
    let secs = seed_vectors(&client, &base, "bench_vectors", vectors).await?;
    let url = format!("{base}/embeddings/search_raw_embeddings");
    let s = time_queries(&client, &url, |rng| {
        let v: Vec<f64> = (0..VECTOR_DIM).map(|_| rng.unit()).collect();
        json!({"tenant_id": "bench_vectors", "sub_tenant_id": "DEFAULT", "query_embedding": v, "limit": 10})
    })
    .await?;
    writeln!(md, "| `search_raw_embeddings` (exact cosine, top 10) | {vectors} vectors of {VECTOR_DIM} | {:.2} | {:.2} |", s.p50, s.p99)?;
    let s = time_queries(&client, &url, |rng| {
        let v: Vec<f64> = (0..VECTOR_DIM).map(|_| rng.unit()).collect();
        json!({"tenant_id": "bench_vectors", "sub_tenant_id": "DEFAULT", "query_embedding": v, "limit": 10, "filter_expr": "group == 3"})
    })
    .await?;
    writeln!(md, "| the same with `filter_expr` `group == 3` | {vectors} vectors of {VECTOR_DIM} | {:.2} | {:.2} |", s.p50, s.p99)?;
    writeln!(md, "| insert (whole set, {VECTORS_PER_INSERT} per request) | {vectors} vectors | {secs:.1} s total | |")?;
    writeln!(md, "{END}")?;
    print!("{md}");
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    write_section(&output, &md)?;
    eprintln!("bench: written to {}", output.display());
    Ok(0)
}

/// Replaces the section between the markers, or appends it.
fn write_section(output: &PathBuf, section: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(output).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!(
                "{}{}{}",
                &old[..b],
                section.trim_end(),
                &old[e + END.len()..]
            )
        }
        _ => format!("{}\n{section}", old.trim_end()),
    };
    std::fs::write(output, new).with_context(|| format!("cannot write {}", output.display()))
}
