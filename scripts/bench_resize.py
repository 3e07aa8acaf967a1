"""The picture processor's default renditions (half=50% and thumb=fit:256x256) side by side, per photo:
Tessera (render-process, built as the functions ship), the plain libturbojpeg C program
(Benchmarks/tj-resize: DCT-scaled tjDecompress2 straight to each target, tjCompress2) and plain Pillow
(Lanczos from the full decode, as the reference Lambdas resize; the quality reference). Each peer runs
as a whole process per photo (best of REPEATS), and Tessera and the C program also report their
in-process time. PSNR is against a Lanczos resize (Pillow) of the full decode, upright, at each
output's own size. Peak RSS is GNU time's maximum resident set size. Prints figures, asserts nothing."""
import os, subprocess, sys, time
import numpy as np
from PIL import Image, ImageOps

RENDER, TJ, CORPUS, OUT = sys.argv[1:5]
REPEATS = int(os.environ.get("REPEATS", "3"))
PILLOW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_resize_pillow.py")
os.makedirs(OUT, exist_ok=True)

def run(cmd):
    """(best seconds, peak KiB of that run, stdout) as a process, or None when it fails."""
    best = None
    for _ in range(REPEATS):
        rss_file = os.path.join(OUT, "rss")
        with open(os.path.join(OUT, "stdout"), "w+b") as out, open(os.path.join(OUT, "stderr"), "w+b") as err:
            start = time.perf_counter()
            status = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], stdout=out, stderr=err)
            elapsed = time.perf_counter() - start
            out.seek(0)
            text = out.read().decode()
        if status != 0:
            return None
        rss = int(open(rss_file).read().split()[-1])
        if best is None or elapsed < best[0]:
            best = (elapsed, rss, text)
    return best

def psnr(path, reference):
    got = Image.open(path)
    got = np.asarray(got.convert("L" if got.mode == "L" else "RGB"), dtype=np.float64)
    ref = reference(got.shape[1], got.shape[0], got.ndim == 2)
    mse = np.mean((got - ref) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)

