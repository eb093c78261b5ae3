//! The `upseed` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    upseed::main()
}
