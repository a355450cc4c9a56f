//! `rnn forward`: run a model over a `.npy` sequence, as `nn.RNN` (plus head) would.

use anyhow::{Context, Result, bail};
use ndarray::{Array3, ArrayD, Ix3};
use rnn::io::npy::{self, NpyArray};
use rnn::model_file::{self, LoadOptions};
use rnn::{Float, Model};

use super::args::forward::Args;

/// Runs `rnn forward`: every check happens before anything is computed or written.
pub fn run(args: &Args) -> Result<()> {
    check_destinations(args)?;
    match npy::read(&args.input)? {
        NpyArray::F32(x) => forward::<f32>(args, x),
        NpyArray::F64(x) => forward::<f64>(args, x),
    }
}

/// Refuses output paths that could only fail or clobber each other, so that a failure never
/// leaves one output written and the other not.
fn check_destinations(args: &Args) -> Result<()> {
    if let Some(hn) = &args.hn
        && *hn == args.output
    {
        bail!("{}: given as both --output and --hn", hn.display());
    }
    for path in std::iter::once(&args.output).chain(&args.hn) {
        if path.is_dir() {
            bail!("{}: is a directory, expected a .npy file path to write", path.display());
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            bail!("{}: cannot write: folder {} does not exist", path.display(), parent.display());
        }
    }
    Ok(())
}

fn forward<F: Float>(args: &Args, x: ArrayD<F>) -> Result<()> {
    let input = args.input.display();
    if x.ndim() != 3 {
        bail!("{input}: expected [seq_len, batch, input_size], got shape {}", shape_str(x.shape()));
    }
    let x = x.into_dimensionality::<Ix3>().with_context(|| format!("{input}: not a 3-D array"))?;
    let (seq_len, batch, features) = x.dim();
    if seq_len == 0 || batch == 0 {
        let what = if seq_len == 0 { "seq_len" } else { "batch" };
        bail!("{input}: {what} must be at least 1, got shape {}", shape_str(x.shape()));
    }

    let options = LoadOptions { nonlinearity: args.nonlinearity.map(Into::into) };
    let loaded = model_file::load::<F>(&args.model, &options)?;
    let model: &Model<F> = &loaded.model;
    let config = model.rnn.config();
    if features != config.input_size {
        bail!(
            "{input}: input has {features} features per step but the model expects {} (input_size)",
            config.input_size
        );
    }

    let h0 = match &args.h0 {
        None => None,
        Some(path) => {
            let want = [config.num_layers * config.num_directions(), batch, config.hidden_size];
            let h0 = npy::read(path)?;
            if h0.shape() != want {
                bail!(
                    "{}: expected h0 of shape [num_layers*dirs, batch, hidden_size] = {}, got {}",
                    path.display(),
                    shape_str(&want),
                    shape_str(h0.shape())
                );
            }
            let h0: Array3<F> = h0
                .into_float::<F>()
                .into_dimensionality::<Ix3>()
                .with_context(|| format!("{}: not a 3-D array", path.display()))?;
            Some(h0)
        }
    };

    let (y, h_n) = model.forward(x.view(), h0.as_ref().map(Array3::view)).with_context(|| format!("{input}"))?;
    npy::write(&args.output, y.view())?;
    if let Some(hn) = &args.hn {
        npy::write(hn, h_n.view())?;
    }
    Ok(())
}

/// `[4, 2, 3]`.
fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}
