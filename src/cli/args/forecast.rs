//! Flags of forecasting: `rnn train --task forecast`, `rnn evaluate` on a forecast model and
//! `rnn forecast`.

use std::path::PathBuf;

/// Flags of `rnn train --task forecast`.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Forecast (--task forecast)")]
#[group(id = "forecast_train")]
pub struct TrainArgs {
    /// Column to forecast (default: the only numeric column besides date, id and features, or
    /// one named `value` or `y`). Forecasting changes three training defaults: --epochs 300,
    /// --patience 40, --lr 0.003 (a flag given on the command line wins)
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Extra input columns (covariates), comma-separated; their future is unknown, so forecasts
    /// reach at most --horizon steps
    #[arg(long, value_name = "A,B,..", value_delimiter = ',')]
    pub features: Vec<String>,
    /// Date column (default: one named date, ds, time, timestamp, datetime, year, month, week, day, period)
    #[arg(long, value_name = "NAME")]
    pub date_column: Option<String>,
    /// Long format: the column naming the series (e.g. unique_id); one global model, splits per series
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,
    /// Input steps (default: max(2 x season, 2 x horizon, 12), at most half the training rows)
    #[arg(long, value_name = "W")]
    pub window: Option<usize>,
    /// Steps predicted at once (direct multi-step output)
    #[arg(long, value_name = "H", default_value_t = 1)]
    pub horizon: usize,
    /// Season length in rows (default: detected from the autocorrelation of the training split's differences; 1 = none)
    #[arg(long, value_name = "S")]
    pub season: Option<usize>,
    /// Train/validation/test percentages, split by time per series
    #[arg(long, value_name = "A/B/C", default_value = "70/15/15")]
    pub split: String,
    /// What the network predicts: auto (train each that fits the data, keep the lowest validation
    /// MASE), zscore, residual (change over the last value), seasonal (change over one season
    /// back), smoothed (change over exponential smoothing's level and season: an ES-RNN hybrid),
    /// or log-zscore, log-residual, log-seasonal, log-smoothed on ln y
    #[arg(long, value_name = "T", default_value = "auto")]
    pub transform: String,
    /// Keep the network alone: by default its forecasts are combined with the statistical
    /// baseline (MSTL+AutoETS), w x network + (1 - w) x baseline, w in 0, 0.1, .., 1 chosen on
    /// the validation split (w = 1 when the network alone is best)
    #[arg(long)]
    pub no_combine: bool,
    /// Networks per transformation, each with its own seed (--seed, --seed + 1, ..); the forecast
    /// is the mean of the networks of the transformations kept (the k best on validation)
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub ensemble: u64,
    /// Backtest over K rolling folds: the whole training run repeated on the series cut 1..K-1
    /// test splits earlier, each scored on its own test split; a table of every fold's and the
    /// mean RMSE and MASE of the model and the baselines (K times the training time)
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub folds: u64,
    #[command(flatten)]
    pub csv: CsvArgs,
}

/// How the CSV file is read (train, evaluate and forecast).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct CsvArgs {
    /// Cell delimiter: , ; | or tab, or any one ASCII character (default: sniffed from the header
    /// row among , ; tab |)
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,
    /// strftime pattern of the date column, e.g. %m/%d/%Y or %d.%m.%Y %H:%M (default: detected;
    /// dates that read both day-first and month-first are refused until it is given)
    #[arg(long, value_name = "FMT")]
    pub date_format: Option<String>,
    /// Missing values (empty, NA, NaN, null) and dates missing from a regular date column:
    /// none (refuse, naming the line), previous, linear or seasonal (one season back)
    /// [default: none when training; the model's fill later]
    #[arg(long, value_name = "HOW")]
    pub fill: Option<String>,
    /// The numbers' decimal mark: point (1,234.5) or comma (1.234,5) [default: what the numbers
    /// show; numbers such as 1,234 alone, which read both ways, are refused until it is given]
    #[arg(long, value_name = "MARK", value_parser = ["point", "comma"])]
    pub decimal: Option<String>,
}

/// Flags of `rnn evaluate` for a forecast model.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Forecast models")]
pub struct EvalArgs {
    /// Season of the seasonal-naive baseline and of MASE's scale (default: the model's)
    #[arg(long, value_name = "S")]
    pub season: Option<usize>,
    /// Score the test split with every network first trained again, from its initialisation
    /// and for the epochs early stopping kept, on the training + validation rows: as the
    /// statistical baselines are fitted before the test split. The combination's weights and
    /// the intervals' widths stay those of the saved networks, chosen on validation
    #[arg(long)]
    pub refit: bool,
    /// Also draw the test split: the series, the model's forecasts with their 80% and 95% bands
    /// and the baselines', to STEM.forecast.png and .svg (and STEM.forecast.stepH for a horizon
    /// H > 1; a long file: STEM.forecast.ID for each of its first three series)
    #[arg(long, value_name = "STEM", value_parser = super::values::plot_stem_parser())]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub csv: CsvArgs,
}

impl EvalArgs {
    /// The flags given that only a forecasting model takes.
    pub fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--season", self.season.is_some()),
            ("--refit", self.refit),
            ("--plot", self.plot.is_some()),
            ("--delimiter", self.csv.delimiter.is_some()),
            ("--date-format", self.csv.date_format.is_some()),
            ("--fill", self.csv.fill.is_some()),
            ("--decimal", self.csv.decimal.is_some()),
        ];
        flags.into_iter().filter(|(_, on)| *on).map(|(f, _)| f).collect()
    }
}

/// Flags of `rnn forecast`.
#[derive(Debug, clap::Args)]
pub struct ForecastArgs {
    /// Trained forecasting model
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// The series (CSV with the columns the model was trained on); forecasts start after its last row
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// Steps to forecast (default: the model's horizon); beyond the horizon forecasts are fed back (recursive)
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Write the CSV here instead of stdout
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Also draw the forecast after the end of the series, with its 80% and 95% bands, to
    /// STEM.png and STEM.svg (a long file: STEM.ID.png and .svg for each of its first three series)
    #[arg(long, value_name = "STEM", value_parser = super::values::plot_stem_parser())]
    pub plot: Option<PathBuf>,
    /// Forecast with the saved weights (trained on the training split). By default every
    /// network is first trained again, from its initialisation, with its training settings and
    /// for the epochs early stopping kept, on all the rows of --data (train + validation + test)
    #[arg(long)]
    pub no_refit: bool,
    #[command(flatten)]
    pub csv: CsvArgs,
}
