//! opentracker. Debian builds it whitelist-only, so every infohash must be
//! allowed (and the list reloaded) before clients announce it.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use upseed_core::InfoHash;

use crate::process::Daemon;

/// A running opentracker.
#[derive(Debug)]
pub struct Tracker {
    daemon: Daemon,
    ip: Ipv4Addr,
    port: u16,
    whitelist: PathBuf,
    _dir: tempfile::TempDir,
}

fn command(conf: &std::path::Path, ip: Ipv4Addr, port: u16) -> Command {
    let mut command = Command::new("opentracker");
    command.arg("-f").arg(conf).args([
        "-i",
        &ip.to_string(),
        "-p",
        &port.to_string(),
        "-P",
        &port.to_string(),
        "-A",
        &ip.to_string(),
    ]);
    command
}

/// Waits until opentracker answers on `port`: `Err` with its log when it
/// exits first (another process took the port between our probe and its
/// bind), so the caller can try another port.
async fn answering(ip: Ipv4Addr, port: u16, daemon: &mut Daemon) -> Result<(), String> {
    let tracker_url = format!("http://{ip}:{port}/stats?mode=torr");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if reqwest::get(&tracker_url).await.is_ok() {
            return Ok(());
        }
        if !daemon.running() {
            return Err(daemon.log_tail());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "opentracker did not answer on {ip}:{port} within 20 s\n{}",
            daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_answering(ip: Ipv4Addr, port: u16) {
    let tracker_url = format!("http://{ip}:{port}/stats?mode=torr");
    crate::eventually("opentracker to answer", Duration::from_secs(10), || async {
        reqwest::get(&tracker_url).await.ok().map(drop)
    })
    .await;
}

impl Tracker {
    /// Stops the tracker; [`Self::start_again`] brings it back. Peers it
    /// knew are forgotten, as after a real tracker's restart.
    pub fn stop(&mut self) {
        self.daemon.stop(Duration::from_secs(5));
    }

    /// Starts the tracker again on the same port with the same whitelist.
    pub async fn start_again(&mut self) {
        let conf = self._dir.path().join("opentracker.conf");
        self.daemon = Daemon::spawn(
            "opentracker",
            command(&conf, self.ip, self.port),
            &self._dir.path().join("opentracker.log"),
        );
        wait_answering(self.ip, self.port).await;
    }

    /// Starts opentracker on `ip` with an empty whitelist, HTTP and UDP on one free port.
    pub async fn start(ip: Ipv4Addr) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let whitelist = dir.path().join("whitelist.txt");
        std::fs::write(&whitelist, "").expect("whitelist");
        let conf = dir.path().join("opentracker.conf");
        std::fs::write(&conf, format!("access.whitelist {}\n", whitelist.display())).expect("conf");
        // opentracker drops to `nobody`, which must read the list.
        for path in [dir.path(), whitelist.as_path(), conf.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            let mode = if path.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        // A free port can be taken by another test before opentracker
        // binds it: then it exits, and a fresh port is tried.
        let mut attempts = 0;
        let (daemon, port) = loop {
            attempts += 1;
            let port = crate::free_port(ip);
            let mut daemon = Daemon::spawn(
                "opentracker",
                command(&conf, ip, port),
                &dir.path().join("opentracker.log"),
            );
            match answering(ip, port, &mut daemon).await {
                Ok(()) => break (daemon, port),
                Err(log) => assert!(attempts < 3, "opentracker exited three times\n{log}"),
            }
        };
        Self {
            daemon,
            ip,
            port,
            whitelist,
            _dir: dir,
        }
    }

    /// The HTTP announce URL.
    pub fn announce_url(&self) -> String {
        format!("http://{}:{}/announce", self.ip, self.port)
    }

    /// The UDP announce URL (BEP 15), on the same port.
    pub fn udp_announce_url(&self) -> String {
        format!("udp://{}:{}/announce", self.ip, self.port)
    }

    /// Allows `hashes` and reloads the whitelist.
    pub async fn allow(&self, hashes: &[InfoHash]) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.whitelist)
            .expect("whitelist");
        for hash in hashes {
            writeln!(file, "{hash}").expect("write whitelist");
        }
        drop(file);
        self.daemon.signal(Signal::SIGHUP);
        // The reload is asynchronous; 0.1-0.2 s is enough.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    /// The seeders the tracker counts for `hash` now, by an HTTP scrape.
    pub async fn seeders(&self, hash: InfoHash) -> u32 {
        let url = format!(
            "http://{}:{}/scrape?{}",
            self.ip,
            self.port,
            upseed_core::scrape::http_query(&[hash])
        );
        let body = reqwest::get(&url)
            .await
            .and_then(|r| r.error_for_status())
            .expect("the tracker answers a scrape")
            .bytes()
            .await
            .expect("the scrape's body");
        upseed_core::scrape::parse_http(&body)
            .expect("the scrape parses")
            .get(&hash)
            .map_or(0, |c| c.seeders)
    }
}
