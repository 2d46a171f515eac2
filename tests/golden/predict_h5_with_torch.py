#!/usr/bin/python3
"""Predicts with a regula .h5 seed model in PyTorch: an independent check of our model files.

    /usr/bin/python3 tests/golden/predict_h5_with_torch.py model.h5 inputs.idx outputs.idx

Reads the file with h5py only (no regula code), copies the weights into the PyTorch seed model
of make_seed_parity.py (the peer's architecture without dropout, DESIGN.md "The seed model"),
runs it in eval mode (BatchNormalization on the stored moving statistics, dropout off) on the
NHWC float32 images of inputs.idx, and writes the softmax probabilities (N, classes) as IDX
float32 to outputs.idx. Used by tests/torch_interop_test.cpp.

Accepts both layouts of include/regula/model/model_file.hpp: save_model (weights under
/model_weights) and save_weights (at the root). Weights are taken layer by layer in the file's
`layer_names` order, each layer's in its `weight_names` order, which is Keras's get_weights
order: the order make_seed_parity.load_weights expects. Names are not trusted beyond that
(a model built twice in one process is named dense_2, ...); shapes are checked against
make_seed_parity.weight_specs so a wrong file is a clear error, not a silent mismatch.

The computation runs in float64, as make_seed_parity.py does: the result is the exact answer
for the float32 weights and inputs, so any difference from regula is regula's rounding (or a
layout bug), never the peer's.
"""
import os, struct, sys
import numpy as np
import h5py, torch, torch.nn.functional as F

# The layout conversions (conv (kh,kw,in,out) -> (out,in,kh,kw), Dense (in,out) -> (out,in), the
# NHWC-vs-NCHW row permutation of the first Dense kernel) live in one place: make_seed_parity.py,
# whose import has no side effects (its work is under `if __name__ == "__main__"`).
# No __pycache__ in the source tree from a test run.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_seed_parity import SeedModel, load_weights, weight_specs  # noqa: E402

IDX_FLOAT32 = 0x0D


def read_idx_float32(path):
    """A float32 IDX file: magic 00 00 0D ndims, big-endian uint32 dims, big-endian float32 data."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != IDX_FLOAT32:
        raise ValueError(f"{path}: not a float32 IDX file (magic {data[:4].hex()})")
    ndims = data[3]
    dims = struct.unpack(f">{ndims}I", data[4:4 + 4 * ndims])
    body = data[4 + 4 * ndims:]
    count = int(np.prod(dims))
    if len(body) != 4 * count:
        raise ValueError(f"{path}: {len(body)} data bytes, expected {4 * count} for dims {dims}")
    return np.frombuffer(body, dtype=">f4").astype(np.float32).reshape(dims)


def write_idx_float32(path, array):
    array = np.ascontiguousarray(array, dtype=">f4")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(bytes([0, 0, IDX_FLOAT32, array.ndim]))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.tobytes())
    os.replace(tmp, path)  # atomic, as regula's write_idx


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_h5_weights(path):
    """[(name, float32 array)] in Keras get_weights order."""
    out = []
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for layer in group.attrs["layer_names"]:
            layer = group[text(layer)]
            for name in layer.attrs.get("weight_names", []):
                out.append((text(name), np.asarray(layer[text(name)], dtype=np.float32)))
    return out


def check_layout(weights):
    specs = weight_specs()
    if len(weights) != len(specs):
        raise ValueError(f"{len(weights)} weights in the file, the seed model has {len(specs)}: "
                         + ", ".join(n for n, _ in weights))
    for (name, array), (spec_name, shape, *_) in zip(weights, specs):
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"{name}: shape {array.shape}, expected {shape} (as {spec_name})")


def main():
    if len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} model.h5 inputs.idx outputs.idx")
    model_path, inputs_path, outputs_path = sys.argv[1:]
    torch.set_num_threads(1)  # the C++ test runs beside others; one thread is plenty for 16 images
    weights = read_h5_weights(model_path)
    check_layout(weights)
    model = SeedModel().double()
    load_weights(model, [a for _, a in weights])
    model.eval()
    x = read_idx_float32(inputs_path)
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"{inputs_path}: dims {x.shape}, expected (N, 28, 28, 1) NHWC images")
    with torch.no_grad():
        nchw = torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2).contiguous()
        probs = F.softmax(model(nchw), 1).numpy()
    write_idx_float32(outputs_path, probs)


if __name__ == "__main__":
    main()
