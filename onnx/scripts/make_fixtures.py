#!/usr/bin/env python3
"""Exports the ONNX fixtures of PolyPI's importer tests and records PyTorch's outputs on fixed inputs.

Run from anywhere:  python3 onnx/scripts/make_fixtures.py
It installs what it needs (Debian's python3-torch, python3-onnx, python3-torchvision, python3-numpy, with apt-get)
and re-runs itself under /usr/bin/python3, where those packages live. The outputs go to
onnx/src/test/resources/org/polypi/onnx/fixtures/ and are committed, so the Java tests need no Python.

Fixtures: the reference networks W1-W4 of docs/workloads (W4 at 1/8 width to keep the files small) with ReLU,
PILLAR's degree-4 polynomial and HerPN (degree 2) at every activation site, plus torchvision's ResNet-18 (its own
forward code, every convolution at 1/8 width) with the PILLAR polynomial. Each fixture is <name>.onnx plus
<name>.expected.txt, which holds PyTorch's logits for `batch` inputs drawn from a 64-bit LCG that the Java tests
reproduce bit for bit (every input value is a multiple of 2^-23 in [-1, 1), exact in float32).

The networks get random weights (seeded), then their BatchNorm statistics are calibrated on random data, so every
activation input is roughly unit-variance, as after training; the script checks that every polynomial input of the
fixed inputs stays inside PILLAR's range [-5, 5].
"""

import hashlib
import math
import os
import subprocess
import sys

DEBIAN_PACKAGES = ["python3-torch", "python3-onnx", "python3-torchvision", "python3-numpy"]
SYSTEM_PYTHON = "/usr/bin/python3"


def ensure_packages():
    """Imports torch/onnx/torchvision, installing the Debian packages and re-executing under Debian's python."""
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        return
    except ImportError:
        pass
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import torch, onnx, torchvision, numpy"],
                               capture_output=True)
        if probe.returncode == 0:
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + DEBIAN_PACKAGES,
                   check=True, env=env)
    os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)


ensure_packages()

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "org", "polypi",
                       "onnx", "fixtures")
BATCH = 3
CLIP = 5.0
# PILLAR's released degree-4 polynomial (322 + 512 x + 160 x^2 - 3 x^4) / 1024, lowest power first.
PILLAR_COEFFICIENTS = [322 / 1024, 512 / 1024, 160 / 1024, 0.0, -3 / 1024]
# Hermite coefficients of ReLU (AESPA): f1 = 1/2, f2 = 1/sqrt(4 pi).
HERMITE_F1 = 0.5
HERMITE_F2 = 1 / math.sqrt(4 * math.pi)

LCG_MULTIPLIER = 6364136223846793005
LCG_INCREMENT = 1442695040888963407
MASK64 = (1 << 64) - 1


def lcg_inputs(seed, count):
    """count values in [-1, 1): state = state * M + C (mod 2^64), value = (state >>> 40) / 2^23 - 1."""
    values = np.empty(count, dtype=np.float32)
    state = seed & MASK64
    for i in range(count):
        state = (state * LCG_MULTIPLIER + LCG_INCREMENT) & MASK64
        values[i] = (state >> 40) / float(1 << 23) - 1.0
    return values


class PillarPoly(nn.Module):
    """PILLAR's activation: a public polynomial; inputs are clipped to [-r, r] while training only (by default)."""

    def __init__(self, coefficients, clip, clamp_in_eval=False):
        super().__init__()
        self.coefficients = list(coefficients)
        self.clip = clip
        self.clamp_in_eval = clamp_in_eval

    def forward(self, x):
        if self.training or self.clamp_in_eval:
            x = torch.clamp(x, -self.clip, self.clip)
        y = self.coefficients[0] + self.coefficients[1] * x
        for k in range(2, len(self.coefficients)):
            if self.coefficients[k] != 0.0:
                y = y + self.coefficients[k] * x ** k
        return y


class HerPN(nn.Module):
    """AESPA's HerPN of degree 2: basis-wise normalised Hermite terms h1 = x, h2 = (x^2 - 1)/sqrt(2), mixed with
    ReLU's Hermite coefficients, then a learned per-channel scale and shift. Replaces BatchNorm + ReLU."""

    def __init__(self, channels, spatial):
        super().__init__()
        norm = nn.BatchNorm2d if spatial else nn.BatchNorm1d
        self.bn1 = norm(channels, affine=False)
        self.bn2 = norm(channels, affine=False)
        shape = (1, channels, 1, 1) if spatial else (1, channels)
        self.gamma = nn.Parameter(torch.empty(shape).uniform_(0.5, 0.7))
        self.beta = nn.Parameter(torch.empty(shape).uniform_(-0.1, 0.1))

    def forward(self, x):
        h2 = (x * x - 1.0) / math.sqrt(2.0)
        y = HERMITE_F1 * self.bn1(x) + HERMITE_F2 * self.bn2(h2)
        return self.gamma * y + self.beta


