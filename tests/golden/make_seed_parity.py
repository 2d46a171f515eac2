#!/usr/bin/python3
"""Golden values for tests/parity_test.cpp: one training step of the seed model in PyTorch.

The seed model (DESIGN.md, "The seed model") with dropout off, its weights and its input batch
set from a deterministic formula that the C++ test reproduces bit for bit, so that the golden
file holds only results, never weights. The computation runs in float64: the golden values are
the exact answer for the float32 weights and inputs, and the C++ float32 result is compared with
them at a stated tolerance.

    /usr/bin/python3 tests/golden/make_seed_parity.py            # writes tests/data/seed_parity.json

The formula (shared with tests/parity_test.cpp; change both or neither). For weight tensor t
(its index in Keras's get_weights order, 0..19) or data tensor t (100 = input images,
101 = labels, 200 + t = sample indices of big tensor t), and flat index i in OUR layout
(row-major; conv kernel (kh, kw, in, out), Dense kernel (in, out), images NHWC):
    h = (i * 2654435761 + t * 40503) mod 2^32
    h = h xor (h >> 15);  h = (h * 2246822519) mod 2^32;  h = h xor (h >> 13)
    u = h / 2^32                                   (exact in float64)
    weight = float32(scale_t * (u - 0.5)) + float32(offset_t)   (the sum in float32)
    image  = float32(u)
    label  = h mod 10
scale_t is a power of two, so scale_t * (u - 0.5) is exact in float64 and the only rounding
is the one to float32: C++ and numpy agree bit for bit.

Keras semantics reproduced (not PyTorch's where they differ):
- BatchNormalization: epsilon 1e-3, momentum 0.99; the moving variance is updated with the
  biased batch variance (PyTorch would use the unbiased one).
- Loss: sparse categorical crossentropy of the softmax output, plus the output's activity
  regularizer l2(0.001) (sum of squares) divided by the batch size (Keras divides activity
  penalties by the batch size), as the peer's loss_fn.
- Flatten runs over NHWC (h, w, c); PyTorch flattens NCHW (c, h, w), so the first Dense
  kernel's rows are permuted on the way in and its gradient's rows on the way out.
"""
import argparse, json, os
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

BATCH = 8
# Tensors with more elements than this are summarised (sum, L2 norm, max-abs, samples) to keep
# the golden file small; every other gradient is stored in full.
FULL_LIMIT = 16384
SAMPLES = 2048


def weight_specs():
    """(name, shape in our layout, scale, offset, trainable) in Keras's get_weights order."""
    specs = []

    def bn(name, n):
        specs.extend([(f"{name}/gamma", (n,), 0.5, 1.0, True), (f"{name}/beta", (n,), 0.25, 0.0, True),
                      (f"{name}/moving_mean", (n,), 0.25, 0.0, False),
                      (f"{name}/moving_variance", (n,), 0.5, 1.0, False)])

    specs += [("conv2d/kernel", (3, 3, 1, 64), 0.5, 0.0, True), ("conv2d/bias", (64,), 0.125, 0.0, True)]
    bn("batch_normalization", 64)
    specs += [("conv2d_1/kernel", (3, 3, 64, 128), 1 / 16, 0.0, True), ("conv2d_1/bias", (128,), 0.125, 0.0, True)]
    bn("batch_normalization_1", 128)
    specs += [("dense/kernel", (7 * 7 * 128, 256), 1 / 32, 0.0, True), ("dense/bias", (256,), 0.125, 0.0, True)]
    bn("batch_normalization_2", 256)
    specs += [("dense_1/kernel", (256, 10), 0.25, 0.0, True), ("dense_1/bias", (10,), 0.125, 0.0, True)]
    return specs


def hash_u32(t, n):
    """The formula's h for flat indices 0..n-1 of tensor t (uint64 arithmetic, masked to 32 bits)."""
    mask = np.uint64(0xFFFFFFFF)
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(t * 40503)) & mask
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) & mask
    h ^= h >> np.uint64(13)
    return h


