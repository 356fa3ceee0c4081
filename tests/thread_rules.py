#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The thread rule of every public call, read from the headers, against tests/test_threads.c.

Every WEFT_API function in include/weft/*.h states whether it is thread-safe, in its own comment
or, failing that, in its header's opening comment ("none of these calls is thread-safe"). A call
that is not thread-safe must refuse another thread with -EXDEV (README "Threads"), and
tests/test_threads.c proves it for each one: the call appears there in a CALL(...) row, or in an
EXEMPT(name, "reason") row when it cannot return an error (void, pointer and size results) or
is thread-safe in part. This script fails when:
  - a declaration has no thread rule (neither its comment nor its header's says);
  - a not-thread-safe declaration has no row in the test (a new call nobody checked);
  - a row names a call that is not a public not-thread-safe declaration (a stale row).

  tests/thread_rules.py [--list]     check (default), or print every call with its rule
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADERS = os.path.join(ROOT, "include", "weft")
TEST = os.path.join(ROOT, "tests", "test_threads.c")

NOT_SAFE = re.compile(r"not thread-safe|none of these calls is thread-safe|nothing here is "
                      r"thread-safe|own thread only|except through the calls marked|"
                      r"-EXDEV from the wrong thread", re.I)
SAFE = re.compile(r"(^|[.;:(]\s*)Thread-safe|from any thread|any thread at any time")
DECL = re.compile(r"WEFT_API\s+([^;{]*?)\b(weft_\w+)\s*\(", re.S)


def rule_of(text):
    """'unsafe', 'safe' or None for a comment."""
    text = " ".join(re.sub(r"(?m)^\s*\*", " ", text).split())
    if NOT_SAFE.search(text):
        return "unsafe"
    if SAFE.search(text):
        return "safe"
    return None


def declarations():
    """(name, return type, rule, header) for every public function."""
    out = []
    for fname in sorted(os.listdir(HEADERS)):
        if not fname.endswith(".h"):
            continue
        src = open(os.path.join(HEADERS, fname)).read()
        first = None  # the opening comment, after the licence line
        for c in re.finditer(r"/\*(.*?)\*/", src, re.S):
            if "SPDX-License-Identifier" not in c.group(1):
                first = c
                break
        head = first.group(1) if first else ""
        # the opening comment may cover several groups; a rule there is the header's default
        default = rule_of(head)
        for m in DECL.finditer(src):
            before = src[:m.start()].rstrip()
            own = None
            if before.endswith("*/"):
                start = before.rfind("/*")
                if start >= 0 and (first is None or start != first.start()):
                    own = rule_of(before[start + 2:-2])
            ret = " ".join(m.group(1).split())
            out.append((m.group(2), ret, own or default, fname))
    return out


def rows():
    """The calls tests/test_threads.c covers, as {name: kind}."""
    src = open(TEST).read()
    found = {}
    for kind, name in re.findall(r"^\s*(CALL|FIBER|PLAIN|EXEMPT)\((weft_\w+)\b", src, re.M):
        if name in found:
            sys.exit(f"thread_rules: {name} has two rows in tests/test_threads.c")
        found[name] = kind
    return found


def main():
    decls = declarations()
    if "--list" in sys.argv:
        for name, ret, rule, fname in decls:
            print(f"{rule or 'UNSTATED':8} {fname:12} {ret:28} {name}")
        return 0
    errors = []
    covered = rows()
    unsafe = set()
    for name, ret, rule, fname in decls:
        if rule is None:
            errors.append(f"{fname}: {name} does not say whether it is thread-safe")
        elif rule == "unsafe":
            unsafe.add(name)
            if name not in covered:
                errors.append(f"{fname}: {name} is not thread-safe but tests/test_threads.c "
                              "has no row for it")
    for name in sorted(set(covered) - unsafe):
        errors.append(f"tests/test_threads.c: {name} is not a public not-thread-safe call")
    for e in errors:
        print("thread_rules: " + e, file=sys.stderr)
    if not errors:
        print(f"thread_rules: {len(unsafe)} not-thread-safe calls, each covered by "
              "tests/test_threads.c")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
