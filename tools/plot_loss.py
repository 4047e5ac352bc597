#!/usr/bin/env python3
"""plot_loss.py BENCH_JSON OUT_SVG: goodput against loss rate, from tools/bench's loss section.

Four panels (download, upload) x (offload, no offload); in each, tapsrv against the kernel for
each congestion control the bench ran, medians joined by lines and every run as a faint dot
(hollow: the run hit the time limit). Goodput on a log scale: the figures span four decades.

Plain SVG from the standard library: no plotting package to install (the python3 on PATH here
need not be Debian's, which is where python3-matplotlib would go), and the same JSON always
gives the same file, so a committed picture changes only when the figures do.
"""
import json
import math
import sys

W, H = 960, 700
PANEL_W, PANEL_H = 380, 230
LEFT, TOP, GAP_X, GAP_Y = 90, 70, 90, 95
TAPSRV, KERNEL = "#d9480f", "#1c5fb8"
DASHES = ["", "7,4", "2,3", "10,3,2,3"]  # one per congestion control, in the bench's order


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Svg:
    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="middle", weight="normal", rotate=None, fill="#222"):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{fill}"{tr}>{esc(s)}</text>')

    def line(self, x1, y1, x2, y2, stroke="#999", width=1, dash=""):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="{stroke}" stroke-width="{width}"{d}/>')

    def render(self):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
                f'viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Arial, sans-serif">\n'
                f'<rect width="{W}" height="{H}" fill="white"/>\n' + "\n".join(self.parts) + "\n</svg>\n")


def series(loss):
    """(label, colour, dash, direction, mode, [(permille, median Mbit/s)], [runs]) for each line."""
    medians, runs = loss["medians"], [r for r in loss["runs"] if r.get("ok")]
    ccs = list(dict.fromkeys(m["kernel_cc"] for m in medians))
    out = []
    for mode in ("offload", "no-offload"):
        for direction in ("download", "upload"):
            ms = [m for m in medians if m["mode"] == mode and m["dir"] == direction]
            for i, cc in enumerate(ccs):
                dash = DASHES[i % len(DASHES)]
                pts = [(m["loss_set"], m["kernel"]["mbps"]) for m in ms if m["kernel_cc"] == cc]
                rs = [r for r in runs if (r["mode"], r["dir"], r["side"], r["cc"]) ==
                      (mode, direction, "kernel", cc)]
                out.append((f"kernel, {cc}", KERNEL, dash, direction, mode, pts, rs))
                # tapsrv's download does not depend on the client's cc: one line. Its upload is
                # the kernel client sending, so one line per cc.
                if direction == "upload" or i == 0:
                    label = f"tapsrv, client {cc}" if direction == "upload" else "tapsrv"
                    pts = [(m["loss_set"], m["tapsrv"]["mbps"]) for m in ms if m["kernel_cc"] == cc]
                    rs = [r for r in runs if (r["mode"], r["dir"], r["side"]) ==
                          (mode, direction, "tapsrv") and (direction == "download" or r["cc"] == cc)]
                    out.append((label, TAPSRV, dash if direction == "upload" else "", direction, mode,
                                pts, rs))
    return out


def main():
    data = json.load(open(sys.argv[1]))
    loss = data.get("loss")
    if not loss:
        sys.exit(f"{sys.argv[1]}: no loss section (tools/bench --only loss --json FILE)")
    lines = series(loss)
    levels = sorted({m["loss_set"] for m in loss["medians"]})
    values = [v for *_, pts, rs in lines for v in [p[1] for p in pts] + [r["mbps"] for r in rs]
              if v and v > 0]
    lo = math.floor(math.log10(min(values)))
    hi = math.ceil(math.log10(max(values)))
    svg = Svg()
    title = "tapsrv vs Linux under random loss (both ways, router forward hook)"
    svg.text(W / 2, 28, title, size=17, weight="bold")
    svg.text(W / 2, 48, f"{data.get('date', '')[:16].replace('T', ' ')}  |  "
             f"{loss['bytes_per_run'] >> 20} MiB per run, at most {loss['time_limit_s']} s  |  "
             f"median of {loss['reps']}" + ("  |  QUICK smoke test" if loss.get("quick") else ""),
             size=12, fill="#555")
    for row, direction in enumerate(("download", "upload")):
        for col, mode in enumerate(("offload", "no-offload")):
            x0, y0 = LEFT + col * (PANEL_W + GAP_X), TOP + row * (PANEL_H + GAP_Y)
            xs = {lv: x0 + 20 + i * (PANEL_W - 40) / max(len(levels) - 1, 1) for i, lv in enumerate(levels)}
            ypos = lambda v: y0 + PANEL_H - (math.log10(v) - lo) / (hi - lo) * PANEL_H
            what = "Download (server sends)" if direction == "download" else "Upload (client sends)"
            how = "offload (TSO/GSO)" if mode == "offload" else "no offload (MSS packets)"
            svg.text(x0 + PANEL_W / 2, y0 - 10, f"{what}, {how}", size=13, weight="bold")
            svg.add(f'<rect x="{x0}" y="{y0}" width="{PANEL_W}" height="{PANEL_H}" fill="none" '
                    f'stroke="#444"/>')
            for e in range(lo, hi + 1):
                y = ypos(10 ** e)
                svg.line(x0, y, x0 + PANEL_W, y, stroke="#ddd")
                svg.text(x0 - 6, y + 4, f"{10 ** e:g}", size=11, anchor="end")
            for lv, x in xs.items():
                svg.line(x, y0 + PANEL_H, x, y0 + PANEL_H + 4, stroke="#444")
                svg.text(x, y0 + PANEL_H + 17, f"{lv * 100:g}%", size=11)
            svg.text(x0 + PANEL_W / 2, y0 + PANEL_H + 34, "packets dropped each way (set)", size=11)
            svg.text(x0 - 52, y0 + PANEL_H / 2, "goodput, Mbit/s", size=11, rotate=-90)
            for label, colour, dash, d, m, pts, rs in lines:
                if (d, m) != (direction, mode):
                    continue
                for r in rs:
                    if r["mbps"] > 0 and r["permille"] / 1000 in xs:
                        fill = colour if r["finished"] else "none"
                        svg.add(f'<circle cx="{xs[r["permille"] / 1000]:.1f}" cy="{ypos(r["mbps"]):.1f}" '
                                f'r="3" fill="{fill}" stroke="{colour}" opacity="0.35"/>')
                pts = [(xs[lv], ypos(v)) for lv, v in sorted(pts) if v and v > 0]
                d_attr = f' stroke-dasharray="{dash}"' if dash else ""
                svg.add(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" '
                        f'fill="none" stroke="{colour}" stroke-width="2"{d_attr}/>')
                for x, y in pts:
                    svg.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
            # The legend of this panel, inside it at the bottom left.
            ly = y0 + PANEL_H - 10
            for label, colour, dash, d, m, pts, rs in reversed([s for s in lines if (s[3], s[4]) == (direction, mode)]):
                svg.line(x0 + 10, ly - 4, x0 + 38, ly - 4, stroke=colour, width=2, dash=dash)
                svg.text(x0 + 44, ly, label, size=11, anchor="start")
                ly -= 15
    svg.text(W / 2, H - 12, "lines: medians; faint dots: every run (hollow = stopped at the time "
             "limit, goodput of what it moved); generated by tools/plot_loss.py", size=11, fill="#555")
    with open(sys.argv[2], "w") as f:
        f.write(svg.render())


if __name__ == "__main__":
    main()
