//! Model files: safetensors with PyTorch's parameter names, so a model moves between
//! `torch.nn.RNN` and `rnn` unchanged.
//!
//! Tensor names are those of a PyTorch module with an `nn.RNN` named `rnn` and an optional
//! `nn.Linear` named `head`: `rnn.weight_ih_l{k}` `[H, in_k]`, `rnn.weight_hh_l{k}` `[H, H]`,
//! `rnn.bias_ih_l{k}` `[H]`, `rnn.bias_hh_l{k}` `[H]` (suffix `_reverse` for the reverse
//! direction), `head.weight` `[O, D*H]`, `head.bias` `[O]`; the gated cells stack their gate
//! blocks in the rows (`[G*H, ·]`), an IndRNN's `rnn.weight_hh_l{k}` is its vector `u` `[H]`.
//! The metadata key `rnn.config` holds the [`ModelConfig`] as JSON.
//!
//! On load a bare state_dict (names without `rnn.`) and a file without metadata are accepted
//! too: sizes, layers, directions and the cell are inferred from names and shapes, the
//! nonlinearity comes from [`LoadOptions::nonlinearity`] (tanh by default, relu for an
//! IndRNN).
//!
//! A state_dict whose modules are named otherwise (`encoder.weight_ih_l0`, `fc.weight`) loads
//! with [`LoadOptions::modules`]; [`state_dict_bytes`] writes one.
//!
//! # Example
//! ```
//! use rnn::{Init, Model, ModelConfig, RnnConfig, model_file};
//! let path = std::env::temp_dir().join(format!("rnn-doc-model-file-{}.safetensors", std::process::id()));
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! model_file::save(&model, &path)?;
//! // in Python: `safetensors.torch.load_file(path)` gives `rnn.weight_ih_l0`, ..., `head.bias`
//! let loaded = model_file::load::<f32>(&path, &Default::default())?;
//! assert_eq!(loaded.model, model);
//! std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use ndarray::{Array1, Array2, ArrayD, IxDyn};
use safetensors::{Dtype, SafeTensors, View};

use crate::nn::head::Linear;
use crate::nn::layer::LayerParams;
use crate::nn::stack::param_name;
use crate::{Cell, Error, Float, Model, ModelConfig, Nonlinearity, Result, Rnn, RnnConfig, io};

/// The metadata key holding the model's configuration as JSON.
pub const CONFIG_KEY: &str = "rnn.config";

/// Tensor-name prefixes that are not model parameters: a training checkpoint's optimizer
/// state, best weights and (when interrupted within an epoch) the hidden state carried from batch
/// to batch, and the further networks of an ensemble (a forecaster's). Loading a model skips
/// them, so a checkpoint is also a model file.
pub const RESERVED_PREFIXES: [&str; 4] = ["optim.", "best_model.", "carried.", "ensemble."];

fn is_reserved(name: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Options for reading a model file.
///
/// # Example
/// ```
/// use rnn::model_file::{self, LoadOptions};
/// use rnn::{Init, Model, ModelConfig, Nonlinearity, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::PyTorch, 0)?;
/// let bytes = model_file::to_bytes(&model, &Default::default())?;
/// // the file says tanh: asking for relu is refused rather than silently ignored
/// let relu = LoadOptions { nonlinearity: Some(Nonlinearity::Relu), ..LoadOptions::default() };
/// assert!(model_file::from_bytes::<f32>(&bytes, "m.safetensors".as_ref(), &relu).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The nonlinearity for files without `rnn.config` metadata (when `None`: tanh, relu for
    /// an IndRNN). With metadata, a value that disagrees with the file is an error.
    pub nonlinearity: Option<Nonlinearity>,
    /// The names of the RNN and head modules in the file (a state_dict of a module whose
    /// recurrent part is `encoder` and head `fc`, say). `None`: `rnn` and `head`, or a bare
    /// state_dict.
    pub modules: Option<ModuleNames>,
}

