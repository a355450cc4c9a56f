use std::os::unix::fs::{FileTypeExt, PermissionsExt, symlink};

use super::*;

#[test]
fn replaces_whole_file_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.bin");
    write_atomic(&p, b"first version").unwrap();
    write_atomic(&p, b"second").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"second");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn missing_folder_names_the_file() {
    let err = write_atomic(Path::new("/nonexistent-dir/x.bin"), b"x").unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent-dir/x.bin: "), "{err}");
    let err = check_writable(Path::new("/nonexistent-dir/x.bin")).unwrap_err();
    assert_eq!(err.to_string(), "/nonexistent-dir/x.bin: cannot write: folder /nonexistent-dir does not exist");
}

#[test]
fn a_folder_is_refused_where_a_file_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let err = check_writable(dir.path()).unwrap_err();
    assert!(err.to_string().ends_with(": is a directory, expected a file path to write"), "{err}");
    assert!(write_atomic(dir.path(), b"x").is_err());
    assert!(dir.path().is_dir());
}

#[test]
fn a_failing_fill_leaves_the_old_file_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.bin");
    write_atomic(&p, b"old").unwrap();
    let err = write_atomic_with(&p, |_| Err(io::Error::other("boom"))).unwrap_err();
    assert!(err.to_string().ends_with("m.bin: boom"), "{err}");
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn permissions_of_a_replaced_file_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.bin");
    write_atomic(&p, b"old").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    write_atomic(&p, b"new").unwrap();
    assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_symlink_keeps_pointing_at_its_replaced_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.bin");
    let link = dir.path().join("link.bin");
    fs::write(&target, b"old").unwrap();
    symlink("real.bin", &link).unwrap(); // relative, as `ln -s real.bin link.bin`
    write_atomic(&link, b"new").unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read(&target).unwrap(), b"new");
    // a dangling link creates its target
    let dangling = dir.path().join("dangling.bin");
    symlink(dir.path().join("made.bin"), &dangling).unwrap();
    write_atomic(&dangling, b"made").unwrap();
    assert_eq!(fs::read(dir.path().join("made.bin")).unwrap(), b"made");
}

#[test]
fn dev_null_is_written_in_place_and_stays_a_device() {
    let null = Path::new("/dev/null");
    if !null.exists() {
        return;
    }
    check_writable(null).unwrap();
    write_atomic(null, b"nothing").unwrap();
    assert!(fs::metadata(null).unwrap().file_type().is_char_device());
}

#[test]
fn dev_full_reports_no_space_naming_the_path() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let err = write_atomic(full, &[0u8; 64]).unwrap_err();
    assert!(err.to_string().starts_with("/dev/full: "), "{err}");
    assert!(fs::metadata(full).unwrap().file_type().is_char_device());
}

#[test]
fn a_fifo_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    write_atomic(&fifo, b"through").unwrap();
    assert_eq!(reader.join().unwrap(), b"through");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
