"""Prints the resize step side by side: Tessera's processor renditions against the plain libturbojpeg
C program, with PSNR against a Lanczos resize (Pillow) of the full decode at each output's own size
(upright for Tessera, which applies EXIF orientation; as stored for the C program, which does not)."""
import os, sys
import numpy as np
from PIL import Image, ImageOps

OUT = sys.argv[1]

def psnr(path, source, upright):
    out = Image.open(path).convert("RGB")
    ref = Image.open(source)
    if upright:
        ref = ImageOps.exif_transpose(ref)
    ref = ref.convert("RGB").resize(out.size, Image.LANCZOS)
    mse = np.mean((np.asarray(out, dtype=np.float64) - np.asarray(ref, dtype=np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)

tessera = {}
for line in open(os.path.join(OUT, "tessera.txt")):
    parts = line.split()
    tessera[parts[0]] = parts[1:]
rows, sums = [], {"t": 0.0, "c": 0.0}
psnrs = {"th": [], "tt": [], "ch": [], "ct": []}
print(f"{'photo':44} {'MP':>5} {'tessera ms':>10} {'C ms':>8} {'ratio':>6}  {'PSNR half T/C':>14}  {'PSNR thumb T/C':>14}")
for line in open(os.path.join(OUT, "c.txt")):
    parts = line.split()
    photo = parts[0]
    name = os.path.basename(photo)[:-4]
    t = tessera.get(photo)
    if t is None or t[0] == "refused" or len(parts) < 7:
        print(f"{name:44} refused or failed: tessera {t}, C {parts[1:]}")
        continue
    with Image.open(photo) as im:
        mp = im.size[0] * im.size[1] / 1e6
    t_ms, c_ms = float(t[0]), float(parts[2]) + float(parts[5])
    sums["t"] += t_ms
    sums["c"] += c_ms
    th = psnr(f"{OUT}/tessera/{name}-half.jpg", photo, True)
    tt = psnr(f"{OUT}/tessera/{name}-thumb.jpg", photo, True)
    ch = psnr(f"{OUT}/c/{name}-half.jpg", photo, False)
    ct = psnr(f"{OUT}/c/{name}-thumb.jpg", photo, False)
    for key, value in zip(("th", "tt", "ch", "ct"), (th, tt, ch, ct)):
        psnrs[key].append(value)
    print(f"{name:44} {mp:5.1f} {t_ms:10.1f} {c_ms:8.1f} {c_ms / t_ms:6.2f}  {th:6.2f}/{ch:6.2f}  {tt:7.2f}/{ct:6.2f}")
n = len(psnrs["th"])
if n:
    print(f"{'all ' + str(n) + ' photos':44} {'':5} {sums['t']:10.1f} {sums['c']:8.1f} {sums['c'] / sums['t']:6.2f}  "
          f"{np.mean(psnrs['th']):6.2f}/{np.mean(psnrs['ch']):6.2f}  {np.mean(psnrs['tt']):7.2f}/{np.mean(psnrs['ct']):6.2f}")
    print("ratio = C time / Tessera time (above 1: Tessera is faster). C's outputs are the nearest DCT scale at or")
    print("under the target (a thumbnail of 1/8 scale is often smaller than 256 px); Tessera's are the exact size.")
