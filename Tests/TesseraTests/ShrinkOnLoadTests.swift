import Foundation
import Testing
@testable import TesseraImaging
import TesseraSupport

/// The DCT scale the decoder picks, held to what a full decode resized gives on the pictures where
/// a scaled decode goes wrong: a few pixels a side, strips, fine detail.
struct ShrinkOnLoadTests {
    /// A JPEG of `width` x `height` noise (RGB 4:2:0, or gray), made with TurboJPEG here.
    static func noiseJPEG(_ width: Int, _ height: Int, gray: Bool = false, seed: UInt64 = 11) throws -> [UInt8] {
        var state = seed
        let channels = gray ? 1 : 3
        let pixels = (0..<(width * height * channels)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        return try JPEGEncoder().encode(PixelBuffer(width: width, height: height, channels: channels, pixels: pixels),
                                        quality: 95, subsampling: .s420)
    }

    /// A JPEG of smooth content: a ramp in each channel, each its own way, one of them curved.
    static func smoothJPEG(_ width: Int, _ height: Int, gray: Bool = false) throws -> [UInt8] {
        let channels = gray ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                let u = (Double(x) + 0.5) / Double(width), v = (Double(y) + 0.5) / Double(height)
                let values = [40 + 170 * u, 220 - 160 * v, 60 + 90 * u + 90 * v * v]
                for c in 0..<channels { pixels[(y * width + x) * channels + c] = UInt8(values[c].rounded()) }
            }
        }
        return try JPEGEncoder().encode(PixelBuffer(width: width, height: height, channels: channels, pixels: pixels),
                                        quality: 95, subsampling: .s420)
    }

    /// A JPEG of fine photographic detail: sinusoids of random direction and phase at frequencies up
    /// to the pixel grid's, amplitudes falling as a photo's spectrum does (1/sqrt(f)); gray, q95.
    static func detailedJPEG(_ width: Int, _ height: Int, seed: UInt64 = 5) throws -> [UInt8] {
        var state = seed
        func random() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let waves = (0..<60).map { _ -> (fx: Double, fy: Double, phase: Double, amplitude: Double) in
            let f = 0.02 + 0.48 * random(), angle = Double.pi * random()
            return (2 * .pi * f * cos(angle), 2 * .pi * f * sin(angle), 2 * .pi * random(), 1 / f.squareRoot())
        }
        var values = [Double](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                values[y * width + x] = waves.reduce(0) { $0 + $1.amplitude * sin($1.fx * Double(x) + $1.fy * Double(y) + $1.phase) }
            }
        }
        let mean = values.reduce(0, +) / Double(values.count)
        let deviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        let pixels = values.map { UInt8(max(0, min(255, (128 + 40 * ($0 - mean) / deviation).rounded()))) }
        return try JPEGEncoder().encode(PixelBuffer(width: width, height: height, channels: 1, pixels: pixels),
                                        quality: 95, subsampling: .s420)
    }

    /// `jpeg` at `target` as the renderer makes it (decode at the chosen scale, Lanczos from what it
    /// covers), and as a full decode resized: the largest difference, and the PSNR.
    static func againstFullDecode(_ jpeg: [UInt8], _ spec: String) throws -> (worst: Int, psnr: Double) {
        let info = try JPEGInspector.inspect(jpeg)
        let target = try RenditionSpec(spec).targetSize(width: info.width, height: info.height)
        let limits = ImageLimits(maxDecodeBytes: .max)
        var resampler = Resampler()
        let decoder = try JPEGDecoder()
        let scaled = try decoder.decode(jpeg, info: info, targets: [target], margin: nil, limits: limits)
        let made = resampler.resize(scaled.pixels, extent: scaled.extent, width: target.width, height: target.height)
        let full = try JPEGSurgery.pixels(jpeg)
        let reference = resampler.resize(full, width: target.width, height: target.height)
        let worst = zip(made.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        return (worst, JPEGSurgery.psnr(made, reference))
    }

    @Test func aScaleCoversTheTargetInWhatItTrulyCovers() {
        var info = JPEGInfo()
        (info.width, info.height, info.components, info.samplingFactors) = (1001, 1001, 3, [(2, 2), (1, 1), (1, 1)])
        func factor(_ target: (Int, Int), _ margin: Double?) -> Int {
            let f = JPEGDecoder.chooseFactor(info, targets: [target], margin: margin, channels: 3, maxBytes: .max).factor
            return f.num * 8 / f.denom
        }
        // 7/8 is 876 samples covering 875.875 pixels.
        #expect(factor((875, 875), 1) == 7)
        #expect(factor((876, 876), 1) == 8)
        // The 20 MP kleiber photo's half: 1695.5 rows rounded to 1696, and 5/8 of 3391 is 1.25 x 1695.5.
        (info.width, info.height) = (6028, 3391)
        #expect(factor((3014, 1696), nil) == 5)
    }

    @Test func picturesOfAFewPixelsASideMatchAFullDecode() throws {
        for width in 1...9 {
            for height in 1...9 {
                for gray in [false, true] {
                    let what = "\(width)x\(height) \(gray ? "gray" : "RGB")"
                    // At 100% the decode itself, even of noise; it was blurred by up to 99 levels.
                    let same = try Self.againstFullDecode(try Self.noiseJPEG(width, height, gray: gray), "100%")
                    #expect(same.worst == 0, "\(what) at 100%: \(same)")
                    // At 50%, smooth content, which a scaled decode (a gray side of 8 or 9) keeps too.
                    let half = try Self.againstFullDecode(try Self.smoothJPEG(width, height, gray: gray), "50%")
                    #expect(half.worst <= 2, "\(what) at 50%: \(half)")
                }
            }
        }
    }

    @Test(arguments: [(2, 65_500), (65_500, 3), (15, 4_000)])
    func stripsMatchAFullDecode(_ width: Int, _ height: Int) throws {
        let jpeg = try Self.noiseJPEG(width, height)
        for spec in ["100%", "50%"] {
            let result = try Self.againstFullDecode(jpeg, spec)
            #expect(result.worst == 0, "\(width)x\(height) at \(spec): \(result)")
        }
    }

    /// 40% is 1.25x at 4/8, whose IDCT box-averages and aliases fine detail (37 dB, narrow or not);
    /// with the margin of the aliasing scales the decode is 5/8 (51 dB).
    @Test(arguments: [(17, 1050), (160, 1050)])
    func fineDetailKeepsItsQualityAt40Percent(_ width: Int, _ height: Int) throws {
        let result = try Self.againstFullDecode(try Self.detailedJPEG(width, height), "40%")
        #expect(result.psnr > 45, "\(width)x\(height): \(result)")
    }
}
