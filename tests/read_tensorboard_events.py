#!/usr/bin/env python3
"""Reads TensorBoard event files independently of regula's C++ reader, and checks them.

    read_tensorboard_events.py --proto-dir BUILD/proto/python LOG_DIR [--expect EXPECT.json]

The Event classes are those protoc generated for Python from the same proto/tensorboard/*.proto
(the build puts them under BUILD/proto/python); the record framing, its CRC-32C checksums and the
tensor contents are decoded here, with nothing from regula. Every run folder under LOG_DIR
(train, validation) is read: each file's name must be TensorFlow 2's
(events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2), every record's length and data checksums
must match, the first event must be file_version "brain.Event:2" and the others summaries.
It prints one line per value:

    <run> <tag> <step> <value>                          scalars
    <run> <tag> <step> histogram buckets=<k> count=<n>  histograms
    <run> <tag> <step> graph <class_name> layers=<n>    the model's JSON (Keras's `keras` tag)

With --expect, it asserts the file's content against a JSON object
    {"runs": {"train": {"scalars": {"epoch_loss": [[0, 0.69], ...], ...},
                        "histograms": {"dense/kernel_0/histogram": {"steps": [0, 1], "count": 16}},
                        "graph": "Functional"},
              "validation": {"scalars": {...}}}}
: the same runs, exactly the same scalar and histogram tags per run, the same steps in order,
values equal to the expected ones rounded to float32 (NaN matches NaN), histogram counts summing
to the weight's size. Any mismatch, damaged record or undecodable value exits with status 1 and
a line starting with "FAIL".
"""

import argparse
import json
import math
import os
import re
import struct
import sys

FILE_NAME = re.compile(r"^events\.out\.tfevents\.(\d+)\.(.+)\.(\d+)\.(\d+)\.v2$")


class Failure(Exception):
    pass


def make_crc32c():
    """crc32c(bytes) -> int: Debian's python3-crc32c when present, else a table-driven CRC-32C."""
    try:
        import crc32c as module  # python3-crc32c

        return module.crc32c
    except ImportError:
        pass
    table = []
    for b in range(256):
        crc = b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)

    def crc32c(data):
        crc = 0xFFFFFFFF
        for byte in data:
            crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        return crc ^ 0xFFFFFFFF

    return crc32c


CRC32C = make_crc32c()


