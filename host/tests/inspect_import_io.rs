//! `edgeml inspect` against what the importer fixtures are known to hold (counted from the
//! source files themselves), and `edgeml import` from gzip and stdin, to stdout, byte for byte
//! equal to the plain-file path.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Runs `edgeml args…` with `stdin` fed in; returns the output (status not checked).
fn edgeml(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgeml"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the edgeml binary runs");
    let mut input = child.stdin.take().expect("stdin piped");
    input.write_all(stdin).expect("stdin written");
    drop(input);
    child.wait_with_output().expect("edgeml finishes")
}

fn ok(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("in-memory write");
    encoder.finish().expect("in-memory gzip")
}

/// `--json inspect file` parsed.
fn inspect(file: &Path) -> Value {
    let out = ok(edgeml(&["--json", "inspect", path(file)], b""), "inspect");
    serde_json::from_slice(&out.stdout).expect("inspect --json prints JSON")
}

#[test]
fn import_reads_gzip_and_stdin_and_writes_stdout_identically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = fixture("lgb_multiclass.txt");
    let text = std::fs::read(&source).expect("fixture");
    let plain = dir.path().join("plain.emlt");
    ok(
        edgeml(&["import", "lightgbm", path(&source), path(&plain)], b""),
        "plain import",
    );
    let expected = std::fs::read(&plain).expect("written");

    // A gzip file whose name says nothing about gzip.
    let packed = dir.path().join("model.txt");
    std::fs::write(&packed, gzip(&text)).expect("write");
    let from_gzip = dir.path().join("gzip.emlt");
    ok(
        edgeml(
            &["import", "lightgbm", path(&packed), path(&from_gzip)],
            b"",
        ),
        "gzip import",
    );
    assert_eq!(std::fs::read(&from_gzip).expect("written"), expected);

    // stdin to stdout: the bytes alone on stdout, the summary on stderr.
    let piped = ok(
        edgeml(&["import", "lightgbm", "-", "-"], &text),
        "stdin import",
    );
    assert_eq!(piped.stdout, expected);
    assert!(String::from_utf8_lossy(&piped.stderr).contains("stdin -> stdout"));
    let piped_gzip = ok(
        edgeml(&["--quiet", "import", "lightgbm", "-", "-"], &gzip(&text)),
        "gzip stdin import",
    );
    assert_eq!(piped_gzip.stdout, expected);
    assert!(piped_gzip.stderr.is_empty());

    // Safetensors from gzip: identical too.
    let weights = std::fs::read(fixture("torch_mlp.safetensors")).expect("fixture");
    let plain_mlp = dir.path().join("mlp.bin");
    ok(
        edgeml(
            &[
                "import",
                "safetensors",
                path(&fixture("torch_mlp.safetensors")),
                path(&plain_mlp),
            ],
            b"",
        ),
        "safetensors import",
    );
    let piped_mlp = ok(
        edgeml(&["import", "safetensors", "-", "-"], &gzip(&weights)),
        "gzip safetensors import",
    );
    assert_eq!(
        piped_mlp.stdout,
        std::fs::read(&plain_mlp).expect("written")
    );
}

#[test]
fn import_rejects_a_gzip_bomb_and_corrupt_gzip_naming_the_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 300 gzip members of 1 MiB of spaces each (a gzip stream may hold several): about
    // 300 KiB on disk, past the 256 MiB bound once decompressed.
    let member = gzip(&vec![b' '; 1 << 20]);
    let bomb = dir.path().join("bomb.txt.gz");
    std::fs::write(&bomb, member.repeat(300)).expect("write");
    let out = dir.path().join("out.emlt");
    let run = edgeml(&["import", "lightgbm", path(&bomb), path(&out)], b"");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("bomb.txt.gz") && stderr.contains("larger than"),
        "{stderr}"
    );
    assert!(!out.exists());

    let packed = gzip(&std::fs::read(fixture("lgb_binary.txt")).expect("fixture"));
    let run = edgeml(
        &["import", "lightgbm", "-", path(&out)],
        &packed[..packed.len() / 2],
    );
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("stdin"), "{stderr}");
}

/// LightGBM `model.txt` facts counted from its text: features (`max_feature_idx` + 1),
/// classes (`num_class`), trees (`Tree=` blocks) and nodes (2·leaves − 1 per tree).
fn lightgbm_facts(text: &str) -> (u64, u64, u64, u64) {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{key} in the fixture"))
    };
    let leaves: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("num_leaves="))
        .map(|v| v.trim().parse().expect("leaf count"))
        .collect();
    let trees = text.lines().filter(|l| l.starts_with("Tree=")).count() as u64;
    assert_eq!(leaves.len() as u64, trees);
    let nodes = leaves.iter().map(|l| 2 * l - 1).sum();
    (
        value("max_feature_idx=") + 1,
        value("num_class="),
        trees,
        nodes,
    )
}

