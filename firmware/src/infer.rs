//! Inference with the embedded models on the embedded test inputs, printing each prediction
//! and the instruction count of the first one.

use crate::data;
use crate::dims::*;
use crate::lgb500;
use crate::measure::Counter;
use crate::memory::Memory;
use crate::out::{argmax, prediction};
use cortex_m_semihosting::hprintln;
use edgeml_core::attention::{AttentionSpec, EncoderBlock};
use edgeml_core::kernels::activation::Activation as BlockActivation;
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::{KnnClassifier, KnnIndex, KnnParams, Metric, Points, Search, Weighting};
use edgeml_core::tree::{serial, Model};
use edgeml_core::{Error, Result};

fn embedded(ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Corrupt {
            reason: "embedded data length disagrees with dims.rs",
        })
    }
}

#[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
/// Loads the blob rows and queries into RAM.
pub fn load_blobs(mem: &mut Memory) -> Result<()> {
    embedded(data::decode_f32(data::BLOB_X, &mut mem.blob_x))?;
    embedded(data::decode_u32(data::BLOB_Y, &mut mem.blob_y))?;
    embedded(data::decode_f32(data::BLOB_QUERY, &mut mem.query))
}

#[cfg(feature = "knn")]
/// k-NN (brute force, k = `KNN_K`) over the blob rows, on every query.
pub fn knn(mem: &Memory, counter: &Counter) -> Result<()> {
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
        let (class, n) = counter.count(|| knn.predict::<KNN_K>(q, params, &mut votes));
        if i == 0 {
            hprintln!("# instructions knn_inference {}", n);
        }
        prediction(format_args!("knn {i}"), class? as usize, &[]);
    }
    Ok(())
}

#[cfg(feature = "gbdt")]
/// The boosted ensemble on every query.
pub fn gbdt(mem: &mut Memory, counter: &Counter) -> Result<()> {
    let (model, load) =
        counter.count(|| serial::load(data::GBDT, &mut mem.nodes, &mut mem.roots, &mut mem.base));
    let model = model?;
    hprintln!("# instructions gbdt_load {}", load);
    let mut scores = [0.0f32; BLOB_CLASSES];
    for (i, q) in mem.query.chunks_exact(BLOB_D).enumerate() {
        let (result, n) = counter.count(|| model.predict_scores(q, &mut scores));
        result?;
        if i == 0 {
            hprintln!("# instructions gbdt_inference {}", n);
        }
        prediction(format_args!("gbdt {i}"), argmax(&scores), &scores);
    }
    Ok(())
}

#[cfg(feature = "lgb500")]
/// The imported 500-tree LightGBM model, straight from flash, on every California row; prints
/// the instructions of `Model::new` (its structural check), of the first row and their mean
/// over the rows.
pub fn lgb500(counter: &Counter) -> Result<()> {
    let (model, check) = counter.count(|| {
        Model::new(
            lgb500::KIND,
            lgb500::FEATURES,
            lgb500::OUTPUTS,
            &lgb500::NODES,
            &lgb500::ROOTS,
            &lgb500::BASE,
        )
    });
    let model = model?;
    hprintln!("# instructions lgb500_check {}", check);
    embedded(data::CALIFORNIA_X.len() == 4 * CAL_N * CAL_D && lgb500::FEATURES == CAL_D)?;
    let mut row = [0.0f32; CAL_D];
    let mut score = [0.0f32; 1];
    let mut total = 0u64;
    for (i, bytes) in data::CALIFORNIA_X.chunks_exact(4 * CAL_D).enumerate() {
        embedded(data::decode_f32(bytes, &mut row))?;
        let (result, n) = counter.count(|| model.predict_scores(&row, &mut score));
        result?;
        total += u64::from(n);
        if i == 0 {
            hprintln!("# instructions lgb500_inference {}", n);
        }
        prediction(format_args!("lgb500 {i}"), 0, &score);
    }
    hprintln!(
        "# instructions lgb500_inference_mean {}",
        total / CAL_N as u64
    );
    Ok(())
}

#[cfg(feature = "attention")]
/// The encoder block on the embedded sequence.
pub fn attention(mem: &mut Memory, counter: &Counter) -> Result<()> {
    let block = EncoderBlock::new(ATTN_D, ATTN_HEADS, ATTN_FF, BlockActivation::Gelu)?;
    embedded(block.param_len() == mem.attn_params.len())?;
    embedded(block.forward_workspace_len(ATTN_SEQ) == mem.attn_workspace.len())?;
    embedded(data::decode_f32(data::ATTN_PARAMS, &mut mem.attn_params))?;
    embedded(data::decode_f32(data::ATTN_X, &mut mem.attn_x))?;
    let spec = AttentionSpec::new();
    let (result, n) = counter.count(|| {
        block.forward(
            Dispatch::PORTABLE,
            &spec,
            &mem.attn_params,
            &mem.attn_x,
            &mut mem.attn_out,
            &mut mem.attn_workspace,
        )
    });
    result?;
    hprintln!("# instructions attention_block_inference {}", n);
    for (i, row) in mem.attn_out.chunks_exact(ATTN_D).enumerate() {
        prediction(format_args!("attn {i}"), argmax(row), row);
    }
    Ok(())
}
