//! [`Env`]: everything a command touches outside itself (arguments aside):
//! the environment variables, standard input and output, whether they are
//! terminals, and the client. `main` builds it from the process; tests
//! build one in memory and run commands in-process.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use upseed_node::Vars;
use upseed_node::fake::FakeClient;

/// A writer that several owners share: standard output or error, or a
/// buffer in tests.
#[derive(Clone)]
pub struct Stream(Arc<Mutex<Box<dyn Write + Send>>>);

impl Stream {
    /// Writes to `writer`.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Box::new(writer))))
    }

    /// A stream into a buffer, and the buffer.
    pub fn buffer() -> (Self, Arc<Mutex<Vec<u8>>>) {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        (Self::new(Shared(buffer.clone())), buffer)
    }
}

/// A buffer that is written through a clone.
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        lock(&self.0).flush()
    }
}

/// What a command runs in.
pub struct Env {
    /// The environment variables.
    pub vars: Vars,
    /// Standard input.
    pub stdin: Box<dyn BufRead + Send>,
    /// Whether standard input is a terminal (then `init` asks questions).
    pub stdin_tty: bool,
    /// Whether a password is asked on the process's terminal without
    /// echo; otherwise it is a line of `stdin`.
    pub prompt_hidden: bool,
    /// Standard output.
    pub out: Stream,
    /// Whether standard output is a terminal (then feeds are in color).
    pub out_tty: bool,
    /// Standard error.
    pub err: Stream,
    /// Whether standard error is a terminal (then long work shows bars).
    pub err_tty: bool,
    /// A client to use whatever the config says: only tests set one.
    pub client: Option<FakeClient>,
}

impl Env {
    /// The process's own.
    pub fn process() -> Self {
        use std::io::IsTerminal;
        Self {
            vars: Vars::process(),
            stdin: Box::new(std::io::BufReader::new(std::io::stdin())),
            stdin_tty: std::io::stdin().is_terminal(),
            prompt_hidden: std::io::stdin().is_terminal(),
            out: Stream::new(std::io::stdout()),
            out_tty: std::io::stdout().is_terminal(),
            err: Stream::new(std::io::stderr()),
            err_tty: std::io::stderr().is_terminal(),
            client: None,
        }
    }
}
