"""Writes a copy of a JPEG with an EXIF APP1 segment whose Orientation tag is N (pixels untouched):
python3 exif_orient.py IN OUT N [big|little]"""
import struct, sys
src, dst, orientation = sys.argv[1], sys.argv[2], int(sys.argv[3])
order = sys.argv[4] if len(sys.argv) > 4 else "big"
e = ">" if order == "big" else "<"
tiff = (b"MM" if order == "big" else b"II") + struct.pack(e + "HI", 42, 8)
tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0)
tiff += struct.pack(e + "I", 0)
body = b"Exif\0\0" + tiff
data = open(src, "rb").read()
assert data[:2] == b"\xff\xd8"
rest = data[2:]
# Drop an existing APP1 Exif so the new one is the only orientation.
out, i = b"", 0
while rest[i] == 0xFF and rest[i + 1] in range(0xE0, 0xF0):
    length = struct.unpack(">H", rest[i + 2:i + 4])[0]
    segment = rest[i:i + 2 + length]
    if not (rest[i + 1] == 0xE1 and segment[4:10] == b"Exif\0\0"):
        out += segment
    i += 2 + length
open(dst, "wb").write(b"\xff\xd8" + out + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + rest[i:])
