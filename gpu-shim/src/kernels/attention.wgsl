// Streaming (online-softmax) attention forward: out = softmax(scale·Q·Kᵀ, masked)·V per head,
// for Q (heads × lq × dk), K (heads × lk × dk), V (heads × lk × dv), out (heads × lq × dv),
// all contiguous row-major.
//
// A workgroup of 64 invocations owns 64 consecutive queries of one head (workgroup_id.y),
// one query per invocation. Keys are walked in tiles of TK = 32: the tile's K columns, then its
// V columns, are staged in workgroup memory DC = 32 at a time, shared by the 64 queries. Each
// query keeps its 32 scores privately, updates its running maximum m and sum ℓ, and rescales
// its accumulator — its own output row, owned by it alone — by e^(m_old − m_new) before adding
// P·V. At the end the row is divided by ℓ, or zeroed when the query saw no key (the core's
// rule). With `causal`, tiles past the workgroup's last query are skipped (the bound depends
// only on the workgroup, so barriers stay in uniform control flow). valid[j] != 0 marks key j
// as visible when `use_valid` is set.

struct Params {
    heads: u32,
    lq: u32,
    lk: u32,
    dk: u32,
    dv: u32,
    causal: u32,
    use_valid: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> valid: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const TK: u32 = 32u;
const DC: u32 = 32u;

var<workgroup> tile: array<f32, 1024>; // [TK keys][DC columns]

// Stages columns c0..c0 + DC of rows key0..key0 + TK of a (lk × width) matrix at `base` of K
// (which = 0) or V (which = 1) into `tile`, zero past the edges.
fn stage(which: u32, base: u32, key0: u32, c0: u32, width: u32, t: u32) {
    for (var e = t; e < TK * DC; e = e + WG) {
        let j = key0 + e / DC;
        let c = c0 + e % DC;
        var value = 0.0;
        if j < p.lk && c < width {
            let index = base + j * width + c;
            if which == 0u {
                value = k[index];
            } else {
                value = v[index];
            }
        }
        tile[e] = value;
    }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = lid.x;
    let head = wid.y;
    let q0 = wid.x * WG;
    let i = q0 + t;
    let live = i < p.lq;
    let row = min(i, p.lq - 1u);
    let q_base = (head * p.lq + row) * p.dk;
    let k_base = head * p.lk * p.dk;
    let v_base = head * p.lk * p.dv;
    let out_base = (head * p.lq + row) * p.dv;

    var key_end = p.lk;
    if p.causal != 0u {
        key_end = min(p.lk, q0 + WG);
    }
    var m = 0.0;
    var l = 0.0;
    var seen = false;
    for (var c = 0u; c < p.dv; c = c + 1u) {
        if live {
            out[out_base + c] = 0.0;
        }
    }

    for (var key0 = 0u; key0 < key_end; key0 = key0 + TK) {
        var s: array<f32, 32>;
        for (var c0 = 0u; c0 < p.dk; c0 = c0 + DC) {
            workgroupBarrier();
            stage(0u, k_base, key0, c0, p.dk, t);
            workgroupBarrier();
            let width = min(DC, p.dk - c0);
            var qc: array<f32, 32>;
            for (var c = 0u; c < width; c = c + 1u) {
                qc[c] = q[q_base + c0 + c];
            }
            for (var j = 0u; j < TK; j = j + 1u) {
                var dot = 0.0;
                for (var c = 0u; c < width; c = c + 1u) {
                    dot = dot + qc[c] * tile[j * DC + c];
                }
                s[j] = s[j] + dot;
            }
        }

        var visible: array<bool, 32>;
        var tile_max = 0.0;
        var hit = false;
        for (var j = 0u; j < TK; j = j + 1u) {
            let key = key0 + j;
            var ok = key < p.lk && live;
            if p.causal != 0u && key > i {
                ok = false;
            }
            if p.use_valid != 0u && ok && valid[key] == 0u {
                ok = false;
            }
            visible[j] = ok;
            if ok {
                let score = s[j] * p.scale;
                s[j] = score;
                if !hit || score > tile_max {
                    tile_max = score;
                }
                hit = true;
            }
        }
        var rescale = 1.0;
        if hit {
            var new_m = tile_max;
            if seen {
                new_m = max(m, tile_max);
                rescale = exp(m - new_m);
            } else {
                rescale = 0.0;
            }
            var sum = 0.0;
            for (var j = 0u; j < TK; j = j + 1u) {
                var pj = 0.0;
                if visible[j] {
                    pj = exp(s[j] - new_m);
                }
                s[j] = pj;
                sum = sum + pj;
            }
            l = l * rescale + sum;
            m = new_m;
            seen = true;
        }

        for (var c0 = 0u; c0 < p.dv; c0 = c0 + DC) {
            workgroupBarrier();
            stage(1u, v_base, key0, c0, p.dv, t);
            workgroupBarrier();
            if hit {
                let width = min(DC, p.dv - c0);
                for (var c = 0u; c < width; c = c + 1u) {
                    var acc = out[out_base + c0 + c] * rescale;
                    for (var j = 0u; j < TK; j = j + 1u) {
                        acc = acc + s[j] * tile[j * DC + c];
                    }
                    out[out_base + c0 + c] = acc;
                }
            }
        }
    }

    if live {
        var inverse = 0.0;
        if l > 0.0 {
            inverse = 1.0 / l;
        }
        for (var c = 0u; c < p.dv; c = c + 1u) {
            out[out_base + c] = out[out_base + c] * inverse;
        }
    }
}