def formula_weight(t, shape, scale, offset):
    u = hash_u32(t, int(np.prod(shape))).astype(np.float64) / 2.0**32
    return ((scale * (u - 0.5)).astype(np.float32) + np.float32(offset)).reshape(shape)


def formula_images():
    shape = (BATCH, 28, 28, 1)
    return (hash_u32(100, int(np.prod(shape))).astype(np.float64) / 2.0**32).astype(np.float32).reshape(shape)


def formula_labels():
    return (hash_u32(101, BATCH) % np.uint64(10)).astype(np.int64)


class SeedModel(nn.Module):
    """The peer's architecture (pytorch_seed_model.py) without dropout; `nhwc_flatten` flattens
    like Keras (used only to cross-check the Dense kernel permutation)."""

    def __init__(self, nhwc_flatten=False):
        super().__init__()
        self.c1 = nn.Conv2d(1, 64, 3, padding=1); self.b1 = nn.BatchNorm2d(64, eps=1e-3, momentum=0.01)
        self.c2 = nn.Conv2d(64, 128, 3, padding=1); self.b2 = nn.BatchNorm2d(128, eps=1e-3, momentum=0.01)
        self.d1 = nn.Linear(7 * 7 * 128, 256); self.b3 = nn.BatchNorm1d(256, eps=1e-3, momentum=0.01)
        self.d2 = nn.Linear(256, 10)
        self.nhwc_flatten = nhwc_flatten

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)
        x = x.permute(0, 2, 3, 1).flatten(1) if self.nhwc_flatten else x.flatten(1)
        x = F.relu(self.b3(self.d1(x)))
        return self.d2(x)  # logits; the softmax is in the loss


def dense1_to_torch(kernel):
    """Ours (h*w*c rows in NHWC order, 256) -> torch Linear weight (256, c*h*w in NCHW order)."""
    return kernel.reshape(7, 7, 128, 256).transpose(3, 2, 0, 1).reshape(256, 7 * 7 * 128)


def dense1_from_torch(weight):
    return weight.reshape(256, 128, 7, 7).transpose(2, 3, 1, 0).reshape(7 * 7 * 128, 256)


def conv_to_torch(kernel):
    """(kh, kw, in, out) -> (out, in, kh, kw)."""
    return kernel.transpose(3, 2, 0, 1)


def conv_from_torch(weight):
    return weight.transpose(2, 3, 1, 0)


def load_weights(model, weights, nhwc_flatten=False):
    """Our Keras-order list -> the torch model (float64)."""
    w = [torch.from_numpy(np.ascontiguousarray(a.astype(np.float64))) for a in weights]
    with torch.no_grad():
        for conv, bn, k in ((model.c1, model.b1, 0), (model.c2, model.b2, 6)):
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(conv_to_torch(weights[k]).astype(np.float64))))
            conv.bias.copy_(w[k + 1])
            bn.weight.copy_(w[k + 2]); bn.bias.copy_(w[k + 3])
            bn.running_mean.copy_(w[k + 4]); bn.running_var.copy_(w[k + 5])
        d1 = weights[12].T if nhwc_flatten else dense1_to_torch(weights[12])
        model.d1.weight.copy_(torch.from_numpy(np.ascontiguousarray(d1.astype(np.float64))))
        model.d1.bias.copy_(w[13])
        model.b3.weight.copy_(w[14]); model.b3.bias.copy_(w[15])
        model.b3.running_mean.copy_(w[16]); model.b3.running_var.copy_(w[17])
        model.d2.weight.copy_(w[18].T); model.d2.bias.copy_(w[19])


def gradients_ours(model):
    """Gradients of the trainable weights in our layout, Keras order: {weight index: array}."""
    g = lambda p: p.grad.detach().numpy()
    out = {}
    for conv, bn, k in ((model.c1, model.b1, 0), (model.c2, model.b2, 6)):
        out[k] = conv_from_torch(g(conv.weight)); out[k + 1] = g(conv.bias)
        out[k + 2] = g(bn.weight); out[k + 3] = g(bn.bias)
    out[12] = dense1_from_torch(g(model.d1.weight)); out[13] = g(model.d1.bias)
    out[14] = g(model.b3.weight); out[15] = g(model.b3.bias)
    out[18] = g(model.d2.weight).T; out[19] = g(model.d2.bias)
    return out


