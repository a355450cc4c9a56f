//! Interrupting `rnn train`: SIGKILL at random moments never leaves a checkpoint that does not
//! load or resume, and SIGINT / SIGTERM save the best model so far and the last checkpoint, say
//! how to resume and exit with status 130.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rnn::data::npy;

const EXE: &str = env!("CARGO_BIN_EXE_rnn");

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A tiny echo task: `x.npy` = `y.npy` [48, 6, 1].
fn write_task(dir: &Path) -> (PathBuf, PathBuf) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let x = Array3::<f32>::from_shape_simple_fn((48, 6, 1), || rng.random::<f32>() * 2.0 - 1.0);
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    npy::write(&xp, x.view()).unwrap();
    npy::write(&yp, x.view()).unwrap();
    (xp, yp)
}

/// `rnn train` on the task: 12 batches an epoch.
fn train_args(x: &Path, y: &Path, out: &Path, epochs: usize) -> Vec<String> {
    let mut args: Vec<String> =
        ["train", "--inputs", p(x), "--targets", p(y), "--out", p(out)].map(String::from).into();
    args.extend(["--hidden", "4", "--batch-size", "4", "--epochs", &epochs.to_string(), "--quiet"].map(String::from));
    args
}

fn spawn(args: &[String]) -> Child {
    Command::new(EXE).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn run(args: &[String]) -> Output {
    Command::new(EXE).args(args).output().unwrap()
}

/// Epochs in the history file of a finished run.
fn epochs_in_history(out: &Path) -> usize {
    let csv = std::fs::read_to_string(out.with_file_name("m.history.csv")).unwrap();
    csv.lines().count() - 1
}

#[test]
fn sigkill_at_random_moments_leaves_a_resumable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = write_task(dir.path());
    let epochs = 6;
    // how long a whole run takes here, to kill within it
    let started = Instant::now();
    let whole = dir.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    let o = run(&train_args(&x, &y, &whole.join("m.safetensors"), epochs));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let span = started.elapsed().as_micros() as u64;

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let mut resumed = 0;
    for round in 0..20 {
        let run_dir = dir.path().join(format!("run{round}"));
        std::fs::create_dir(&run_dir).unwrap();
        let out = run_dir.join("m.safetensors");
        let last = run_dir.join("m.last.safetensors");
        let args = train_args(&x, &y, &out, epochs);
        let mut child = spawn(&args);
        std::thread::sleep(Duration::from_micros(rng.random_range(0..span)));
        let _ = child.kill(); // SIGKILL (it may have finished already)
        child.wait().unwrap();
        if !last.exists() {
            continue;
        }
        // whatever moment the kill came at, the checkpoint is whole
        let loaded = rnn::model_file::load::<f32>(&last, &Default::default());
        assert!(loaded.is_ok(), "round {round}: {:?}", loaded.err());
        let mut again = args.clone();
        again.extend(["--resume".to_string(), p(&last).to_string()]);
        let o = run(&again);
        assert!(o.status.success(), "round {round}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(epochs_in_history(&out), epochs, "round {round}");
        rnn::model_file::load::<f32>(&out, &Default::default()).unwrap();
        resumed += 1;
    }
    assert!(resumed >= 5, "only {resumed} of 20 kills came after the first checkpoint");
}

/// A kill after the last epoch's checkpoint but before its history line (the race the random
/// kills found once): resuming from that checkpoint trains nothing and still writes the whole
/// history from the checkpoint's records.
#[test]
fn resuming_a_finished_checkpoint_rewrites_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = write_task(dir.path());
    let out = dir.path().join("m.safetensors");
    let args = train_args(&x, &y, &out, 3);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let history = out.with_file_name("m.history.csv");
    let csv = std::fs::read_to_string(&history).unwrap();
    let cut: Vec<&str> = csv.lines().take(3).collect();
    std::fs::write(&history, cut.join("\n") + "\n").unwrap();
    assert_eq!(epochs_in_history(&out), 2);
    let mut again = args.clone();
    again.extend(["--resume".to_string(), p(&out.with_file_name("m.last.safetensors")).to_string()]);
    let o = run(&again);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&history).unwrap(), csv);
}

/// Starts a long run, waits for its first checkpoint, sends `signal`, and returns the run's
/// output and its folder's model path.
fn interrupt_with(signal: &str, dir: &Path) -> (Output, PathBuf, Vec<String>) {
    let (x, y) = write_task(dir);
    let out = dir.join("m.safetensors");
    let args = train_args(&x, &y, &out, 100_000);
    let child = spawn(&args);
    let last = dir.join("m.last.safetensors");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !last.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    (child.wait_with_output().unwrap(), out, args)
}

#[test]
fn sigint_saves_the_model_and_says_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out, _) = interrupt_with("-INT", dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("training interrupted ("), "{stderr}");
    rnn::model_file::load::<f32>(&out, &Default::default()).unwrap();
    let last = out.with_file_name("m.last.safetensors");
    rnn::model_file::load::<f32>(&last, &Default::default()).unwrap();
    // the command printed resumes (with 30 epochs, to end quickly: the checkpoint has fewer)
    let line = stderr.lines().find_map(|l| l.strip_prefix("resume with:")).expect("a resume line").trim();
    assert!(line.ends_with(&format!("--resume {}", p(&last))), "{line}");
    let resume = line.replace("--epochs 100000", "--epochs 30");
    let o = Command::new("sh").args(["-c", &resume]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(epochs_in_history(&out), 30);
}

#[test]
fn sigterm_is_handled_as_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out, _) = interrupt_with("-TERM", dir.path());
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.exists());
}
