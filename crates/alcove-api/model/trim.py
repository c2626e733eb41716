#!/usr/bin/env python3
"""Writes lambda-2015-03-31.validation.json: the part of botocore's Lambda service model
that request validation and error bodies need.

Kept: every operation's HTTP method, request URI and input shape; every shape reachable
from an input shape with only its validation facts (type, min, max, pattern, enum,
members with their location, required, list member, map key and value, sensitive); and
the members of every error shape. Documentation is dropped.

Usage: python3 trim.py [path/to/service-2.json[.gz]] > lambda-2015-03-31.validation.json
Without an argument, the model of the installed botocore is read.
"""

import gzip
import json
import os
import sys

KEPT = ("type", "min", "max", "pattern", "enum", "required", "sensitive", "payload")


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def installed_model():
    import botocore

    base = os.path.join(os.path.dirname(botocore.__file__), "data", "lambda", "2015-03-31")
    for name in ("service-2.json", "service-2.json.gz"):
        if os.path.exists(os.path.join(base, name)):
            return os.path.join(base, name)
    raise SystemExit("botocore has no Lambda model")


def main():
    model = load(sys.argv[1] if len(sys.argv) > 1 else installed_model())
    shapes = model["shapes"]
    out_shapes = {}

    def keep(name):
        if name in out_shapes:
            return
        shape = shapes[name]
        trimmed = {k: shape[k] for k in KEPT if k in shape}
        out_shapes[name] = trimmed
        if shape["type"] == "structure":
            trimmed["members"] = {}
            for member, spec in shape["members"].items():
                trimmed["members"][member] = {
                    k: spec[k] for k in ("shape", "location", "locationName") if k in spec
                }
                keep(spec["shape"])
        elif shape["type"] == "list":
            trimmed["member"] = shape["member"]["shape"]
            keep(shape["member"]["shape"])
        elif shape["type"] == "map":
            trimmed["key"] = shape["key"]["shape"]
            trimmed["value"] = shape["value"]["shape"]
            keep(shape["key"]["shape"])
            keep(shape["value"]["shape"])

    operations = {}
    for name, op in sorted(model["operations"].items()):
        entry = {"method": op["http"]["method"], "uri": op["http"]["requestUri"]}
        if "input" in op:
            entry["input"] = op["input"]["shape"]
            keep(op["input"]["shape"])
        operations[name] = entry

    errors = {
        name: sorted(shape["members"])
        for name, shape in sorted(shapes.items())
        if shape.get("exception")
    }
    json.dump(
        {
            "source": "botocore " + model.get("metadata", {}).get("apiVersion", "") + " Lambda model",
            "operations": operations,
            "shapes": dict(sorted(out_shapes.items())),
            "errors": errors,
        },
        sys.stdout,
        indent=0,
        sort_keys=False,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
