//! `Pcg64Numpy` against numpy itself: every expected value below was printed by numpy 2.x
//! (`np.random.default_rng(seed)`, its `bit_generator.state`, `random`, `integers`), not by
//! this crate.

use edgeml_core::rng::{Pcg64Numpy, UniformSource};

#[test]
fn seeded_state_matches_numpy_seed_sequence() {
    // (seed, bit_generator.state["state"]["state"], ["inc"]) as numpy reports them.
    let cases: [(u64, u128, u128); 4] = [
        (
            0,
            0x1aa1b5345996452d09585eb7a69561e3,
            0x418ddadb3af71a82588133bc447873a9,
        ),
        (
            42,
            0xcea44f6798798f2aacbc7c9d68860ac8,
            0xfa505436c9a8416e66caf2e28d25abff,
        ),
        (
            (1 << 40) + 5,
            0xd972711564fcbcf2a1511cb73ed6e086,
            0x4a4b8b68972231a08584f27e67257da7,
        ),
        (
            u64::MAX,
            0xddc419442aebde794d8b0a3b048acdb0,
            0x37762aacb3cc854f4ed623c7d18951ed,
        ),
    ];
    for (seed, state, increment) in cases {
        let generator = Pcg64Numpy::new(seed);
        assert_eq!(generator.state(), state, "state for seed {seed}");
        assert_eq!(generator.increment(), increment, "inc for seed {seed}");
    }
}

#[test]
fn raw_draws_match_numpy() {
    // np.random.default_rng(42).bit_generator.random_raw(3)
    let expected = [
        14276969152011380360u64,
        8095878257575067585,
        15838336090824644132,
    ];
    let mut generator = Pcg64Numpy::new(42);
    for value in expected {
        assert_eq!(generator.next_u64(), value);
    }
}

#[test]
fn random_matches_numpy_bit_for_bit() {
    // np.random.default_rng(42).random(5)
    let expected = [
        0.7739560485559633f64,
        0.4388784397520523,
        0.8585979199113825,
        0.6973680290593639,
        0.09417734788764953,
    ];
    let mut generator = Pcg64Numpy::new(42);
    for value in expected {
        assert_eq!(generator.random().to_bits(), value.to_bits());
    }
}

#[test]
fn interleaved_integers_and_random_match_numpy() {
    // r = np.random.default_rng(42)
    // r.integers(0, 6, size=7), r.random(2), r.integers(0, 6, size=3),
    // r.integers(0, 2**40, size=2), r.integers(-5, 1000, size=3)
    let mut generator = Pcg64Numpy::new(42);
    let first: Vec<i64> = (0..7).map(|_| generator.integers(0, 6)).collect();
    assert_eq!(first, [0, 4, 3, 2, 2, 5, 0]);
    assert_eq!(
        generator.random().to_bits(),
        0.09417734788764953f64.to_bits()
    );
    assert_eq!(
        generator.random().to_bits(),
        0.9756223516367559f64.to_bits()
    );
    let second: Vec<usize> = (0..3).map(|_| generator.index_below(6)).collect();
    assert_eq!(second, [4, 4, 4]);
    let wide: Vec<i64> = (0..2).map(|_| generator.integers(0, 1 << 40)).collect();
    assert_eq!(wide, [864286843831, 140862428803]);
    let shifted: Vec<i64> = (0..3).map(|_| generator.integers(-5, 1000)).collect();
    assert_eq!(shifted, [838, 447, 497]);
}

#[test]
fn lab_split_sizes_match_the_notebook() {
    // The lab notebook: `rng.random(20640) < 0.2` gives 4144 test rows; numpy's next
    // `random(16496) < 0.75` gives 12368 training rows, then random(2) continues as below.
    let mut generator = Pcg64Numpy::new(42);
    let test_rows = (0..20640).filter(|_| generator.uniform_f64() < 0.2).count();
    assert_eq!(test_rows, 4144);
    let train_rows = (0..16496)
        .filter(|_| generator.uniform_f64() < 0.75)
        .count();
    assert_eq!(train_rows, 12368);
    assert_eq!(
        generator.random().to_bits(),
        0.6601436229856382f64.to_bits()
    );
    assert_eq!(
        generator.random().to_bits(),
        0.9518691910755592f64.to_bits()
    );
}
