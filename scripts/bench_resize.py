"""The picture processor's default renditions (half=50% and thumb=fit:256x256) side by side, per photo:
Tessera (render-process, built as the functions ship), the plain libturbojpeg C program
(Benchmarks/tj-resize: DCT-scaled tjDecompress2 straight to each target, tjCompress2) and plain Pillow
(Lanczos from the full decode, as the reference Lambdas resize; the quality reference). Each peer runs
as a whole process per photo, the peers alternated run by run (the machine is shared: best of
REPEATS of each); Tessera and the C program also report their in-process time. With BEFORE=path, an
older render-process runs alternated with the others (before/after). With VARIANTS=1, Tessera also
runs with each rendition decoded on its own (the thumbnail from a second, 1/8-scale decode instead of
the half's planes), and with the half's decode forced to 4/8 (straight to size) and to 8/8. PSNR is against a Lanczos resize (Pillow) of the full decode, upright, at each
output's own size. Peak RSS is GNU time's maximum resident set size. Then every photo of BIG (a
directory) at a 128 MB function's limits. Prints figures, asserts nothing."""
import os, statistics, subprocess, sys, time
import numpy as np
from PIL import Image, ImageOps

RENDER, TJ, CORPUS, OUT = sys.argv[1:5]
BIG = sys.argv[5] if len(sys.argv) > 5 else None
REPEATS = int(os.environ.get("REPEATS", "3"))
BEFORE = os.environ.get("BEFORE")
VARIANTS = os.environ.get("VARIANTS") == "1"
PILLOW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_resize_pillow.py")
os.makedirs(OUT, exist_ok=True)

def once(cmd, env=None):
    """(seconds, peak KiB, stdout) of one run as a process, or None when it fails."""
    rss_file = os.path.join(OUT, "rss")
    with open(os.path.join(OUT, "stdout"), "w+b") as out, open(os.path.join(OUT, "stderr"), "w+b") as err:
        start = time.perf_counter()
        status = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], stdout=out, stderr=err,
                                 env=None if env is None else {**os.environ, **env})
        elapsed = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode()
    if status != 0:
        return None
    return elapsed, int(open(rss_file).read().split()[-1]), text

def alternated(commands):
    """Runs the named commands in turn, REPEATS rounds; the best (fastest) run of each, or None."""
    best = {name: None for name in commands}
    failed = set()
    for _ in range(REPEATS):
        for name, (cmd, env) in commands.items():
            if name in failed:
                continue
            result = once(cmd, env)
            if result is None:
                failed.add(name)
                best[name] = None
            elif best[name] is None or result[0] < best[name][0]:
                best[name] = result
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

def in_process(result):
    return float(result[2].split()[0])