/// The names of the two modules a state_dict holds: the recurrent stack (`rnn` in a model
/// file; empty for a bare `nn.RNN` state_dict, whose names have no prefix) and the linear head
/// (`head`). A name may be a dotted path (`model.encoder`).
///
/// # Example
/// ```
/// use rnn::model_file::ModuleNames;
/// let names = ModuleNames { rnn: "model.encoder".into(), head: "fc".into() };
/// assert_eq!(names.rename("rnn.weight_ih_l0"), "model.encoder.weight_ih_l0");
/// assert_eq!(names.rename("head.bias"), "fc.bias");
/// let bare = ModuleNames { rnn: String::new(), ..ModuleNames::default() };
/// assert_eq!(bare.rename("rnn.bias_hh_l1_reverse"), "bias_hh_l1_reverse");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleNames {
    /// The recurrent module.
    pub rnn: String,
    /// The head.
    pub head: String,
}

impl Default for ModuleNames {
    fn default() -> Self {
        ModuleNames { rnn: "rnn".into(), head: "head".into() }
    }
}

impl ModuleNames {
    /// A tensor's name in the file from its name in a model file (`rnn.weight_ih_l0` ->
    /// `encoder.weight_ih_l0`); other names unchanged.
    ///
    /// # Example
    /// ```
    /// use rnn::model_file::ModuleNames;
    /// let names = ModuleNames { rnn: "encoder".into(), head: "fc".into() };
    /// assert_eq!(names.rename("rnn.weight_hh_l0_reverse"), "encoder.weight_hh_l0_reverse");
    /// assert_eq!(names.rename("head.weight"), "fc.weight");
    /// assert_eq!(names.rename("optim.step"), "optim.step"); // not a parameter: unchanged
    /// ```
    pub fn rename(&self, name: &str) -> String {
        let with =
            |module: &str, rest: &str| if module.is_empty() { rest.to_string() } else { format!("{module}.{rest}") };
        match (name.strip_prefix("rnn."), name.strip_prefix("head.")) {
            (Some(rest), _) => with(&self.rnn, rest),
            (_, Some(rest)) => with(&self.head, rest),
            _ => name.to_string(),
        }
    }

    fn prefix(module: &str) -> String {
        if module.is_empty() { String::new() } else { format!("{module}.") }
    }
}

/// Where a loaded model's configuration came from.
///
/// # Example
/// ```
/// use rnn::model_file::{self, ConfigSource, LoadOptions};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let own = model_file::from_bytes::<f32>(&model_file::to_bytes(&model, &Default::default())?, "m".as_ref(), &LoadOptions::default())?;
/// assert_eq!(own.config_source, ConfigSource::Metadata);
/// // a bare nn.RNN(1, 1, bias=False) state_dict without metadata, written by hand: the sizes
/// // come from the tensors' names and shapes
/// let header = r#"{"weight_hh_l0":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"weight_ih_l0":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]}}"#;
/// let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
/// bytes.extend_from_slice(header.as_bytes());
/// bytes.extend_from_slice(&[0.5f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat());
/// let inferred = model_file::from_bytes::<f32>(&bytes, "sd".as_ref(), &LoadOptions::default())?;
/// assert_eq!((inferred.config_source, inferred.bare), (ConfigSource::Inferred, true));
/// assert_eq!((inferred.model.rnn.layers()[0].weight_ih[[0, 0]], inferred.model.config().rnn.bias), (2.0, false));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// The `rnn.config` metadata.
    Metadata,
    /// Inferred from tensor names and shapes.
    Inferred,
}

/// A model read from a file, with what else the file said.
///
/// # Example
/// ```
/// use std::collections::HashMap;
/// use rnn::model_file::{self, ConfigSource, LoadOptions, ModuleNames};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::PyTorch, 0)?;
/// let extra = HashMap::from([("note".to_string(), "hello".to_string())]);
/// let loaded = model_file::from_bytes::<f32>(&model_file::to_bytes(&model, &extra)?, "m".as_ref(), &LoadOptions::default())?;
/// assert_eq!((loaded.dtype, loaded.config_source, loaded.bare), (safetensors::Dtype::F64, ConfigSource::Metadata, false));
/// assert_eq!(loaded.metadata["note"], "hello");
/// // a bare nn.RNN state_dict: names without a module prefix, no metadata
/// let bare = ModuleNames { rnn: String::new(), head: "head".into() };
/// let sd = model_file::state_dict_bytes(&model, &bare)?;
/// let loaded = model_file::from_bytes::<f64>(&sd, "sd".as_ref(), &LoadOptions { modules: Some(bare), ..Default::default() })?;
/// assert_eq!(loaded.model, model);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LoadedModel<F = f32> {
    /// The model, converted to `F`.
    pub model: Model<F>,
    /// The dtype the tensors were stored in.
    pub dtype: Dtype,
    /// All metadata entries of the file.
    pub metadata: HashMap<String, String>,
    /// Where the configuration came from.
    pub config_source: ConfigSource,
    /// Whether the names had no `rnn.` prefix (a bare `nn.RNN` state_dict).
    pub bare: bool,
    /// The nonlinearity assumed for a file that does not say it (no `rnn.config` metadata, an
    /// RNN or IndRNN cell, none given in [`LoadOptions`]): a ReLU `nn.RNN` state_dict cannot be
    /// told from a tanh one by its tensors, so a caller should say what was assumed.
    pub assumed_nonlinearity: Option<Nonlinearity>,
}

