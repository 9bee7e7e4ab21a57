// Σ a[i]·b[i] in two passes. `partial`: each of `groups` workgroups strides over the vectors
// (invocation t of workgroup g takes i = g·256 + t, then steps of groups·256), sums its
// products and tree-reduces them in workgroup memory into partials[g]. `finish`: one workgroup
// reduces the partials the same way into out[0].

struct Params {
    n: u32,
    groups: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> scratch: array<f32, 256>;

// Tree reduction of scratch[0..256] (each invocation has stored its value); returns the sum
// to every invocation.
fn reduce(t: u32) -> f32 {
    var width = 128u;
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
    return scratch[0];
}

@compute @workgroup_size(256, 1, 1)
fn partial(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = lid.x;
    let stride = p.groups * 256u;
    var acc = 0.0;
    for (var i = wid.x * 256u + t; i < p.n; i = i + stride) {
        acc = acc + a[i] * b[i];
    }
    scratch[t] = acc;
    let total = reduce(t);
    if t == 0u {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256, 1, 1)
fn finish(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = lid.x;
    var acc = 0.0;
    for (var i = t; i < p.groups; i = i + 256u) {
        acc = acc + partials[i];
    }
    scratch[t] = acc;
    let total = reduce(t);
    if t == 0u {
        out[0] = total;
    }
}