def masked_crc(data):
    crc = CRC32C(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    """The data of every TFRecord in `path`, each checksum checked."""
    with open(path, "rb") as f:
        blob = f.read()
    records, offset = [], 0
    while offset < len(blob):
        where = "%s: record %d at byte %d" % (path, len(records), offset)
        if len(blob) - offset < 12:
            raise Failure(where + ": the file ends inside the record's header")
        header = blob[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[offset + 8:offset + 12])
        if length_crc != masked_crc(header):
            raise Failure(where + ": length CRC mismatch (stored %08x, computed %08x)" % (length_crc, masked_crc(header)))
        end = offset + 12 + length
        if end + 4 > len(blob):
            raise Failure(where + ": the file ends inside the record's %d bytes of data" % length)
        data = blob[offset + 12:end]
        (data_crc,) = struct.unpack("<I", blob[end:end + 4])
        if data_crc != masked_crc(data):
            raise Failure(where + ": data CRC mismatch (stored %08x, computed %08x)" % (data_crc, masked_crc(data)))
        records.append(data)
        offset = end + 4
    return records


def tensor_values(tensor, pb, where):
    """(shape, values) of a TensorProto: floats, doubles or byte strings."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    size = 1
    for n in shape:
        size *= n
    if tensor.dtype == pb.types_pb2.DT_FLOAT:
        raw, fmt, typed = tensor.tensor_content, "<%df", list(tensor.float_val)
    elif tensor.dtype == pb.types_pb2.DT_DOUBLE:
        raw, fmt, typed = tensor.tensor_content, "<%dd", list(tensor.double_val)
    elif tensor.dtype == pb.types_pb2.DT_STRING:
        values = list(tensor.string_val)
        if len(values) != size:
            raise Failure("%s: %d strings for shape %s" % (where, len(values), shape))
        return shape, values
    else:
        raise Failure("%s: unexpected dtype %d" % (where, tensor.dtype))
    if raw:
        width = struct.calcsize(fmt % 1)
        if len(raw) != size * width:
            raise Failure("%s: tensor_content has %d bytes, shape %s needs %d" % (where, len(raw), shape, size * width))
        return shape, list(struct.unpack(fmt % size, raw))
    if len(typed) != size:
        raise Failure("%s: %d values for shape %s" % (where, len(typed), shape))
    return shape, typed


def read_run(run_dir, pb):
    """{"scalars": {tag: [(step, value)]}, "histograms": {tag: [(step, buckets)]}, "graph": [...]}."""
    run = {"scalars": {}, "histograms": {}, "graph": []}
    files = sorted(f for f in os.listdir(run_dir) if f.startswith("events.out.tfevents."))
    for name in files:
        if not FILE_NAME.match(name):
            raise Failure("%s: the file name is not events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2" % name)
        path = os.path.join(run_dir, name)
        records = read_records(path)
        if not records:
            raise Failure(path + ": no record")
        for index, data in enumerate(records):
            where = "%s: record %d" % (path, index)
            event = pb.event_pb2.Event()
            event.ParseFromString(data)
            if event.wall_time <= 0:
                raise Failure(where + ": wall_time %r" % event.wall_time)
            kind = event.WhichOneof("what")
            if index == 0:
                if kind != "file_version" or event.file_version != "brain.Event:2":
                    raise Failure(where + ": the first event is not file_version 'brain.Event:2' (%s)" % kind)
                continue
            if kind != "summary":
                raise Failure(where + ": expected a summary, got %s" % kind)
            for value in event.summary.value:
                record_value(run, value, event.step, pb, where + ", tag " + value.tag)
    return run


def record_value(run, value, step, pb, where):
    plugin = value.metadata.plugin_data.plugin_name
    if value.WhichOneof("value") != "tensor":
        raise Failure(where + ": expected a tensor value, got %s" % value.WhichOneof("value"))
    shape, values = tensor_values(value.tensor, pb, where)
    summary = pb.summary_pb2
    if plugin == "scalars":
        if shape != [] or value.tensor.dtype != pb.types_pb2.DT_FLOAT or value.metadata.data_class != summary.DATA_CLASS_SCALAR:
            raise Failure(where + ": a scalar must be a rank-0 DT_FLOAT tensor of data class SCALAR")
        run["scalars"].setdefault(value.tag, []).append((step, values[0]))
    elif plugin == "histograms":
        if len(shape) != 2 or shape[1] != 3 or value.metadata.data_class != summary.DATA_CLASS_TENSOR:
            raise Failure(where + ": a histogram must be a [k, 3] tensor of data class TENSOR, got %s" % shape)
        buckets = [values[i:i + 3] for i in range(0, len(values), 3)]
        for i, (left, right, count) in enumerate(buckets):
            if not left <= right or count < 0 or (i > 0 and left < buckets[i - 1][1] - 1e-9 * abs(left)):
                raise Failure(where + ": bucket %d %s is not in order" % (i, buckets[i]))
        run["histograms"].setdefault(value.tag, []).append((step, buckets))
    elif plugin == "graph_keras_model":
        if value.metadata.plugin_data.content != b"1" or shape != []:
            raise Failure(where + ": the model summary must be a rank-0 string with plugin content '1'")
        model = json.loads(values[0].decode("utf-8"))
        run["graph"].append((step, model))
    else:
        raise Failure(where + ": unknown plugin '%s'" % plugin)


def same_float32(expected, got):
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return struct.unpack("<f", struct.pack("<f", expected))[0] == got


def check(runs, expect):
    failures = []
    want_runs = expect["runs"]
    if sorted(runs) != sorted(want_runs):
        failures.append("runs %s, expected %s" % (sorted(runs), sorted(want_runs)))
    for name, want in want_runs.items():
        run = runs.get(name)
        if run is None:
            continue
        want_scalars = want.get("scalars", {})
        if sorted(run["scalars"]) != sorted(want_scalars):
            failures.append("%s: scalar tags %s, expected %s" % (name, sorted(run["scalars"]), sorted(want_scalars)))
        for tag, points in want_scalars.items():
            got = run["scalars"].get(tag, [])
            if [s for s, _ in got] != [s for s, _ in points]:
                failures.append("%s %s: steps %s, expected %s" % (name, tag, [s for s, _ in got], [s for s, _ in points]))
                continue
            for (step, value), (_, expected) in zip(got, points):
                expected = float("nan") if expected is None else expected
                if not same_float32(expected, value):
                    failures.append("%s %s step %d: %r, expected %r (as float32)" % (name, tag, step, value, expected))
        want_histograms = want.get("histograms", {})
        if sorted(run["histograms"]) != sorted(want_histograms):
            failures.append("%s: histogram tags %s, expected %s" % (name, sorted(run["histograms"]), sorted(want_histograms)))
        for tag, spec in want_histograms.items():
            got = run["histograms"].get(tag, [])
            if [s for s, _ in got] != spec["steps"]:
                failures.append("%s %s: steps %s, expected %s" % (name, tag, [s for s, _ in got], spec["steps"]))
            for step, buckets in got:
                total = sum(count for _, _, count in buckets)
                if total != spec["count"]:
                    failures.append("%s %s step %d: counts sum to %r, expected %d" % (name, tag, step, total, spec["count"]))
        want_graph = want.get("graph")
        got_graph = [model.get("class_name") for _, model in run["graph"]]
        if (want_graph is None and got_graph) or (want_graph is not None and got_graph != [want_graph]):
            failures.append("%s: model graphs %s, expected %s" % (name, got_graph, want_graph))
        for step, _ in run["graph"]:
            if step != 0:
                failures.append("%s: the model graph is at step %d, expected 0" % (name, step))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proto-dir", required=True, help="folder holding tensorboard/*_pb2.py")
    parser.add_argument("--expect", help="JSON file of expected runs, tags, steps and values")
    parser.add_argument("log_dir")
    args = parser.parse_args()

    sys.path.insert(0, args.proto_dir)
    try:
        from tensorboard import event_pb2, summary_pb2, types_pb2  # generated from proto/tensorboard
    except ImportError as error:
        print("FAIL: cannot import the generated classes from %s (%s); python3-protobuf is needed "
              "(apt-get install python3-protobuf)" % (args.proto_dir, error))
        return 1

    class pb:  # the generated modules, passed around together
        pass

    pb.event_pb2, pb.summary_pb2, pb.types_pb2 = event_pb2, summary_pb2, types_pb2

    try:
        runs = {}
        for name in sorted(os.listdir(args.log_dir)):
            run_dir = os.path.join(args.log_dir, name)
            if os.path.isdir(run_dir):
                runs[name] = read_run(run_dir, pb)
    except (Failure, OSError) as error:
        print("FAIL: %s" % error)
        return 1
    except Exception as error:  # a record that does not parse as an Event
        print("FAIL: %s: %s" % (type(error).__name__, error))
        return 1

    for name, run in runs.items():
        for tag, points in sorted(run["scalars"].items()):
            for step, value in points:
                print("%s %s %d %r" % (name, tag, step, value))
        for tag, points in sorted(run["histograms"].items()):
            for step, buckets in points:
                print("%s %s %d histogram buckets=%d count=%g" % (name, tag, step, len(buckets), sum(b[2] for b in buckets)))
        for step, model in run["graph"]:
            print("%s keras %d graph %s layers=%d" % (name, step, model.get("class_name"), len(model["config"]["layers"])))

    if args.expect:
        with open(args.expect) as f:
            expect = json.load(f)
        failures = check(runs, expect)
        for failure in failures:
            print("FAIL: " + failure)
        if failures:
            return 1
        print("OK: %d runs match %s" % (len(runs), args.expect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