/// Reads a model file.
///
/// # Example
/// ```
/// use rnn::{model_file, Init, Model, ModelConfig, RnnConfig};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("model.safetensors");
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 1)?;
/// model_file::save(&model, &path)?;
/// let loaded = model_file::load::<f32>(&path, &Default::default())?;
/// assert_eq!(loaded.model, model);
/// # Ok::<(), rnn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::ModelFile`] naming the file and the
/// tensor or key at fault when it is not a valid model.
pub fn load<F: Float>(path: &Path, options: &LoadOptions) -> Result<LoadedModel<F>> {
    let bytes = std::fs::read(path).map_err(|err| Error::Io { path: path.to_path_buf(), err })?;
    from_bytes(&bytes, path, options)
}

/// Parses a model file's bytes; `path` is only used to name the file in errors.
///
/// # Errors
/// As [`load`].
///
/// # Example
/// ```
/// use rnn::model_file::{self, LoadOptions};
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4).with_cell(Cell::Gru), output_size: Some(2) }, Init::PyTorch, 0)?;
/// let bytes = model_file::to_bytes(&model, &Default::default())?;
/// let loaded = model_file::from_bytes::<f64>(&bytes, "in-memory".as_ref(), &LoadOptions::default())?;
/// assert_eq!(loaded.model.config(), model.config()); // converted to f64
/// let err = model_file::from_bytes::<f32>(b"garbage", "in-memory".as_ref(), &LoadOptions::default()).unwrap_err();
/// assert!(err.to_string().starts_with("in-memory: not a valid safetensors file"));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn from_bytes<F: Float>(bytes: &[u8], path: &Path, options: &LoadOptions) -> Result<LoadedModel<F>> {
    let bad = |msg: String| Error::model_file(path, msg);
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let names: BTreeSet<String> = st.names().into_iter().filter(|n| !is_reserved(n)).map(str::to_owned).collect();

    let (prefix, head_prefix, bare) = match &options.modules {
        Some(m) => (ModuleNames::prefix(&m.rnn), ModuleNames::prefix(&m.head), m.rnn.is_empty()),
        None => {
            let bare = !names.contains("rnn.weight_ih_l0");
            (if bare { "" } else { "rnn." }.to_string(), "head.".to_string(), bare)
        }
    };
    let prefix = prefix.as_str();
    if !names.contains(&format!("{prefix}weight_ih_l0")) {
        let found = names.iter().find_map(|n| n.strip_suffix(".weight_ih_l0"));
        let hint = match found {
            Some(module) => format!("; the file has `{module}.weight_ih_l0`: its RNN module is named `{module}`"),
            None => String::new(),
        };
        return Err(bad(match &options.modules {
            Some(_) => format!("no tensor `{prefix}weight_ih_l0`: not an RNN module by that name{hint}"),
            None => format!(
                "no tensor `rnn.weight_ih_l0` (nor `weight_ih_l0` of a bare nn.RNN state_dict): not an RNN model{hint}"
            ),
        }));
    }
    let shape_of = |name: &str| st.tensor(name).map(|t| t.shape().to_vec()).ok();

    let (config, config_source) = match metadata.get(CONFIG_KEY) {
        Some(json) => {
            let config: ModelConfig = serde_json::from_str(json)
                .map_err(|e| bad(format!("metadata `{CONFIG_KEY}` is not a valid model configuration ({e})")))?;
            let c = &config.rnn;
            if let Some(n) = options.nonlinearity
                && (n != c.nonlinearity || !c.cell.has_nonlinearity())
            {
                let has = match c.cell {
                    Cell::IndRnn => format!("{} ({})", c.nonlinearity, c.cell.mode(c.nonlinearity)),
                    cell => cell.mode(c.nonlinearity).to_string(),
                };
                return Err(bad(format!("the model's nonlinearity is {has} but {n} was asked for")));
            }
            (config, ConfigSource::Metadata)
        }
        None => {
            let w_ih = shape_of(&format!("{prefix}weight_ih_l0")).unwrap_or_default();
            let w_hh = shape_of(&format!("{prefix}weight_hh_l0"))
                .ok_or_else(|| bad(format!("tensor `{prefix}weight_hh_l0` is missing")))?;
            if w_ih.len() != 2 || !(1..=2).contains(&w_hh.len()) {
                return Err(bad(format!(
                    "tensor `{prefix}weight_ih_l0` must be a matrix and `{prefix}weight_hh_l0` a matrix (or a vector, for an IndRNN)"
                )));
            }
            // every layer any tensor names, so that a layer missing a tensor is reported as such
            let num_layers = names.iter().filter_map(|n| layer_of(n.strip_prefix(prefix)?)).max().map_or(1, |l| l + 1);
            let head = if bare && options.modules.is_none() { None } else { shape_of(&format!("{head_prefix}weight")) };
            // the cell from the shapes: W_hh is [G*H, S], G = 1 (Elman), 4 (LSTM), 3 (GRU); a
            // projection W_hr [S, H] makes it an LSTM with proj_size S; a vector u [H], an IndRNN
            let w_hr = shape_of(&format!("{prefix}weight_hr_l0"));
            let (rows, state) = (w_hh[0], w_hh.get(1).copied().unwrap_or(0));
            let (cell, hidden, proj_size) = match &w_hr {
                None if w_hh.len() == 1 => (Cell::IndRnn, rows, 0),
                Some(hr) if hr.len() == 2 && hr[0] == state && rows == 4 * hr[1] => (Cell::Lstm, hr[1], state),
                Some(hr) => {
                    return Err(bad(format!(
                        "tensor `{prefix}weight_hr_l0` has shape {hr:?} but `{prefix}weight_hh_l0` is {w_hh:?}: an LSTM with proj_size P and hidden size H has weight_hh [4H, P] and weight_hr [P, H]"
                    )));
                }
                None if rows == state => (Cell::Rnn, state, 0),
                None if rows == 4 * state => (Cell::Lstm, state, 0),
                None if rows == 3 * state => (Cell::Gru, state, 0),
                None => {
                    return Err(bad(format!(
                        "tensor `{prefix}weight_hh_l0` has shape {w_hh:?}, which fits no cell: expected [H, H] (RNN), [4H, H] (LSTM), [3H, H] (GRU) or [H] (IndRNN)"
                    )));
                }
            };
            if !cell.has_nonlinearity() && options.nonlinearity.is_some() {
                return Err(bad(format!(
                    "the model is an {} (from its shapes); a nonlinearity applies to RNN and IndRNN cells only",
                    cell.mode(Default::default())
                )));
            }
            let rnn = RnnConfig {
                input_size: w_ih[1],
                hidden_size: hidden,
                num_layers,
                cell,
                nonlinearity: options.nonlinearity.unwrap_or(cell.default_nonlinearity()),
                bias: names.contains(&format!("{prefix}bias_ih_l0")),
                dropout: 0.0,
                bidirectional: names.contains(&format!("{prefix}weight_ih_l0_reverse")),
                proj_size,
                recurrent_max: None,
                residual: false,
            };
            (ModelConfig { rnn, output_size: head.and_then(|s| s.first().copied()) }, ConfigSource::Inferred)
        }
    };
    let c = &config.rnn;
    c.validate().map_err(|e| bad(e.to_string()))?;
    if config.output_size == Some(0) {
        return Err(bad("the head has output_size 0".into()));
    }

    let mut used = BTreeSet::new();
    let mut dtype = None;
    let mut take = |name: String, shape: &[usize]| -> Result<ArrayD<F>> {
        let t = st.tensor(&name).map_err(|_| bad(format!("tensor `{name}` is missing")))?;
        if t.shape() != shape {
            return Err(bad(format!("tensor `{name}` has shape {:?}, expected {shape:?}", t.shape())));
        }
        let values = decode::<F>(t.dtype(), t.data()).ok_or_else(|| {
            bad(format!(
                "tensor `{name}` has dtype {:?}; only F32, F64 and the half precisions F16 and BF16 are read",
                t.dtype()
            ))
        })?;
        match dtype {
            None => dtype = Some((t.dtype(), name.clone())),
            Some((d, ref first)) if d != t.dtype() => {
                return Err(bad(format!(
                    "tensor `{name}` is {:?} but `{first}` is {d:?}: mixed dtypes are not supported",
                    t.dtype()
                )));
            }
            _ => {}
        }
        used.insert(name);
        Ok(ArrayD::from_shape_vec(IxDyn(shape), values).expect("length checked by safetensors"))
    };
    let as2 = |a: ArrayD<F>| a.into_dimensionality::<ndarray::Ix2>().expect("2-D shape checked");
    let as1 = |a: ArrayD<F>| a.into_dimensionality::<ndarray::Ix1>().expect("1-D shape checked");

    let (h, g, st) = (c.hidden_size, c.cell.gates() * c.hidden_size, c.state_size());
    let mut layers = Vec::new();
    for l in 0..c.num_layers {
        for d in 0..c.num_directions() {
            let name = |stem: &str| format!("{prefix}{}", param_name(stem, l, d == 1));
            let weight_ih: Array2<F> = as2(take(name("weight_ih"), &[g, c.layer_input_size(l)])?);
            // an IndRNN's recurrent weight is the vector u [H]
            let (weight_hh, weight_hh_diag): (Array2<F>, Option<Array1<F>>) = match c.cell {
                Cell::IndRnn => (Array2::zeros((0, h)), Some(as1(take(name("weight_hh"), &[h])?))),
                _ => (as2(take(name("weight_hh"), &[g, st])?), None),
            };
            let (bias_ih, bias_hh): (Option<Array1<F>>, Option<Array1<F>>) = if c.bias {
                (Some(as1(take(name("bias_ih"), &[g])?)), Some(as1(take(name("bias_hh"), &[g])?)))
            } else {
                (None, None)
            };
            let weight_hr = match c.proj_size {
                0 => None,
                p => Some(as2(take(name("weight_hr"), &[p, h])?)),
            };
            layers.push(LayerParams { weight_ih, weight_hh, weight_hh_diag, bias_ih, bias_hh, weight_hr });
        }
    }
    let head = match config.output_size {
        None => None,
        Some(o) => {
            let (w, b) = (format!("{head_prefix}weight"), format!("{head_prefix}bias"));
            let weight = as2(take(w, &[o, c.output_width()])?);
            let bias = if names.contains(&b) { Some(as1(take(b, &[o])?)) } else { None };
            Some(Linear { weight, bias })
        }
    };
    if let Some(extra) = names.iter().find(|n| !used.contains(*n)) {
        return Err(bad(format!(
            "unexpected tensor `{extra}` for a model ({}) with {} layer(s){}{}",
            c.cell.mode(c.nonlinearity),
            c.num_layers,
            if c.bidirectional { ", bidirectional" } else { "" },
            if c.bias { "" } else { ", no bias" }
        )));
    }
    let rnn = Rnn::from_parts(config.rnn.clone(), layers).map_err(|e| bad(e.to_string()))?;
    Ok(LoadedModel {
        model: Model { rnn, head },
        dtype: dtype.map_or(F::DTYPE, |(d, _)| d),
        metadata,
        config_source,
        bare,
        assumed_nonlinearity: (config_source == ConfigSource::Inferred
            && config.rnn.cell.has_nonlinearity()
            && options.nonlinearity.is_none())
        .then_some(config.rnn.nonlinearity),
    })
}

