//! The firmware's int8 Fashion-MNIST MLP on the real data where installed (prints "skipped"
//! where not): trained and quantized as `edgeml export` does, its accuracy over all 10,000
//! test images, run through the core's int8 path, is within 0.5 points of the f32 model's,
//! from about a quarter of the bytes.

use edgeml_host::datasets::DataConfig;
use edgeml_host::firmware::{fashion, models, quantize};

#[test]
fn int8_mlp_is_within_half_a_point_of_f32_on_the_test_set() {
    let config = DataConfig::default();
    let test = match fashion::load(&config, true, usize::MAX) {
        Ok(test) => test,
        Err(err) => {
            println!("skipped: Fashion-MNIST not installed ({err})");
            return;
        }
    };
    assert_eq!(test.labels.len(), 10_000);
    let f32_bytes = models::fashion_f32(&config).unwrap();
    let train = fashion::load(&config, false, models::FASHION_TRAIN_ROWS).unwrap();
    let i8_bytes = quantize::calibrate(&f32_bytes, &train.images).unwrap();
    // The int8 weights take exactly a quarter of the f32 weights' bytes; the per-channel
    // bias, multiplier and shift (12 bytes per output) add 0.4 % of the f32 file.
    assert!((i8_bytes.len() as f64) < 0.255 * f32_bytes.len() as f64);
    let (c32, c8) = quantize::correct(&f32_bytes, &i8_bytes, &test).unwrap();
    let (a32, a8) = (c32 as f64 / 100.0, c8 as f64 / 100.0);
    println!("test accuracy: f32 {a32:.2} %, int8 {a8:.2} %");
    assert!(a32 > 80.0, "the f32 model itself is poor: {a32}");
    assert!((a32 - a8).abs() <= 0.5, "f32 {a32} %, int8 {a8} %");
}
