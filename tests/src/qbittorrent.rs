//! qbittorrent-nox with a temporary profile, its config written before the
//! first start (a bare first start turns on DHT, LSD and UPnP and binds
//! every interface).

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use upseed_qbittorrent::{Config, Password, Qbittorrent};

use crate::process::{Daemon, Instance};

/// How to start a qBittorrent.
#[derive(Debug, Clone)]
pub struct QbOptions {
    /// The address for the Web UI and peers.
    pub ip: Ipv4Addr,
    /// Require a password (the default), or let this host in without one
    /// ("Bypass authentication for clients on localhost").
    pub require_login: bool,
    /// Failed logins before qBittorrent bans the IP (its default is 5).
    pub max_auth_failures: u32,
}

impl Default for QbOptions {
    fn default() -> Self {
        Self {
            ip: crate::host(),
            require_login: true,
            max_auth_failures: 5,
        }
    }
}

/// A running qbittorrent-nox.
#[derive(Debug)]
pub struct QbDaemon {
    instance: Instance,
    url: url::Url,
    password: String,
}

/// `WebUI\Password_PBKDF2`: PBKDF2-HMAC-SHA512, 100,000 rounds, 16-byte salt.
fn password_hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("randomness");
    let mut key = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), &salt, 100_000, &mut key);
    format!(
        "@ByteArray({}:{})",
        STANDARD.encode(salt),
        STANDARD.encode(key)
    )
}

fn command(profile: &std::path::Path, web_port: u16) -> Command {
    let mut command = Command::new("qbittorrent-nox");
    command
        .arg(format!("--profile={}", profile.display()))
        .arg(format!("--webui-port={web_port}"));
    command
}

