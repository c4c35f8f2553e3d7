"""Layers of issue 14 against MegEngine 1.13: Conv1d, ConvTranspose2d, AvgPool2d, LayerNorm,
GroupNorm, InstanceNorm and Embedding: parameter names and shapes, attributes, reprs, init,
and forward values recorded from MegEngine with the same weights loaded."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.module as M
from engine.random import seed

T = mge.tensor


def A(*shape, k=1.0):  # noqa: N802 - short name for the recorded expressions
    """Deterministic data: sin of a ramp, the expression the recording used."""
    return np.sin(np.arange(int(np.prod(shape))) * 0.7 + k).reshape(shape).astype("float32")


# (constructor, repr, state_dict shapes) as MegEngine 1.13 gives them; MegEngine's own
# Conv1d repr raises TypeError (it calls len() on an int), ours prints the plain ints.
STRUCTURE = [
    ("M.Conv1d(3, 4, 3)", "Conv1d(3, 4, kernel_size=3)", {"bias": (1, 4, 1), "weight": (4, 3, 3)}),
    (
        "M.Conv1d(4, 6, 2, stride=2, padding=1, dilation=2, groups=2, bias=False)",
        "Conv1d(4, 6, kernel_size=2, stride=2, padding=1, dilation=2, groups=2, bias=False)",
        {"weight": (2, 3, 2, 2)},
    ),
    (
        "M.ConvTranspose2d(3, 4, 3)",
        "ConvTranspose2d(3, 4, kernel_size=(3, 3))",
        {"bias": (1, 4, 1, 1), "weight": (3, 4, 3, 3)},
    ),
    (
        "M.ConvTranspose2d(4, 6, (2, 3), stride=2, padding=1, output_padding=1, groups=2,"
        " bias=False)",
        "ConvTranspose2d(4, 6, kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), groups=2,"
        " bias=False)",
        {"weight": (2, 2, 3, 2, 3)},
    ),
    (
        "M.AvgPool2d(2)",
        "AvgPool2d(kernel_size=2, stride=2, padding=0, mode=average_count_exclude_padding)",
        {},
    ),
    (
        "M.AvgPool2d(3, 2, 1, mode='average')",
        "AvgPool2d(kernel_size=3, stride=2, padding=1, mode=average)",
        {},
    ),
    (
        "M.LayerNorm(4)",
        "LayerNorm(normalized_shape=(4,), eps=1e-05, affine=True)",
        {"bias": (4,), "weight": (4,)},
    ),
    (
        "M.LayerNorm((3, 4), eps=1e-3, affine=False)",
        "LayerNorm(normalized_shape=(3, 4), eps=0.001, affine=False)",
        {},
    ),
    (
        "M.GroupNorm(2, 4)",
        "GroupNorm(groups=2, channels=4, eps=1e-05, affine=True)",
        {"bias": (4,), "weight": (4,)},
    ),
    (
        "M.GroupNorm(3, 6, eps=1e-3, affine=False)",
        "GroupNorm(groups=3, channels=6, eps=0.001, affine=False)",
        {},
    ),
    (
        "M.InstanceNorm(3)",
        "InstanceNorm(channels=3, eps=1e-05, affine=True)",
        {"bias": (3,), "weight": (3,)},
    ),
    ("M.InstanceNorm(3, affine=False)", "InstanceNorm(channels=3, eps=1e-05, affine=False)", {}),
    ("M.Embedding(5, 3)", "Embedding()", {"weight": (5, 3)}),
]


@pytest.mark.parametrize(("ctor", "text", "shapes"), STRUCTURE, ids=[s[0] for s in STRUCTURE])
def test_structure_matches_megengine(ctor, text, shapes):
    m = eval(ctor)
    assert repr(m) == text
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == shapes
    assert {n: tuple(p.shape) for n, p in m.named_parameters()} == shapes


def test_attributes_match_megengine():
    c1 = M.Conv1d(4, 6, 2, stride=2, padding=1, dilation=2, groups=2, bias=False)
    assert (c1.kernel_size, c1.stride, c1.padding, c1.output_padding, c1.dilation) == (
        2,
        2,
        1,
        0,
        2,
    )
    assert (c1.padding_mode, c1.conv_mode, c1.compute_mode) == (
        "zeros",
        "cross_correlation",
        "default",
    )
    ct = M.ConvTranspose2d(4, 6, (2, 3), stride=2, padding=1, output_padding=1, groups=2)
    assert (ct.kernel_size, ct.stride, ct.padding, ct.output_padding, ct.dilation) == (
        (2, 3),
        (2, 2),
        (1, 1),
        (1, 1),
        (1, 1),
    )
    gn = M.GroupNorm(3, 6, eps=1e-3, affine=False)
    assert (gn.num_groups, gn.num_channels, gn.eps, gn.affine, gn.weight, gn.bias) == (
        3,
        6,
        1e-3,
        False,
        None,
        None,
    )
    emb = M.Embedding(5, 3)
    assert (emb.num_embeddings, emb.embedding_dim, emb.freeze, emb.padding_idx) == (
        5,
        3,
        False,
        None,
    )
    assert M.LayerNorm(4).normalized_shape == (4,)


def test_init_follows_megengine():
    seed(0)
    # conv weights ~ N(0, 1 / fan_in), fan_in = k * in (Conv1d), kh * kw * out (ConvTranspose2d)
    c1 = M.Conv1d(64, 32, 5)
    assert c1.weight.numpy().std() == pytest.approx((1 / (5 * 64)) ** 0.5, rel=0.05)
    ct = M.ConvTranspose2d(32, 64, 3)
    assert ct.weight.numpy().std() == pytest.approx((1 / (9 * 64)) ** 0.5, rel=0.05)
    assert not c1.bias.numpy().any() and not ct.bias.numpy().any()
    emb = M.Embedding(200, 50)
    assert emb.weight.numpy().std() == pytest.approx(1.0, rel=0.05)
    ln = M.GroupNorm(2, 4)
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros(4))


# (constructor, input, output shape, output) with every state_dict entry, in sorted key
# order i, loaded as A(*shape, k=2.0 + i)
FORWARD = [
    (
        "M.Conv1d(3, 4, 3, stride=2, padding=1)",
        "A(2, 3, 7)",
        (2, 4, 4),
        [
            [
                [-1.8623192310333252, -0.6310974955558777, 2.793760299682617, 2.9396748542785645],
                [-2.350670337677002, -1.120678186416626, 2.3326504230499268, 2.486781120300293],
                [-3.0392396450042725, -1.8108245134353638, 1.6699979305267334, 1.8323016166687012],
                [-3.6068365573883057, -2.3803465366363525, 1.1269862651824951, 1.2974169254302979],
            ],
            [
                [2.1942217350006104, 3.5732386112213135, 1.5006868839263916, -0.07034873962402344],
                [1.730149269104004, 3.1143860816955566, 1.0172789096832275, -0.58655846118927],
                [1.0647050142288208, 2.4537694454193115, 0.3327006995677948, -1.3034846782684326],
                [0.5190725326538086, 1.9125721454620361, -0.23185890913009644, -1.8999298810958862],
            ],
        ],
    ),
    (
        "M.Conv1d(2, 2, 3, padding=1, padding_mode='reflect', bias=False)",
        "A(1, 2, 5)",
        (1, 2, 5),
        [
            [
                [
                    3.327939510345459,
                    2.9600982666015625,
                    2.0553205013275146,
                    0.18389344215393066,
                    -1.5562191009521484,
                ],
                [
                    0.4043973386287689,
                    0.013111916370689869,
                    -0.68720942735672,
                    -1.0643254518508911,
                    0.2297486960887909,
                ],
            ]
        ],
    ),
    (
        "M.ConvTranspose2d(2, 3, 3, stride=2, padding=1)",
        "A(1, 2, 2, 3)",
        (1, 3, 3, 5),
        [
            [
                [
                    [
                        0.8888344764709473,
                        0.27748119831085205,
                        0.6053570508956909,
                        0.11640894412994385,
                        0.4648274779319763,
                    ],
                    [
                        0.3621125817298889,
                        0.5314654111862183,
                        1.286118984222412,
                        1.717771291732788,
                        2.032900094985962,
                    ],
                    [
                        0.5333390831947327,
                        0.8133584260940552,
                        0.7786697149276733,
                        1.3435938358306885,
                        1.0854365825653076,
                    ],
                ],
                [
                    [
                        0.40596356987953186,
                        -0.20122107863426208,
                        0.13254055380821228,
                        -0.3486615717411041,
                        -0.0022148489952087402,
                    ],
                    [
                        -0.13127055764198303,
                        0.04689440131187439,
                        0.7990658283233643,
                        1.2428234815597534,
                        1.5545923709869385,
                    ],
                    [
                        0.06507483124732971,
                        0.3490963578224182,
                        0.3027622401714325,
                        0.8661283254623413,
                        0.5990592837333679,
                    ],
                ],
                [
                    [
                        -0.27790483832359314,
                        -0.8807491064071655,
                        -0.5411960482597351,
                        -1.0145161151885986,
                        -0.6701391935348511,
                    ],
                    [
                        -0.8254989385604858,
                        -0.6385725736618042,
                        0.11090412735939026,
                        0.5666418075561523,
                        0.8749622106552124,
                    ],
                    [
                        -0.6040904521942139,
                        -0.3161470293998718,
                        -0.37411344051361084,
                        0.1875353455543518,
                        -0.08837005496025085,
                    ],
                ],
            ]
        ],
    ),
    (
        "M.ConvTranspose2d(4, 2, 2, groups=2, bias=False)",
        "A(1, 4, 2, 2)",
        (1, 2, 3, 3),
        [
            [
                [
                    [1.3746585845947266, 2.6668174266815186, 1.1135045289993286],
                    [1.3300716876983643, 0.10757601261138916, -1.0953432321548462],
                    [-0.09920289367437363, -1.0433018207550049, -0.2502896189689636],
                ],
                [
                    [0.28103724122047424, 1.5970276594161987, 1.388905644416809],
                    [1.8808739185333252, 3.9322621822357178, 1.279136061668396],
                    [1.0880367755889893, 0.6765588521957397, -0.12210728228092194],
                ],
            ]
        ],
    ),
    (
        "M.AvgPool2d(2)",
        "A(1, 2, 4, 4)",
        (1, 2, 2, 2),
        [
            [
                [
                    [0.060936957597732544, -0.13507187366485596],
                    [0.14042069017887115, -0.0510152131319046],
                ],
                [
                    [0.15687406063079834, 0.05594049394130707],
                    [0.10291162133216858, 0.13778634369373322],
                ],
            ]
        ],
    ),
    (
        "M.AvgPool2d(3, 2, 1, mode='average')",
        "A(1, 1, 5, 5)",
        (1, 1, 3, 3),
        [
            [
                [
                    [-0.003094328800216317, 0.08476874977350235, 0.06574453413486481],
                    [-0.16025985777378082, -0.006078786216676235, 0.15576720237731934],
                    [-0.06393671035766602, -0.0873112827539444, -0.0005926026497036219],
                ]
            ]
        ],
    ),
    (
        "M.AvgPool2d(3, 2, 1)",
        "A(1, 1, 5, 5)",
        (1, 1, 3, 3),
        [
            [
                [
                    [-0.006962239742279053, 0.12715312838554382, 0.14792519807815552],
                    [-0.24038980901241302, -0.006078779697418213, 0.233650803565979],
                    [-0.14385759830474854, -0.1309669315814972, -0.0013333708047866821],
                ]
            ]
        ],
    ),
    (
        "M.LayerNorm(4)",
        "A(2, 3, 4)",
        (2, 3, 4),
        [
            [
                [0.9888355731964111, -0.09118887782096863, -0.3552694022655487, 0.706683874130249],
                [0.9687857031822205, 1.0222136974334717, 0.43474945425987244, -2.1389787197113037],
                [0.6917206048965454, 0.12136310338973999, -1.3250622749328613, -0.6704257726669312],
            ],
            [
                [1.1399682760238647, 0.44215384125709534, 0.6373189687728882, -0.19944608211517334],
                [0.69310063123703, 0.5536516904830933, -0.9833136796951294, -1.749223232269287],
                [1.1102972030639648, 0.216594398021698, 0.3483838140964508, 0.2811363935470581],
            ],
        ],
    ),
    (
        "M.LayerNorm((3, 4), affine=False)",
        "A(2, 3, 4)",
        (2, 3, 4),
        [
            [
                [0.8852074146270752, 1.0956897735595703, 0.6525633335113525, -0.2357627898454666],
                [-1.1514947414398193, -1.6639496088027954, -1.5321118831634521, -0.817986786365509],
                [0.1425614356994629, 0.897771954536438, 1.0924574136734009, 0.6350542306900024],
            ],
            [
                [0.2310541868209839, -0.7158985733985901, -1.2344642877578735, -1.0807534456253052],
                [-0.3270585536956787, 0.6721458435058594, 1.4469181299209595, 1.632871150970459],
                [1.1425480842590332, 0.20655545592308044, -0.7348946928977966, -1.2390235662460327],
            ],
        ],
    ),
    (
        "M.GroupNorm(2, 4)",
        "A(2, 4, 3, 2)",
        (2, 4, 3, 2),
        [
            [
                [
                    [1.0342178344726562, 1.0639212131500244],
                    [1.001387119293213, 0.8760265707969666],
                    [0.7467985153198242, 0.6744808554649353],
                ],
                [
                    [1.2391480207443237, 0.8607787489891052],
                    [0.3518456816673279, -0.04829210042953491],
                    [-0.1514434814453125, 0.09090521931648254],
                ],
                [
                    [-0.4754127562046051, 0.4257095158100128],
                    [0.919177770614624, 0.7729060649871826],
                    [0.05568850040435791, -0.8951565027236938],
                ],
                [
                    [-2.157855272293091, -2.3300132751464844],
                    [-1.8760648965835571, -1.0095092058181763],
                    [-0.13790088891983032, 0.32882899045944214],
                ],
            ],
            [
                [
                    [0.7421603798866272, 0.8522903919219971],
                    [0.9962271451950073, 1.1062748432159424],
                    [1.13067626953125, 1.057955265045166],
                ],
                [
                    [0.37851089239120483, 0.8844985961914062],
                    [1.149232029914856, 1.0482028722763062],
                    [0.6289266347885132, 0.08859562873840332],
                ],
                [
                    [-1.1483325958251953, -1.288405418395996],
                    [-0.8124426603317261, 0.05570296198129654],
                    [0.907728910446167, 1.3429142236709595],
                ],
                [
                    [0.5555812120437622, -0.1451130211353302],
                    [-1.0356734991073608, -1.6972556114196777],
                    [-1.8187071084976196, -1.342907428741455],
                ],
            ],
        ],
    ),
    (
        "M.InstanceNorm(3)",
        "A(2, 3, 2, 2)",
        (2, 3, 2, 2),
        [
            [
                [[0.9888355731964111, 1.04741632938385], [0.9240868091583252, 0.6768507361412048]],
                [
                    [0.20403063297271729, 1.0222136974334717],
                    [0.8117220401763916, -0.32844680547714233],
                ],
                [
                    [1.211625576019287, -0.8051567077636719],
                    [-1.3250622749328613, -0.10357165336608887],
                ],
            ],
            [
                [
                    [1.1399682760238647, 0.9053623676300049],
                    [0.7768886685371399, 0.8149702548980713],
                ],
                [
                    [1.2390923500061035, 0.5536516904830933],
                    [0.022168278694152832, -0.1053929328918457],
                ],
                [
                    [-1.6109249591827393, -0.6341183185577393],
                    [0.3483837842941284, 0.8744951486587524],
                ],
            ],
        ],
    ),
    (
        "M.InstanceNorm(3, eps=1e-3, affine=False)",
        "A(1, 3, 2, 3)",
        (1, 3, 2, 3),
        [
            [
                [
                    [0.9143590331077576, 1.115919589996338, 0.6915761232376099],
                    [-0.15909618139266968, -1.0360126495361328, -1.5267459154129028],
                ],
                [
                    [-1.6849117279052734, -0.9337032437324524, 0.0767245665192604],
                    [0.8711519241333008, 1.0759470462799072, 0.5947916507720947],
                ],
                [
                    [0.9330530166625977, -0.44703781604766846, -1.2027965784072876],
                    [-0.9787780046463013, 0.11965842545032501, 1.5759010314941406],
                ],
            ]
        ],
    ),
]


@pytest.mark.parametrize(("ctor", "inp", "shape", "values"), FORWARD, ids=[f[0] for f in FORWARD])
def test_forward_matches_megengine(ctor, inp, shape, values):
    m = eval(ctor)
    m.load_state_dict(
        {key: A(*v.shape, k=2.0 + i) for i, (key, v) in enumerate(sorted(m.state_dict().items()))}
    )
    out = m(T(eval(inp)))
    assert out.shape == shape
    np.testing.assert_allclose(out.numpy(), np.asarray(values), rtol=2e-5, atol=2e-6)


def test_embedding_lookup_and_from_pretrained_match_megengine():
    m = M.Embedding(4, 3)
    m.load_state_dict({"weight": A(4, 3, k=2.0)})
    want = [
        [
            [-0.81827712059021, -0.9961646199226379, -0.7055402994155884],
            [0.9021718502044678, 0.41211849451065063, -0.27176061272621155],
        ],
        [
            [0.9092974066734314, 0.42737987637519836, -0.2555411159992218],
            [-0.81827712059021, -0.9961646199226379, -0.7055402994155884],
        ],
    ]
    np.testing.assert_allclose(m(T([[1, 3], [0, 1]])).numpy(), want, rtol=1e-6)
    pre = M.Embedding.from_pretrained(T(A(4, 3, k=2.0)))
    assert pre.freeze
    np.testing.assert_allclose(
        pre(T([2])).numpy(),
        [[-0.08308940380811691, 0.5784397721290588, 0.967919647693634]],
        rtol=1e-6,
    )


def test_frozen_embedding_gets_no_gradient():
    from engine.autodiff import GradManager

    m = M.Embedding.from_pretrained(T(A(4, 3)))
    gm = GradManager().attach(m.parameters())
    with gm:
        gm.backward(m(T([1, 2])).sum())
    assert m.weight.grad is None


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: M.Embedding(4, 3, padding_idx=0), "padding_idx"),
        (lambda: M.Embedding(4, 3, max_norm=1.0), "max_norm"),
        (lambda: M.Embedding(4, 3, initial_weight=np.ones((2, 3))), "does not match"),
        (lambda: M.Embedding.from_pretrained(np.ones(3)), "2-dimensional"),
        (lambda: M.Conv1d(3, 4, 2, groups=2), "divisible by groups"),
        (lambda: M.ConvTranspose2d(4, 3, 2, groups=2), "divisible by groups"),
        (lambda: M.GroupNorm(3, 4), "divisible by num_groups"),
        (lambda: M.Conv1d(2, 2, 3, padding_mode="circular"), "padding_mode"),
    ],
)
def test_layer_mistakes_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()