/// Every tensor with a reserved prefix (see [`RESERVED_PREFIXES`]), converted to `F`.
///
/// # Errors
/// [`Error::ModelFile`] naming the file for a damaged file or an unsupported dtype.
#[doc(hidden)] // not API: a checkpoint's extra tensors, read by `train::checkpoint`
pub fn read_tensors<F: Float>(bytes: &[u8], path: &Path) -> Result<HashMap<String, ArrayD<F>>> {
    let bad = |msg: String| Error::model_file(path, msg);
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let mut out = HashMap::new();
    for (name, t) in st.iter().filter(|(n, _)| is_reserved(n)) {
        let values = decode::<F>(t.dtype(), t.data()).ok_or_else(|| {
            bad(format!(
                "tensor `{name}` has dtype {:?}; only F32, F64 and the half precisions F16 and BF16 are read",
                t.dtype()
            ))
        })?;
        let array =
            ArrayD::from_shape_vec(IxDyn(t.shape()), values).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        out.insert(name.to_string(), array);
    }
    Ok(out)
}

fn decode<F: Float>(dtype: Dtype, data: &[u8]) -> Option<Vec<F>> {
    match dtype {
        Dtype::F32 => {
            Some(data.chunks_exact(4).map(|b| F::of(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)).collect())
        }
        Dtype::F64 => {
            Some(data.chunks_exact(8).map(|b| F::of(f64::from_le_bytes(b.try_into().expect("8 bytes")))).collect())
        }
        // half precision (`model.half()`, `.bfloat16()`): every value is exact in f32 and f64
        Dtype::F16 => {
            Some(data.chunks_exact(2).map(|b| F::of(half::f16::from_le_bytes([b[0], b[1]]).to_f64())).collect())
        }
        Dtype::BF16 => {
            Some(data.chunks_exact(2).map(|b| F::of(half::bf16::from_le_bytes([b[0], b[1]]).to_f64())).collect())
        }
        _ => None,
    }
}

