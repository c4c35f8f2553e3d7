"""Convolution and pooling primitives over NCHW images, vectorised for NumPy and CuPy.

conv2d is im2col plus one (group-batched) matmul; its input gradient is col2im. The only
Python loops anywhere here run over the kh * kw kernel offsets, each one a strided slice
covering every image and output pixel at once, never over pixels.

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


# ---- conv2d -------------------------------------------------------------------------------


@primitive("im2col")
def im2col(xp, x, *, kernel, stride, padding, dilation, groups, out_hw):
    """columns (groups, C/groups * kh * kw, N * Ho * Wo) of x's kernel windows: the one copy
    of the input conv2d makes, laid out so the convolution is a single batched matmul"""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    x = _pad_hw(xp, x, padding)
    window = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    view = xp.lib.stride_tricks.sliding_window_view(x, window, axis=(2, 3))
    view = view[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kh, kw), still a view
    view = view.transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, Ho, Wo)
    return view.reshape(groups, (c // groups) * kh * kw, n * ho * wo)


@primitive("col2im")
def col2im(xp, cols, *, shape, kernel, stride, padding, dilation, out_hw):
    """im2col's adjoint: each column entry added back onto the pixel it was read from"""
    n, c, h, w = shape
    (kh, kw), (ph, pw), (ho, wo) = kernel, padding, out_hw
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    # channels first so each offset's update is one contiguous-ish strided add
    grad = xp.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i, j, index in _offsets(kernel, stride, dilation, out_hw):
        grad[index] += cols[:, i, j]
    return xp.ascontiguousarray(_unpad_hw(grad, shape, padding).transpose(1, 0, 2, 3))


@defvjp(im2col)
def _(node, g):
    p = node.params
    window = {k: p[k] for k in ("kernel", "stride", "padding", "dilation", "out_hw")}
    return (col2im(node.xp, g, shape=node.inputs[0].shape, **window),)


@defvjp(col2im)
def _(node, g):
    p = node.params
    window = {k: p[k] for k in ("kernel", "stride", "padding", "dilation", "out_hw")}
    return (im2col(node.xp, g, groups=node.inputs[0].shape[0], **window),)


@primitive("conv2d", residual=True)
def conv2d(xp, x, weight, bias=None, *, stride, padding, dilation, groups):
    """cross-correlation of NCHW x with weight (out, in/groups, kh, kw), plus bias"""
    n = x.shape[0]
    out_ch, _, kh, kw = weight.shape
    ho, wo = _out_hw(x.shape, (kh, kw), stride, padding, dilation)
    window = {"stride": stride, "padding": padding, "dilation": dilation, "out_hw": (ho, wo)}
    cols = im2col(xp, x, kernel=(kh, kw), groups=groups, **window)
    out = weight.reshape(groups, out_ch // groups, -1) @ cols  # (G, O/G, N*Ho*Wo)
    out = xp.ascontiguousarray(out.reshape(out_ch, n, ho, wo).transpose(1, 0, 2, 3))
    if bias is not None:
        out += bias
    return out, cols


@defvjp(conv2d)
def _(node, g):
    xp, params = node.xp, node.params
    x, weight = node.inputs[0], node.inputs[1]
    groups = params["groups"]
    out_ch, _, kh, kw = weight.shape
    # (N, O, Ho, Wo) -> (G, O/G, N*Ho*Wo), the layout of the forward's matmul result
    g_mat = g.transpose(1, 0, 2, 3).reshape(groups, out_ch // groups, -1)
    gx = gw = gb = None
    if node.needs_grad(1):
        gw = (g_mat @ xp.swapaxes(node.res, 1, 2)).reshape(weight.shape)
    if node.needs_grad(0):
        w_mat = weight.reshape(groups, out_ch // groups, -1)
        cols = xp.swapaxes(w_mat, 1, 2) @ g_mat  # (G, C/G*kh*kw, N*Ho*Wo)
        window = {k: params[k] for k in ("stride", "padding", "dilation")}
        gx = col2im(xp, cols, shape=x.shape, kernel=(kh, kw), out_hw=g.shape[2:], **window)
    if len(node.inputs) > 2 and node.needs_grad(2):
        gb = g.sum(axis=(0, 2, 3), keepdims=True)
    return (gx, gw, gb)[: len(node.inputs)]


# ---- pooling ------------------------------------------------------------------------------


@primitive("max_pool2d")
def max_pool2d(xp, x, *, kernel_size, stride, padding):
    """maximum over each kernel window; padding never wins"""
    out_hw = _out_hw(x.shape, kernel_size, stride, padding)
    padded = _pad_hw(xp, x, padding, -xp.inf)
    out = None
    for _, _, index in _offsets(kernel_size, stride, (1, 1), out_hw):
        if out is None:
            out = padded[index].copy()
        else:
            xp.maximum(out, padded[index], out=out)
    return out


@defvjp(max_pool2d)
def _(node, g):
    # MegEngine's rule: every element equal to its window's maximum gets the full gradient
    xp, x, params = node.xp, node.inputs[0], node.params
    padding = params["padding"]
    padded = _pad_hw(xp, x, padding, -xp.inf)
    grad = xp.zeros(padded.shape, dtype=g.dtype)
    for _, _, index in _offsets(params["kernel_size"], params["stride"], (1, 1), g.shape[2:]):
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
    padded = _pad_hw(xp, x, padding)
    out = None
    for _, _, index in _offsets(kernel_size, stride, (1, 1), out_hw):
        if out is None:
            out = padded[index].copy()
        else:
            out += padded[index]
    params = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "mode": mode}
    out /= _avg_divisor(xp, x.shape, params, out_hw, x.dtype)
    return out


@defvjp(avg_pool2d)
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
    samples = []
    for x_shape, w_shape, _, stride, padding, dilation, groups in _CONV_CASES:
        kernel = w_shape[2:]
        out_hw = _out_hw(x_shape, kernel, stride, padding, dilation)
        window = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
        window["out_hw"] = out_hw
        if not adjoint:
            samples.append(((rng.normal(size=x_shape),), {**window, "groups": groups}))
            continue
        rows = (x_shape[1] // groups) * kernel[0] * kernel[1]
        cols = rng.normal(size=(groups, rows, x_shape[0] * out_hw[0] * out_hw[1]))
        samples.append(((cols,), {**window, "shape": x_shape}))
    return samples


defsamples(im2col)(_window_samples)
defsamples(col2im)(lambda rng: _window_samples(rng, adjoint=True))
