// out[i] = f(x[i]) or f'(x[i]) for ReLU, sigmoid, tanh and GELU (exact erf form), one
// invocation per element. `op` selects: 0 ReLU, 1 sigmoid, 2 tanh, 3 GELU; +4 for the
// derivative. erf is Abramowitz–Stegun 7.1.26 (absolute error ≤ 1.5e-7), as in the core's
// vectorized path; tanh is computed from exp(−2|x|) so large |x| cannot overflow.

struct Params {
    n: u32,
    op: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const FRAC_1_SQRT_2: f32 = 0.70710678;
const FRAC_1_SQRT_2PI: f32 = 0.39894228;

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

fn tanh_stable(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    let t = (1.0 - e) / (1.0 + e);
    return select(t, -t, v < 0.0);
}

fn erf_as(v: f32) -> f32 {
    let z = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
        + t * 1.061405429))));
    let value = 1.0 - poly * exp(-z * z);
    return select(value, -value, v < 0.0);
}

fn apply(op: u32, v: f32) -> f32 {
    switch op {
        case 0u: { return select(0.0, v, v > 0.0); }
        case 1u: { return sigmoid(v); }
        case 2u: { return tanh_stable(v); }
        case 3u: { return 0.5 * v * (1.0 + erf_as(v * FRAC_1_SQRT_2)); }
        case 4u: { return select(0.0, 1.0, v > 0.0); }
        case 5u: {
            let s = sigmoid(v);
            return s * (1.0 - s);
        }
        case 6u: {
            let t = tanh_stable(v);
            return 1.0 - t * t;
        }
        default: {
            let cdf = 0.5 * (1.0 + erf_as(v * FRAC_1_SQRT_2));
            return cdf + v * FRAC_1_SQRT_2PI * exp(-0.5 * v * v);
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i < p.n {
        out[i] = apply(p.op, x[i]);
    }
}