/// The layer `k` of a recurrent tensor's name (`weight_ih_l{k}`, `bias_hh_l{k}_reverse`, ...).
fn layer_of(name: &str) -> Option<usize> {
    let name = name.strip_suffix("_reverse").unwrap_or(name);
    let (stem, k) = name.rsplit_once("_l")?;
    let known = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"].contains(&stem);
    if known && !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) { k.parse().ok() } else { None }
}

/// A tensor ready to serialise.
struct Raw {
    shape: Vec<usize>,
    dtype: Dtype,
    data: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Serialises a model (in its own dtype) with its `rnn.config` and any `extra` metadata.
///
/// # Errors
/// [`Error::ModelFile`] when serialisation fails (it does not for a valid model).
///
/// # Example
/// ```
/// use std::collections::HashMap;
/// use rnn::model_file::{self, CONFIG_KEY};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let bytes = model_file::to_bytes(&model, &HashMap::new())?;
/// assert_eq!(bytes, model_file::to_bytes(&model, &HashMap::new())?); // deterministic
/// let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// assert!(st.names().contains(&"rnn.weight_ih_l0"));
/// let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// assert!(header.metadata().as_ref().is_some_and(|m| m[CONFIG_KEY].contains("\"hidden_size\":4")));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn to_bytes<F: Float>(model: &Model<F>, extra: &HashMap<String, String>) -> Result<Vec<u8>> {
    to_bytes_with(model, extra, &[])
}

