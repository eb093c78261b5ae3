//! transmission-daemon with a temporary config folder. `settings.json` is
//! written before the first start: command-line flags cannot turn PEX or
//! the queues off.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use upseed_transmission::{Config, Password, Transmission};

use crate::process::{Daemon, Instance};
use crate::random_hex;

/// How to start a transmission-daemon.
#[derive(Debug, Clone)]
pub struct TrOptions {
    /// The address for RPC and peers.
    pub ip: Ipv4Addr,
    /// `rpc-whitelist`: the addresses allowed to call the RPC.
    pub whitelist: String,
}

impl Default for TrOptions {
    fn default() -> Self {
        Self {
            ip: crate::host(),
            whitelist: "127.0.0.1,::1,10.77.0.*".to_owned(),
        }
    }
}

/// A running transmission-daemon.
#[derive(Debug)]
pub struct TrDaemon {
    instance: Instance,
    url: url::Url,
    password: String,
}

impl TrDaemon {
    /// Starts transmission-daemon on `ip` and waits until its RPC answers.
    pub async fn start(ip: Ipv4Addr) -> Self {
        Self::start_with(TrOptions {
            ip,
            ..TrOptions::default()
        })
        .await
    }

    /// Starts transmission-daemon with `options`.
    pub async fn start_with(options: TrOptions) -> Self {
        let ip = options.ip;
        let dir = tempfile::tempdir().expect("temporary folder");
        let rpc_port = crate::free_port(ip);
        let peer_port = crate::free_port(ip);
        let password = format!("pw-{}", random_hex(8));
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads folder");
        std::fs::create_dir_all(dir.path().join("posts")).expect("posts folder");
        let settings = serde_json::json!({
            "bind-address-ipv4": ip.to_string(),
            "bind-address-ipv6": "::1",
            "blocklist-enabled": false,
            "dht-enabled": false,
            "lpd-enabled": false,
            "pex-enabled": false,
            "port-forwarding-enabled": false,
            "utp-enabled": false,
            "peer-port": peer_port,
            "peer-port-random-on-start": false,
            "peer-limit-global": 5000,
            "peer-limit-per-torrent": 50,
            "download-dir": downloads,
            "incomplete-dir-enabled": false,
            "download-queue-enabled": false,
            "seed-queue-enabled": false,
            "queue-stalled-enabled": false,
            "ratio-limit-enabled": false,
            "idle-seeding-limit-enabled": false,
            "start-added-torrents": true,
            "rename-partial-files": false,
            "rpc-enabled": true,
            "rpc-bind-address": ip.to_string(),
            "rpc-port": rpc_port,
            "rpc-url": "/transmission/",
            "rpc-whitelist-enabled": true,
            "rpc-whitelist": options.whitelist,
            "rpc-host-whitelist-enabled": false,
            "rpc-authentication-required": true,
            "rpc-username": "tester",
            "rpc-password": password,
            "message-level": 2,
        });
        std::fs::write(dir.path().join("settings.json"), settings.to_string())
            .expect("write settings.json");
        let mut command = Command::new("transmission-daemon");
        command.arg("-f").arg("-g").arg(dir.path());
        let mut daemon = Daemon::spawn(
            "transmission-daemon",
            command,
            &dir.path().join("stdout.log"),
        );
        let url: url::Url = format!("http://{ip}:{rpc_port}/transmission/rpc")
            .parse()
            .expect("url");
        let probe = url.clone();
        crate::eventually(
            "transmission-daemon to answer",
            Duration::from_secs(20),
            || async {
                reqwest::Client::new()
                    .post(probe.clone())
                    .send()
                    .await
                    .ok()
                    .map(drop)
            },
        )
        .await;
        assert!(
            daemon.running(),
            "transmission-daemon exited\n{}",
            daemon.log_tail()
        );
        Self {
            instance: Instance::new(daemon, dir),
            url,
            password,
        }
    }

    /// The RPC URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The RPC password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// An adapter config with the right credentials.
    pub fn config(&self) -> Config {
        Config::new(
            self.url.clone(),
            Some("tester".into()),
            Some(Password::new(&self.password)),
        )
    }

    /// An adapter with the right credentials.
    pub fn client(&self) -> Transmission {
        Transmission::new(self.config()).expect("client")
    }

    /// An adapter that sends `password`.
    pub fn client_with_password(&self, password: &str) -> Transmission {
        let config = Config::new(
            self.url.clone(),
            Some("tester".into()),
            Some(Password::new(password)),
        );
        Transmission::new(config).expect("client")
    }

    /// Calls the RPC `method` with `arguments` as a user's own tools
    /// would (the session-id handshake and basic auth done here); returns
    /// the answer's `arguments`.
    pub async fn rpc(&self, method: &str, arguments: serde_json::Value) -> serde_json::Value {
        let http = reqwest::Client::new();
        let body = serde_json::json!({"method": method, "arguments": arguments});
        let mut session = String::new();
        for _ in 0..3 {
            let answer = http
                .post(self.url.as_str())
                .basic_auth("tester", Some(&self.password))
                .header("X-Transmission-Session-Id", &session)
                .json(&body)
                .send()
                .await
                .expect(method);
            if answer.status() == reqwest::StatusCode::CONFLICT {
                session = answer
                    .headers()
                    .get("X-Transmission-Session-Id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                continue;
            }
            let doc: serde_json::Value = answer.json().await.expect(method);
            assert_eq!(doc["result"], "success", "{method}: {doc}");
            return doc["arguments"].clone();
        }
        panic!("{method}: no session id from Transmission");
    }

    /// The daemon and its folders.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// The daemon and its folders, to stop it.
    pub fn instance_mut(&mut self) -> &mut Instance {
        &mut self.instance
    }
}
