// C ← alpha·A·B + beta·C for row-major f32 A (m×k), B (k×n), C (m×n).
//
// Each 16×16 workgroup computes a 64×64 tile of C; each invocation owns a 4×4 register block
// at rows ty + 16·i, columns tx + 16·j (strided so neighbouring invocations touch neighbouring
// columns). K is walked in slabs of 16: A's 64×16 and B's 16×64 slabs are staged in workgroup
// memory, zero-padded past the matrix edges. beta = 0 overwrites C without reading it.

struct Params {
    m: u32,
    k: u32,
    n: u32,
    pad0: u32,
    alpha: f32,
    beta: f32,
    pad1: f32,
    pad2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;  // C tile edge
const SLAB: u32 = 16u;  // K slab depth
const WG: u32 = 16u;    // workgroup edge
const RB: u32 = 4u;     // register block edge (TILE / WG)

var<workgroup> a_tile: array<f32, 1024>; // [TILE][SLAB]
var<workgroup> b_tile: array<f32, 1024>; // [SLAB][TILE]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let tx = lid.x;
    let ty = lid.y;
    let flat = ty * WG + tx;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    var acc: array<f32, 16>;
    let slabs = (p.k + SLAB - 1u) / SLAB;
    for (var s = 0u; s < slabs; s++) {
        let k0 = s * SLAB;
        for (var l = 0u; l < 4u; l++) {
            let e = flat + l * WG * WG;
            let ar = row0 + e / SLAB;
            let ak = k0 + e % SLAB;
            var va = 0.0;
            if (ar < p.m && ak < p.k) {
                va = a[ar * p.k + ak];
            }
            a_tile[e] = va;
            let bk = k0 + e / TILE;
            let bc = col0 + e % TILE;
            var vb = 0.0;
            if (bk < p.k && bc < p.n) {
                vb = b[bk * p.n + bc];
            }
            b_tile[e] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < SLAB; kk++) {
            var bv: array<f32, 4>;
            for (var j = 0u; j < RB; j++) {
                bv[j] = b_tile[kk * TILE + tx + j * WG];
            }
            for (var i = 0u; i < RB; i++) {
                let av = a_tile[(ty + i * WG) * SLAB + kk];
                for (var j = 0u; j < RB; j++) {
                    acc[i * RB + j] = fma(av, bv[j], acc[i * RB + j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < RB; i++) {
        let r = row0 + ty + i * WG;
        for (var j = 0u; j < RB; j++) {
            let col = col0 + tx + j * WG;
            if (r < p.m && col < p.n) {
                let idx = r * p.n + col;
                var out = p.alpha * acc[i * RB + j];
                if (p.beta != 0.0) {
                    out = out + p.beta * c[idx];
                }
                c[idx] = out;
            }
        }
    }
}
