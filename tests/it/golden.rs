//! Golden tests: `render` output for every example, pinned file by file.
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test golden`,
//! then read the diff before committing it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{aoai_lb, examples, repo, run};

fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn render_output_matches_the_golden_files_for_every_example() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let examples = examples();
    assert!(examples.len() >= 3);
    for example in examples {
        let stem = example.file_stem().unwrap().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        let out_dir = tmp.path().join(&stem);
        let out = run(aoai_lb(&repo())
            .arg("render")
            .arg(&example)
            .arg("--out")
            .arg(&out_dir));
        assert_eq!(out.code, 0, "{stem}: {}", out.stderr);
        let got = read_tree(&out_dir);
        assert!(got.contains_key("policy.xml") && got.contains_key("inference.json"));
        let golden_dir = repo().join("tests/golden").join(&stem);
        if update {
            let _ = std::fs::remove_dir_all(&golden_dir);
            std::fs::create_dir_all(&golden_dir).unwrap();
            for (name, text) in &got {
                std::fs::write(golden_dir.join(name), text).unwrap();
            }
            continue;
        }
        let want = read_tree(&golden_dir);
        let got_names: Vec<_> = got.keys().collect();
        let want_names: Vec<_> = want.keys().collect();
        if got_names != want_names {
            failures.push(format!(
                "{stem}: files differ\n got {got_names:?}\nwant {want_names:?}"
            ));
            continue;
        }
        for (name, text) in &got {
            if want[name] != *text {
                failures.push(format!(
                    "{stem}/{name} differs from tests/golden (UPDATE_GOLDEN=1 to accept)"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn json_output_carries_the_same_requests_as_the_files() {
    let example = repo().join("examples/two-regions.yaml");
    let out = run(aoai_lb(&repo())
        .arg("render")
        .arg(&example)
        .args(["--output", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let requests = v["requests"].as_array().unwrap();
    let golden = repo().join("tests/golden/two-regions");
    for r in requests {
        let file: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(golden.join(r["file"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        assert_eq!(file["url"], r["url"]);
        assert_eq!(file["body"], r["body"]);
        assert_eq!(file["method"], r["method"]);
    }
    assert_eq!(
        v["policy"].as_str().unwrap(),
        std::fs::read_to_string(golden.join("policy.xml")).unwrap()
    );
    assert_eq!(
        v["spec"].as_str().unwrap(),
        std::fs::read_to_string(golden.join("inference.json")).unwrap()
    );
}
