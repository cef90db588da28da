"""The report in a real browser (headless Chromium): no console errors, every figure has
a size, every anchor resolves; a screenshot is kept in tests/artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import gilbench, make_bench, write_suite

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

# Injected first in <head>: records errors, then reports what it checked into the page.
CHECKER = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message)));
const originalError = console.error;
console.error = (...args) => { window.__errors.push(args.join(" ")); originalError(...args); };
window.addEventListener("load", () => {
  const figures = [...document.querySelectorAll("figure svg, .figure svg, svg")];
  const sizes = figures.map(svg => { const r = svg.getBoundingClientRect();
                                     return [r.width, r.height]; });
  const anchors = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute("href"));
  const broken = anchors.filter(h => h.length > 1 && !document.getElementById(h.slice(1)));
  const pre = document.createElement("pre");
  pre.id = "gilbench-check";
  pre.textContent = JSON.stringify({errors: window.__errors, sizes, anchors: anchors.length,
                                    broken, verdict: !!document.getElementById("verdict")});
  document.body.appendChild(pre);
});
</script>"""

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no chromium: apt-get install chromium to run the browser test"
)


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    with tempfile.TemporaryDirectory(prefix="gilbench-chromium-") as profile:
        return subprocess.run(
            [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


def _results(root: Path) -> None:
    for machine, scale in (("laptop", 1.0), ("server", 0.5)):
        benches = [make_bench(machine=machine, values=(0.1 * scale, 0.11 * scale, 0.09 * scale))]
        for workers, speedup in ((1, 1.0), (2, 1.8), (4, 1.9)):
            for backend in ("threads", "processes"):
                gain = speedup if backend == "processes" else 1.0
                benches.append(make_bench(
                    backend=backend, workers=workers, machine=machine,
                    values=tuple(v * scale / gain for v in (0.1, 0.11, 0.09)),
                    effective_cores=gain,
                ))  # fmt: skip
        write_suite(root / "results" / machine / "20260101T000000Z-cpython3.11.json", benches)


def test_the_report_loads_cleanly_in_a_real_browser(tmp_path: Path) -> None:
    _results(tmp_path)
    out = gilbench("report", "results", "-o", "report", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    page = tmp_path / "report" / "index.html"
    html = page.read_text()
    checked = tmp_path / "report" / "checked.html"
    checked.write_text(html.replace("<head>", "<head>" + CHECKER, 1))

    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    found = re.search(r'<pre id="gilbench-check">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["errors"] == []
    assert result["sizes"], "the report has no figures"
    assert all(w > 0 and h > 0 for w, h in result["sizes"]), result["sizes"]
    assert result["anchors"] > 0
    assert result["broken"] == []
    assert result["verdict"]

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    _chromium(f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri())
    assert shot.exists()
    assert shot.stat().st_size > 10_000
