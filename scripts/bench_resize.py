"""Side-by-side resize benchmark: tessera resize vs Pillow (as the reference Lambdas use it), Pillow
with draft(), vips resize and vipsthumbnail, on a corpus of real photographs. Prints megapixels per
second, peak RSS and PSNR/SSIM against a Lanczos resize of the fully decoded original. Reports only.

Timing: command-line peers (tessera, vips, vipsthumbnail) run once per file as a process and are
timed from spawn to exit, start-up included; the Pillow peers are timed inside the interpreter from
open to save (their interpreter start-up and imports are left out). Peak RSS is wait4's ru_maxrss of
each process (the Pillow peers' includes the interpreter)."""
import json, os, subprocess, sys, time
import numpy as np
from PIL import Image, ImageOps

TESSERA, CORPUS, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
BIG = sys.argv[4] if len(sys.argv) > 4 else None
os.makedirs(OUT, exist_ok=True)
PILLOW_RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_resize_pillow.py")

def run(cmd):
    # Output goes to files, not pipes: a chatty child must never block on a full pipe.
    with open(os.path.join(OUT, "stdout"), "w+b") as out, open(os.path.join(OUT, "stderr"), "w+b") as err:
        # GNU time measures the peak RSS of a process exec'd from a small parent (a child forked
        # from this large interpreter would count the interpreter's pages too).
        rss_file = os.path.join(OUT, "rss")
        start = time.perf_counter()
        status = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], stdout=out, stderr=err)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text = lambda f: f.read().decode("utf-8", "replace")
        rss = int(open(rss_file).read().strip().splitlines()[-1])
        return status == 0, elapsed, rss, text(out), text(err)

def targets(w, h, task):
    if task == "50%":
        return max(1, round(w / 2)), max(1, round(h / 2))
    s = min(256 / w, 256 / h, 1)
    return max(1, round(w * s)), max(1, round(h * s))

def peers(src, out, task, w, h):
    """(name, command, applies EXIF orientation)"""
    tw, th = targets(w, h, task)
    flag = ["--scale", "50%"] if task == "50%" else ["--fit", "256x256"]
    scale = 0.5 if task == "50%" else min(256 / w, 256 / h, 1)
    box = f"{tw}x{th}" if task == "50%" else "256x256"
    return [
        ("tessera", [TESSERA, "resize", src, out, *flag], True),
        ("tessera-m1", [TESSERA, "resize", src, out, *flag, "--margin", "1"], True),
        ("pillow", [sys.executable, PILLOW_RUN, "plain", task, src, out], False),
        ("pillow-draft", [sys.executable, PILLOW_RUN, "draft", task, src, out], False),
        ("vips-resize", ["vips", "resize", src, out + "[Q=85]", str(scale)], False),
        ("vipsthumbnail", ["vipsthumbnail", src, "-s", box, "-o", out + "[Q=85]"], True),
    ]

def luma(a):
    a = a.astype(np.float64)
    return a if a.ndim == 2 else 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]

def ssim(x, y):
    # SSIM (Wang et al.) on luma with 8x8 uniform windows, via summed-area tables.
    x, y = luma(x), luma(y)
    c1, c2, n = (0.01 * 255) ** 2, (0.03 * 255) ** 2, 8
    if min(x.shape) < n:
        return float("nan")
    def box(a):
        s = np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        return (s[n:, n:] - s[:-n, n:] - s[n:, :-n] + s[:-n, :-n]) / (n * n)
    mx, my = box(x), box(y)
    vx, vy, cxy = box(x * x) - mx * mx, box(y * y) - my * my, box(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(m.mean())

def psnr(x, y):
    mse = np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 * 255 / mse)

references = {}
def reference(src, size, upright):
    key = (src, upright)
    if key not in references:
        references.clear()  # one photo at a time keeps the driver small
        im = Image.open(src)
        im.load()
        if upright:
            im = ImageOps.exif_transpose(im)
        references[key] = im.convert("L" if im.mode == "L" else "RGB")
    return np.asarray(references[key].resize(size, Image.LANCZOS))

files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.lower().endswith(".jpg"))
results = {}
for task in ["50%", "fit 256x256"]:
    for src in files:
        with Image.open(src) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
        if orientation >= 5:
            w, h = h, w
        mp = w * h / 1e6
        for name, cmd, upright in peers(src, os.path.join(OUT, "x.jpg"), task, w, h):
            ok, elapsed, rss, out, err = run(cmd)
            row = results.setdefault((task, name), {"mp": 0, "s": 0, "wall": 0, "rss": 0, "rsss": [], "psnr": [], "ssim": [], "fail": []})
            if not ok:
                row["fail"].append(os.path.basename(src) + ": " + (err.strip().splitlines() or ["?"])[-1][:120])
                continue
            row["wall"] += elapsed
            if name.startswith("pillow"):
                elapsed = float(out.strip().splitlines()[-1])
            row["mp"] += mp
            row["s"] += elapsed
            row["rss"] = max(row["rss"], rss)
            row["rsss"].append(rss)
            got = Image.open(os.path.join(OUT, "x.jpg"))
            got = np.asarray(got.convert("L" if got.mode == "L" else "RGB"))
            ref = reference(src, (got.shape[1], got.shape[0]), upright)
            if ref.ndim != got.ndim:
                ref = np.asarray(Image.fromarray(ref).convert("L" if got.ndim == 2 else "RGB"))
            row["psnr"].append(psnr(ref, got))
            row["ssim"].append(ssim(ref, got))

print(f"corpus: {len(files)} photos in {CORPUS}")
for task in ["50%", "fit 256x256"]:
    print(f"\ntask {task}")
    print(f"{'peer':<14} {'files':>5} {'MP/s':>8} {'process':>8} {'peak RSS':>10} {'median RSS':>11} {'PSNR dB':>8} {'SSIM':>7}  failures")
    for (t, name), r in results.items():
        if t != task:
            continue
        n = len(r["psnr"])
        mps = r["mp"] / r["s"] if r["s"] else 0
        p = np.mean([v for v in r["psnr"] if np.isfinite(v)]) if n else float("nan")
        s = np.nanmean(r["ssim"]) if n else float("nan")
        med = np.median(r["rsss"]) / 1024 if r["rsss"] else 0
        wall = r["mp"] / r["wall"] if r["wall"] else 0
        print(f"{name:<14} {n:>5} {mps:>8.1f} {wall:>8.1f} {r['rss'] / 1024:>7.1f} MB {med:>8.1f} MB {p:>8.2f} {s:>7.4f}  {len(r['fail'])}")
        for f in r["fail"]:
            print(f"{'':<16}{f}")

if BIG:
    with Image.open(BIG) as im:
        w, h = im.size
    print(f"\n50 MP photo ({w}x{h}, {os.path.getsize(BIG) // 1024} KiB): seconds and peak RSS per peer")
    for task in ["50%", "fit 256x256"]:
        cells = []
        for name, cmd, _ in peers(BIG, os.path.join(OUT, "big.jpg"), task, w, h):
            if name.startswith("pillow"):
                continue
            ok, elapsed, rss, _, err = run(cmd)
            cells.append(f"{name} {elapsed:.2f} s {rss / 1024:.0f} MB" if ok else f"{name} failed")
        print(f"  {task:<12} " + " | ".join(cells))
print("\nMP/s: source megapixels over time; CLI peers run as one process per file, start-up included, the"
      "\nPillow peers timed in-process from open to save. process: every peer timed as a whole process per"
      "\nfile (Pillow's interpreter start-up and imports included). RSS: GNU time's maximum resident set size.")
