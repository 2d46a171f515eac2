#!/usr/bin/env python3
"""The learning-curve report in a real browser (headless Chromium).

Runs the sample program twice (two small runs, each writing RUN_DIR/report.html), writes a report
again and a comparison of the two runs with `regula report`, and checks each page:
  - the HTML fetches nothing: no http(s) URL apart from the SVG namespace, no @import or url(...);
  - Chromium loads it with no console message at all (the report has no scripts, so any message,
    "Uncaught ..." above all, is an error);
  - after load, a probe copy finds every image decoded, the expected charts and sections, and no
    horizontal overflow at 1280 pixels;
  - a screenshot is saved beside it (WORK/*.png).
It also checks itself: a copy with an injected script error must be caught. Exits non-zero with
the reasons on any failure.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

PROBE = """<script>
window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length;
  const ids = [...document.querySelectorAll('section[id]')].map(s => s.id).join(',');
  console.log('REPORT-PROBE images=' + document.images.length + ' broken=' + broken +
              ' charts=' + document.querySelectorAll('svg.chart').length +
              ' paths=' + document.querySelectorAll('svg.chart path.series').length +
              ' markers=' + document.querySelectorAll('svg.chart line.marker').length +
              ' overflow=' + (document.documentElement.scrollWidth > window.innerWidth ? 1 : 0) +
              ' sections=' + ids);
});
</script>"""

# Chromium's profile and caches go here (set by main), not beside the pages.
CHROMIUM_HOME = None

CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\]\s*\"(.*)\", source: (.*)$")


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("report_browser_check: no Chromium found; install it with scripts/install-deps.sh "
             "(Debian package 'chromium')")


def run_chromium(chromium, page, extra):
    """Loads `page` headless; returns (stdout, console messages)."""
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--enable-logging=stderr", "--v=0",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,2400"] + extra + \
              ["file://" + os.path.abspath(page)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HOME=CHROMIUM_HOME or os.path.dirname(os.path.abspath(page))))
    messages = []
    for line in done.stderr.splitlines():
        m = CONSOLE.search(line)
        if m:
            messages.append(m.group(1))
    if done.returncode != 0:
        messages.append("chromium exited with %d: %s" % (done.returncode, done.stderr[-2000:]))
    return done.stdout, messages


def check_page(chromium, page, expect, screenshot=None):
    """The reasons `page` fails (an empty list when it passes)."""
    problems = []
    html = open(page, encoding="utf-8").read()
    urls = [u for u in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", html)
            if u != "http://www.w3.org/2000/svg"]
    if urls:
        problems.append("fetches from the network: %s" % urls[:3])
    if re.search(r"@import|url\(", html):
        problems.append("style sheet loads a resource (@import or url())")

    dom, messages = run_chromium(chromium, page, ["--dump-dom"])
    for m in messages:
        problems.append("console: " + m)
    if "<svg" not in dom:
        problems.append("the DOM after load has no <svg>")

    probe = page + ".probe.html"
    with open(probe, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", PROBE + "\n</body>"))
    _, probe_messages = run_chromium(chromium, probe, ["--dump-dom"])
    os.remove(probe)
    found = [m for m in probe_messages if m.startswith("REPORT-PROBE")]
    for m in probe_messages:
        if not m.startswith("REPORT-PROBE"):
            problems.append("console (probe): " + m)
    if not found:
        problems.append("the probe did not report after load")
    else:
        values = dict(kv.split("=", 1) for kv in found[0].split()[1:])
        if values["broken"] != "0":
            problems.append("%s of %s images did not decode" % (values["broken"], values["images"]))
        if values["overflow"] != "0":
            problems.append("the page is wider than the 1280-pixel window")
        for key in ("images", "charts", "paths", "markers"):
            if int(values[key]) < expect.get(key, 0):
                problems.append("%s=%s, expected at least %d" % (key, values[key], expect[key]))
        sections = values["sections"].split(",")
        for section in expect.get("sections", []):
            if section not in sections:
                problems.append("section #%s is missing (found %s)" % (section, values["sections"]))

    if screenshot:
        _, shot_messages = run_chromium(chromium, page, ["--screenshot=" + screenshot])
        problems += ["console (screenshot): " + m for m in shot_messages]
        if not os.path.exists(screenshot) or os.path.getsize(screenshot) < 10000:
            problems.append("no screenshot written to " + screenshot)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", required=True, help="the regula_report_sample program")
    parser.add_argument("--cli", required=True, help="the regula command")
    parser.add_argument("--work", required=True, help="scratch folder (emptied first)")
    args = parser.parse_args()
    chromium = chromium_binary()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    global CHROMIUM_HOME
    CHROMIUM_HOME = os.path.join(args.work, "chromium-home")
    os.makedirs(CHROMIUM_HOME)
    failures = []

    runs = {}
    for variant in ("plain", "dropout"):
        run_dir = os.path.join(args.work, "run-" + variant)
        subprocess.run([args.sample, run_dir, variant], check=True, stdout=subprocess.DEVNULL)
        runs[variant] = run_dir

    single = {"charts": 5, "paths": 5, "markers": 5, "images": 1,
              "sections": ["diagnosis", "facts", "curves", "gap", "learning-rate", "test", "classes",
                           "augmentation", "experiment"]}
    pages = [(os.path.join(runs["plain"], "report.html"), single, "report.png")]

    # `regula report` writes the same report elsewhere, and compares the two runs.
    cli_page = os.path.join(args.work, "cli-report.html")
    subprocess.run([args.cli, "report", runs["dropout"], "--out", cli_page], check=True, stdout=subprocess.DEVNULL)
    pages.append((cli_page, single, "cli-report.png"))
    comparison = os.path.join(args.work, "comparison.html")
    subprocess.run([args.cli, "report", runs["plain"], runs["dropout"], "--out", comparison], check=True,
                   stdout=subprocess.DEVNULL)
    pages.append((comparison, {"charts": 2, "paths": 4, "sections": ["curves", "table"]}, "comparison.png"))

    for page, expect, shot in pages:
        for problem in check_page(chromium, page, expect, os.path.join(args.work, shot)):
            failures.append("%s: %s" % (page, problem))

    # A bad run directory is a clear error, not a crash.
    empty = os.path.join(args.work, "empty-run")
    os.makedirs(empty)
    done = subprocess.run([args.cli, "report", empty], capture_output=True, text=True)
    if done.returncode != 1 or "no training logs" not in done.stderr or empty not in done.stderr:
        failures.append("regula report on an empty directory: exit %d, stderr %r" % (done.returncode, done.stderr))

    # The check itself must be able to fail: an injected script error has to be caught.
    broken = os.path.join(args.work, "injected-error.html")
    html = open(pages[0][0], encoding="utf-8").read()
    with open(broken, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", "<script>reportFunctionThatDoesNotExist();</script>\n</body>"))
    caught = check_page(chromium, broken, single)
    if not any("Uncaught ReferenceError" in p for p in caught):
        failures.append("the injected script error went unnoticed: %s" % caught)

    if failures:
        print("\n".join("FAIL " + f for f in failures))
        return 1
    print("report_browser_check: %d pages load in Chromium with no console message; screenshots in %s"
          % (len(pages), args.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
