"""One resize with Pillow, as the reference Lambdas do it ('plain': open, resize or thumbnail, save
quality 85) or tuned with draft(); prints the seconds from open to save."""
import sys, time
from PIL import Image
mode, task, src, out = sys.argv[1:5]
start = time.perf_counter()
im = Image.open(src)
w, h = im.size
if task == "50%":
    size = (max(1, round(w / 2)), max(1, round(h / 2)))
else:
    s = min(256 / w, 256 / h, 1)
    size = (max(1, round(w * s)), max(1, round(h * s)))
if mode == "draft":
    im.draft("RGB" if im.mode != "L" else "L", size)
if task == "50%" or mode == "draft":
    im = im.resize(size, Image.LANCZOS)
else:
    im.thumbnail((256, 256), Image.LANCZOS)
if im.mode not in ("RGB", "L"):
    im = im.convert("RGB")
im.save(out, quality=85)
print(time.perf_counter() - start)
