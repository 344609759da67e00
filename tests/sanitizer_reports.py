"""Turns the report files AddressSanitizer and UndefinedBehaviorSanitizer
wrote (ASAN_OPTIONS/UBSAN_OPTIONS log_path=DIR/...) during the sanitizer
stage of tests/run.sh into one JUnit case, failed when there is any: a
report from a server an end-to-end test started is otherwise only in
that server's stderr, which the test may never read.

    /usr/bin/python3 tests/sanitizer_reports.py DIR --junit FILE
"""
import argparse
import os
import sys
import xml.etree.ElementTree as ET


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--junit", required=True)
    a = ap.parse_args()
    files = sorted(os.listdir(a.dir)) if os.path.isdir(a.dir) else []
    suite = ET.Element("testsuite", name="sanitizers")
    case = ET.SubElement(suite, "testcase", classname="sanitizers",
                         name="no_sanitizer_reports")
    if files:
        text = []
        for name in files[:20]:
            with open(os.path.join(a.dir, name), errors="replace") as f:
                text.append("== %s\n%s" % (name, f.read(8000)))
        ET.SubElement(case, "failure", message="%d sanitizer report(s)" % len(files)).text = \
            "\n".join(text)
        print("sanitizers: %d report(s) in %s, first:\n%s" % (len(files), a.dir, text[0][:4000]))
    else:
        print("sanitizers: no reports")
    ET.ElementTree(suite).write(a.junit, encoding="unicode")
    return 1 if files else 0


if __name__ == "__main__":
    sys.exit(main())
