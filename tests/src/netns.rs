//! The private-network-namespace mode, for scenarios that need each daemon
//! on its own address: Transmission never dials peers on 127.0.0.0/8.
//!
//! A test calls [`reexec`] first. Outside a namespace, that runs the same
//! test again under `unshare -n` and reports its result; inside, it brings
//! up `lo`, and each daemon then gets an address of its own in 10.77.0.0/24
//! from [`crate::host`]. Nothing can leave such a namespace: it has no
//! interface but its own loopback.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Once;
use std::sync::atomic::{AtomicU8, Ordering};

const ENV: &str = "UPSEED_TEST_NETNS";

static NEXT: AtomicU8 = AtomicU8::new(1);
static LO_UP: Once = Once::new();
static UNBOUND: std::sync::OnceLock<Ipv4Addr> = std::sync::OnceLock::new();

/// Whether this process runs inside the test's private namespace.
pub fn inside() -> bool {
    std::env::var_os(ENV).is_some()
}

fn ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .expect("run ip (iproute2)");
    assert!(status.success(), "ip {} failed", args.join(" "));
}

/// Inside the namespace: a fresh address on `lo` for the next daemon.
/// Outside it: `None`, and daemons share 127.0.0.1.
pub fn address_for(_daemon: u8) -> Option<Ipv4Addr> {
    if !inside() {
        return None;
    }
    LO_UP.call_once(|| ip(&["link", "set", "lo", "up"]));
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let address = Ipv4Addr::new(10, 77, 0, n);
    ip(&["addr", "add", &format!("{address}/32"), "dev", "lo"]);
    if let Some(source) = UNBOUND.get() {
        prefer_source(address, *source);
    }
    Some(address)
}

/// Inside the namespace: the address that connections bound to no
/// address come from. By default the kernel takes the destination's own
/// address as the source on `lo`, so a daemon would see such a peer
/// (the embedded engine, which cannot bind its connections) dialling
/// from the daemon's own address, and Transmission hangs up on it. From
/// the first call on, every daemon address prefers one fresh address as
/// the source instead, as if the unbound program were a host of its own.
pub fn unbound_source() -> Option<Ipv4Addr> {
    if !inside() {
        return None;
    }
    if let Some(source) = UNBOUND.get() {
        return Some(*source);
    }
    let source = address_for(0)?;
    let source = *UNBOUND.get_or_init(|| source);
    for n in 1..NEXT.load(Ordering::SeqCst) {
        prefer_source(Ipv4Addr::new(10, 77, 0, n), source);
    }
    Some(source)
}

fn prefer_source(address: Ipv4Addr, source: Ipv4Addr) {
    ip(&[
        "route",
        "replace",
        "local",
        &address.to_string(),
        "dev",
        "lo",
        "table",
        "local",
        "proto",
        "kernel",
        "scope",
        "host",
        "src",
        &source.to_string(),
    ]);
}

/// Runs this whole program again inside a new network namespace, with the
/// same arguments and the terminal's input and output, and returns its
/// exit code; `Err` says why no namespace could be made.
pub fn reexec_program() -> Result<i32, String> {
    if !crate::have("unshare") || !crate::have("ip") {
        return Err("`unshare` (util-linux) and `ip` (iproute2) are needed".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new("unshare")
        .arg("-n")
        .arg("--")
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(ENV, "1")
        .status()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    Ok(status.code().unwrap_or(1))
}

/// Runs the test named `test` (its path in this test binary) inside a new
/// network namespace. Returns `true` when the caller should return: the
/// test ran in the child (and this asserts it passed), or it was skipped.
pub fn reexec(test: &str) -> bool {
    if inside() {
        return false;
    }
    if !crate::have("unshare") || !crate::have("ip") {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let output = Command::new("unshare")
        .arg("-n")
        .arg("--")
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ENV, "1")
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("unshare failed") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cannot create a network namespace (needs root): {stderr}"
        );
        eprintln!("skipped: cannot create a network namespace here: {stderr}");
        return true;
    }
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed inside its network namespace:\n{stdout}\n{stderr}"
    );
    true
}
