// Pairwise squared Euclidean distances and per-query top-k (brute-force k-NN).
//
// `pairwise`: out[i·n + j] = Σₜ (q[i·d + t] − x[j·d + t])² for queries m×d and points n×d,
// in the direct difference form. Each 16×16 workgroup computes a 16×16 block of out; d is
// walked in slabs of 16 staged in workgroup memory (zero-padded past the edges).
//
// `topk`: one invocation per query keeps the k smallest (distance, index) pairs of its row of
// `dist` in a sorted private list (ties: lower index first) and writes them as
// best[i·2k + 2r] = index, best[i·2k + 2r + 1] = bitcast(distance) for rank r.

struct Params {
    m: u32,
    n: u32,
    d: u32,
    k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dist: array<f32>;
@group(0) @binding(4) var<storage, read_write> best: array<u32>;

const WG: u32 = 16u;
const KMAX: u32 = 64u;

var<workgroup> q_tile: array<f32, 256>; // [WG rows of queries][WG dims]
var<workgroup> x_tile: array<f32, 256>; // [WG rows of points][WG dims]

@compute @workgroup_size(16, 16, 1)
fn pairwise(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let tx = lid.x;
    let ty = lid.y;
    let i = wid.y * WG + ty;
    let j = wid.x * WG + tx;
    let load_q = wid.y * WG + ty;
    let load_x = wid.x * WG + ty;
    var acc = 0.0;
    let slabs = (p.d + WG - 1u) / WG;
    for (var s = 0u; s < slabs; s = s + 1u) {
        let t = s * WG + tx;
        var qv = 0.0;
        if load_q < p.m && t < p.d {
            qv = q[load_q * p.d + t];
        }
        var xv = 0.0;
        if load_x < p.n && t < p.d {
            xv = x[load_x * p.d + t];
        }
        q_tile[ty * WG + tx] = qv;
        x_tile[ty * WG + tx] = xv;
        workgroupBarrier();
        for (var u = 0u; u < WG; u = u + 1u) {
            let diff = q_tile[ty * WG + u] - x_tile[tx * WG + u];
            acc = acc + diff * diff;
        }
        workgroupBarrier();
    }
    if i < p.m && j < p.n {
        dist[i * p.n + j] = acc;
    }
}

@compute @workgroup_size(64, 1, 1)
fn topk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if i >= p.m {
        return;
    }
    var keys: array<f32, KMAX>;
    var ids: array<u32, KMAX>;
    var filled = 0u;
    for (var j = 0u; j < p.n; j = j + 1u) {
        let v = dist[i * p.n + j];
        if filled == p.k && !(v < keys[p.k - 1u]) {
            continue;
        }
        // Insert after every entry ≤ v (earlier indices win ties).
        var pos = min(filled, p.k - 1u);
        loop {
            if pos == 0u || keys[pos - 1u] <= v {
                break;
            }
            keys[pos] = keys[pos - 1u];
            ids[pos] = ids[pos - 1u];
            pos = pos - 1u;
        }
        keys[pos] = v;
        ids[pos] = j;
        filled = min(filled + 1u, p.k);
    }
    for (var r = 0u; r < p.k; r = r + 1u) {
        best[(i * p.k + r) * 2u] = ids[r];
        best[(i * p.k + r) * 2u + 1u] = bitcast<u32>(keys[r]);
    }
}
