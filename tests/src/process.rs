//! A daemon process that is stopped by PID when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running daemon. Dropping it sends SIGTERM, waits briefly, then SIGKILL.
#[derive(Debug)]
pub struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command` with stdin closed and output going to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> Self {
        let out =
            File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out.try_clone().expect("log file handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name,
            child: Some(child),
            log: log.to_owned(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends a signal, such as SIGHUP to reload.
    pub fn signal(&self, signal: Signal) {
        if let Some(pid) = self.pid() {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The daemon's output so far, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        format!(
            "--- last lines of {} ({})\n{}",
            self.name,
            self.log.display(),
            &text[start..]
        )
    }

    /// Stops it: SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = kill(pid, Signal::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

/// A running daemon and its temporary profile folder, which also holds the
/// `posts/` and `downloads/` folders. The daemon stops before the folder goes.
#[derive(Debug)]
pub struct Instance {
    daemon: Daemon,
    dir: tempfile::TempDir,
}

impl Instance {
    /// Pairs a daemon with its folder.
    pub fn new(daemon: Daemon, dir: tempfile::TempDir) -> Self {
        Self { daemon, dir }
    }

    /// Where upseed writes post bodies for this client to seed.
    pub fn posts_dir(&self) -> PathBuf {
        self.dir.path().join("posts")
    }

    /// Where downloads land.
    pub fn downloads_dir(&self) -> PathBuf {
        self.dir.path().join("downloads")
    }

    /// The daemon's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// The profile folder.
    pub fn profile(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's recent output, for failure messages.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    /// Stops the daemon now (it also stops when dropped).
    pub fn stop(&mut self) {
        self.daemon.stop(Duration::from_secs(5));
    }

    /// Starts the daemon again with `command`, after a [`Self::stop`] or a
    /// crash, keeping the profile folder.
    pub fn respawn(&mut self, name: &'static str, command: Command, log: &Path) {
        self.daemon.stop(Duration::from_secs(5));
        self.daemon = Daemon::spawn(name, command, log);
    }

    /// Whether the daemon is still running.
    pub fn running(&mut self) -> bool {
        self.daemon.running()
    }
}
