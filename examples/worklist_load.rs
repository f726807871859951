//! Open-loop load on `GET /api/v1/worklist`: each nurse (one access token per line of the token
//! file) has their own keep-alive connection and asks for their worklist every `interval`, from a
//! random offset. A request's latency is counted from the moment it was due, so a slow server
//! cannot hide its delay by making the load wait (no coordinated omission).
//!
//!     cargo run --release --example worklist_load -- ADDR TOKENS INTERVAL_MS SECONDS
//!     e.g. 127.0.0.1:8080 tokens.txt 1000 30
//!
//! Prints requests, rate, errors and latency percentiles. `bench/worklist.sh` runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!("usage: worklist_load ADDR TOKENS INTERVAL_MS SECONDS");
        std::process::exit(2);
    }
    let addr = args[0].clone();
    let tokens: Vec<String> = std::fs::read_to_string(&args[1])
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", args[1])))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let interval = Duration::from_millis(args[2].parse().unwrap_or_else(|_| fail("INTERVAL_MS")));
    let seconds: u64 = args[3].parse().unwrap_or_else(|_| fail("SECONDS"));
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(seconds);
    let nurses = tokens.len();
    let threads: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let addr = addr.clone();
            // Nurses spread evenly over the interval.
            let offset = interval.mul_f64(i as f64 / nurses as f64);
            std::thread::spawn(move || nurse(&addr, &token, start + offset, interval, end))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for thread in threads {
        let (l, e) = thread
            .join()
            .unwrap_or_else(|_| fail("a nurse thread panicked"));
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d: &Duration| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{nurses} nurses, one worklist each every {} ms, {seconds} s: {} requests ({:.1}/s), {errors} errors",
        interval.as_millis(),
        latencies.len(),
        latencies.len() as f64 / seconds as f64
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
}

fn fail(what: &str) -> ! {
    eprintln!("worklist_load: {what}");
    std::process::exit(2)
}

/// One nurse's requests; returns the latencies and the number of failed requests.
fn nurse(
    addr: &str,
    token: &str,
    first: Instant,
    interval: Duration,
    end: Instant,
) -> (Vec<Duration>, usize) {
    let request = format!(
        "GET /api/v1/worklist HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut conn: Option<BufReader<TcpStream>> = None;
    let mut due = first;
    while due < end {
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let ok = (|| -> std::io::Result<bool> {
            if conn.is_none() {
                let stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                conn = Some(BufReader::new(stream));
            }
            let reader = conn
                .as_mut()
                .ok_or_else(|| std::io::Error::other("no connection"))?;
            reader.get_mut().write_all(request.as_bytes())?;
            read_response(reader)
        })();
        match ok {
            Ok(true) => latencies.push(due.elapsed()),
            Ok(false) => errors += 1,
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
        due += interval;
    }
    (latencies, errors)
}

/// Reads one response with a Content-Length body; `true` for a 200.
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let ok = line.split_whitespace().nth(1) == Some("200");
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(ok)
}
