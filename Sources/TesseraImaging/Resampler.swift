import Glibc
import TesseraSupport

/// Separable Lanczos-3 resampling with pixel centres aligned (no half-pixel shift on odd sizes),
/// in 22-bit fixed point; horizontal pass, then vertical.
public struct Resampler {
    /// Horizontally filtered rows waiting for the vertical pass, kept between calls for reuse.
    private var ring: [UInt8] = []

    public init() {}

    static let precisionBits: Int32 = 22

    /// Taps of each output pixel: first input index, count, and fixed-point weights (`stride` apart).
    struct Taps {
        var first: [Int]
        var count: [Int]
        var weights: [Int32]
        var stride: Int
    }

    static func lanczos3(_ x: Double) -> Double {
        if x == 0 { return 1 }
        guard abs(x) < 3 else { return 0 }
        let px = Double.pi * x
        return 3 * sin(px) * sin(px / 3) / (px * px)
    }

    static func taps(from inSize: Int, to outSize: Int) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 3 * filterScale
        let stride = Int(support.rounded(.up)) * 2 + 1
        var taps = Taps(first: [], count: [], weights: [Int32](repeating: 0, count: stride * outSize), stride: stride)
        taps.first.reserveCapacity(outSize)
        taps.count.reserveCapacity(outSize)
        var weights = [Double](repeating: 0, count: stride)
        for x in 0..<outSize {
            let center = (Double(x) + 0.5) * scale
            let low = max(0, Int(center - support + 0.5))
            let high = min(inSize, Int(center + support + 0.5))
            var total = 0.0
            for j in 0..<(high - low) {
                weights[j] = lanczos3((Double(j + low) - center + 0.5) / filterScale)
                total += weights[j]
            }
            let one = Double(1 << precisionBits)
            for j in 0..<(high - low) {
                taps.weights[x * stride + j] = Int32((weights[j] / total * one).rounded())
            }
            taps.first.append(low)
            taps.count.append(high - low)
        }
        return taps
    }

    /// `source` resized to exactly `width` x `height`.
    ///
    /// Both passes stream: input rows are filtered horizontally into a ring just large enough for one
    /// output row's vertical taps, so no whole intermediate image exists (as in libvips).
    public mutating func resize(_ source: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        if source.width == width && source.height == height { return source }
        let c = source.channels
        let rowLength = width * c
        let vertical = Self.taps(from: source.height, to: height)
        let horizontal = source.width == width ? nil : Self.taps(from: source.width, to: width)
        let ringRows = horizontal == nil ? 0 : (vertical.count.max() ?? 1)
        if ring.count < ringRows * rowLength { ring = [UInt8](repeating: 0, count: ringRows * rowLength) }
        var accumulator = [Int32](repeating: 0, count: rowLength)
        let output = [UInt8](unsafeUninitializedCapacity: rowLength * height) { out, count in
            source.pixels.withUnsafeBufferPointer { src in
                ring.withUnsafeMutableBufferPointer { ring in
                    accumulator.withUnsafeMutableBufferPointer { acc in
                        vertical.weights.withUnsafeBufferPointer { weights in
                            var nextInput = 0
                            for y in 0..<height {
                                let first = vertical.first[y], taps = vertical.count[y]
                                acc.baseAddress!.update(repeating: 0, count: rowLength)
                                if let horizontal {
                                    while nextInput < first + taps {
                                        Self.horizontalRow(src.baseAddress! + nextInput * source.width * c, source.width,
                                                           c, ring.baseAddress! + (nextInput % ringRows) * rowLength,
                                                           width, horizontal)
                                        nextInput += 1
                                    }
                                }
                                for j in 0..<taps {
                                    let row = horizontal == nil
                                        ? src.baseAddress! + (first + j) * rowLength
                                        : UnsafePointer(ring.baseAddress! + ((first + j) % ringRows) * rowLength)
                                    Self.accumulate(row, weights[y * vertical.stride + j], acc.baseAddress!, rowLength)
                                }
                                let line = out.baseAddress! + y * rowLength
                                for i in 0..<rowLength { line[i] = Self.clamp(acc[i]) }
                            }
                        }
                    }
                }
            }
            count = rowLength * height
        }
        return PixelBuffer(width: width, height: height, channels: c, pixels: output)
    }

    @inline(__always)
    static func accumulate(_ row: UnsafePointer<UInt8>, _ weight: Int32, _ acc: UnsafeMutablePointer<Int32>, _ n: Int) {
        for i in 0..<n { acc[i] &+= weight &* Int32(row[i]) }
    }

    @inline(__always) static func clamp(_ value: Int32) -> UInt8 {
        let rounded = (value &+ (1 << (precisionBits - 1))) >> precisionBits
        return rounded < 0 ? 0 : rounded > 255 ? 255 : UInt8(rounded)
    }

    /// One row through the horizontal taps.
    static func horizontalRow(_ inRow: UnsafePointer<UInt8>, _ inWidth: Int, _ c: Int,
                              _ outRow: UnsafeMutablePointer<UInt8>, _ outWidth: Int, _ taps: Taps) {
        taps.weights.withUnsafeBufferPointer { weights in
            for x in 0..<outWidth {
                let first = taps.first[x], count = taps.count[x]
                let w = weights.baseAddress! + x * taps.stride
                let p = inRow + first * c
                if c == 3 {
                    var r: Int32 = 0, g: Int32 = 0, b: Int32 = 0
                    for j in 0..<count {
                        let k = w[j]
                        r &+= k &* Int32(p[3 * j]); g &+= k &* Int32(p[3 * j + 1]); b &+= k &* Int32(p[3 * j + 2])
                    }
                    outRow[3 * x] = clamp(r); outRow[3 * x + 1] = clamp(g); outRow[3 * x + 2] = clamp(b)
                } else {
                    for channel in 0..<c {
                        var sum: Int32 = 0
                        for j in 0..<count { sum &+= w[j] &* Int32(p[c * j + channel]) }
                        outRow[c * x + channel] = clamp(sum)
                    }
                }
            }
        }
    }
}
