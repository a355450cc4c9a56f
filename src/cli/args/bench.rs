//! Arguments of `rnn bench`.

/// Arguments of `rnn bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object per configuration (and one for the streaming step)
    #[arg(long)]
    pub json: bool,
    /// Minimum seconds of timed repeats per measurement
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    pub min_time: f64,
    /// Recurrent cell to time: rnn (Elman, tanh), lstm, gru or indrnn (relu)
    #[arg(long, value_parser = super::values::parse_cell, default_value = "rnn")]
    pub cell: rnn::Cell,
    /// Time only the streaming step (H = 128, input 32, batch 1), not the training sizes
    #[arg(long)]
    pub stream_only: bool,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}
