"""Reads the JUnit XML files the test runners wrote and prints one line per
suite and the closing line `N passed, N failed, N skipped`. With
`--stopped FILE`, each line of FILE names a stage tests/run.sh stopped at
its time limit, and counts as one more failure (its report, if any, may
look complete: a hang at interpreter exit comes after the report).

Exit status: 0 when every case passed (skips allowed) and every expected
report exists; 1 otherwise. Used by tests/run.sh.
"""
import sys
import xml.etree.ElementTree as ET


def count(path):
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if "failure" in tags or "error" in tags:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(argv):
    total = [0, 0, 0]
    ok = True
    args = argv[1:]
    if args[:1] == ["--stopped"]:
        try:
            with open(args[1]) as f:
                stopped = [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            stopped = []
        for line in stopped:
            print("%-22s counted as 1 failure" % line)
        total[1] += len(stopped)
        args = args[2:]
    for spec in args:
        label, _, path = spec.partition("=")
        try:
            p, f, s = count(path)
        except (OSError, ET.ParseError) as e:
            print("%-22s no report (%s): counted as 1 failure" % (label, e))
            p, f, s = 0, 1, 0
        print("%-22s %d passed, %d failed, %d skipped" % (label, p, f, s))
        total[0] += p
        total[1] += f
        total[2] += s
    if total[1] or total[0] == 0:
        ok = False
    print("%d passed, %d failed, %d skipped" % tuple(total))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
