import Glibc
import TesseraSupport

/// Separable Lanczos-3 resampling with Pillow's pixel-centre convention (no half-pixel shift on odd
/// sizes), in single-precision SIMD. RGB pixels: each input row is filtered horizontally once into a
/// ring of float rows, and each output row is the weighted sum of the ring rows its vertical taps
/// reach, eight lanes at a time. Planes (one channel) go vertical pass first (`filterPlane`). Large reductions are first box-averaged by a whole factor (Pillow's `reduce`),
/// leaving at least `reducingGap` times the target for the filter.
public struct Resampler {
    /// Rows waiting for the vertical pass (RGB: filtered across; planes: as read), kept between calls.
    var ring: [Float] = []
    /// One row as floats: an RGB input row, a pixel a `SIMD4` (RGB and a spare lane); a plane's summed
    /// row, its even and odd samples and its output (`filterPlane`).
    var line: [Float] = []

    /// The last plane's taps, for the next plane of the same geometry (a picture's two chroma planes).
    var planeTaps: (key: [Double], vertical: Taps, horizontal: Taps, halving: Halving?)?

    public init() {}

    /// Scratch kept for the next call is at most this many bytes: a wide upscale's ring (up to ~29 MB
    /// at 65,500 pixels) must not stay resident into the next picture of a 128 MB function.
    public static let keptScratchBytes = 4 << 20

    /// Frees scratch rows larger than `keptScratchBytes` (called after each picture).
    public mutating func releaseLargeScratch() {
        if ring.count * MemoryLayout<Float>.stride > Self.keptScratchBytes { ring = [] }
        if line.count * MemoryLayout<Float>.stride > Self.keptScratchBytes { line = [] }
        planeTaps = nil
    }

    /// Bytes of scratch held between calls (tests read it).
    var scratchBytes: Int { (ring.count + line.count) * MemoryLayout<Float>.stride }

    /// The box pre-reduction leaves at least this many times the target for the Lanczos filter;
    /// measured on the corpus with the thumbnail rendition, 3 costs under 0.01 dB against no reduction.
    public static let reducingGap = 3.0

    /// Taps of each output pixel: first input index, count, and weights (`stride` apart, zero-padded).
    struct Taps {
        var first: [Int]
        var count: [Int]
        var weights: [Float]
        var stride: Int
    }

    static func lanczos3(_ x: Double) -> Double {
        if x == 0 { return 1 }
        guard abs(x) < 3 else { return 0 }
        // sin(3a) = 3 sin a - 4 sin^3 a: one sine a tap, not two (a small picture's taps cost a tenth of its time).
        let px = Double.pi * x, s = sin(px / 3)
        return 3 * s * (3 * s - 4 * s * s * s) / (px * px)
    }

    /// Taps from `inSize` samples covering `extent` units of the picture (less than `inSize` when a
    /// DCT-scaled decode rounded its last sample up, or the box pre-reduction's last box is partial)
    /// to `outSize` samples covering the same extent, from `origin` on (in input samples; negative: the
    /// output grid starts before the first sample, as a flipped chroma plane's does). With `picture`
    /// (how much of the input is picture, when the output grid overhangs it, as an odd side's chroma
    /// does), an output that covers the picture only in part is centred on that part.
    static func taps(from inSize: Int, extent: Double, to outSize: Int, origin: Double = 0,
                     picture: Double? = nil) -> Taps {
        // The last sample may hold less than a sample's worth of picture (the last box of a 16000-pixel
        // side reduced by 5333 is 1 pixel; the last of 752 rows of a 5/8 decode of 1203 covers 0.875
        // of a row, the rest being the encoder's edge padding): it weighs what it covers, at the centre
        // of it. Weighed whole, it pulled a 1x1 thumbnail of a 16000-pixel ramp 15.5 levels its way.
        let lastCoverage = min(1, min(extent, picture ?? extent) - Double(inSize - 1))
        precondition(lastCoverage > 0, "the extent must reach into the last sample")
        let scale = extent / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 3 * filterScale
        let stride = (Int(support.rounded(.up)) * 2 + 1 + 3) & ~3
        var taps = Taps(first: [], count: [], weights: [Float](repeating: 0, count: stride * outSize), stride: stride)
        taps.first.reserveCapacity(outSize)
        taps.count.reserveCapacity(outSize)
        var weights = [Double](repeating: 0, count: stride)
        for x in 0..<outSize {
            var center = origin + (Double(x) + 0.5) * scale
            // A chroma sample half past the picture's edge holds the picture's edge pixel, not the space
            // beyond: centred at the edge, a one-pixel 4:2:0 rendition took the colour of its corner.
            if let picture {
                let left = max(0, origin + Double(x) * scale), right = min(picture, origin + Double(x + 1) * scale)
                if right > left { center = (left + right) / 2 }
            }
            var low = max(0, Int(center - support + 0.5))
            var high = min(inSize, max(low + 1, Int(center + support + 0.5)))
            var total = 0.0
            for j in 0..<(high - low) {
                let partial = j + low == inSize - 1 && lastCoverage < 1
                let position = Double(j + low) + (partial ? lastCoverage / 2 : 0.5)
                weights[j] = lanczos3((position - center) / filterScale) * (partial ? lastCoverage : 1)
                total += weights[j]
            }
            // Taps that weigh (next to) nothing, as at a whole-number scale, cost time and add no signal.
            var skip = 0
            while high - low > 1, abs(weights[skip] / total) < 1e-7 { skip += 1; low += 1 }
            while high - low > 1, abs(weights[skip + high - low - 1] / total) < 1e-7 { high -= 1 }
            for j in 0..<(high - low) { taps.weights[x * stride + j] = Float(weights[skip + j] / total) }
            taps.first.append(low)
            taps.count.append(high - low)
        }
        return taps
    }

