"""Issue 31: every job's alignment as a picture and a page, looked at as a person would: the
PNG's variant marks where variant-columns.json puts them, and the page opened by headless
Chromium (rendered, every tree name there, the variant's residues marked in the block its link
scrolls to, no console error, nothing loaded from anywhere), for the demo job and a large one."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.demo import REPO

from pavi.domain.alignment import parse_clustal
from pavi.domain.alignment_outputs import ParsedAlignment, identity_matrix_tsv, variant_rows, variant_table_json
from pavi.domain.clustal_format import clustal_text
from pavi.domain.job_page import FULL_CELLS, page_inputs, render, write_page
from pavi.domain.picture import PICTURE_CELLS, variant_cells

RED = (214, 39, 40)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo job's results, as pavi run writes them (its page included)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    pavi = str(Path(sys.executable).with_name("pavi"))
    done = subprocess.run([pavi, "run", str(REPO / "demo" / "payload.json"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "page: " in done.stderr and (out / "report.html").is_file()
    return out


def red_boxes(png: Path | bytes) -> list[tuple[int, int, int]]:
    """Each solid red residue box of the picture: (top, its column in its wrapped row, width)."""
    from PIL import Image

    image = Image.open(png if isinstance(png, Path) else io.BytesIO(png)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    seen: set[tuple[int, int]] = set()
    boxes = []
    for y in range(height):
        for x in range(width):
            if pixels[x, y] != RED or (x, y) in seen:
                continue
            stack, points = [(x, y)], []
            seen.add((x, y))
            while stack:
                a, b = stack.pop()
                points.append((a, b))
                for c, d in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
                    if 0 <= c < width and 0 <= d < height and (c, d) not in seen and pixels[c, d] == RED:
                        seen.add((c, d))
                        stack.append((c, d))
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            box_width, box_height = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
            if box_width >= 8 and box_height >= 8:  # a residue's box: not the marker, not the label
                middle = (min(ys) + max(ys)) // 2
                first = next(c for c in range(width) if max(pixels[c, middle]) - min(pixels[c, middle]) > 60)
                boxes.append((min(ys), round((min(xs) - first) / box_width) + 1, box_width))
    return sorted(boxes)


def test_the_pictures_variant_marks_are_the_variant_tables_columns(demo_results: Path) -> None:
    rows = json.loads((demo_results / "variant-columns.json").read_text())["rows"]
    columns = sorted({(r["alignment_start_pos"], r["alignment_end_pos"]) for r in rows})
    expected = [(first - 1) % 60 + 1 for first, last in columns for _ in range(first, last + 1)]
    boxes = red_boxes(demo_results / "alignment.png")
    assert [column for _, column, _ in boxes] == expected, (boxes, columns)
    svg = (demo_results / "alignment.svg").read_text()
    assert "p.Phe57Ser" in svg and "p.Gly144del" in svg  # each labelled with its HGVS p.


def test_the_identity_scheme_keeps_its_colours_beside_the_variant_marks(demo_results: Path) -> None:
    """Identity colours a residue by its column's identity (full colour where every sequence
    carries it): the fully conserved cells, counted here from the alignment, are the picture's
    full-colour ones, and the variants' boxes are where the Clustal picture has them."""
    from PIL import Image

    files = page_inputs(demo_results)
    drawn = render(files, "Identity", ("png",), page_too=False)
    assert list(drawn) == ["alignment-identity.png"]
    png = drawn["alignment-identity.png"]
    boxes = red_boxes(png)
    assert [b[:2] for b in boxes] == [b[:2] for b in red_boxes(demo_results / "alignment.png")]
    parsed = parse_clustal(files["alignment-output.aln"])
    rows = list(parsed.values())
    cells = variant_cells(json.loads(files["aligned_seq_info.json"]), list(parsed))
    marked = {(column, row) for row, first, last, _ in cells for column in range(first - 1, last)}
    conserved = sum(
        1
        for column in range(len(rows[0]))
        if rows[0][column] not in "-X*" and all(row[column] == rows[0][column] for row in rows)
        for row in range(len(rows))
        if (column, row) not in marked
    )
    image = Image.open(io.BytesIO(png)).convert("RGB")
    full = sum(count for count, colour in image.getcolors(maxcolors=1 << 22) or [] if colour == (163, 165, 255))
    width = boxes[0][2]
    assert conserved > 100 and 0.6 < full / (conserved * width * width * 1.4) < 1.0, (full, conserved, width)


