"""Convolution and pooling primitives over NCHW images, vectorised for NumPy and CuPy.

conv2d is im2col plus block-batched matmuls; its input gradient is col2im. Inside, the
columns keep the batch axis last (see `column_blocks`), so every copy and add runs over
long contiguous stretches. The only Python loops anywhere here run over the kh * kw kernel
offsets, each one a strided slice covering every image and output pixel at once.

Parameters arrive normalised by engine.functional.nn: `stride`, `padding`, `dilation` and
`kernel_size` are (h, w) pairs of ints, `groups` an int.
"""

from __future__ import annotations

import numpy as np  # only for building float64 sample inputs on the host, never in kernels

from ..core.op import defsamples, defvjp, primitive

# ---- shared helpers -----------------------------------------------------------------------


def out_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output length of a sliding window along one axis (floor mode, as MegEngine)."""
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _offsets(kernel, stride, dilation, out_hw):
    """(i, j, index) per kernel offset: index picks, from a padded (..., H, W) array, the
    input pixel that offset (i, j) multiplies for every output pixel."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            yield i, j, (Ellipsis, rows, cols)


def _pad_hw(xp, x, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    width = ((0, 0),) * (x.ndim - 2) + ((ph, ph), (pw, pw))
    return xp.pad(x, width, mode="constant", constant_values=value)


def _unpad_hw(grad, shape, padding):
    ph, pw = padding
    return grad[..., ph : ph + shape[-2], pw : pw + shape[-1]]


def _out_hw(shape, kernel, stride, padding, dilation=(1, 1)):
    return tuple(
        out_size(shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]) for a in (0, 1)
    )


# ---- column blocks ------------------------------------------------------------------------

# OpenBLAS multiplies matrices of up to about 10**6 multiply-adds on a fast single-threaded
# path; past it, at conv shapes (a few rows, tens of thousands of columns), each flop costs
# 2-5x more: LeNet's (6, 25) @ (25, 36864) takes longer than its nine column slices in turn.
GEMM_MACS = 10**6
# Output rows shorter than this keep the batch axis last inside a block: im2col and col2im
# copy runs of one image row, and at LeNet's conv2 (rows of 8) those are 3-4x slower than
# the runs of Wo * N numbers a batch-last copy moves, which then outweighs the transposes.
SHORT_ROW = 16
# Narrower blocks than this would run BLAS at a fraction of its speed: products with more
# than GEMM_MACS / MIN_COLUMNS multiply-adds per column (64 channels of 3x3x64, say) are
# big enough for BLAS's regular, threaded path and go to it an image (or a batch) at a time.
MIN_COLUMNS = 256


def _divisor_at_most(n: int, limit: int) -> int:
    return max(d for d in range(1, max(1, min(n, limit)) + 1) if n % d == 0)


