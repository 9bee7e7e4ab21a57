// Batch inference of a tree ensemble stored as flat node arrays (edgeml_core::tree::Model).
//
// nodes[i] = (feature, threshold key or leaf bits, left | DEFAULT_LEFT << 31, 0). For a split
// the second word is the threshold's order key (see `order_key`), so `x <= threshold` is an
// integer comparison that is exact for subnormals, ±0 and ±∞ whatever the device's float
// modes; for a leaf it is the f32 bits of the output. Rows are read as u32 bits so a NaN
// (missing value) is recognised by its bit pattern and routed by the default-left flag.
// bounds[t] is tree t's first node and bounds[n_trees] the node count; a walk takes at most
// the tree's size in steps, so it always ends.
//
// `scores`, mode 0 (boosted sum), 1 (boosted softmax), 2 (forest mean): one invocation per
// (row, output) sums base + its trees in tree order (softmax: trees t ≡ output mod n_outputs)
// and divides by the tree count for the mean. Mode 3 (forest vote): one invocation per row
// counts the trees voting for each class and writes the vote fractions.
// `finish`: one invocation per row turns scores into the prediction: the score (modes 0 with
// `binary` unset, 2), the logistic of the score (`binary`), or the top class, ties to the lowest
// index (modes 1, 3).

struct Params {
    rows: u32,
    n_features: u32,
    n_outputs: u32,
    n_trees: u32,
    mode: u32,
    binary: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> nodes: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> bounds: array<u32>;
@group(0) @binding(3) var<storage, read> base: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<u32>;
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;
@group(0) @binding(6) var<storage, read_write> pred: array<f32>;

const WG: u32 = 64u;
const LEAF: u32 = 0xffffffffu;
const DEFAULT_LEFT: u32 = 0x80000000u;

// Maps f32 bits to a u32 whose unsigned order is the IEEE order of the (non-NaN) values, with
// −0 and +0 equal.
fn order_key(bits: u32) -> u32 {
    var b = bits;
    if b == 0x80000000u {
        b = 0u;
    }
    if (b & 0x80000000u) != 0u {
        return ~b;
    }
    return b | 0x80000000u;
}

fn is_nan_bits(bits: u32) -> bool {
    return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
}

// Output of the leaf that row `row` reaches in tree `t`.
fn leaf(t: u32, row: u32) -> f32 {
    let first = bounds[t];
    let size = bounds[t + 1u] - first;
    let row_base = row * p.n_features;
    var i = 0u;
    for (var step = 0u; step < size; step = step + 1u) {
        let node = nodes[first + i];
        if node.x == LEAF {
            return bitcast<f32>(node.y);
        }
        let bits = x[row_base + node.x];
        var go_left: bool;
        if is_nan_bits(bits) {
            go_left = (node.z & DEFAULT_LEFT) != 0u;
        } else {
            go_left = order_key(bits) <= node.y;
        }
        i = (node.z & ~DEFAULT_LEFT) + select(1u, 0u, go_left);
    }
    return 0.0;
}

fn linear(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(64, 1, 1)
fn sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = linear(gid, nwg);
    if p.mode == 3u {
        if g >= p.rows {
            return;
        }
        let out_base = g * p.n_outputs;
        for (var c = 0u; c < p.n_outputs; c = c + 1u) {
            scores[out_base + c] = 0.0;
        }
        for (var t = 0u; t < p.n_trees; t = t + 1u) {
            let cls = u32(leaf(t, g));
            if cls < p.n_outputs {
                scores[out_base + cls] = scores[out_base + cls] + 1.0;
            }
        }
        let trees = f32(p.n_trees);
        for (var c = 0u; c < p.n_outputs; c = c + 1u) {
            scores[out_base + c] = scores[out_base + c] / trees;
        }
        return;
    }
    if g >= p.rows * p.n_outputs {
        return;
    }
    let row = g / p.n_outputs;
    let output = g % p.n_outputs;
    var acc = 0.0;
    var step = 1u;
    var first = 0u;
    if p.mode != 2u {
        acc = base[output];
    }
    if p.mode == 1u {
        step = p.n_outputs;
        first = output;
    }
    for (var t = first; t < p.n_trees; t = t + step) {
        acc = acc + leaf(t, row);
    }
    if p.mode == 2u {
        acc = acc / f32(p.n_trees);
    }
    scores[g] = acc;
}

@compute @workgroup_size(64, 1, 1)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = linear(gid, nwg);
    if row >= p.rows {
        return;
    }
    let out_base = row * p.n_outputs;
    let first = scores[out_base];
    if p.mode == 1u || p.mode == 3u {
        var best = 0u;
        var best_score = first;
        for (var c = 1u; c < p.n_outputs; c = c + 1u) {
            let s = scores[out_base + c];
            if s > best_score {
                best = c;
                best_score = s;
            }
        }
        pred[row] = f32(best);
    } else if p.binary != 0u {
        pred[row] = 1.0 / (1.0 + exp(-first));
    } else {
        pred[row] = first;
    }
}
