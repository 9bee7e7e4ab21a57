//! The models and test inputs `edgeml export` writes for the Cortex-M firmware
//! (`firmware/models/`, see `host/src/firmware/models.rs`), embedded here too, and
//! little-endian decoders for them.

macro_rules! model_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("EDGEML_FIRMWARE_MODELS"), "/", $name))
    };
}

/// Fashion-MNIST MLP 784-128-10, f32 weights (`edgeml_core::nn::serialize` format).
pub static MLP_F32: &[u8] = model_file!("mlp_f32.bin");
/// Test images, `FASHION_N × 784` pixels (0..=255).
pub static FASHION_X: &[u8] = model_file!("fashion_x.u8");
/// Test labels, `FASHION_N` classes.
pub static FASHION_Y: &[u8] = model_file!("fashion_y.u8");
/// Blob reference rows, `BLOB_ROWS × BLOB_D` f32.
pub static BLOB_X: &[u8] = model_file!("blob_x.f32");
/// Blob classes, `BLOB_ROWS` u32.
pub static BLOB_Y: &[u8] = model_file!("blob_y.u32");
/// Blob queries, `BLOB_QUERIES × BLOB_D` f32.
pub static BLOB_QUERY: &[u8] = model_file!("blob_query.f32");
/// Boosted ensemble (`edgeml_core::tree::serial` format).
pub static GBDT: &[u8] = model_file!("gbdt.bin");

/// Decodes little-endian f32s from `bytes` into `out`; false unless the lengths agree.
pub fn decode_f32(bytes: &[u8], out: &mut [f32]) -> bool {
    let ok = bytes.len() == 4 * out.len();
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    ok
}

/// Decodes little-endian u32s from `bytes` into `out`; false unless the lengths agree.
pub fn decode_u32(bytes: &[u8], out: &mut [u32]) -> bool {
    let ok = bytes.len() == 4 * out.len();
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    ok
}
