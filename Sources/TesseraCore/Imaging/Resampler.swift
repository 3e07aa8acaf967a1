import Glibc

/// Separable Lanczos-3 resampling with pixel centres aligned (no half-pixel shift on odd sizes),
/// in 22-bit fixed point; horizontal pass, then vertical.
public struct Resampler {
    /// The intermediate buffer, kept between calls so renditions of one picture reuse it.
    private var intermediate: [UInt8] = []

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
    public mutating func resize(_ source: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        if source.width == width && source.height == height { return source }
        let c = source.channels
        guard source.width != width else {
            return source.pixels.withUnsafeBufferPointer {
                Self.verticalPass($0.baseAddress!, width: width, channels: c, from: source.height, to: height)
            }
        }
        let taps = Self.taps(from: source.width, to: width)
        let size = width * source.height * c
        if intermediate.count < size { intermediate = [UInt8](repeating: 0, count: size) }
        source.pixels.withUnsafeBufferPointer { src in
            intermediate.withUnsafeMutableBufferPointer { dst in
                Self.horizontal(src.baseAddress!, source.width, source.height, c, dst.baseAddress!, width, taps)
            }
        }
        if source.height == height {
            return PixelBuffer(width: width, height: height, channels: c, pixels: Array(intermediate[0..<size]))
        }
        return intermediate.withUnsafeBufferPointer {
            Self.verticalPass($0.baseAddress!, width: width, channels: c, from: source.height, to: height)
        }
    }

    static func verticalPass(_ src: UnsafePointer<UInt8>, width: Int, channels c: Int, from inHeight: Int,
                             to height: Int) -> PixelBuffer {
        let taps = taps(from: inHeight, to: height)
        let rowLength = width * c
        var accumulator = [Int32](repeating: 0, count: rowLength)
        let output = [UInt8](unsafeUninitializedCapacity: rowLength * height) { buffer, count in
            accumulator.withUnsafeMutableBufferPointer { acc in
                vertical(src, rowLength, buffer.baseAddress!, height, taps, acc.baseAddress!)
            }
            count = rowLength * height
        }
        return PixelBuffer(width: width, height: height, channels: c, pixels: output)
    }

    @inline(__always) static func clamp(_ value: Int32) -> UInt8 {
        let rounded = (value &+ (1 << (precisionBits - 1))) >> precisionBits
        return rounded < 0 ? 0 : rounded > 255 ? 255 : UInt8(rounded)
    }

    static func horizontal(_ src: UnsafePointer<UInt8>, _ inWidth: Int, _ rows: Int, _ c: Int,
                           _ dst: UnsafeMutablePointer<UInt8>, _ outWidth: Int, _ taps: Taps) {
        taps.weights.withUnsafeBufferPointer { weights in
            for y in 0..<rows {
                let inRow = src + y * inWidth * c
                let outRow = dst + y * outWidth * c
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

    /// Row by row: each output row is a weighted sum of whole input rows (cache-friendly, vectorizable).
    static func vertical(_ src: UnsafePointer<UInt8>, _ rowLength: Int, _ dst: UnsafeMutablePointer<UInt8>,
                         _ outHeight: Int, _ taps: Taps, _ acc: UnsafeMutablePointer<Int32>) {
        taps.weights.withUnsafeBufferPointer { weights in
            for y in 0..<outHeight {
                acc.update(repeating: 0, count: rowLength)
                let w = weights.baseAddress! + y * taps.stride
                for j in 0..<taps.count[y] {
                    let k = w[j]
                    let row = src + (taps.first[y] + j) * rowLength
                    for i in 0..<rowLength { acc[i] &+= k &* Int32(row[i]) }
                }
                let out = dst + y * rowLength
                for i in 0..<rowLength { out[i] = clamp(acc[i]) }
            }
        }
    }
}