def activation(kind, channels, spatial, clamp_in_eval=False):
    if kind == "relu":
        return nn.ReLU()
    if kind == "pillar":
        return PillarPoly(PILLAR_COEFFICIENTS, CLIP, clamp_in_eval)
    if kind == "herpn":
        return HerPN(channels, spatial)
    raise ValueError(kind)


def norm_act(kind, channels, spatial, clamp_in_eval=False):
    """BatchNorm + activation, or HerPN alone (it absorbs the BatchNorm)."""
    if kind == "herpn":
        return activation(kind, channels, spatial)
    norm = nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)
    return nn.Sequential(norm, activation(kind, channels, spatial, clamp_in_eval))


class Mlp(nn.Module):
    """W1: flatten, fc 784-128, act, fc 128-128, act, fc 128-10; the last layer written as x @ W + b, which
    exports as MatMul + Add (as hand-written layers and some exporters emit it)."""

    def __init__(self, kind):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 128, bias=False)
        self.act1 = norm_act(kind, 128, False)
        self.fc2 = nn.Linear(128, 128, bias=False)
        self.act2 = norm_act(kind, 128, False)
        bound = 1 / math.sqrt(128)
        self.fc3_weight = nn.Parameter(torch.empty(128, 10).uniform_(-bound, bound))
        self.fc3_bias = nn.Parameter(torch.empty(10).uniform_(-bound, bound))

    def forward(self, x):
        x = self.act1(self.fc1(self.flatten(x)))
        x = self.act2(self.fc2(x))
        return torch.matmul(x, self.fc3_weight) + self.fc3_bias


class LeNet(nn.Module):
    """W2: conv 1-20 5x5, act, avgpool 2, conv 20-50 5x5, act, avgpool 2, reshape, fc 800-500, act, fc 500-10."""

    def __init__(self, kind, clamp_in_eval=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, bias=False)
        self.act1 = norm_act(kind, 20, True, clamp_in_eval)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(20, 50, 5, bias=False)
        self.act2 = norm_act(kind, 50, True, clamp_in_eval)
        self.pool2 = nn.AvgPool2d(2)
        self.fc3 = nn.Linear(800, 500, bias=False)
        self.act3 = norm_act(kind, 500, False, clamp_in_eval)
        self.fc4 = nn.Linear(500, 10)

    def forward(self, x):
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        x = x.reshape(-1, 800)
        return self.fc4(self.act3(self.fc3(x)))