files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.lower().endswith(".jpg"))
rows = []
print(f"{'photo':30} {'MP':>5} | {'T ms':>7} {'C ms':>7} {'Pil ms':>7} {'C/T':>5} |"
      f" {'T in':>7} {'C in':>7} {'C/T':>5} |" + (f" {'before':>7} {'C/B':>5} |" if BEFORE else "")
      + (f" {'own 1/8':>7} | {'4/8 in':>7} {'PSNR':>5} | {'8/8 in':>7} {'PSNR':>5} |" if VARIANTS else "")
      + f" {'peak MB T/C':>11} | {'PSNR half T/C/P':>17} | {'PSNR thumb T/C/P':>17} | half made")
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
    commands = {"t": ([RENDER, src, os.path.join(OUT, "t")], None),
                "c": ([TJ, src, os.path.join(OUT, "c"), "1"], None),
                "p_half": ([sys.executable, PILLOW, "plain", "50%", src, os.path.join(OUT, "p-half.jpg")], None),
                "p_thumb": ([sys.executable, PILLOW, "plain", "fit 256x256", src, os.path.join(OUT, "p-thumb.jpg")], None)}
    if BEFORE:
        commands["b"] = ([BEFORE, src, os.path.join(OUT, "b")], None)
    if VARIANTS:
        commands["own"] = ([RENDER, src, os.path.join(OUT, "own")], {"RENDER_NO_CHAIN": "1"})
        commands["s4"] = ([RENDER, src, os.path.join(OUT, "s4")], {"RENDER_SCALE": "4"})
        commands["s8"] = ([RENDER, src, os.path.join(OUT, "s8")], {"RENDER_SCALE": "8"})
    best = alternated(commands)
    t, c, p_half, p_thumb = best["t"], best["c"], best["p_half"], best["p_thumb"]
    if not (t and c and p_half and p_thumb):
        print(f"{name:30} {mp:5.1f} | failed: tessera {'ok' if t else 'failed'}, C {'ok' if c else 'failed'}, "
              f"Pillow {'ok' if p_half and p_thumb else 'failed'}")
        continue
    # The outputs of the last round are each peer's (every run writes the same files).
    t_in = in_process(t)
    c_in = sum(float(line.split()[1]) for line in c[2].splitlines())
    p_ms = (float(p_half[2].split()[-1]) + float(p_thumb[2].split()[-1])) * 1000  # in-process, as Pillow
    made = next((line[6:] for line in t[2].splitlines() if line.startswith("half: ")), "")
    row = dict(name=name, mp=mp, t=t[0] * 1000, c=c[0] * 1000, p=p_ms, t_in=t_in, c_in=c_in, t_rss=t[1] / 1024,
               c_rss=c[1] / 1024, coeff=coefficient_bytes(src), made=made,
               b=best["b"][0] * 1000 if BEFORE and best["b"] else None,
               own=in_process(best["own"]) if VARIANTS and best["own"] else None,
               s4=(in_process(best["s4"]), psnr(os.path.join(OUT, "s4-half.jpg"), reference(True)))
                   if VARIANTS and best["s4"] else None,
               s8=(in_process(best["s8"]), psnr(os.path.join(OUT, "s8-half.jpg"), reference(True)))
                   if VARIANTS and best["s8"] else None,
               psnr={(peer, r): psnr(os.path.join(OUT, f"{peer}-{r}.jpg"), reference(peer == "t"))
                     for peer in ("t", "c", "p") for r in ("half", "thumb")})
    rows.append(row)
    q = row["psnr"]
    before = (f" {row['b']:7.1f} {row['c'] / row['b']:5.2f} |" if row["b"] else f" {'-':>7} {'-':>5} |") if BEFORE else ""
    own = ((f" {row['own']:7.1f} |" if row["own"] else f" {'-':>7} |")
           + "".join(f" {row[k][0]:7.1f} {row[k][1]:5.2f} |" if row[k] else f" {'-':>7} {'-':>5} |" for k in ("s4", "s8"))
           if VARIANTS else "")
    print(f"{name[:30]:30} {mp:5.1f} | {row['t']:7.1f} {row['c']:7.1f} {p_ms:7.1f} {row['c'] / row['t']:5.2f} |"
          f" {t_in:7.1f} {c_in:7.1f} {c_in / t_in:5.2f} |{before}{own} {row['t_rss']:5.1f}/{row['c_rss']:5.1f} |"
          f" {q['t', 'half']:5.2f}/{q['c', 'half']:5.2f}/{q['p', 'half']:5.2f} |"
          f" {q['t', 'thumb']:5.2f}/{q['c', 'thumb']:5.2f}/{q['p', 'thumb']:5.2f} | {made[:60]}", flush=True)

def summary(label, ratios):
    ratios = sorted(ratios)
    worst = ratios[0]
    return (f"{label}: median {statistics.median(ratios):.2f}x, worst {worst:.2f}x, best {ratios[-1]:.2f}x, "
            f"{sum(r >= 1 for r in ratios)} of {len(ratios)} at or above 1.0x, {sum(r < 0.8 for r in ratios)} below 0.8x")

