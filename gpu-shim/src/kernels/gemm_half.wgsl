// C ← alpha·A·B + beta·C with A (m×k) and B (k×n) stored as 16-bit floats packed two per u32
// (element e in word e/2, low half first), C (m×n) f32. `kind` 0 = IEEE f16 (widened with
// unpack2x16float, which needs no shader-f16 support), 1 = bfloat16 (the upper half of an f32).
// Products and sums are f32, as in the core's gemm_mixed_reference. Each 16×16 workgroup
// computes a 16×16 block of C, staging 16×16 slabs of the widened A and B in workgroup memory
// (zero-padded past the edges). beta = 0 overwrites C without reading it.

struct Params {
    m: u32,
    k: u32,
    n: u32,
    kind: u32,
    alpha: f32,
    beta: f32,
    pad0: f32,
    pad1: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const WG: u32 = 16u;

var<workgroup> a_tile: array<f32, 256>; // [WG rows][WG k]
var<workgroup> b_tile: array<f32, 256>; // [WG k][WG cols]

fn widen(word: u32, e: u32) -> f32 {
    let bits = select(word & 0xFFFFu, word >> 16u, (e & 1u) == 1u);
    if p.kind == 0u {
        return unpack2x16float(bits).x;
    }
    return bitcast<f32>(bits << 16u);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = wid.y * WG + lid.y;
    let col = wid.x * WG + lid.x;
    var acc = 0.0;
    let slabs = (p.k + WG - 1u) / WG;
    for (var s = 0u; s < slabs; s = s + 1u) {
        let ka = s * WG + lid.x;
        var av = 0.0;
        if row < p.m && ka < p.k {
            let e = row * p.k + ka;
            av = widen(a[e / 2u], e);
        }
        let kb = s * WG + lid.y;
        var bv = 0.0;
        if kb < p.k && col < p.n {
            let e = kb * p.n + col;
            bv = widen(b[e / 2u], e);
        }
        a_tile[lid.y * WG + lid.x] = av;
        b_tile[lid.y * WG + lid.x] = bv;
        workgroupBarrier();
        for (var u = 0u; u < WG; u = u + 1u) {
            acc = acc + a_tile[lid.y * WG + u] * b_tile[u * WG + lid.x];
        }
        workgroupBarrier();
    }
    if row < p.m && col < p.n {
        let i = row * p.n + col;
        if p.beta == 0.0 {
            c[i] = p.alpha * acc;
        } else {
            c[i] = p.alpha * acc + p.beta * c[i];
        }
    }
}
