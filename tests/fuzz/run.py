"""Runs each libFuzzer harness of a -Dfuzz=true build for a bounded time,
starting from the committed seed corpus (copied: the run never writes to
tests/fuzz/corpus), and reports one JUnit case per harness.

    /usr/bin/python3 tests/fuzz/run.py BUILD_DIR --seconds 40 [--junit FILE]
        [--work DIR] [--only load,request]

A harness fails when libFuzzer stops on a crash, a sanitizer report, a
leak or a timeout; the input it saved is left in WORK/artifacts-NAME/ and
named in the output. Make it a regression test by copying it into
tests/fuzz/regressions/NAME/ (replayed by `meson test`). Prints the
executions per harness; exit status 1 when any harness failed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESSES = ["load", "request", "config"]
# the sanitizers stop at the first report: any report fails the harness
ENV = {
    "ASAN_OPTIONS": "halt_on_error=1:abort_on_error=1:detect_leaks=1:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}


def run_one(build, name, seconds, work):
    exe = os.path.join(build, "tests", "fuzz", "fuzz_" + name)
    corpus = os.path.join(work, "corpus-" + name)
    if not os.path.isdir(corpus):
        shutil.copytree(os.path.join(HERE, "corpus", name), corpus)
    regressions = os.path.join(HERE, "regressions", name)
    art = os.path.join(work, "artifacts-" + name)
    os.makedirs(art, exist_ok=True)
    cmd = [exe, "-max_total_time=%d" % seconds, "-print_final_stats=1",
           "-timeout=10", "-rss_limit_mb=2560", "-max_len=65536",
           "-artifact_prefix=" + art + "/", corpus]
    if os.path.isdir(regressions):
        cmd.append(regressions)
    env = dict(os.environ)
    for k, v in ENV.items():
        env.setdefault(k, v)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=seconds + 300)
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(m.group(1)) if m else 0
    saved = re.findall(r"Test unit written to (\S+)", out)
    ok = p.returncode == 0 and not saved
    return ok, execs, time.monotonic() - t0, out, saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--junit")
    ap.add_argument("--work")
    ap.add_argument("--only")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="predictd-fuzz-")
    names = a.only.split(",") if a.only else HARNESSES
    suite = ET.Element("testsuite", name="fuzz")
    failed = 0
    for name in names:
        ok, execs, secs, out, saved = run_one(a.build, name, a.seconds, work)
        print("fuzz_%-8s %s: %d executions in %.0f s%s" % (
            name, "ok" if ok else "FAILED", execs, secs,
            "; saved " + " ".join(saved) if saved else ""))
        case = ET.SubElement(suite, "testcase", classname="fuzz", name="fuzz_" + name,
                             time="%.1f" % secs)
        if not ok:
            failed += 1
            ET.SubElement(case, "failure", message="fuzz_%s stopped" % name).text = out[-20000:]
            sys.stdout.write(out[-4000:])
    if a.junit:
        ET.ElementTree(suite).write(a.junit, encoding="unicode")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