    /// `source` resized to exactly `width` x `height`. `extent` is how much of the picture the source
    /// covers, in its own pixels (the default: all of them, `width` x `height`).
    ///
    /// Both passes stream: input rows are filtered horizontally into a ring just large enough for one
    /// output row's vertical taps, so no whole intermediate image exists (as in libvips).
    /// With `padded`, the output is that large (a YUV plane of TurboJPEG's size), the picture's last
    /// column and row repeated into the rest, as an encoder pads an MCU. A plane's output grid may
    /// start at `origin` (in the source's samples) instead of its first sample, and overhang the
    /// `picture` part of the source (`taps`).
    public mutating func resize(_ source: PixelBuffer, extent: (width: Double, height: Double)? = nil,
                                width: Int, height: Int, padded: (width: Int, height: Int)? = nil,
                                origin: (x: Double, y: Double) = (0, 0),
                                picture: (width: Double, height: Double)? = nil) -> PixelBuffer {
        var extent = extent ?? (Double(source.width), Double(source.height))
        let padded = padded ?? (width, height)
        if source.width == padded.width && source.height == padded.height && extent == (Double(width), Double(height))
            && origin == (0, 0) {
            return source
        }
        precondition(source.channels == 1 || (origin == (0, 0) && picture == nil), "only a plane's grid moves")
        precondition(source.width > 0 && source.height > 0 && width > 0 && height > 0, "sizes start at 1 pixel")
        // A large reduction first averages whole boxes, as Pillow's `reducing_gap` does.
        let kx = max(1, Int(extent.width / (Double(width) * Self.reducingGap)))
        let ky = max(1, Int(extent.height / (Double(height) * Self.reducingGap)))
        var input = source
        if kx > 1 || ky > 1 {
            input = Self.reduce(source, kx, ky, covering: (Self.covered(source.width, extent.width),
                                                          Self.covered(source.height, extent.height)))
            extent = (extent.width / Double(kx), extent.height / Double(ky))
        }
        if input.channels == 1 {
            return filterPlane(input, extent: extent, width: width, height: height, padded: padded,
                               origin: (origin.x / Double(kx), origin.y / Double(ky)),
                               picture: picture.map { ($0.width / Double(kx), $0.height / Double(ky)) })
        }
        return filter(input, extent: extent, width: width, height: height, padded: padded)
    }

