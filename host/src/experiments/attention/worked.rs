//! The seed's worked example: "The cat sat on the mat" with small fixed embeddings, one
//! query followed through Q·K, scaling, softmax and the weighted sum of V, computed by hand in
//! f64 and checked against the core's streaming kernel.

use anyhow::Result;
use edgeml_core::attention::{attention, streaming_workspace_len, AttentionSpec};
use edgeml_core::kernels::Dispatch;
use edgeml_core::{TensorView, TensorViewMut};

/// The sentence, one token per word.
pub const TOKENS: [&str; 6] = ["The", "cat", "sat", "on", "the", "mat"];

/// Embedding width d_k = d_v.
pub const WIDTH: usize = 4;

/// Names of the embedding coordinates (hand-made features, not learned).
pub const FEATURES: [&str; WIDTH] = ["noun", "animal", "action", "function word"];

/// One fixed embedding per token; Q = K = V = these rows (identity projections), so the
/// scores are plain similarities between words.
pub const EMBEDDINGS: [[f32; WIDTH]; 6] = [
    [0.0, 0.0, 0.0, 2.0],
    [2.0, 2.0, 0.0, 0.0],
    [0.0, 1.0, 2.0, 0.0],
    [0.0, 0.0, 1.0, 2.0],
    [0.0, 0.0, 0.0, 2.0],
    [2.0, 0.0, 0.0, 0.0],
];

/// The query the report follows ("cat").
pub const QUERY: usize = 1;

/// Every step for one query, in f64: per key the raw score q·k, the scaled score q·k/√d_k,
/// the softmax weight; and the output Σ_j weight_j·v_j.
#[derive(Clone, Debug)]
pub struct Walkthrough {
    /// q·k_j per key.
    pub scores: Vec<f64>,
    /// q·k_j / √d_k per key.
    pub scaled: Vec<f64>,
    /// softmax of `scaled`.
    pub weights: Vec<f64>,
    /// Σ_j weights_j · v_j (length [`WIDTH`]).
    pub output: Vec<f64>,
    /// The core's streaming kernel output for the same query (f32).
    pub kernel_output: Vec<f32>,
    /// Largest |kernel − f64| over every query of the sentence and every coordinate.
    pub max_abs_diff: f64,
}

/// softmax(q·Kᵀ/√d)·V for query `i` of the sentence, in f64.
fn by_hand(i: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let q = EMBEDDINGS[i];
    let scores: Vec<f64> = EMBEDDINGS
        .iter()
        .map(|k| q.iter().zip(k).map(|(&a, &b)| f64::from(a * b)).sum())
        .collect();
    let scale = 1.0 / (WIDTH as f64).sqrt();
    let scaled: Vec<f64> = scores.iter().map(|s| s * scale).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scaled.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    let weights: Vec<f64> = exps.iter().map(|e| e / total).collect();
    let output = (0..WIDTH)
        .map(|c| {
            weights
                .iter()
                .zip(&EMBEDDINGS)
                .map(|(w, v)| w * f64::from(v[c]))
                .sum()
        })
        .collect();
    (scores, scaled, weights, output)
}

/// Runs the example: the f64 walk-through of [`QUERY`] and the core kernel on the whole
/// sentence.
pub fn run(dispatch: Dispatch) -> Result<Walkthrough> {
    let flat: Vec<f32> = EMBEDDINGS.iter().flatten().copied().collect();
    let n = TOKENS.len();
    let mut out = vec![0.0f32; n * WIDTH];
    let mut workspace = vec![0.0f32; streaming_workspace_len(WIDTH)];
    attention(
        dispatch,
        &AttentionSpec::new(),
        TensorView::matrix(&flat, n, WIDTH)?,
        TensorView::matrix(&flat, n, WIDTH)?,
        TensorView::matrix(&flat, n, WIDTH)?,
        TensorViewMut::matrix(&mut out, n, WIDTH)?,
        &mut workspace,
    )?;
    let mut max_abs_diff = 0.0f64;
    for (i, row) in out.chunks_exact(WIDTH).enumerate() {
        let (_, _, _, expected) = by_hand(i);
        for (&got, want) in row.iter().zip(expected) {
            max_abs_diff = max_abs_diff.max((f64::from(got) - want).abs());
        }
    }
    let (scores, scaled, weights, output) = by_hand(QUERY);
    let kernel_output = out[QUERY * WIDTH..(QUERY + 1) * WIDTH].to_vec();
    Ok(Walkthrough {
        scores,
        scaled,
        weights,
        output,
        kernel_output,
        max_abs_diff,
    })
}

fn vector(values: impl IntoIterator<Item = f64>) -> String {
    let parts: Vec<String> = values.into_iter().map(|v| format!("{v:.3}")).collect();
    format!("[{}]", parts.join(", "))
}

impl Walkthrough {
    /// The walk-through as Markdown: the embeddings, one table row per key, and the output.
    pub fn markdown(&self) -> String {
        let mut text = format!(
            "Sentence \"{}\", d_k = d_v = {WIDTH}, hand-made embedding features ({}); \
             Q = K = V = the embeddings. Query: **\"{}\"** = {}. Scale 1/√{WIDTH} = {:.3}.\n\n\
             | key | k = v | q·k | q·k/√d_k | softmax weight | weight·v |\n\
             |---|---|---:|---:|---:|---|\n",
            TOKENS.join(" "),
            FEATURES.join(", "),
            TOKENS[QUERY],
            vector(EMBEDDINGS[QUERY].iter().map(|&x| f64::from(x))),
            1.0 / (WIDTH as f64).sqrt(),
        );
        for (j, token) in TOKENS.iter().enumerate() {
            let v = EMBEDDINGS[j].iter().map(|&x| f64::from(x));
            let weighted = EMBEDDINGS[j]
                .iter()
                .map(|&x| self.weights[j] * f64::from(x));
            text.push_str(&format!(
                "| {token} | {} | {:.1} | {:.2} | {:.4} | {} |\n",
                vector(v),
                self.scores[j],
                self.scaled[j],
                self.weights[j],
                vector(weighted),
            ));
        }
        text.push_str(&format!(
            "\nOutput for \"{}\" (sum of the last column): {} by hand in f64, {} from the core's \
             streaming kernel; largest difference over all six queries: {:.1e}.\n\n",
            TOKENS[QUERY],
            vector(self.output.iter().copied()),
            vector(self.kernel_output.iter().map(|&x| f64::from(x))),
            self.max_abs_diff,
        ));
        text
    }
}