def loss_fn(logits, y):
    probs = F.softmax(logits, 1)
    data_loss = F.cross_entropy(logits, y)
    activity = 0.001 * probs.pow(2).sum() / len(y)
    return data_loss + activity, data_loss, activity, probs


def training_step(weights, x_nhwc, labels, nhwc_flatten=False):
    """Forward in training mode, loss, backward; returns everything the golden file needs."""
    model = SeedModel(nhwc_flatten).double()
    load_weights(model, weights, nhwc_flatten)
    model.train()
    bn_inputs, pool_inputs = {}, []
    for name in ("b1", "b2", "b3"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: bn_inputs.__setitem__(name, i[0].detach()))
    x = torch.from_numpy(x_nhwc.astype(np.float64)).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(labels)
    logits = model(x)
    loss, data_loss, activity, probs = loss_fn(logits, y)
    model.zero_grad()
    loss.backward()
    return model, bn_inputs, probs.detach().numpy(), float(loss), float(data_loss), float(activity)


def keras_moving_stats(weights, bn_inputs):
    """Keras's update: moving = moving * 0.99 + batch * 0.01, with the biased batch variance."""
    out = {}
    for name, k in (("b1", 4), ("b2", 10), ("b3", 16)):
        t = bn_inputs[name]
        dims = (0, 2, 3) if t.dim() == 4 else (0,)
        mean = t.mean(dims).numpy(); var = t.var(dims, unbiased=False).numpy()
        out[k] = weights[k].astype(np.float64) * 0.99 + mean * 0.01
        out[k + 1] = weights[k + 1].astype(np.float64) * 0.99 + var * 0.01
    return out


def inference_output(weights, moving, x_nhwc):
    """The softmax output in inference mode after the step (the weights are unchanged: SGD with
    learning rate 0 in the test; only the moving statistics moved)."""
    after = [moving.get(k, w) for k, w in enumerate(weights)]
    model = SeedModel().double()
    load_weights(model, after)
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(x_nhwc.astype(np.float64)).permute(0, 3, 1, 2).contiguous()
        return F.softmax(model(x), 1).numpy()