def column_blocks(
    out_hw: tuple[int, int], batch: int, macs_per_column: int
) -> tuple[int, int, int]:
    """(nb, t, s): conv2d's output pixels cut in blocks of nb images (1 or all of them),
    t output rows and one row's s-th part (t == 1 when s > 1), so that one block's matmul
    stays within GEMM_MACS. A block's columns run over (row, column, image), batch last.
    """
    ho, wo = out_hw
    nb = batch if wo < SHORT_ROW and batch > 0 else 1
    room = GEMM_MACS // max(1, macs_per_column)
    if room < MIN_COLUMNS:
        return nb, ho, 1
    room = max(1, room)
    if wo * nb <= room:
        return nb, _divisor_at_most(ho, room // (wo * nb)), 1
    pieces = [s for s in range(1, wo + 1) if wo % s == 0 and (wo // s) * nb <= room]
    return nb, 1, pieces[0] if pieces else wo


def _split(n, c, groups, out_hw, blocks):
    """Factors of the NCHW axes (N/nb, nb, G, C/G, Ho/t, t, s, Wo/s) in the block layout."""
    (ho, wo), (nb, t, s) = out_hw, blocks
    return n // nb, nb, groups, c // groups, ho // t, t, s, wo // s


# NCHW's factors (u, nb, g, cg, hb, t, s, wb) <-> blocks (g, u, hb, s | cg | t, wb, nb)
_TO_BLOCKS = (2, 0, 4, 6, 3, 5, 7, 1)
_FROM_BLOCKS = (1, 7, 0, 4, 2, 5, 3, 6)


def _dealiased(xp, a):
    """a itself, or a copy whose images lie not a multiple of 4 KiB apart: reading the batch
    axis at such a stride maps every image to one cache set (3-6x slower transposes)."""
    n = a.shape[0]
    if n <= 1 or (a.size // n * a.dtype.itemsize) % 4096:
        return a
    rows = xp.pad(a.reshape(n, -1), ((0, 0), (0, 16)))
    return rows[:, :-16].reshape(a.shape)


def nchw_to_blocks(xp, a, groups, blocks):
    """(N, C, Ho, Wo) -> (G, blocks, C/G, block columns): the layout of conv2d's matmuls."""
    n, c, ho, wo = a.shape
    u, nb, g, cg, hb, t, s, wb = parts = _split(n, c, groups, (ho, wo), blocks)
    if nb > 1:
        a = _dealiased(xp, a)
    a = a.reshape(parts).transpose(_TO_BLOCKS)
    return a.reshape(g, u * hb * s, cg, t * wb * nb)


def blocks_to_nchw(xp, a, n, out_hw, blocks):
    """conv2d's matmul result (G, blocks, O/G, block columns) as a contiguous NCHW array."""
    groups, _, cg, _ = a.shape
    u, nb, g, cg, hb, t, s, wb = _split(n, groups * cg, groups, out_hw, blocks)
    a = a.reshape(g, u, hb, s, cg, t, wb, nb).transpose(_FROM_BLOCKS)
    return xp.ascontiguousarray(a).reshape((n, g * cg) + tuple(out_hw))


# ---- conv2d -------------------------------------------------------------------------------


def _padded_image(xp, x, padding, batch_last):
    """x zero-padded, as an (N, C, Hp, Wp) view of a (C, Hp, Wp, N) array when batch_last."""
    n, c, h, w = x.shape
    ph, pw = padding
    if not batch_last:
        return _pad_hw(xp, x, padding)
    x = _dealiased(xp, x).transpose(1, 2, 3, 0)
    if ph == pw == 0:
        return xp.ascontiguousarray(x).transpose(3, 0, 1, 2)
    out = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    out[:, ph : ph + h, pw : pw + w] = x
    return out.transpose(3, 0, 1, 2)


@primitive("im2col")
def im2col(xp, x, *, kernel, stride, padding, dilation, groups, out_hw, blocks):
    """columns (G, blocks, kh * kw * C/G, block columns) of x's kernel windows (see
    column_blocks): the one copy of the input conv2d makes, laid out for its matmuls"""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    u, nb, g, cg, hb, t, s, wb = _split(n, c, groups, out_hw, blocks)
    x = _padded_image(xp, x, padding, batch_last=nb > 1)
    window = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = xp.lib.stride_tricks.sliding_window_view(x, window, axis=(2, 3))
    view = view[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kh, kw), still a view
    view = view.reshape(u, nb, g, cg, hb, t, s, wb, kh, kw)
    # rows ordered (kh, kw, C/G): one kernel offset's rows lie together, so col2im's add
    # for that offset streams through one stretch of memory (1.6x faster on big inputs)
    view = view.transpose(2, 0, 4, 6, 8, 9, 3, 5, 7, 1)  # (g, u, hb, s, kh, kw, cg, t, wb, nb)
    return view.reshape(g, u * hb * s, kh * kw * cg, t * wb * nb)


@primitive("col2im")
def col2im(xp, cols, *, shape, kernel, stride, padding, dilation, out_hw, blocks):
    """im2col's adjoint: each column entry added back onto the pixel it was read from"""
    n, c, h, w = shape
    (kh, kw), (ph, pw) = kernel, padding
    parts = _split(n, c, cols.shape[0], out_hw, blocks)
    u, nb, g, cg, hb, t, s, wb = parts
    cols = cols.reshape(g, u, hb, s, kh, kw, cg, t, wb, nb)
    cols = cols.transpose(1, 9, 0, 6, 4, 5, 2, 7, 3, 8)  # (u, nb, g, cg, kh, kw, hb, t, s, wb)
    if nb > 1:  # accumulate batch last, where each offset adds runs of Wo * N numbers
        grad = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype).transpose(3, 0, 1, 2)
    else:
        grad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i, j, (_, rows, columns) in _offsets(kernel, stride, dilation, out_hw):
        # this offset's (N, C, Ho, Wo) pixels split as the blocks are: still a view, added
        # to in place (an indexed `+=` would also assign the sum back onto itself)
        pixels = grad[:, :, rows, columns].reshape(parts)
        pixels += cols[:, :, :, :, i, j]
    return xp.ascontiguousarray(_unpad_hw(grad, shape, padding))


@defvjp(im2col, reads=("inputs",))
def _(node, g):
    p = node.params
    window = {k: p[k] for k in ("kernel", "stride", "padding", "dilation", "out_hw", "blocks")}
    return (col2im(node.xp, g, shape=node.inputs[0].shape, **window),)


@defvjp(col2im, reads=("inputs",))
def _(node, g):
    p = node.params
    window = {k: p[k] for k in ("kernel", "stride", "padding", "dilation", "out_hw", "blocks")}
    return (im2col(node.xp, g, groups=node.inputs[0].shape[0], **window),)


def _weight_blocks(weight, groups):
    """weight (O, C/G, kh, kw) as (G, 1, O/G, kh * kw * C/G), im2col's row order: one matrix
    per group, shared by every column block."""
    out_ch, cg, kh, kw = weight.shape
    weight = weight.reshape(groups, out_ch // groups, cg, kh, kw).transpose(0, 1, 3, 4, 2)
    return weight.reshape(groups, 1, out_ch // groups, kh * kw * cg)


@primitive("conv2d", residual=True, fresh=True)
def conv2d(xp, x, weight, bias=None, *, stride, padding, dilation, groups):
    """cross-correlation of NCHW x with weight (out, in/groups, kh, kw), plus bias"""
    n = x.shape[0]
    out_ch, cg, kh, kw = weight.shape
    out_hw = _out_hw(x.shape, (kh, kw), stride, padding, dilation)
    blocks = column_blocks(out_hw, n, (out_ch // groups) * cg * kh * kw)
    window = {"stride": stride, "padding": padding, "dilation": dilation, "out_hw": out_hw}
    cols = im2col(xp, x, kernel=(kh, kw), groups=groups, blocks=blocks, **window)
    out = _weight_blocks(weight, groups) @ cols  # (G, blocks, O/G, block columns)
    if bias is not None:
        out += bias.reshape(groups, 1, out_ch // groups, 1)
    result = blocks_to_nchw(xp, out, n, out_hw, blocks)
    return result, cols


@defvjp(conv2d, reads=("inputs", "res"))  # not out: relu may overwrite it
def _(node, g):
    xp, params = node.xp, node.params
    x, weight = node.inputs[0], node.inputs[1]
    groups = params["groups"]
    out_ch, cg, kh, kw = weight.shape
    out_hw = tuple(g.shape[2:])
    blocks = column_blocks(out_hw, x.shape[0], (out_ch // groups) * cg * kh * kw)
    g_blocks = nchw_to_blocks(xp, g, groups, blocks)  # (G, blocks, O/G, block columns)
    gx = gw = gb = None
    if node.needs_grad(1):
        # cols @ g^T per block, summed over blocks: (G, kh*kw*C/G, O/G)
        gw_t = (node.res @ xp.swapaxes(g_blocks, 2, 3)).sum(axis=1)
        gw = gw_t.reshape(groups, kh, kw, cg, out_ch // groups).transpose(0, 4, 3, 1, 2)
        gw = gw.reshape(weight.shape)
    if node.needs_grad(0):
        cols = xp.swapaxes(_weight_blocks(weight, groups), 2, 3) @ g_blocks
        window = {k: params[k] for k in ("stride", "padding", "dilation")}
        gx = col2im(
            xp, cols, shape=x.shape, kernel=(kh, kw), out_hw=out_hw, blocks=blocks, **window
        )
    if len(node.inputs) > 2 and node.needs_grad(2):
        # pixel sums through BLAS (a product with ones): half the time of g.sum(axis=(0, 2, 3))
        g3 = g.reshape(g.shape[0], out_ch, -1)
        gb = (g3 @ xp.ones(g3.shape[2], dtype=g.dtype)).sum(axis=0).reshape(1, out_ch, 1, 1)
    return (gx, gw, gb)[: len(node.inputs)]


# ---- pooling ------------------------------------------------------------------------------


def _window_reduce(combine, padded, kernel, stride, out_hw):
    """combine (a ufunc: maximum, add) over each window, separably: across the kernel's rows
    first, over whole padded rows, then across its columns; kh + kw - 2 passes, not
    kh * kw - 1 over strided pixels (2x2 pools: 0.13 -> 0.10 ms at LeNet's first)."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    rows = None
    for i in range(kh):
        part = padded[..., i : i + sh * (ho - 1) + 1 : sh, :]
        rows = part if rows is None else combine(rows, part, out=None if i == 1 else rows)
    out = None
    for j in range(kw):
        part = rows[..., j : j + sw * (wo - 1) + 1 : sw]
        out = part if out is None else combine(out, part, out=None if j == 1 else out)
    return out.copy() if kw == 1 else out  # a view of rows (or of the input): contiguous copy


@primitive("max_pool2d")
def max_pool2d(xp, x, *, kernel_size, stride, padding):
    """maximum over each kernel window; padding never wins"""
    out_hw = _out_hw(x.shape, kernel_size, stride, padding)
    return _window_reduce(xp.maximum, _pad_hw(xp, x, padding, -xp.inf), kernel_size, stride, out_hw)


@defvjp(max_pool2d, reads=("inputs", "out"))
def _(node, g):
    # MegEngine's rule: every element equal to its window's maximum gets the full gradient
    xp, x, params = node.xp, node.inputs[0], node.params
    padding = params["padding"]
    padded = _pad_hw(xp, x, padding, -xp.inf)
    kernel, stride = params["kernel_size"], params["stride"]
    grad = xp.zeros(padded.shape, dtype=g.dtype)
    # windows that do not overlap (stride >= kernel, as in LeNet's 2x2 pools) touch each
    # pixel once: a plain store, not a read-modify-write (a quarter faster there)
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]
    for _, _, index in _offsets(kernel, stride, (1, 1), g.shape[2:]):
        if disjoint:
            grad[index] = g * (padded[index] == node.out)
        else:
            grad[index] += g * (padded[index] == node.out)
    return (xp.ascontiguousarray(_unpad_hw(grad, x.shape, padding)),)


def _window_counts(xp, shape, kernel, stride, padding, out_hw, dtype):
    """How many real (unpadded) input pixels each output pixel's window covers, (Ho, Wo)."""
    per_axis = []
    for a in (0, 1):
        start = xp.arange(out_hw[a])[:, None] * stride[a] - padding[a]
        pos = start + xp.arange(kernel[a])[None, :]
        per_axis.append(xp.logical_and(pos >= 0, pos < shape[2 + a]).sum(axis=1))
    return (per_axis[0][:, None] * per_axis[1][None, :]).astype(dtype)


def _avg_divisor(xp, x_shape, params, out_hw, dtype):
    kernel, mode = params["kernel_size"], params["mode"]
    if mode == "average":
        return kernel[0] * kernel[1]
    return _window_counts(xp, x_shape, kernel, params["stride"], params["padding"], out_hw, dtype)


@primitive("avg_pool2d")
def avg_pool2d(xp, x, *, kernel_size, stride, padding, mode):
    """mean over each kernel window; mode 'average' counts padding, the default does not"""
    out_hw = _out_hw(x.shape, kernel_size, stride, padding)
    out = _window_reduce(xp.add, _pad_hw(xp, x, padding), kernel_size, stride, out_hw)
    params = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "mode": mode}
    out /= _avg_divisor(xp, x.shape, params, out_hw, x.dtype)
    return out


@defvjp(avg_pool2d, reads=("inputs",))
def _(node, g):
    xp, x, params = node.xp, node.inputs[0], node.params
    padding = params["padding"]
    g = g / _avg_divisor(xp, x.shape, params, g.shape[2:], g.dtype)
    ph, pw = padding
    grad = xp.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), dtype=g.dtype)
    for _, _, index in _offsets(params["kernel_size"], params["stride"], (1, 1), g.shape[2:]):
        grad[index] += g
    return (xp.ascontiguousarray(_unpad_hw(grad, x.shape, padding)),)


# ---- sample inputs for verify-gradients ---------------------------------------------------


# (input shape, weight shape, with bias, stride, padding, dilation, groups)
_CONV_CASES = [
    ((2, 3, 5, 5), (4, 3, 3, 3), True, (1, 1), (0, 0), (1, 1), 1),
    ((1, 4, 6, 5), (6, 2, 3, 2), True, (2, 1), (1, 2), (1, 1), 2),
    ((2, 2, 7, 6), (3, 2, 2, 3), False, (1, 2), (1, 1), (2, 1), 1),
    ((1, 3, 6, 6), (6, 1, 3, 3), True, (2, 2), (1, 1), (2, 2), 3),
]


def _conv_samples(rng):
    samples = []
    for x_shape, w_shape, bias, stride, padding, dilation, groups in _CONV_CASES:
        inputs = [rng.normal(size=x_shape), rng.normal(size=w_shape)]
        if bias:
            inputs.append(rng.normal(size=(1, w_shape[0], 1, 1)))
        params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        samples.append((tuple(inputs), params))
    return samples


def _distinct(rng, shape):
    """Values at least 0.1 apart (a shuffled grid), so no pooling window holds a near tie."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 - size * 0.05).reshape(shape)


def _near_ties(inputs):
    """Elements within 0.05 of another element: max pooling's gradient jumps there."""
    x = np.asarray(inputs[0])
    flat = x.reshape(-1)
    order = flat.argsort()
    gaps = np.abs(np.diff(flat[order])) < 0.05
    close = np.zeros(flat.shape, dtype=bool)
    close[order[1:]] |= gaps
    close[order[:-1]] |= gaps
    return close.reshape(x.shape)


def _pool_samples(rng, **extra):
    def case(shape, kernel, stride, padding):
        params = {"kernel_size": kernel, "stride": stride, "padding": padding, **extra}
        return (_distinct(rng, shape),), params

    return [
        case((2, 3, 4, 4), (2, 2), (2, 2), (0, 0)),
        case((1, 2, 5, 6), (3, 3), (2, 1), (1, 1)),
        case((1, 1, 5, 5), (3, 2), (1, 2), (1, 0)),
    ]


defsamples(conv2d)(_conv_samples)
defsamples(max_pool2d, kinks=_near_ties)(_pool_samples)


def _avg_pool_samples(rng):
    exclude = _pool_samples(rng, mode="average_count_exclude_padding")
    return exclude + _pool_samples(rng, mode="average")


defsamples(avg_pool2d)(_avg_pool_samples)


def _window_samples(rng, adjoint=False):
    """Each conv case as one block, and cut in blocks of images, rows and row parts."""
    samples = []
    for x_shape, w_shape, _, stride, padding, dilation, groups in _CONV_CASES:
        kernel, n = w_shape[2:], x_shape[0]
        ho, wo = _out_hw(x_shape, kernel, stride, padding, dilation)
        window = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
        window["out_hw"] = (ho, wo)
        for blocks in dict.fromkeys([(n, ho, 1), (1, ho, 1), (n, 1, wo), (1, 1, 1)]):
            params = {**window, "blocks": blocks}
            if not adjoint:
                samples.append(((rng.normal(size=x_shape),), {**params, "groups": groups}))
                continue
            count = (n // blocks[0]) * (ho // blocks[1]) * blocks[2]
            rows = (x_shape[1] // groups) * kernel[0] * kernel[1]
            cols = rng.normal(size=(groups, count, rows, n * ho * wo // count))
            samples.append(((cols,), {**params, "shape": x_shape}))
    return samples


defsamples(im2col)(_window_samples)
defsamples(col2im)(lambda rng: _window_samples(rng, adjoint=True))
