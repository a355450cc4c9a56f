//! `rnn import`: a model file from a PyTorch state_dict whose modules are named otherwise than
//! `rnn` and `head` (or a bare one).

use anyhow::Result;
use rnn::model_file::{self, LoadOptions};
use safetensors::Dtype;

use super::args::interop::ImportArgs;
use super::common::print_stdout;

/// Runs `rnn import`: reads the state_dict as `--prefix`/`--head-prefix` name its modules and
/// writes it as a model file, in its own dtype.
pub fn run(args: &ImportArgs) -> Result<()> {
    super::outputs::check([("--output", args.output.as_path())])?;
    super::outputs::check_model_name("--output", &args.output)?;
    let bytes = std::fs::read(&args.input).map_err(|err| rnn::Error::Io { path: args.input.clone(), err })?;
    let options = LoadOptions { nonlinearity: args.nonlinearity.map(Into::into), modules: args.modules.names() };
    let loaded = model_file::from_bytes::<f64>(&bytes, &args.input, &options)?;
    super::common::warn_assumed(&args.input, &loaded, true);
    // in the file's own dtype; half precision (F16, BF16) as f32, which holds it exactly
    match loaded.dtype {
        Dtype::F64 => model_file::save(&loaded.model, &args.output)?,
        _ => model_file::save(&model_file::from_bytes::<f32>(&bytes, &args.input, &options)?.model, &args.output)?,
    }
    let c = loaded.model.config();
    print_stdout(&format!(
        "wrote {}: {}, {} layer(s) of {}{}{} from {}\n",
        args.output.display(),
        c.rnn.cell.mode(c.rnn.nonlinearity),
        c.rnn.num_layers,
        c.rnn.hidden_size,
        if c.rnn.bidirectional { ", bidirectional" } else { "" },
        c.output_size.map_or(String::new(), |o| format!(", head {o}")),
        args.input.display()
    ))
}
