//! `--task charlm`, `rnn generate` and `rnn evaluate` on a character model, end to end on the
//! bundled `data/hamlet.txt` (173,943 characters of public-domain Shakespeare).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use rnn::tasks::charlm::{CharLmTask, Vocab};

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn hamlet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/hamlet.txt")
}

/// The one error line of a failed run (exit status 1, nothing on stdout).
fn error_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "stdout {}", String::from_utf8_lossy(&o.stdout));
    assert!(o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
    let stderr = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_string()
}

/// A model trained for 3 epochs on Hamlet with the task's defaults (once per test run), what
/// training printed on stderr (progress) and on stdout (the results).
fn trained() -> &'static (PathBuf, String, String) {
    static MODEL: OnceLock<(PathBuf, String, String)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("charlm");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("hamlet.safetensors");
        let o = rnn(&["train", "--task", "charlm", "--data", p(&hamlet()), "--epochs", "3", "--out", p(&out)]);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert!(o.status.success(), "{stderr}");
        (out, stderr, String::from_utf8(o.stdout).unwrap())
    })
}

/// The number after `label` in `text`.
fn number_after(text: &str, label: &str) -> f64 {
    let at = text.find(label).unwrap_or_else(|| panic!("no {label:?} in {text}")) + label.len();
    let num: String = text[at..].trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num.parse().unwrap()
}

