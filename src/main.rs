//! The `rnn` command-line tool. Everything lives in [`cli`]; `main` only hands over.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
