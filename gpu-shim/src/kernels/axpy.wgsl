// y ← alpha·x + y over n elements, one invocation per element. The grid may be two-dimensional
// for long vectors: the element index is linearised over (wid.x, wid.y) and the excess skipped.

struct Params {
    n: u32,
    alpha: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i < p.n {
        y[i] = y[i] + p.alpha * x[i];
    }
}