#[test]
fn inspect_reports_the_shapes_the_fixtures_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = fixture("lgb_multiclass.txt");
    let model = dir.path().join("multiclass.emlt");
    ok(
        edgeml(&["import", "lightgbm", path(&source), path(&model)], b""),
        "import",
    );
    let (features, classes, trees, nodes) =
        lightgbm_facts(&std::fs::read_to_string(&source).expect("fixture"));
    let i = inspect(&model);
    let c = &i["contents"];
    assert_eq!(c["family"], "trees");
    assert_eq!(c["kind"], "boosted, multiclass");
    assert_eq!(c["features"], features);
    assert_eq!(c["outputs"], classes);
    assert_eq!(c["trees"], trees);
    assert_eq!(c["nodes"], nodes);
    assert_eq!(c["leaves"], (nodes + trees) / 2);
    let size = std::fs::metadata(&model).expect("written").len();
    // The format's layout: 24-byte header, base scores, roots, 12-byte nodes, CRC.
    assert_eq!(size, 24 + 4 * classes + 4 * trees + 12 * nodes + 4);
    assert_eq!(i["file_bytes"], size);
    assert_eq!(i["flash_bytes"], size);
    // Loaded into RAM: nodes, roots, base scores, one input row, predict's 64 f32 + f64 sums.
    assert_eq!(
        i["ram_bytes"],
        12 * nodes + 4 * trees + 4 * classes + 4 * features + 64 * 12
    );

    // The PyTorch MLP: shapes from the safetensors header itself.
    let weights = std::fs::read(fixture("torch_mlp.safetensors")).expect("fixture");
    let header_len = u64::from_le_bytes(weights[..8].try_into().expect("8 bytes")) as usize;
    let header: Value = serde_json::from_slice(&weights[8..8 + header_len]).expect("header");
    let mut layers: Vec<(u64, u64, u64)> = header
        .as_object()
        .expect("tensors")
        .iter()
        .filter_map(|(name, t)| {
            let index = name.strip_suffix(".weight")?.parse().ok()?;
            let shape = t["shape"].as_array()?;
            Some((index, shape[1].as_u64()?, shape[0].as_u64()?))
        })
        .collect();
    layers.sort();
    let mut sizes = vec![layers[0].1];
    sizes.extend(layers.iter().map(|l| l.2));
    let params: u64 = layers.iter().map(|(_, i, o)| i * o + o).sum();
    let mlp = dir.path().join("mlp.bin");
    ok(
        edgeml(
            &[
                "import",
                "safetensors",
                path(&fixture("torch_mlp.safetensors")),
                path(&mlp),
            ],
            b"",
        ),
        "import",
    );
    let i = inspect(&mlp);
    let c = &i["contents"];
    assert_eq!(c["family"], "mlp");
    assert_eq!(c["precision"], "f32");
    assert_eq!(c["sizes"], serde_json::json!(sizes));
    assert_eq!(c["parameters"], params);
    let widest = sizes[1..].iter().max().copied().expect("layers");
    let (inputs, outputs) = (sizes[0], sizes[sizes.len() - 1]);
    assert_eq!(i["ram_bytes"], 4 * (params + 2 * widest + inputs + outputs));
    assert_eq!(
        i["flash_bytes"],
        std::fs::metadata(&mlp).expect("written").len()
    );

    // The text form names the kind and the layer sizes.
    let text = ok(edgeml(&["inspect", path(&mlp)], b""), "inspect");
    let text = String::from_utf8_lossy(&text.stdout);
    let layer_text: Vec<String> = sizes.iter().map(u64::to_string).collect();
    assert!(text.contains("MLP, f32 weights"), "{text}");
    assert!(text.contains(&layer_text.join("-")), "{text}");
}

#[test]
fn inspect_names_the_file_of_a_bad_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = fixture("lgb_binary.txt");
    let run = edgeml(&["inspect", path(&source)], b"");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("lgb_binary.txt") && stderr.contains("not an edgeml model"));

    let model = dir.path().join("binary.emlt");
    ok(
        edgeml(&["import", "lightgbm", path(&source), path(&model)], b""),
        "import",
    );
    let mut bytes = std::fs::read(&model).expect("written");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let damaged = dir.path().join("damaged.emlt");
    std::fs::write(&damaged, &bytes).expect("write");
    let run = edgeml(&["inspect", path(&damaged)], b"");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("damaged.emlt") && stderr.contains("checksum"),
        "{stderr}"
    );
}
