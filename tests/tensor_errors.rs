//! Tensors answer every bad shape, stride, buffer or index with the right `Error` — and views
//! read the elements a brute-force row-major/strided index computation says they should.

use edgeml_core::{Error, FixedTensor, Shape, TensorView, TensorViewMut};
use proptest::prelude::*;

#[test]
fn shape_errors() {
    assert_eq!(
        Shape::new(&[1, 2, 3, 4, 5]),
        Err(Error::RankTooHigh { rank: 5, max: 4 })
    );
    assert_eq!(Shape::new(&[usize::MAX, 2]), Err(Error::SizeOverflow));
    let shape = Shape::new(&[2, 3]).unwrap();
    assert_eq!(
        shape.dim(2),
        Err(Error::WrongRank {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        Shape::new(&[2, 2, 2]).unwrap().as_matrix(),
        Err(Error::WrongRank {
            expected: 2,
            found: 3
        })
    );
    assert!(Shape::new(&[0, 5]).unwrap().is_empty());
}

#[test]
fn view_errors() {
    let data = [0.0f32; 6];
    assert_eq!(
        TensorView::matrix(&data, 2, 4).map(|_| ()),
        Err(Error::ShapeMismatch {
            expected: 8,
            found: 6
        })
    );
    let shape = Shape::matrix(2, 3).unwrap();
    assert_eq!(
        TensorView::with_strides(&data, shape, [4, 1, 0, 0]).map(|_| ()),
        Err(Error::BufferTooSmall {
            needed: 7,
            available: 6
        })
    );
    assert_eq!(
        TensorView::with_strides(&data, shape, [usize::MAX, 1, 0, 0]).map(|_| ()),
        Err(Error::SizeOverflow)
    );
    let view = TensorView::matrix(&data, 2, 3).unwrap();
    assert_eq!(
        view.get(&[2, 0]),
        Err(Error::ShapeMismatch {
            expected: 2,
            found: 2
        })
    );
    assert_eq!(
        view.get(&[0]),
        Err(Error::WrongRank {
            expected: 2,
            found: 1
        })
    );
    assert!(view.row(2).is_err());
    assert!(
        view.t().unwrap().row(0).is_err(),
        "a transposed row is strided"
    );

    let mut buffer = [0.0f32; 6];
    assert!(matches!(
        TensorViewMut::with_strides(&mut buffer, shape, [0, 1, 0, 0]),
        Err(Error::InvalidParameter { .. })
    ));
    let mut view = TensorViewMut::matrix(&mut buffer, 3, 2).unwrap();
    assert!(view.get_mut(&[3, 0]).is_err());
    assert!(view.row_mut(3).is_err());
}

#[test]
fn fixed_tensor_capacity() {
    let shape = Shape::matrix(3, 3).unwrap();
    assert_eq!(
        FixedTensor::<f32, 8>::zeros(shape).map(|_| ()),
        Err(Error::CapacityExceeded {
            requested: 9,
            capacity: 8
        })
    );
    let mut tensor = FixedTensor::<f32, 9>::from_slice(&[1.0; 9], shape).unwrap();
    assert_eq!(
        tensor.reshape(Shape::vector(10)),
        Err(Error::CapacityExceeded {
            requested: 10,
            capacity: 9
        })
    );
    assert!(FixedTensor::<f32, 9>::from_slice(&[1.0; 8], shape).is_err());
    tensor.reshape(Shape::vector(9)).unwrap();
    assert_eq!(tensor.view().shape().dims(), &[9]);
}

proptest! {
    #[test]
    fn strided_views_index_like_brute_force(
        rows in 1usize..6, cols in 1usize..6, row_pad in 0usize..3, index in any::<(usize, usize)>()
    ) {
        let row_stride = cols + row_pad;
        let data: Vec<u32> = (0..(rows * row_stride) as u32).collect();
        let shape = Shape::matrix(rows, cols).unwrap();
        let view = TensorView::with_strides(&data, shape, [row_stride, 1, 0, 0]).unwrap();
        let (i, j) = (index.0 % rows, index.1 % cols);
        prop_assert_eq!(*view.get(&[i, j]).unwrap(), (i * row_stride + j) as u32);
        prop_assert_eq!(view.row(i).unwrap()[j], (i * row_stride + j) as u32);
        let t = view.t().unwrap();
        prop_assert_eq!(*t.get(&[j, i]).unwrap(), (i * row_stride + j) as u32);
        prop_assert_eq!(view.is_contiguous(), row_pad == 0 || rows == 1);
    }
}
