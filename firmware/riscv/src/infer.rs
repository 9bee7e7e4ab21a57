//! Inference with the embedded models on the embedded test inputs, printing each prediction
//! (the format of the Cortex-M firmware, which `run-in-qemu.sh` compares with the host's
//! `expected.txt`) and the instructions of the first one.

use crate::data;
use crate::dims::*;
use crate::measure::count;
use crate::memory::Memory;
use crate::println;
use core::fmt::Write;
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::{KnnClassifier, KnnIndex, KnnParams, Metric, Points, Search, Weighting};
use edgeml_core::nn::Mlp;
use edgeml_core::tree::serial;
use edgeml_core::{Error, Result};
use heapless::String;

fn embedded(ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Corrupt {
            reason: "embedded data length disagrees with dims.rs",
        })
    }
}

/// Prints `key class v0 v1 …` as one line.
fn prediction(key: core::fmt::Arguments<'_>, class: usize, values: &[f32]) {
    let mut line: String<512> = String::new();
    let mut fits = write!(line, "{key} {class}").is_ok();
    for v in values {
        fits &= write!(line, " {v}").is_ok();
    }
    if fits {
        println!("{}", line);
    } else {
        println!("{} {} (values do not fit the line buffer)", key, class);
    }
}

/// Index of the first largest value (the exporter's rule too).
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|&b| v > b) {
            best = i;
        }
    }
    best
}

/// The Fashion-MNIST MLP (f32 weights) on every embedded image.
pub fn mlp(mem: &mut Memory) -> Result<()> {
    let (mlp, load) = count(|| Mlp::load(data::MLP_F32, &mut mem.mlp));
    let mlp = mlp?;
    println!("# instructions mlp_f32_load {}", load);
    embedded(data::FASHION_X.len() == FASHION_N * FASHION_D && data::FASHION_Y.len() == FASHION_N)?;
    let mut logits = [0.0f32; FASHION_CLASSES];
    let mut correct = 0;
    let images = data::FASHION_X.chunks_exact(FASHION_D);
    for (i, (pixels, &label)) in images.zip(data::FASHION_Y).enumerate() {
        for (x, &p) in mem.image.iter_mut().zip(pixels) {
            *x = f32::from(p) / 255.0;
        }
        let (result, n) = count(|| {
            mlp.forward(
                Dispatch::PORTABLE,
                &mem.image,
                &mut mem.mlp_scratch,
                &mut logits,
            )
        });
        result?;
        if i == 0 {
            println!("# instructions mlp_f32_inference {}", n);
        }
        let class = argmax(&logits);
        correct += usize::from(class == usize::from(label));
        prediction(format_args!("mlp f32 {i}"), class, &logits);
    }
    println!("acc mlp f32 {} {}", correct, FASHION_N);
    Ok(())
}

/// Loads the blob rows and queries into RAM.
pub fn load_blobs(mem: &mut Memory) -> Result<()> {
    embedded(data::decode_f32(data::BLOB_X, &mut mem.blob_x))?;
    embedded(data::decode_u32(data::BLOB_Y, &mut mem.blob_y))?;
    embedded(data::decode_f32(data::BLOB_QUERY, &mut mem.query))
}

/// k-NN (brute force, k = `KNN_K`) over the blob rows, on every query.
pub fn knn(mem: &Memory) -> Result<()> {
    let points = Points::new(&mem.blob_x, BLOB_ROWS, BLOB_D)?;
    let index = KnnIndex::new(points, Search::BruteForce, &mut [], &mut [])?;
    let knn = KnnClassifier::new(index, &mem.blob_y, BLOB_CLASSES)?;
    let params = KnnParams {
        k: KNN_K,
        metric: Metric::SquaredL2,
        weighting: Weighting::Uniform,
    };
    let mut votes = [0.0f64; BLOB_CLASSES];
    for (i, q) in mem.query.chunks_exact(BLOB_D).enumerate() {
        let (class, n) = count(|| knn.predict::<KNN_K>(q, params, &mut votes));
        if i == 0 {
            println!("# instructions knn_inference {}", n);
        }
        prediction(format_args!("knn {i}"), class? as usize, &[]);
    }
    Ok(())
}

/// The boosted ensemble on every query.
pub fn gbdt(mem: &mut Memory) -> Result<()> {
    let (model, load) =
        count(|| serial::load(data::GBDT, &mut mem.nodes, &mut mem.roots, &mut mem.base));
    let model = model?;
    println!("# instructions gbdt_load {}", load);
    let mut scores = [0.0f32; BLOB_CLASSES];
    for (i, q) in mem.query.chunks_exact(BLOB_D).enumerate() {
        let (result, n) = count(|| model.predict_scores(q, &mut scores));
        result?;
        if i == 0 {
            println!("# instructions gbdt_inference {}", n);
        }
        prediction(format_args!("gbdt {i}"), argmax(&scores), &scores);
    }
    Ok(())
}