/// As [`to_bytes`], adding non-parameter tensors whose names start with one of
/// [`RESERVED_PREFIXES`] (a checkpoint's optimizer state).
///
/// # Errors
/// [`Error::ModelFile`] when an extra tensor's name is not reserved.
#[doc(hidden)] // not API: a checkpoint's extra tensors, written by `train::checkpoint`
pub fn to_bytes_with<F: Float>(
    model: &Model<F>,
    extra: &HashMap<String, String>,
    extra_tensors: &[(String, ArrayD<F>)],
) -> Result<Vec<u8>> {
    serialize(model, &ModuleNames::default(), extra, extra_tensors)
}

/// A model as a PyTorch state_dict whose modules are named `modules` (`encoder`, `fc`, ...),
/// in the model's dtype, with the `rnn.config` metadata (PyTorch's loaders ignore metadata)
/// and `format: pt`, as `safetensors.torch.save_file` writes.
///
/// # Example
/// ```
/// use rnn::model_file::{self, LoadOptions, ModuleNames};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 1)?;
/// let names = ModuleNames { rnn: "encoder".into(), head: "fc".into() };
/// let bytes = model_file::state_dict_bytes(&model, &names)?;
/// let options = LoadOptions { modules: Some(names), ..Default::default() };
/// let loaded = model_file::from_bytes::<f32>(&bytes, "sd.safetensors".as_ref(), &options)?;
/// assert_eq!(loaded.model, model);
/// # Ok::<(), rnn::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModelFile`] when serialisation fails (it does not for a valid model).
pub fn state_dict_bytes<F: Float>(model: &Model<F>, modules: &ModuleNames) -> Result<Vec<u8>> {
    let format = HashMap::from([("format".to_string(), "pt".to_string())]);
    serialize(model, modules, &format, &[])
}

