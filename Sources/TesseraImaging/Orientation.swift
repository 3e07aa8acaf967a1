import TesseraSupport

/// EXIF orientations 2-8 applied to pixels, so the result displays upright with no tag needed.
public enum Orientation {
    /// The pixels as they should be displayed.
    public static func apply(_ orientation: Int, to image: PixelBuffer) -> PixelBuffer {
        guard (2...8).contains(orientation) else { return image }
        return apply(orientation, to: image, content: (image.width, image.height), padded: nil)
    }

    /// The `content` top-left part of `image` (a YUV plane may be wider and taller: TurboJPEG pads it
    /// to whole chroma samples) as it should be displayed, in a buffer `padded` large (default: the
    /// turned content), the last column and row repeated into the rest.
    public static func apply(_ orientation: Int, to image: PixelBuffer, content: (width: Int, height: Int),
                             padded: (width: Int, height: Int)?) -> PixelBuffer {
        let w = content.width, h = content.height, c = image.channels, stride = image.width
        let swaps = orientation >= 5
        let outW = swaps ? h : w, outH = swaps ? w : h
        let room = padded ?? (outW, outH)
        precondition(room.width >= outW && room.height >= outH, "padding only adds")
        var out = [UInt8](unsafeUninitializedCapacity: room.width * room.height * c) { _, n in n = room.width * room.height * c }
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        // Where the displayed pixel (ox, oy) is stored.
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (w - 1 - ox, oy)
                        case 3: (sx, sy) = (w - 1 - ox, h - 1 - oy)
                        case 1: (sx, sy) = (ox, oy)
                        case 4: (sx, sy) = (ox, h - 1 - oy)
                        case 5: (sx, sy) = (oy, ox)
                        case 6: (sx, sy) = (oy, h - 1 - ox)
                        case 7: (sx, sy) = (w - 1 - oy, h - 1 - ox)
                        default: (sx, sy) = (w - 1 - oy, ox)
                        }
                        let s = (sy * stride + sx) * c, d = (oy * room.width + ox) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                    }
                    for i in (outW * c)..<(room.width * c) { dst[oy * room.width * c + i] = dst[oy * room.width * c + i - c] }
                }
                for oy in outH..<room.height {
                    (dst.baseAddress! + oy * room.width * c).update(from: dst.baseAddress! + (outH - 1) * room.width * c,
                                                                     count: room.width * c)
                }
            }
        }
        return PixelBuffer(width: room.width, height: room.height, channels: c, pixels: out)
    }
}
