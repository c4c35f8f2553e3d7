"""Matrix products: matmul (1-D, 2-D, batched, broadcast batch dims) and fused linear."""

from __future__ import annotations

from ..core.op import defsamples, defvjp, primitive
from ..core.tape import unbroadcast


@primitive("matmul", fresh=True)
def matmul(xp, a, b):
    """a @ b with NumPy's matmul rules"""
    return a @ b


@defvjp(matmul, reads=("inputs",))
def _(node, g):
    a, b = node.inputs
    xp = node.xp
    # Treat 1-D operands as matrices, then undo that on the way out.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if b.ndim == 1:  # first, so that a 0-d gradient (1-D @ 1-D) can take both axes
        g2 = g2[..., None]
    if a.ndim == 1:
        g2 = g2[..., None, :]
    ga = gb = None
    if node.needs_grad(0):
        ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape, "matmul").reshape(a.shape)
    if node.needs_grad(1):
        gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape, "matmul").reshape(b.shape)
    return ga, gb


@primitive("linear", fresh=True)
def linear(xp, x, weight, bias=None):
    """x @ weight.T + bias, in one pass (MegEngine's weight layout: (out, in))"""
    out = x @ weight.T
    if bias is not None:
        out += bias
    return out


@defvjp(linear, reads=("inputs",))
def _(node, g):
    x, weight = node.inputs[0], node.inputs[1]
    gx = g @ weight if node.needs_grad(0) else None
    gw = gb = None
    if node.needs_grad(1):
        g2 = g.reshape(-1, g.shape[-1])
        gw = g2.T @ x.reshape(-1, x.shape[-1])
    if len(node.inputs) > 2 and node.needs_grad(2):
        g2 = g.reshape(-1, g.shape[-1])
        # column sums through BLAS: about twice as fast as g2.sum(axis=0) on tall gradients
        gb = node.xp.ones(g2.shape[0], dtype=g2.dtype) @ g2
    return (gx, gw, gb)[: len(node.inputs)]


def _mat(rng, *shape):
    return rng.normal(size=shape)


defsamples(matmul)(
    lambda rng: [
        ((_mat(rng, 2, 3), _mat(rng, 3, 4)), {}),
        ((_mat(rng, 3), _mat(rng, 3, 4)), {}),
        ((_mat(rng, 2, 3), _mat(rng, 3)), {}),
        ((_mat(rng, 3), _mat(rng, 3)), {}),
        ((_mat(rng, 2, 2, 3), _mat(rng, 3, 4)), {}),
        ((_mat(rng, 2, 1, 2, 3), _mat(rng, 3, 3, 2)), {}),
        ((_mat(rng, 3), _mat(rng, 2, 3, 4)), {}),
    ]
)
defsamples(linear)(
    lambda rng: [
        ((_mat(rng, 4, 3), _mat(rng, 2, 3), _mat(rng, 2)), {}),
        ((_mat(rng, 2, 4, 3), _mat(rng, 5, 3), _mat(rng, 5)), {}),
        ((_mat(rng, 4, 3), _mat(rng, 2, 3)), {}),
    ]
)