def test_a_picture_is_drawn_up_to_its_bound_and_the_page_holds_the_text_past_it(tmp_path: Path) -> None:
    folder = large_results(tmp_path, sequences=PICTURE_CELLS // 100 + 1, length=100)
    files = page_inputs(folder)
    drawn = render(files)
    assert list(drawn) == ["report.html"]
    page = drawn["report.html"].decode()
    assert "No picture: it is drawn up to 10,000 cells" in page and '<pre class="block" id="block-1">' in page
    with pytest.raises(ValueError, match="format 'gif'"):
        render(files, formats=("gif",))


def test_the_page_holds_everything_inline_and_links_each_variant_to_its_marked_block(demo_results: Path) -> None:
    page = (demo_results / "report.html").read_text()
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from anywhere
    info = json.loads((demo_results / "aligned_seq_info.json").read_text())
    for name, details in info.items():
        for variant in details.get("embedded_variants") or []:
            first = variant["alignment_start_pos"]
            block = re.search(rf'<pre class="block" id="block-{(first - 1) // 60}">(.*?)</pre>', page, re.S)
            assert block and f'href="#block-{(first - 1) // 60}"' in page
            line = next(line for line in block[1].splitlines() if line.startswith(name + " "))
            residues = re.sub(r"^\S+\s+", "", line)
            plain = re.sub(r'<span class="v">(.)</span>', "#", residues)
            assert "#" in plain and plain.index("#") == (first - 1) % 60, (name, variant["variant_id"])
    for name in info:  # the guide tree drawn, every name in it
        assert name in page.split("<h2>Guide tree</h2>")[1]


def chromium(page: Path, screenshot: Path) -> tuple[str, float]:
    """Headless Chromium opens the page (no name resolves: nothing may load from anywhere), takes
    a screenshot, and dumps the DOM; its log and the seconds it took."""
    assert CHROMIUM
    began = time.perf_counter()
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--enable-logging=stderr", "--v=0", "--window-size=1280,1600", f"--screenshot={screenshot}",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    assert done.returncode == 0 and screenshot.stat().st_size > 10_000, done.stderr[-2000:]
    return done.stderr, seconds


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium (Debian's) opens the page")
def test_chromium_renders_the_demo_page_without_an_error_or_a_request(demo_results: Path, tmp_path: Path) -> None:
    log, _ = chromium(demo_results / "report.html", tmp_path / "demo.png")
    assert "CONSOLE" not in log and "net::ERR" not in log, log[-2000:]
    from PIL import Image

    shot = Image.open(tmp_path / "demo.png").convert("RGB")
    assert len(shot.getcolors(maxcolors=1 << 20) or []) > 20  # rendered: the picture's colours, not a blank page
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--dump-dom", (demo_results / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    text = DomText()
    text.feed(dom)  # what Chromium built, as a reader sees it: every tree name, each variant's marked residue
    info = json.loads((demo_results / "aligned_seq_info.json").read_text())
    tree = text.sections["Guide tree"]
    assert all(re.search(rf"\b{re.escape(name)}\b", tree) for name in info), tree
    marked = sum(len(v.get("embedded_variants") or []) for v in info.values())
    assert text.marked >= marked > 0 and "p.Phe57Ser" in text.sections["Variants"]
    rows = list(parse_clustal((demo_results / "alignment-output.aln").read_text()).values())
    column = [row[57 - 1] for row in rows if row[57 - 1] != "-"]  # p.Phe57Ser's column, counted here
    share = max(column.count(residue) for residue in column) / len(column)
    assert f"({100 * share:.1f}% identical)" in text.sections["Variants"], text.sections["Variants"]


class DomText(HTMLParser):
    """A dumped DOM's text by section (each ``h2``'s heading: the text up to the next), and how many
    residues are in a variant's marked span."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.heading: str | None = None
        self.in_heading = self.in_mark = False
        self.marked = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_heading = tag == "h2"
        self.in_mark = tag == "span" and ("class", "v") in attrs
        if self.in_heading:
            self.heading = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self.heading is not None:
            self.sections[self.heading] = ""
            self.in_heading = False
        self.in_mark = False

    def handle_data(self, data: str) -> None:
        if self.in_heading and self.heading is not None:
            self.heading += data
        elif self.heading is not None:
            self.sections[self.heading] = self.sections.get(self.heading, "") + data
        if self.in_mark and data.strip():
            self.marked += 1


def large_results(folder: Path, sequences: int = 1000, length: int = 400, views: bool = False) -> Path:
    """A synthetic job's results: related proteins, one variant (seq7's column 200, seq0 its
    reference); with ``views`` also the collection's variant table, identity matrix and a
    balanced guide tree of every name."""
    rng = random.Random(31)
    root = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(length))
    rows = [(f"seq{i}", "".join(c if rng.random() > 0.05 else rng.choice("ACDEFGH") for c in root))
            for i in range(sequences)]  # fmt: skip
    clustal = clustal_text(rows, "CLUSTAL O(1.2.4) multiple sequence alignment")
    (folder / "alignment-output.aln").write_text(clustal)
    variant = {"variant_id": "v1", "alignment_start_pos": 200, "alignment_end_pos": 200, "hgvs_p": "p.Ala200Gly",
               "consequence": ["missense_variant"]}  # fmt: skip
    info = {"seq7": {"embedded_variants": [variant]}}
    (folder / "aligned_seq_info.json").write_text(json.dumps(info))
    (folder / "job-report.json").write_text(json.dumps({"job_id": "large", "status": "completed"}))
    if views:
        parsed = ParsedAlignment.from_clustal(clustal)
        table = variant_rows(parsed, {"e": {"seq0": {}, "seq7": {}}}, info)
        (folder / "variant-columns.json").write_text(variant_table_json(table))
        (folder / "identity-matrix.tsv").write_text(identity_matrix_tsv(parsed))

        def tree(names: list[str]) -> str:
            if len(names) == 1:
                return f"{names[0]}:0.1"
            return f"({tree(names[: len(names) // 2])},{tree(names[len(names) // 2 :])}):0.05"

        (folder / "guide-tree.dnd").write_text(tree([name for name, _ in rows]) + ";\n")
    return folder


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium (Debian's) opens the page")
def test_a_large_jobs_page_is_an_overview_that_opens(tmp_path: Path) -> None:
    """1,000 sequences just past the bound's columns: the page shows the conservation strip with
    the variant marked and its columns in full, and opens in a browser in a few seconds."""
    folder = large_results(tmp_path, 1000, FULL_CELLS // 1000 + 1)
    written, _ = write_page(folder)
    assert written == ["report.html"] and not (folder / "alignment.png").exists()
    page = (folder / "report.html").read_text()
    assert "<h2>Overview</h2>" in page and "p.Ala200Gly</h3>" in page
    assert page.count('<span style="background:#d62728">') == 1  # the variant's column in the strip
    assert 'href="#around-200"' in page and '<h3 id="around-200">' in page  # its link scrolls to its columns
    log, seconds = chromium(folder / "report.html", tmp_path / "large.png")
    assert "CONSOLE" not in log and seconds < 30, seconds


def test_the_variant_table_groups_many_other_sequences_by_what_they_carry() -> None:
    from pavi.domain.job_page import LISTED, others_there

    few = [(f"s{i}", "A") for i in range(LISTED)]
    assert others_there(few) == ", ".join(f"s{i}: A" for i in range(LISTED))
    many = [(f"s{i}", "H" if i % 4 else "F") for i in range(40)] + [("t", "-")]
    assert others_there(many) == "H: 30 (s1, s2, s3, ...); F: 10 (s0, s4, s8, ...); -: 1 (t)"