if rows:
    n = len(rows)
    t_sum, c_sum = sum(r["t"] for r in rows), sum(r["c"] for r in rows)
    ti_sum, ci_sum = sum(r["t_in"] for r in rows), sum(r["c_in"] for r in rows)
    mean = lambda peer, r: float(np.mean([row["psnr"][peer, r] for row in rows]))
    print(f"\n{n} photos, each peer as a whole process per photo, peers alternated, best of {REPEATS} each "
          f"(the machine is shared: figures move by 10-30% from run to run):")
    print("  per photo, C time / Tessera time (above 1: Tessera faster; target median >= 1.0x, none < 0.8x):")
    print("    " + summary("as processes", [r["c"] / r["t"] for r in rows]))
    print("    " + summary("in-process  ", [r["c_in"] / r["t_in"] for r in rows]))
    if BEFORE:
        before = [r for r in rows if r["b"]]
        print("    " + summary("before, as processes", [r["c"] / r["b"] for r in before]))
        print("    " + summary("after / before (before time / after time)", [r["b"] / r["t"] for r in before]))
    print(f"  all photos summed: {c_sum / t_sum:.2f}x as processes ({t_sum:.0f} vs {c_sum:.0f} ms), "
          f"{ci_sum / ti_sum:.2f}x in-process ({ti_sum:.0f} vs {ci_sum:.0f} ms)")
    if VARIANTS:
        own = [r for r in rows if r["own"]]
        print("  thumbnail from the half's planes vs its own 1/8-scale decode (in-process, both renditions): "
              + summary("own decode time / chained time", [r["own"] / r["t_in"] for r in own]).split(": ", 1)[1])
    if VARIANTS:
        for k, label in (("s4", "4/8 straight to the half"), ("s8", "8/8 and Lanczos")):
            some = [r for r in rows if r[k]]
            print(f"  half decoded at {label} (forced, in-process): time / the rule's "
                  + summary("", [r[k][0] / r["t_in"] for r in some]).split(": ", 1)[1]
                  + f"; PSNR half mean {np.mean([r[k][1] for r in some]):.2f} dB against the rule's "
                  f"{np.mean([r['psnr']['t', 'half'] for r in some]):.2f}, worst photo "
                  f"{min(r[k][1] - r['psnr']['t', 'half'] for r in some):+.2f} dB")
    for r in ("half", "thumb"):
        print(f"  PSNR {r:5} (mean): Tessera {mean('t', r):.2f} dB, C {mean('c', r):.2f}, Pillow {mean('p', r):.2f}; "
              f"Tessera - Pillow {mean('t', r) - mean('p', r):+.2f} dB (target: at least -0.10)")
    small = [r for r in rows if r["mp"] <= 24.5]
    if small:
        worst = max(small, key=lambda r: r["t_rss"] - r["c_rss"])
        print(f"  peak RSS, photos up to 24 MP ({len(small)}): Tessera - C at most {worst['t_rss'] - worst['c_rss']:+.1f} MB "
              f"({worst['name']}: {worst['t_rss']:.1f} vs {worst['c_rss']:.1f}), median "
              f"{statistics.median(r['t_rss'] - r['c_rss'] for r in small):+.1f} MB (target: at most +16); "
              f"Tessera at most {max(r['t_rss'] for r in small):.1f} MB, C at most {max(r['c_rss'] for r in small):.1f} MB")
print("\nC's outputs are the nearest DCT scale at or under each target (a 1/8-scale thumbnail is often not 256 px);"
      "\nTessera's and Pillow's are the exact size. Pillow's time is in-process (interpreter start-up left out).")

if BIG and os.path.isdir(BIG):
    print("\nAt a 128 MB function's limits (render-process ... 128: ImageLimits.forMemory(megabytes: 128)), "
          f"best of {REPEATS}; target peak under 120 MB:")
    for src in sorted(os.path.join(BIG, f) for f in os.listdir(BIG) if f.lower().endswith(".jpg")):
        with Image.open(src) as im:
            size = im.size
        result = alternated({"t": ([RENDER, src, os.path.join(OUT, "big"), "128"], None)})["t"]
        if result is None:
            print(f"  {os.path.basename(src)} ({size[0]}x{size[1]}, {os.path.getsize(src) / 1e6:.1f} MB): refused or failed: "
                  + open(os.path.join(OUT, "stderr")).read().strip())
            continue
        lines = result[2].splitlines()
        print(f"  {os.path.basename(src)} ({size[0]}x{size[1]}, {os.path.getsize(src) / 1e6:.1f} MB): {result[0] * 1000:.0f} ms "
              f"as a process, peak {result[1] / 1024:.1f} MB (GNU time; VmHWM {int(lines[0].split()[1]) / 1024:.1f} MB)")
        for line in lines[1:]:
            print(f"    {line}")
