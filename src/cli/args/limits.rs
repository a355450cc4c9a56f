//! `--max-memory`, shared by every command that allocates by sizes it is given.

/// The memory limit of a command.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LimitArgs {
    /// Refuse to start when the memory the command needs (estimated from the sizes before
    /// anything large is allocated) is above SIZE: bytes, or with a unit K, M, G, T (powers of
    /// 1000) or KiB, MiB, GiB, TiB, e.g. 4G, 512M [default: 80% of the RAM, or of the cgroup's
    /// memory limit when lower]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

fn parse_size(text: &str) -> Result<u64, String> {
    rnn::nn::memory::parse_size(text).map_err(|e| match e {
        rnn::Error::Config(msg) => msg,
        other => other.to_string(),
    })
}
