//! Load a PyTorch LSTM and stream predictions from it, one step per call.
//!
//! In PyTorch (a bare state_dict of `nn.LSTM` + `nn.Linear` saved with safetensors):
//! ```python
//! import torch; from safetensors.torch import save_file
//! rnn, head = torch.nn.LSTM(3, 16, num_layers=2), torch.nn.Linear(16, 1)
//! sd = {f"rnn.{k}": v for k, v in rnn.state_dict().items()} | {f"head.{k}": v for k, v in head.state_dict().items()}
//! save_file(sd, "lstm.safetensors")
//! ```
//! then `cargo run --release --example stream_pytorch_lstm -- lstm.safetensors`. Without an
//! argument the example writes such a file itself (with `rnn`'s own writer, PyTorch's names).

use ndarray::Array2;
use rnn::model_file::{self, LoadOptions};
use rnn::{Cell, Init, Model, ModelConfig, RnnConfig, Stepper};

fn main() -> Result<(), rnn::Error> {
    let path = match std::env::args().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let path = std::env::temp_dir().join("rnn-example-lstm.safetensors");
            let rnn = RnnConfig::new(3, 16).with_cell(Cell::Lstm).with_num_layers(2);
            let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 1)?;
            model_file::save(&model, &path)?;
            path
        }
    };
    // the cell, sizes and layers are read from the tensors' names and shapes
    let loaded = model_file::load::<f32>(&path, &LoadOptions::default())?;
    let config = loaded.model.rnn.config();
    println!("{}: {} layers of {} {} units", path.display(), config.num_layers, config.hidden_size, config.cell);

    // one stream; the hidden and cell states are carried from call to call
    let mut stepper = Stepper::new(&loaded.model, 1)?;
    for t in 0..10 {
        let x_t = Array2::from_shape_fn((1, config.input_size), |(_, i)| ((t + i) as f32 * 0.3).sin());
        let y_t = stepper.step(x_t.view())?;
        println!("step {t}: y = {:.5}", y_t[[0, 0]]);
    }
    Ok(())
}
