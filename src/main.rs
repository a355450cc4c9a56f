//! The `rnn` command-line tool. Everything lives in [`cli`]; `main` only hands over.

mod cli;

/// Counts heap bytes so `rnn bench` can report a training step's peak memory.
#[global_allocator]
static ALLOC: cli::peak::Counting = cli::peak::Counting;

fn main() -> std::process::ExitCode {
    cli::main()
}
