//! Arguments of `rnn demo`.

use std::path::PathBuf;

/// Flags of `rnn demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder for the series, the model and the plots (created; files in it are replaced)
    #[arg(long, value_name = "DIR", default_value = "rnn-demo")]
    pub dir: PathBuf,
}
