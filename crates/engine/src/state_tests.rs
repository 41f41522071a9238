//! Unit tests of the state file (`state.rs`): atomic writes, the lock, symlinks, ownership.

use super::*;
use aoai_lb_core::desired::Kind;

fn entry(address: &str) -> Entry {
    Entry {
        address: address.into(),
        kind: Kind::Account,
        id: format!(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/{address}"
        ),
        api_version: "v".into(),
        owned: true,
        pending: false,
        spec_sha256: None,
        location: None,
    }
}

#[test]
fn round_trips_atomically_with_private_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let mut locked = LockedState::open(&path).unwrap();
    locked.state.upsert(entry("account.a"));
    locked.save().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(read(&path).unwrap().resources.len(), 1);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "state and lock only: {names:?}");
}

#[test]
fn a_second_opener_is_refused_until_the_first_drops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let first = LockedState::open(&path).unwrap();
    assert!(matches!(
        LockedState::open(&path),
        Err(StateError::Locked(..))
    ));
    drop(first);
    assert!(LockedState::open(&path).is_ok());
}

fn write_with(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let path = dir.join("s.json");
    let mut api = entry("api.x");
    api.kind = Kind::Api;
    api.id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/a/apis/x"
        .into();
    api.spec_sha256 = Some("ab".repeat(32));
    let mut state = State::new();
    state.resources.push(api);
    let mut v = serde_json::to_value(&state).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

#[test]
fn a_malformed_entry_is_an_error_naming_the_file_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_with(dir.path(), |_| {});
    assert_eq!(read(&good).unwrap().resources.len(), 1);
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 4] = [
        ("specSha256", |v| {
            v["resources"][0]["specSha256"] = "abc".into()
        }),
        ("unknown variant", |v| {
            v["resources"][0]["kind"] = "gateway".into()
        }),
        ("not an ARM resource id", |v| {
            v["resources"][0]["id"] = "apis/x".into()
        }),
        ("not an id of kind api", |v| {
            v["resources"][0]["id"] = "/subscriptions/s/resourceGroups/g".into()
        }),
    ];
    for (why, edit) in cases {
        let path = write_with(dir.path(), edit);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("entry #1 (api.x)"), "{err}");
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn a_failed_write_names_the_state_and_chains_the_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let mut locked = LockedState::open(&path).unwrap();
    locked.state.upsert(entry("account.a"));
    // The temporary file it writes through cannot be created (even as root).
    std::fs::create_dir(
        dir.path()
            .join(format!("s.json.tmp-{}", std::process::id())),
    )
    .unwrap();
    let err = locked.save().unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let source = std::error::Error::source(&err).expect("the io error is chained");
    assert!(
        source.downcast_ref::<std::io::Error>().is_some(),
        "{source}"
    );
}

#[test]
fn a_deleted_lock_file_does_not_let_a_second_run_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let first = LockedState::open(&path).unwrap();
    std::fs::remove_file(dir.path().join("s.json.lock")).unwrap();
    assert!(matches!(
        LockedState::open(&path),
        Err(StateError::Locked(..))
    ));
    drop(first);
    assert!(LockedState::open(&path).is_ok());
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_is_written_through_the_link_and_locked_beside_the_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("s.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut locked = LockedState::open(&link).unwrap();
    assert!(matches!(
        LockedState::open(&real),
        Err(StateError::Locked(..))
    ));
    locked.state.upsert(entry("account.a"));
    locked.save().unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(&real).unwrap().resources.len(), 1);
    assert_eq!(read(&link).unwrap().resources.len(), 1);
}

#[test]
fn a_state_of_another_deployment_is_refused_naming_both() {
    let mut s = State::new();
    s.claim("dev", "sub-1");
    s.upsert(entry("account.a"));
    assert!(s.belongs_to(Path::new("s.json"), "dev", "SUB-1").is_ok());
    let err = s
        .belongs_to(Path::new("s.json"), "prod", "sub-1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`dev`") && err.contains("`prod`"), "{err}");
    let err = s
        .belongs_to(Path::new("s.json"), "dev", "sub-2")
        .unwrap_err()
        .to_string();
    assert!(err.contains("sub-1") && err.contains("sub-2"), "{err}");
    assert!(
        State::new()
            .belongs_to(Path::new("s.json"), "x", "y")
            .is_ok()
    );
}

#[test]
fn a_corrupt_file_is_an_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(&path, "{ not json").unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("is not a valid aoai-lb state file"), "{err}");
}