def self_checks(weights, x_nhwc, labels, probs, grads):
    """Layout cross-checks inside the generator: the NCHW model with permuted Dense rows must
    agree with an NHWC-flatten model using our kernel as is, and the first convolution must
    agree with a direct NHWC loop over our kernel layout."""
    _, _, probs2, *_ = training_step(weights, x_nhwc, labels, nhwc_flatten=True)
    assert np.allclose(probs, probs2, rtol=1e-12, atol=1e-14), "flatten permutation mismatch"
    m2 = SeedModel(True).double(); load_weights(m2, weights, True); m2.train()
    loss, *_ = loss_fn(m2(torch.from_numpy(x_nhwc.astype(np.float64)).permute(0, 3, 1, 2).contiguous()),
                       torch.from_numpy(labels))
    loss.backward()
    assert np.allclose(m2.d1.weight.grad.numpy().T, grads[12], rtol=1e-10, atol=1e-16), "dense gradient permutation"
    model = SeedModel().double(); load_weights(model, weights)
    x = torch.from_numpy(x_nhwc.astype(np.float64)).permute(0, 3, 1, 2)
    conv = model.c1(x).detach().numpy()  # NCHW
    k, b = weights[0].astype(np.float64), weights[1].astype(np.float64)
    xp = np.pad(x_nhwc.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    for n, h, w, c in ((0, 0, 0, 0), (3, 13, 27, 17), (7, 27, 5, 63)):
        direct = b[c] + sum(xp[n, h + i, w + j, ci] * k[i, j, ci, c] for i in range(3) for j in range(3) for ci in range(1))
        assert abs(direct - conv[n, c, h, w]) < 1e-12, "conv kernel layout mismatch"


def diagnostics(bn_inputs, model):
    """How close the batch comes to the kinks where float32 and float64 may take another branch:
    max-pool near-ties (smallest gap between the two largest values of a window, relative to the
    largest magnitude) and ReLU inputs near zero."""
    out = {}
    with torch.no_grad():
        for name in ("b1", "b2"):
            a = F.relu(getattr(model, name)(bn_inputs[name])).numpy()  # training-mode BN
            n, c, h, w = a.shape
            win = a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
            top = np.sort(win, axis=1)[:, -2:]
            live = top[:, 1] > 0
            out[f"{name}_min_pool_gap"] = float(np.min(top[live, 1] - top[live, 0]) / np.abs(a).max())
            pre = getattr(model, name)(bn_inputs[name]).numpy()
            out[f"{name}_min_abs_relu_input"] = float(np.min(np.abs(pre)))
    return out


def summarise(t, a, size):
    idx = (hash_u32(200 + t, SAMPLES) % np.uint64(size)).astype(np.int64)
    flat = a.reshape(-1)
    return {"sum": float(flat.sum()), "l2": float(np.sqrt((flat * flat).sum())), "max_abs": float(np.abs(flat).max()),
            "indices": idx.tolist(), "values": flat[idx].tolist()}


def rounded(a):
    """float64 values written with 12 significant digits (far below the test's tolerance)."""
    return [float(f"{v:.12g}") for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "..", "data", "seed_parity.json"))
    a = p.parse_args()
    torch.set_num_threads(1)

    specs = weight_specs()
    weights = [formula_weight(t, shape, scale, off) for t, (_, shape, scale, off, _) in enumerate(specs)]
    x = formula_images(); labels = formula_labels()

    model, bn_inputs, probs, loss, data_loss, activity = training_step(weights, x, labels)
    grads = gradients_ours(model)
    self_checks(weights, x, labels, probs, grads)
    moving = keras_moving_stats(weights, bn_inputs)
    infer = inference_output(weights, moving, x)

    tensors = []
    for t, (name, shape, scale, off, trainable) in enumerate(specs):
        w = weights[t].reshape(-1).astype(np.float64)
        tensors.append({"index": t, "name": name, "shape": list(shape), "scale": scale, "offset": off,
                        "trainable": trainable,
                        # lets the test prove its formula reproduces ours before comparing results
                        "check": {"sum": float(w.sum()), "first": w[:4].tolist(), "last": float(w[-1])}})
    gradients = []
    for t, g in sorted(grads.items()):
        entry = {"index": t, "name": specs[t][0]}
        # A bias followed by BatchNormalization has a zero gradient in exact arithmetic; the test
        # bounds it by the layer kernel's gradient instead of its own (noise-level) magnitude.
        entry["zero_in_exact_arithmetic"] = t in (1, 7, 13)
        if g.size > FULL_LIMIT:
            entry.update(summarise(t, g, g.size))
            entry["values"] = rounded(entry["values"])
        else:
            entry["full"] = rounded(g)
        gradients.append(entry)

    golden = {
        "format": "regula-seed-parity", "version": 1,
        "generator": "tests/golden/make_seed_parity.py", "torch": torch.__version__, "dtype": "float64",
        "batch": BATCH, "input_check": {"sum": float(x.astype(np.float64).sum()), "first": x.reshape(-1)[:4].astype(np.float64).tolist()},
        "labels": labels.tolist(),
        "tensors": tensors,
        "train_output": rounded(probs), "loss": loss, "data_loss": data_loss, "activity_penalty": activity,
        "gradients": gradients,
        "moving_after_step": [{"index": k, "name": specs[k][0], "values": rounded(v)} for k, v in sorted(moving.items())],
        "inference_output": rounded(infer),
        "diagnostics": diagnostics(bn_inputs, model),
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, a.out)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes): loss {loss:.9g}, diagnostics {golden['diagnostics']}")


if __name__ == "__main__":
    main()