    private mutating func filter(_ source: PixelBuffer, extent: (width: Double, height: Double),
                                 width: Int, height: Int, padded: (width: Int, height: Int)) -> PixelBuffer {
        let c = source.channels
        precondition(c == 3, "planes (one channel) go through filterPlane")
        precondition(padded.width >= width && padded.height >= height, "padding only adds")
        let rowLength = width * c, outStride = padded.width * c
        // Room for an 8-lane store past the last value, and a 4-lane pixel past the last pixel.
        let ringStride = (rowLength + 8 + 7) & ~7
        // Samples past the extent (a YUV plane's padding) are not the picture's: the taps end at the extent.
        let vertical = Self.taps(from: Self.covered(source.height, extent.height), extent: extent.height, to: height)
        let horizontal = Self.taps(from: Self.covered(source.width, extent.width), extent: extent.width, to: width)
        let ringRows = min(source.height, (vertical.count.max() ?? 1))
        if ring.count < ringRows * ringStride { ring = [Float](repeating: 0, count: ringRows * ringStride) }
        let lineLength = 4 * source.width + 4
        if line.count < lineLength { line = [Float](repeating: 0, count: lineLength) }
        let output = [UInt8](unsafeUninitializedCapacity: outStride * padded.height) { out, count in
            source.pixels.withUnsafeBufferPointer { src in
                ring.withUnsafeMutableBufferPointer { ring in
                    line.withUnsafeMutableBufferPointer { line in
                        horizontal.weights.withUnsafeBufferPointer { hWeights in
                            vertical.weights.withUnsafeBufferPointer { vWeights in
                                var nextInput = 0
                                var rows = [UnsafePointer<Float>](repeating: UnsafePointer(ring.baseAddress!),
                                                                  count: vertical.stride)
                                for y in 0..<height {
                                    let first = vertical.first[y], taps = vertical.count[y]
                                    while nextInput < first + taps {
                                        let slot = ring.baseAddress! + (nextInput % ringRows) * ringStride
                                        let row = src.baseAddress! + nextInput * source.width * c
                                        Self.horizontalRGB(row, source.width, line.baseAddress!, slot, width,
                                                           horizontal, hWeights.baseAddress!)
                                        nextInput += 1
                                    }
                                    for j in 0..<taps {
                                        rows[j] = UnsafePointer(ring.baseAddress! + ((first + j) % ringRows) * ringStride)
                                    }
                                    let row = out.baseAddress! + y * outStride
                                    Self.verticalRow(rows, vWeights.baseAddress! + y * vertical.stride, taps, row, rowLength)
                                    for i in rowLength..<outStride { row[i] = row[i - c] }
                                }
                                for y in height..<padded.height {
                                    (out.baseAddress! + y * outStride).update(from: out.baseAddress! + (height - 1) * outStride,
                                                                              count: outStride)
                                }
                            }
                        }
                    }
                }
            }
            count = outStride * padded.height
        }
        return PixelBuffer(width: padded.width, height: padded.height, channels: c, pixels: output)
    }

    /// An RGB row through the horizontal taps: a pixel is one 4-lane vector, so a tap is one
    /// multiply-add whatever the channel.
    @inline(__always)
    static func horizontalRGB(_ inRow: UnsafePointer<UInt8>, _ inWidth: Int, _ line: UnsafeMutablePointer<Float>,
                              _ outRow: UnsafeMutablePointer<Float>, _ outWidth: Int, _ taps: Taps,
                              _ weights: UnsafePointer<Float>) {
        let pixels = UnsafeMutableRawPointer(line)
        // Bytes become floats through the mantissa of 2^23 (the generic SIMD conversions go lane by
        // lane); four bytes are read at once, so the last pixel, whose fourth byte is past the row, is apart.
        let magic = SIMD4<UInt32>(repeating: 0x4B00_0000)
        for x in 0..<(inWidth - 1) {
            let word = UnsafeRawPointer(inRow + 3 * x).loadUnaligned(as: UInt32.self)
            let lanes = SIMD4<UInt32>(word & 0xFF, (word >> 8) & 0xFF, (word >> 16) & 0xFF, 0) | magic
            pixels.storeBytes(of: unsafeBitCast(lanes, to: SIMD4<Float>.self) - 8_388_608, toByteOffset: 16 * x,
                              as: SIMD4<Float>.self)
        }
        let last = inRow + 3 * (inWidth - 1)
        pixels.storeBytes(of: SIMD4<Float>(Float(last[0]), Float(last[1]), Float(last[2]), 0),
                          toByteOffset: 16 * (inWidth - 1), as: SIMD4<Float>.self)
        taps.first.withUnsafeBufferPointer { first in
            taps.count.withUnsafeBufferPointer { count in
                for x in 0..<outWidth {
                    let w = weights + x * taps.stride
                    let p = UnsafeRawPointer(pixels + 16 * first[x])
                    var sum = SIMD4<Float>()
                    for j in 0..<count[x] {
                        sum += p.loadUnaligned(fromByteOffset: 16 * j, as: SIMD4<Float>.self) * w[j]
                    }
                    // The spare lane lands on the next pixel's red, which that pixel then writes.
                    UnsafeMutableRawPointer(outRow + 3 * x).storeBytes(of: sum, as: SIMD4<Float>.self)
                }
            }
        }
    }

