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
        // Where a displayed row starts in the stored pixels, and the step to the next displayed pixel:
        // a row of the output is a row or a column of the input, read forwards or backwards, so the
        // orientation is decided once a row, not once a pixel (a per-pixel switch was a fifth of a
        // turned 4 MP photo's time).
        let (step, start): (Int, (Int) -> Int) = switch orientation {
        case 2: (-c, { oy in (oy * stride + w - 1) * c })
        case 3: (-c, { oy in ((h - 1 - oy) * stride + w - 1) * c })
        case 4: (c, { oy in (h - 1 - oy) * stride * c })
        case 5: (stride * c, { oy in oy * c })
        case 6: (-stride * c, { oy in ((h - 1) * stride + oy) * c })
        case 7: (-stride * c, { oy in ((h - 1) * stride + w - 1 - oy) * c })
        case 8: (stride * c, { oy in (w - 1 - oy) * c })
        default: (c, { oy in oy * stride * c })
        }
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<outH {
                    var s = start(oy)
                    let row = dst.baseAddress! + oy * room.width * c
                    if c == 1 {
                        for ox in 0..<outW { row[ox] = src[s]; s &+= step }
                    } else {
                        for ox in 0..<outW {
                            for k in 0..<c { row[ox * c + k] = src[s + k] }
                            s &+= step
                        }
                    }
                    for i in (outW * c)..<(room.width * c) { row[i] = row[i - c] }
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