def coefficient_bytes(src):
    """What libjpeg holds for a progressive file: every component's coefficients, 2 bytes each."""
    with Image.open(src) as im:
        if not (im.info.get("progressive") or im.info.get("progression")):
            return 0
        w, h = im.size
        hmax, vmax = max(c[1] for c in im.layer), max(c[2] for c in im.layer)
        total = 0
        for _, hs, vs, _ in im.layer:
            cw, ch = -(-w * hs // hmax), -(-h * vs // vmax)
            total += -(-cw // 8) * 8 * -(-ch // 8) * 8 * 2
        return total

files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.lower().endswith(".jpg"))
rows = []
print(f"{'photo':34} {'MP':>5} | {'Tessera ms':>10} {'C ms':>8} {'Pillow ms':>9} {'C/T':>5} | {'in-process T':>12} {'C':>7} {'C/T':>5} |"
      f" {'peak MB T/C':>11} | {'PSNR half T/C/P':>17} | {'PSNR thumb T/C/P':>17}")
for src in files:
    name = os.path.basename(src)[:-4]
    with Image.open(src) as im:
        mp = im.size[0] * im.size[1] / 1e6
    decoded = {}
    def reference(upright):
        # Tessera applies EXIF orientation; the C program and plain Pillow leave pictures as stored.
        def resized(w, h, gray):
            if upright not in decoded:
                im = Image.open(src)
                im = ImageOps.exif_transpose(im) if upright else im
                decoded[upright] = im.convert("L" if im.mode == "L" else "RGB")
            im = decoded[upright].convert("L" if gray else "RGB")
            return np.asarray(im.resize((w, h), Image.LANCZOS), dtype=np.float64)
        return resized
    t = run([RENDER, src, os.path.join(OUT, "t")])
    c = run([TJ, src, os.path.join(OUT, "c"), "1"])
    p_half = run([sys.executable, PILLOW, "plain", "50%", src, os.path.join(OUT, "p-half.jpg")])
    p_thumb = run([sys.executable, PILLOW, "plain", "fit 256x256", src, os.path.join(OUT, "p-thumb.jpg")])
    if not (t and c and p_half and p_thumb):
        print(f"{name:34} {mp:5.1f} | failed: tessera {'ok' if t else 'failed'}, C {'ok' if c else 'failed'}, "
              f"Pillow {'ok' if p_half and p_thumb else 'failed'}")
        continue
    t_in = float(t[2].split()[0])
    c_in = sum(float(line.split()[1]) for line in c[2].splitlines())
    p_ms = (float(p_half[2].split()[-1]) + float(p_thumb[2].split()[-1])) * 1000  # in-process, as Pillow
    row = dict(name=name, mp=mp, t=t[0] * 1000, c=c[0] * 1000, p=p_ms, t_in=t_in, c_in=c_in, t_rss=t[1] / 1024,
               c_rss=c[1] / 1024, coeff=coefficient_bytes(src),
               psnr={(peer, r): psnr(os.path.join(OUT, f"{peer}-{r}.jpg"), reference(peer == "t"))
                     for peer in ("t", "c", "p") for r in ("half", "thumb")})
    rows.append(row)
    q = row["psnr"]
    print(f"{name[:34]:34} {mp:5.1f} | {row['t']:10.1f} {row['c']:8.1f} {p_ms:9.1f} {row['c'] / row['t']:5.2f} |"
          f" {t_in:12.1f} {c_in:7.1f} {c_in / t_in:5.2f} | {row['t_rss']:5.1f}/{row['c_rss']:5.1f} |"
          f" {q['t', 'half']:5.2f}/{q['c', 'half']:5.2f}/{q['p', 'half']:5.2f} | {q['t', 'thumb']:5.2f}/{q['c', 'thumb']:5.2f}/{q['p', 'thumb']:5.2f}")

if rows:
    n = len(rows)
    t_sum, c_sum = sum(r["t"] for r in rows), sum(r["c"] for r in rows)
    ti_sum, ci_sum = sum(r["t_in"] for r in rows), sum(r["c_in"] for r in rows)
    ratios = sorted(r["c"] / r["t"] for r in rows)
    in_ratios = sorted(r["c_in"] / r["t_in"] for r in rows)
    mean = lambda peer, r: float(np.mean([row["psnr"][peer, r] for row in rows]))
    print(f"\n{n} photos, each peer as a whole process per photo, best of {REPEATS}:")
    print(f"  speed, all photos (C time / Tessera time, above 1: Tessera faster): {c_sum / t_sum:.2f}x as processes "
          f"({t_sum:.0f} vs {c_sum:.0f} ms), {ci_sum / ti_sum:.2f}x in-process ({ti_sum:.0f} vs {ci_sum:.0f} ms)")
    print(f"  per photo, median ratio: {ratios[n // 2]:.2f}x as processes (range {ratios[0]:.2f}-{ratios[-1]:.2f}), "
          f"{in_ratios[n // 2]:.2f}x in-process")
    for r in ("half", "thumb"):
        print(f"  PSNR {r:5}: Tessera {mean('t', r):.2f} dB, C {mean('c', r):.2f}, Pillow {mean('p', r):.2f}; "
              f"Tessera - Pillow {mean('t', r) - mean('p', r):+.2f} dB (target: at least -0.10)")
    small = [r for r in rows if r["mp"] <= 24.5 and r["coeff"] <= 64 << 20]
    if small:
        worst = max(small, key=lambda r: r["t_rss"])
        print(f"  peak RSS, photos up to 24 MP whose coefficient image is under 64 MB ({len(small)}): Tessera at most "
              f"{worst['t_rss']:.1f} MB ({worst['name']}), C at most {max(r['c_rss'] for r in small):.1f} MB (target: 64)")
    big = [r for r in rows if r not in small]
    for r in big:
        print(f"  peak RSS, {r['name']} (coefficient image {r['coeff'] / 2**20:.0f} MB): Tessera {r['t_rss']:.1f} MB, "
              f"C {r['c_rss']:.1f} MB")
print("\nC's outputs are the nearest DCT scale at or under each target (a 1/8-scale thumbnail is often not 256 px);"
      "\nTessera's and Pillow's are the exact size. Pillow's time is in-process (interpreter start-up left out).")