/// Waits until qBittorrent's Web UI answers at `url`: `false` when it
/// does not within 20 s, or when another server answers there (a port
/// found free can be taken by another test's daemon before qBittorrent
/// binds it, and qBittorrent then runs without its Web UI).
async fn wait_answering(url: &url::Url) -> bool {
    let probe = format!("{url}api/v2/app/webapiVersion");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(answer) = reqwest::get(&probe).await {
            // The API answers 200, or 403 before a login.
            return matches!(answer.status().as_u16(), 200 | 403);
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl QbDaemon {
    /// Stops qbittorrent-nox; [`Self::start_again`] brings it back.
    pub fn stop(&mut self) {
        self.instance.stop();
    }

    /// Starts qbittorrent-nox again on the same profile and port, after
    /// [`Self::stop`], and waits until its Web UI answers.
    pub async fn start_again(&mut self) {
        let port = self.url.port().expect("the Web UI URL has a port");
        let profile = self.instance.profile().to_owned();
        self.instance.respawn(
            "qbittorrent-nox",
            command(&profile, port),
            &profile.join("stdout.log"),
        );
        assert!(
            wait_answering(&self.url).await,
            "qbittorrent-nox's Web UI did not come back on {}\n{}",
            self.url,
            self.instance.log_tail()
        );
        assert!(
            self.instance.running(),
            "qbittorrent-nox exited\n{}",
            self.instance.log_tail()
        );
    }

    /// Starts qbittorrent-nox and waits until its Web UI answers, on
    /// fresh ports again when another process took the first ones.
    pub async fn start(options: QbOptions) -> Self {
        for _ in 0..2 {
            if let Some(started) = Self::try_start(&options).await {
                return started;
            }
        }
        Self::try_start(&options)
            .await
            .expect("qbittorrent-nox's Web UI answers on free ports")
    }

    async fn try_start(options: &QbOptions) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary folder");
        let ip = options.ip;
        let web_port = crate::free_port(ip);
        let peer_port = crate::free_port(ip);
        let password = format!("pw-{}", crate::random_hex(8));
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads folder");
        std::fs::create_dir_all(dir.path().join("posts")).expect("posts folder");
        let config_dir = dir.path().join("qBittorrent/config");
        std::fs::create_dir_all(&config_dir).expect("config folder");
        let conf = format!(
            r#"[LegalNotice]
Accepted=true

[BitTorrent]
Session\Port={peer_port}
Session\RefreshInterval=100
Session\Interface=lo
Session\InterfaceName=lo
Session\InterfaceAddress={ip}
Session\DefaultSavePath={downloads}
Session\DHTEnabled=false
Session\LSDEnabled=false
Session\PeXEnabled=false
Session\BTProtocol=TCP
Session\QueueingSystemEnabled=false
Session\MaxActiveDownloads=-1
Session\MaxActiveUploads=-1
Session\MaxActiveTorrents=-1
Session\MaxConnections=-1
Session\MaxConnectionsPerTorrent=-1
Session\MaxUploads=-1
Session\MaxUploadsPerTorrent=-1
Session\MultiConnectionsPerIp=true
Session\AddTrackersEnabled=false
Session\GlobalMaxRatio=-1
Session\GlobalMaxSeedingMinutes=-1

[Network]
PortForwardingEnabled=false

[Preferences]
Connection\ResolvePeerCountries=false
WebUI\Address={ip}
WebUI\Port={web_port}
WebUI\LocalHostAuth={local_auth}
WebUI\Username=tester
WebUI\Password_PBKDF2="{hash}"
WebUI\MaxAuthenticationFailCount={max_fail}
WebUI\BanDuration=3600
WebUI\SessionTimeout=86400
"#,
            downloads = downloads.display(),
            local_auth = options.require_login,
            hash = password_hash(&password),
            max_fail = options.max_auth_failures,
        );
        std::fs::write(config_dir.join("qBittorrent.conf"), conf).expect("write qBittorrent.conf");
        let mut daemon = Daemon::spawn(
            "qbittorrent-nox",
            command(dir.path(), web_port),
            &dir.path().join("stdout.log"),
        );
        let url: url::Url = format!("http://{ip}:{web_port}/").parse().expect("url");
        if !wait_answering(&url).await {
            eprintln!(
                "qbittorrent-nox's Web UI is not on {url}; trying other ports\n{}",
                daemon.log_tail()
            );
            daemon.stop(Duration::from_secs(5));
            return None;
        }
        assert!(
            daemon.running(),
            "qbittorrent-nox exited\n{}",
            daemon.log_tail()
        );
        Some(Self {
            instance: Instance::new(daemon, dir),
            url,
            password,
        })
    }

    /// The Web UI's base URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The preset password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// An adapter config with the right credentials.
    pub fn config(&self) -> Config {
        Config::new(
            self.url.clone(),
            "tester",
            Some(Password::new(&self.password)),
        )
    }

    /// An adapter with the right credentials.
    pub fn client(&self) -> Qbittorrent {
        Qbittorrent::new(self.config()).expect("client")
    }

    /// An adapter that sends `password`.
    pub fn client_with_password(&self, password: &str) -> Qbittorrent {
        let config = Config::new(self.url.clone(), "tester", Some(Password::new(password)));
        Qbittorrent::new(config).expect("client")
    }

    /// Sets Web UI preferences (a JSON object, as `app/setPreferences`
    /// takes): what a user does in Tools > Options.
    pub async fn set_preferences(&self, json: &str) {
        self.api("app/setPreferences", &[("json", json)]).await;
    }

    /// Posts `form` to the Web UI API's `endpoint`, logged in as the test
    /// user, as a user's own tools would; returns the answer's text.
    pub async fn api(&self, endpoint: &str, form: &[(&str, &str)]) -> String {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("an HTTP client");
        let base = self.url.as_str();
        http.post(format!("{base}api/v2/auth/login"))
            .form(&[("username", "tester"), ("password", self.password.as_str())])
            .send()
            .await
            .expect("login");
        let answer = http
            .post(format!("{base}api/v2/{endpoint}"))
            .form(form)
            .send()
            .await
            .expect(endpoint);
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "{endpoint}: {status}: {text}");
        text
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
