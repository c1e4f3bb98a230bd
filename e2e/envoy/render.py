#!/usr/bin/env python3
"""Fill the @NAME@ placeholders of an Envoy bootstrap template.

Usage: render.py TEMPLATE OUT NAME=VALUE...

Every placeholder must get a value and every value must be used, so a typo
fails here instead of producing a half-rendered config that Envoy rejects (or
worse, accepts) later.
"""
import re
import sys

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def render(text, values):
    wanted = set(PLACEHOLDER.findall(text))
    missing = sorted(wanted - set(values))
    unused = sorted(set(values) - wanted)
    if missing or unused:
        raise ValueError("placeholders without a value: %s; values without a placeholder: %s"
                         % (missing or "none", unused or "none"))
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    values = {}
    for arg in argv[3:]:
        name, sep, value = arg.partition("=")
        if not sep:
            sys.exit("render.py: expected NAME=VALUE, got %r" % arg)
        values[name] = value
    with open(argv[1]) as f:
        text = f.read()
    try:
        out = render(text, values)
    except ValueError as e:
        sys.exit("render.py: %s" % e)
    with open(argv[2], "w") as f:
        f.write(out)


if __name__ == "__main__":
    main(sys.argv)
