// Softmax or log-softmax of each row of a row-major rows×cols matrix, one 256-invocation
// workgroup per row (linearised over a two-dimensional grid): a max reduction, a reduction of
// exp(x − max), then the outputs. Entries below −3e38 (the host's −∞ mask) contribute 0 to the
// sum and give probability 0 (log-probability −∞). The host has rejected NaN, +∞ and rows
// that are entirely masked, so max is finite.

struct Params {
    rows: u32,
    cols: u32,
    log: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> scratch: array<f32, 256>;

const MASKED: f32 = -3.0e38;

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = wid.x + wid.y * nwg.x;
    if row >= p.rows {
        return;
    }
    let t = lid.x;
    let base = row * p.cols;

    var local_max = MASKED;
    for (var j = t; j < p.cols; j = j + 256u) {
        local_max = max(local_max, x[base + j]);
    }
    scratch[t] = local_max;
    var width = 128u;
    loop {
        workgroupBarrier();
        if t < width {
            scratch[t] = max(scratch[t], scratch[t + width]);
        }
        if width == 1u {
            break;
        }
        width = width / 2u;
    }
    workgroupBarrier();
    let row_max = scratch[0];
    workgroupBarrier();

    var local_sum = 0.0;
    for (var j = t; j < p.cols; j = j + 256u) {
        let v = x[base + j];
        local_sum = local_sum + select(exp(v - row_max), 0.0, v < MASKED);
    }
    scratch[t] = local_sum;
    width = 128u;
    loop {
        workgroupBarrier();
        if t < width {
            scratch[t] = scratch[t] + scratch[t + width];
        }
        if width == 1u {
            break;
        }
        width = width / 2u;
    }
    workgroupBarrier();
    let sum = scratch[0];

    if p.log != 0u {
        let shift = row_max + log(sum);
        for (var j = t; j < p.cols; j = j + 256u) {
            out[base + j] = x[base + j] - shift;
        }
    } else {
        let scale = 1.0 / sum;
        for (var j = t; j < p.cols; j = j + 256u) {
            let v = x[base + j];
            out[base + j] = select(exp(v - row_max) * scale, 0.0, v < MASKED);
        }
    }
}