    /// One output row: the weighted sum of the ring rows, eight values at a time, rounded and clamped.
    @inline(__always)
    static func verticalRow(_ rows: [UnsafePointer<Float>], _ weights: UnsafePointer<Float>, _ taps: Int,
                            _ out: UnsafeMutablePointer<UInt8>, _ length: Int) {
        rows.withUnsafeBufferPointer { rows in
            var i = 0
            while i < length {
                var sum = SIMD8<Float>()
                for j in 0..<taps {
                    let v = UnsafeRawPointer(rows[j] + i).loadUnaligned(as: SIMD8<Float>.self)
                    sum += v * weights[j]
                }
                Self.storeRounded(sum, into: out + i, count: min(8, length - i))
                i += 8
            }
        }
    }

    /// How many of `size` samples an `extent` reaches into.
    static func covered(_ size: Int, _ extent: Double) -> Int {
        min(size, max(1, Int(extent.rounded(.up))))
    }

    /// Averages of `kx` x `ky` boxes over the `covering` top-left part of `source` (the last ones
    /// partial, averaged over what they hold; `taps` weighs them by how much they hold).
    static func reduce(_ source: PixelBuffer, _ kx: Int, _ ky: Int, covering: (width: Int, height: Int)? = nil) -> PixelBuffer {
        let c = source.channels, inW = covering?.width ?? source.width, inH = covering?.height ?? source.height
        let stride = source.width * c
        let width = (inW + kx - 1) / kx, height = (inH + ky - 1) / ky
        var sums = [Float](repeating: 0, count: inW * c)
        let output = [UInt8](unsafeUninitializedCapacity: width * height * c) { out, count in
            source.pixels.withUnsafeBufferPointer { src in
                sums.withUnsafeMutableBufferPointer { sums in
                    for y in 0..<height {
                        let rows = min(ky, inH - y * ky)
                        sums.update(repeating: 0)
                        for r in 0..<rows {
                            let row = src.baseAddress! + (y * ky + r) * stride
                            for i in 0..<(inW * c) { sums[i] += Float(row[i]) }
                        }
                        let line = out.baseAddress! + y * width * c
                        // Wrapping arithmetic: indices stay under the row's length, and overflow checks
                        // in this loop were most of a thumbnail's box reduction.
                        let sum = sums.baseAddress!
                        let fullScale = 1 / Float(rows * kx)
                        for x in 0..<width {
                            let start = x &* kx
                            let columns = min(kx, inW &- start)
                            let scale = columns == kx ? fullScale : 1 / Float(rows * columns)
                            for ch in 0..<c {
                                var total: Float = 0
                                for k in 0..<columns { total += sum[(start &+ k) &* c &+ ch] }
                                line[x &* c &+ ch] = UInt8(total * scale + 0.5)
                            }
                        }
                    }
                }
            }
            count = width * height * c
        }
        return PixelBuffer(width: width, height: height, channels: c, pixels: output)
    }

    /// Eight floats stored as bytes (the first `count`), clamped to 0...255 and rounded by adding 2^23:
    /// the float's low mantissa bits are then the integer (the generic SIMD float-to-integer
    /// conversion goes lane by lane, out of line).
    @inline(__always)
    static func storeRounded(_ sum: SIMD8<Float>, into out: UnsafeMutablePointer<UInt8>, count: Int) {
        let clamped = sum.replacing(with: 0, where: sum .< 0).replacing(with: 255, where: sum .> 255)
        let bytes = SIMD8<UInt8>(truncatingIfNeeded: unsafeBitCast(clamped + 8_388_608, to: SIMD8<UInt32>.self))
        if count == 8 {
            UnsafeMutableRawPointer(out).storeBytes(of: bytes, as: SIMD8<UInt8>.self)
        } else {
            for k in 0..<count { out[k] = bytes[k] }
        }
    }
}