class MiniONNFashion(nn.Module):
    """W3 for Fashion-MNIST: the 28x28 image zero-padded by 2 (F.pad, folded into the first convolution by the
    importer), then MiniONN's conv 3x3 64 pad 1 x2, avgpool, x2, avgpool, conv 3x3, conv 1x1 64, conv 1x1 16, fc."""

    def __init__(self, kind):
        super().__init__()
        layers = []
        spec = [(1, 64, 3, 1), (64, 64, 3, 1), "pool", (64, 64, 3, 1), (64, 64, 3, 1), "pool", (64, 64, 3, 1),
                (64, 64, 1, 0), (64, 16, 1, 0)]
        for s in spec:
            if s == "pool":
                layers.append(nn.AvgPool2d(2))
            else:
                cin, cout, k, p = s
                layers.append(nn.Conv2d(cin, cout, k, padding=p, bias=False))
                layers.append(norm_act(kind, cout, True))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(1024, 10)

    def forward(self, x):
        x = F.pad(x, (2, 2, 2, 2))
        return self.fc(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, kind, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.act1 = norm_act(kind, cout, True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.act2 = activation(kind, cout, True)

    def forward(self, x):
        y = self.bn2(self.conv2(self.act1(self.conv1(x))))
        return self.act2(y + self.shortcut(x))


class CifarResNet18(nn.Module):
    """W4: CIFAR ResNet-18 (3x3 stem, 4 stages of 2 basic blocks, global average pool, fc), widths divided by 8."""

    def __init__(self, kind, widths=(8, 16, 32, 64)):
        super().__init__()
        self.stem = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.stem_act = norm_act(kind, widths[0], True)
        blocks = []
        cin = widths[0]
        for s, w in enumerate(widths):
            for b in range(2):
                blocks.append(BasicBlock(kind, cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], 10)

    def forward(self, x):
        x = self.layers(self.stem_act(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def narrowed(module, divisor, keep_in=3):
    """Replaces every Conv2d / BatchNorm2d / Linear of a torchvision model by one with 1/divisor of its channels
    (the image's 3 input channels and the 10 logits stay), so the structure and forward code stay torchvision's."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d):
            cin = child.in_channels if child.in_channels == keep_in else child.in_channels // divisor
            setattr(module, name, nn.Conv2d(cin, child.out_channels // divisor, child.kernel_size, child.stride,
                                            child.padding, bias=child.bias is not None))
        elif isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.BatchNorm2d(child.num_features // divisor))
        elif isinstance(child, nn.Linear):
            setattr(module, name, nn.Linear(child.in_features // divisor, child.out_features))
        else:
            narrowed(child, divisor, keep_in)
    return module


def torchvision_resnet18_pillar():
    model = narrowed(torchvision.models.resnet18(weights=None, num_classes=10), 8)
    for m in list(model.modules()):
        if hasattr(m, "relu") and isinstance(m.relu, nn.ReLU):
            m.relu = PillarPoly(PILLAR_COEFFICIENTS, CLIP)
    return model


def randomize_norms(model, generator):
    """Random BatchNorm affine parameters. The last BatchNorm of a residual branch and of a shortcut get small
    scales, so the residual stream grows slowly with depth, as a range-regularised PILLAR network's does (and as
    torchvision's zero_init_residual intends)."""
    for name, m in model.named_modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            residual = name.endswith("bn2") or ".shortcut." in name or ".downsample." in name
            low, high = (0.2, 0.4) if residual else (0.6, 0.9)
            with torch.no_grad():
                m.weight.uniform_(low, high, generator=generator)
                m.bias.uniform_(-0.1, 0.1, generator=generator)


def calibrate(model, input_shape, generator, batches=4, batch_size=32):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.rand((batch_size,) + input_shape, generator=generator) * 2 - 1)
    model.eval()


def polynomial_input_range(model, x, kind):
    """Largest |input| of any activation module of the given kind on x (eval mode)."""
    largest = [0.0]

    def hook(_module, inputs, _output):
        largest[0] = max(largest[0], float(inputs[0].abs().max()))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kind)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return largest[0]


def export(name, model, input_shape, seed, opset, dynamic_batch):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    randomize_norms(model, generator)
    calibrate(model, input_shape, generator)
    x = torch.from_numpy(lcg_inputs(seed, BATCH * int(np.prod(input_shape)))).reshape((BATCH,) + input_shape)
    with torch.no_grad():
        logits = model(x)
    # PILLAR's polynomial is only meant for [-r, r]; HerPN's quadratics see raw convolution outputs (reported only)
    largest = polynomial_input_range(model, x, PillarPoly)
    if largest >= CLIP:
        raise SystemExit(f"{name}: a PILLAR polynomial input reaches {largest:.3f}, outside [-{CLIP}, {CLIP}]")
    largest = max(largest, polynomial_input_range(model, x, HerPN))
    path = os.path.join(OUT_DIR, name + ".onnx")
    dynamic = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    example = x if dynamic_batch else x[:1]
    torch.onnx.export(model, example, path, input_names=["input"], output_names=["logits"], opset_version=opset,
                      do_constant_folding=True, dynamic_axes=dynamic)
    onnx.checker.check_model(onnx.load(path))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(OUT_DIR, name + ".expected.txt"), "w") as f:
        f.write(f"# PyTorch {torch.__version__} (onnx {onnx.__version__}) logits of {name}.onnx; written by "
                f"onnx/scripts/make_fixtures.py\n")
        f.write(f"onnx_sha256={digest}\n")
        f.write(f"opset={opset}\n")
        f.write(f"dynamic_batch={str(dynamic_batch).lower()}\n")
        f.write(f"seed={seed}\n")
        f.write(f"batch={BATCH}\n")
        f.write("input_shape=" + ",".join(str(d) for d in input_shape) + "\n")
        f.write(f"max_polynomial_input={largest:.6f}\n")
        f.write("logits=" + " ".join(f"{v:.9g}" for v in logits.flatten().tolist()) + "\n")
    size = os.path.getsize(path)
    print(f"{name}: opset {opset}, {size / 1e6:.2f} MB, max polynomial input {largest:.3f}")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(2)
    mnist = (1, 28, 28)
    cifar = (3, 32, 32)
    fixtures = [
        ("mlp-relu", lambda: Mlp("relu"), mnist, 11, True),
        ("mlp-pillar", lambda: Mlp("pillar"), mnist, 13, False),
        ("mlp-herpn", lambda: Mlp("herpn"), mnist, 17, True),
        ("lenet-relu", lambda: LeNet("relu"), mnist, 14, False),
        # clamps at inference too: the importer must drop the Clip with a notice (PILLAR clips only in training)
        ("lenet-pillar", lambda: LeNet("pillar", clamp_in_eval=True), mnist, 11, True),
        ("lenet-herpn", lambda: LeNet("herpn"), mnist, 13, False),
        ("minionn-fmnist-relu", lambda: MiniONNFashion("relu"), mnist, 17, True),
        ("minionn-fmnist-pillar", lambda: MiniONNFashion("pillar"), mnist, 14, False),
        ("minionn-fmnist-herpn", lambda: MiniONNFashion("herpn"), mnist, 12, True),
        ("resnet18-relu", lambda: CifarResNet18("relu"), cifar, 13, True),
        ("resnet18-pillar", lambda: CifarResNet18("pillar"), cifar, 17, False),
        ("resnet18-herpn", lambda: CifarResNet18("herpn"), cifar, 11, True),
        ("tv-resnet18-pillar", torchvision_resnet18_pillar, (3, 64, 64), 17, True),
    ]
    only = set(sys.argv[1:])
    for seed, (name, build, shape, opset, dynamic) in enumerate(fixtures, start=1):
        if not only or name in only:
            torch.manual_seed(seed)
            export(name, build(), shape, seed, opset, dynamic)


if __name__ == "__main__":
    main()