fn serialize<F: Float>(
    model: &Model<F>,
    modules: &ModuleNames,
    extra: &HashMap<String, String>,
    extra_tensors: &[(String, ArrayD<F>)],
) -> Result<Vec<u8>> {
    let raw = |t: ndarray::ArrayViewD<'_, F>| {
        let mut data = Vec::with_capacity(t.len() * size_of::<F>());
        t.iter().for_each(|v| v.push_le_bytes(&mut data));
        Raw { shape: t.shape().to_vec(), dtype: F::DTYPE, data }
    };
    let mut tensors: Vec<(String, Raw)> =
        model.named_tensors().into_iter().map(|(name, t)| (modules.rename(&name), raw(t))).collect();
    for (name, t) in extra_tensors {
        if !is_reserved(name) {
            return Err(Error::model_file("<memory>", format!("extra tensor `{name}` must have a reserved prefix")));
        }
        tensors.push((name.clone(), raw(t.view())));
    }
    let mut metadata = extra.clone();
    let json = serde_json::to_string(&model.config()).map_err(|e| Error::model_file("<memory>", e.to_string()))?;
    metadata.insert(CONFIG_KEY.to_string(), json);
    let mut bytes = safetensors::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), Some(metadata))
        .map_err(|e| Error::model_file("<memory>", e.to_string()))?;
    sort_header(&mut bytes);
    Ok(bytes)
}

/// Rewrites the JSON header with its keys sorted (same length: the same entries, reordered), so
/// the same model always gives the same bytes; `safetensors` writes its metadata map in hash
/// order.
fn sort_header(bytes: &mut [u8]) {
    let Some(n) = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize) else {
        return;
    };
    let Some(header) = bytes.get(8..8 + n) else { return };
    // serde_json's maps are sorted (BTreeMap) unless its `preserve_order` feature is on
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(header) else { return };
    let Ok(sorted) = serde_json::to_vec(&value) else { return };
    if sorted.len() <= n {
        let out = &mut bytes[8..8 + n];
        out[..sorted.len()].copy_from_slice(&sorted);
        out[sorted.len()..].fill(b' ');
    }
}

/// Writes a model file atomically (temp file + rename).
///
/// # Errors
/// [`Error::Io`] naming the file.
///
/// # Example
/// ```
/// use rnn::model_file::{self, LoadOptions};
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
/// let path = std::env::temp_dir().join(format!("rnn-doc-save-{}.safetensors", std::process::id()));
/// let config = ModelConfig { rnn: RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_num_layers(2), output_size: Some(1) };
/// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
/// model_file::save(&model, &path)?;
/// assert_eq!(model_file::load::<f64>(&path, &LoadOptions::default())?.model, model);
/// std::fs::remove_file(&path)?;
/// assert!(model_file::save(&model, "/nonexistent-dir/m.safetensors".as_ref()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<F: Float>(model: &Model<F>, path: &Path) -> Result<()> {
    save_with_metadata(model, path, &HashMap::new())
}

/// As [`save`], adding `extra` metadata entries (e.g. normalisation statistics).
///
/// # Errors
/// [`Error::Io`] naming the file.
///
/// # Example
/// ```
/// use std::collections::HashMap;
/// use rnn::model_file::{self, LoadOptions};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let path = std::env::temp_dir().join(format!("rnn-doc-save-meta-{}.safetensors", std::process::id()));
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let extra = HashMap::from([("mean".to_string(), "12.5".to_string())]);
/// model_file::save_with_metadata(&model, &path, &extra)?;
/// assert_eq!(model_file::load::<f32>(&path, &LoadOptions::default())?.metadata["mean"], "12.5");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_with_metadata<F: Float>(model: &Model<F>, path: &Path, extra: &HashMap<String, String>) -> Result<()> {
    io::write_atomic(path, &to_bytes(model, extra)?)
}

#[cfg(test)]
#[path = "model_file_tests.rs"]
mod tests;
