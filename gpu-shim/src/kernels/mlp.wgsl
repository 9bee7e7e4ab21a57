// One minibatch step of a dense ReLU network with softmax cross-entropy, as separate entry
// points over resident buffers. Every matrix is row-major; offsets count f32 elements.
//
// matmul:        c[c_off + i·n + j] = Σₜ op(a)[i, t]·op(b)[t, j] (+ b[bias_off + j] when flag 4),
//                op(a) = a or aᵀ (flag 1, a stored k×m), op(b) = b or bᵀ (flag 2, b stored n×k).
// relu:          c[i] = max(a[i], 0) for i < m.
// relu_backward: c[i] = c[i] if a[i] > 0 else 0, for i < m.
// xent:          per row i < m of logits a (m×n) and labels b (class index as f32):
//                d[i] = −log softmax(row)[label], c[row] = (softmax(row) − onehot)·f0.
// colsum:        c[c_off + j] = Σᵢ a[i·n + j] over i < m.
// sgd:           c[i] ← c[i] − f0·(a[i] + f1·c[i]) for i < m.
// adam:          with g = a[i] + f4·c[i]: d[i] ← f1·d[i] + (1−f1)·g, d[m+i] ← f2·d[m+i] + (1−f2)·g²,
//                c[i] ← c[i] − f0·(d[i]·f5) / (sqrt(d[m+i]·f6) + f3).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_off: u32,
    b_off: u32,
    c_off: u32,
    bias_off: u32,
    f0: f32,
    f1: f32,
    f2: f32,
    f3: f32,
    f4: f32,
    f5: f32,
    f6: f32,
    f7: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> d: array<f32>;

fn linear(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// Operand tiles of one workgroup: 64 rows × 16 of op(a), 16 × 64 columns of op(b).
var<workgroup> a_tile: array<f32, 1024>;
var<workgroup> b_tile: array<f32, 1024>;

// op(a)[row, t], zero outside the m×k operand.
fn load_a(row: u32, t: u32) -> f32 {
    if row >= p.m || t >= p.k {
        return 0.0;
    }
    if (p.flags & 1u) != 0u {
        return a[p.a_off + t * p.m + row];
    }
    return a[p.a_off + row * p.k + t];
}

// op(b)[t, col], zero outside the k×n operand.
fn load_b(t: u32, col: u32) -> f32 {
    if t >= p.k || col >= p.n {
        return 0.0;
    }
    if (p.flags & 2u) != 0u {
        return b[p.b_off + col * p.k + t];
    }
    return b[p.b_off + t * p.n + col];
}

// A 64×64 block of c per 16×16 workgroup, 4×4 outputs per invocation, k in steps of 16 through
// workgroup memory.
@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * 64u;
    let col0 = wid.x * 64u;
    let tid = lid.y * 16u + lid.x;
    var acc: array<f32, 16>;
    for (var k0 = 0u; k0 < p.k; k0 += 16u) {
        for (var e = 0u; e < 4u; e++) {
            let idx = tid + e * 256u;
            a_tile[idx] = load_a(row0 + idx / 16u, k0 + idx % 16u);
            b_tile[idx] = load_b(k0 + idx / 64u, col0 + idx % 64u);
        }
        workgroupBarrier();
        for (var t = 0u; t < 16u; t++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var x = 0u; x < 4u; x++) {
                av[x] = a_tile[(lid.y * 4u + x) * 16u + t];
                bv[x] = b_tile[t * 64u + lid.x * 4u + x];
            }
            for (var x = 0u; x < 4u; x++) {
                for (var y = 0u; y < 4u; y++) {
                    acc[x * 4u + y] = acc[x * 4u + y] + av[x] * bv[y];
                }
            }
        }
        workgroupBarrier();
    }
    for (var x = 0u; x < 4u; x++) {
        for (var y = 0u; y < 4u; y++) {
            let row = row0 + lid.y * 4u + x;
            let col = col0 + lid.x * 4u + y;
            if row < p.m && col < p.n {
                var value = acc[x * 4u + y];
                if (p.flags & 4u) != 0u {
                    value = value + b[p.bias_off + col];
                }
                c[p.c_off + row * p.n + col] = value;
            }
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear(gid, nwg);
    if i < p.m {
        c[i] = max(a[i], 0.0);
    }
}

@compute @workgroup_size(256, 1, 1)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear(gid, nwg);
    if i < p.m {
        c[i] = select(0.0, c[i], a[i] > 0.0);
    }
}

@compute @workgroup_size(64, 1, 1)
fn xent(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.m {
        return;
    }
    let base = i * p.n;
    var top = a[base];
    for (var j = 1u; j < p.n; j++) {
        top = max(top, a[base + j]);
    }
    var total = 0.0;
    for (var j = 0u; j < p.n; j++) {
        total = total + exp(a[base + j] - top);
    }
    let lse = top + log(total);
    let label = u32(b[i]);
    for (var j = 0u; j < p.n; j++) {
        let prob = exp(a[base + j] - lse);
        c[base + j] = (prob - select(0.0, 1.0, j == label)) * p.f0;
    }
    d[i] = lse - a[base + label];
}

@compute @workgroup_size(64, 1, 1)
fn colsum(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.n {
        return;
    }
    var acc = 0.0;
    for (var i = 0u; i < p.m; i++) {
        acc = acc + a[i * p.n + j];
    }
    c[p.c_off + j] = acc;
}

@compute @workgroup_size(256, 1, 1)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear(gid, nwg);
    if i < p.m {
        c[i] = c[i] - p.f0 * (a[i] + p.f1 * c[i]);
    }
}

@compute @workgroup_size(256, 1, 1)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear(gid, nwg);
    if i < p.m {
        let g = a[i] + p.f4 * c[i];
        let m = p.f1 * d[i] + (1.0 - p.f1) * g;
        let v = p.f2 * d[p.m + i] + (1.0 - p.f2) * g * g;
        d[i] = m;
        d[p.m + i] = v;
        c[i] = c[i] - p.f0 * (m * p.f5) / (sqrt(v * p.f6) + p.f3);
    }
}