#[test]
fn a_short_run_is_well_below_the_unigram_baseline() {
    let (model, stderr, stdout) = trained();
    let first = stderr.lines().next().unwrap();
    assert!(first.contains("173,943 characters, a vocabulary of 65"), "{first}");
    assert!(first.contains("32 streams of 97 chunks of 50 characters"), "{first}");
    // the results on stdout, none of them in the progress on stderr
    let bpc = number_after(stdout, "held-out text:");
    let unigram = number_after(stdout, "(unigram baseline");
    assert!(!stderr.contains("held-out text:") && !stderr.contains("sample (rnn generate"), "{stderr}");
    // measured: 3.04 bits/char against 4.66 after 3 epochs (about 2 s of training)
    assert!((4.6..4.7).contains(&unigram), "{unigram}");
    assert!(bpc < 0.75 * unigram, "held-out {bpc} bits/char vs unigram {unigram}\n{stdout}");
    assert!(stdout.contains("sample (rnn generate --model"), "{stdout}");

    // `rnn evaluate` scores the same tail of the same file to the same numbers
    let o = rnn(&["evaluate", "--model", p(model), "--data", p(&hamlet()), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (m, u) = (j["model"]["bpc"].as_f64().unwrap(), j["unigram"]["bpc"].as_f64().unwrap());
    assert!((m - bpc).abs() < 5e-5 && (u - unigram).abs() < 5e-5, "{j} vs {bpc} {unigram}");
    assert_eq!(j["characters"], 17394);
    let table = rnn(&["evaluate", "--model", p(model), "--data", p(&hamlet())]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("bits/char") && table.lines().any(|l| l.starts_with("unigram")), "{table}");
}

#[test]
fn the_vocabulary_travels_in_the_model_file() {
    let (model, _, _) = trained();
    let loaded = rnn::model_file::load::<f32>(model, &Default::default()).unwrap();
    let task = CharLmTask::from_metadata(&loaded.metadata).unwrap();
    let text = std::fs::read_to_string(hamlet()).unwrap();
    assert_eq!(task.vocab, Vocab::from_text(&text).unwrap());
    assert_eq!(task.held_out, 0.1);
    let c = loaded.model.config();
    assert_eq!((c.rnn.input_size, c.output_size, c.rnn.hidden_size), (65, Some(65), 128));
}

#[test]
fn characters_not_bytes_and_a_unicode_vocabulary_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("mixed.txt");
    std::fs::write(&text, "día a día, ñandú y 日本語; ".repeat(40)).unwrap();
    let out = dir.path().join("m.safetensors");
    let o = rnn(&[
        "train",
        "--task",
        "charlm",
        "--data",
        p(&text),
        "--epochs",
        "1",
        "--hidden",
        "8",
        "-q",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let loaded = rnn::model_file::load::<f32>(&out, &Default::default()).unwrap();
    let vocab = CharLmTask::from_metadata(&loaded.metadata).unwrap().vocab;
    assert_eq!(vocab.as_str(), " ,;adnyíñú日本語");
    assert_eq!(loaded.model.config().rnn.input_size, 13);
    let o = rnn(&["generate", "--model", p(&out), "--prime", "日本", "--length", "30", "--seed", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let made = String::from_utf8(o.stdout).unwrap();
    assert!(made.starts_with("日本"));
    assert_eq!(made.trim_end_matches('\n').chars().count(), 32, "{made:?}");
    assert!(made.chars().all(|c| c == '\n' || vocab.index(c).is_some()), "{made:?}");
}

#[test]
fn generation_is_seeded_and_top_k_1_is_greedy() {
    let (model, _, _) = trained();
    let sample = |extra: &[&str]| {
        let mut args = vec!["generate", "--model", p(model), "--prime", "HAMLET.\n", "--length", "200"];
        args.extend_from_slice(extra);
        let o = rnn(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let a = sample(&["--seed", "1", "--temperature", "0.9"]);
    assert!(a.starts_with("HAMLET.\n"), "{a}");
    assert_eq!(a.trim_end_matches('\n').chars().count(), 208);
    assert_eq!(sample(&["--seed", "1", "--temperature", "0.9"]), a);
    assert_ne!(sample(&["--seed", "2", "--temperature", "0.9"]), a);
    // greedy: the seed no longer matters, and temperature 0 is the same choice
    let greedy = sample(&["--seed", "1", "--top-k", "1"]);
    assert_eq!(sample(&["--seed", "2", "--top-k", "1"]), greedy);
    assert_eq!(sample(&["--temperature", "0"]), greedy);
    assert_ne!(greedy, a);
    // top-k 3 stays among likelier characters than unrestricted sampling at a high temperature
    assert_ne!(sample(&["--seed", "1", "--top-k", "3", "--temperature", "0.9"]), a);
}

#[test]
fn generate_streams_characters_as_they_are_made() {
    let (model, _, _) = trained();
    // five million characters take a minute or more; the first ones must arrive long before
    let mut child = Command::new(env!("CARGO_BIN_EXE_rnn"))
        .args(["generate", "--model", p(model), "--length", "5000000", "--seed", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < 100 {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "stdout closed after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(still_running, "the output came only when generation had ended");
}

#[test]
fn a_prime_outside_the_vocabulary_is_refused_naming_its_characters() {
    let (model, _, _) = trained();
    let o = rnn(&["generate", "--model", p(model), "--prime", "To be # or € not", "--length", "10"]);
    let line = error_line(&o);
    assert_eq!(
        line,
        format!(
            "rnn: {}: --prime has 2 characters outside the model's vocabulary of 65: '#' (U+0023) at line 1, column 7; \
             '€' (U+20AC) at line 1, column 12",
            p(model)
        )
    );
    let o = rnn(&["generate", "--model", p(model), "--temperature=-1"]);
    assert!(error_line(&o).contains("--temperature"));
}

#[test]
fn non_utf8_text_is_refused_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("latin1.txt");
    std::fs::write(&bad, b"To be, or not\nto b\xe9: that is the question\n").unwrap();
    let out = dir.path().join("m.safetensors");
    let o = rnn(&["train", "--task", "charlm", "--data", p(&bad), "--out", p(&out)]);
    let want = format!(
        "rnn: {}: line 2, column 5: not valid UTF-8: byte 0xE9 (byte offset 18); a Latin-1 or Windows-1252 file \
         reads once converted to UTF-8 (iconv -f cp1252 -t utf-8)",
        p(&bad)
    );
    assert_eq!(error_line(&o), want);
    assert!(!out.exists());
    let (model, _, _) = trained();
    assert_eq!(error_line(&rnn(&["evaluate", "--model", p(model), "--data", p(&bad)])), want);
}

#[test]
fn text_outside_the_models_vocabulary_is_refused_by_evaluate() {
    let (model, _, _) = trained();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "Some text\nwith 3 digits and 42 more\n".repeat(10)).unwrap();
    let line = error_line(&rnn(&["evaluate", "--model", p(model), "--data", p(&other)]));
    assert!(
        line.starts_with(&format!("rnn: {}: 2 characters outside the model's vocabulary of 65: ", p(&other))),
        "{line}"
    );
    assert!(line.contains("'3' (U+0033) at line 2, column 6, 10 times"), "{line}");
}

#[test]
fn flags_that_make_no_sense_for_a_character_model_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let text = hamlet();
    let base = ["train", "--task", "charlm", "--data", p(&text), "--out", p(&out)];
    let o = rnn(&[&base[..], &["--bidirectional"]].concat());
    assert!(error_line(&o).contains("--bidirectional"));
    let o = rnn(&[&base[..], &["--inputs", "x.npy"]].concat());
    assert!(error_line(&o).contains("--inputs does not apply"));
    let o = rnn(&["train", "--task", "charlm", "--out", p(&out)]);
    assert!(error_line(&o).contains("needs --data FILE.txt"));
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let o = rnn(&["train", "--task", "charlm", "--data", p(&empty), "--out", p(&out)]);
    assert_eq!(
        error_line(&o),
        format!("rnn: {}: the text has 0 character(s); a character model needs at least 2", p(&empty))
    );
    assert!(!out.exists());
}

#[test]
fn an_lstm_character_model_defaults_to_two_layers_of_256_with_dropout() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = std::fs::read_to_string(hamlet()).unwrap().chars().take(6000).collect();
    let data = dir.path().join("t.txt");
    std::fs::write(&data, text).unwrap();
    let config = |extra: &[&str]| {
        let out = dir.path().join("m.safetensors");
        let mut args = vec!["train", "--task", "charlm", "--data", p(&data), "--epochs", "1", "--out", p(&out)];
        args.extend_from_slice(extra);
        let o = rnn(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let c = rnn::model_file::load::<f32>(&out, &Default::default()).unwrap().model.config().rnn;
        (c.cell, c.hidden_size, c.num_layers, c.dropout)
    };
    assert_eq!(config(&["--cell", "lstm"]), (rnn::Cell::Lstm, 256, 2, 0.3));
    // a flag typed wins; the others keep the cell's defaults
    assert_eq!(config(&["--cell", "lstm", "--hidden", "32", "--dropout", "0"]), (rnn::Cell::Lstm, 32, 2, 0.0));
    assert_eq!(config(&["--cell", "lstm", "--layers", "1"]), (rnn::Cell::Lstm, 256, 1, 0.0));
    // the other cells keep the task's defaults
    assert_eq!(config(&["--cell", "gru"]), (rnn::Cell::Gru, 128, 1, 0.0));
}
