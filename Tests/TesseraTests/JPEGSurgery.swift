import Foundation
@testable import TesseraImaging

/// Byte-level edits of fixture JPEGs: the variants the imaging tests need, made in the test.
enum JPEGSurgery {
    /// Inserts an APP1 Exif segment with this Orientation right after SOI.
    static func withOrientation(_ jpeg: [UInt8], _ orientation: Int, bigEndian: Bool = true) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 255)] : [UInt8(v & 255), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        var tiff: [UInt8] = bigEndian ? Array("MM".utf8) : Array("II".utf8)
        tiff += u16(42) + u32(8) + u16(2)
        tiff += u16(0x010F) + u16(2) + u32(4) + Array("GPS\0".utf8)  // a Make tag standing in for other metadata
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)
        tiff += u32(0)
        let body = Array("Exif\0\0".utf8) + tiff
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 255)] + body + jpeg[2...]
    }

    /// Inserts an ICC profile (any bytes) as APP2 chunks after SOI.
    static func withICC(_ jpeg: [UInt8], _ profile: [UInt8]) -> [UInt8] {
        [0xFF, 0xD8] + ICCProfile.segments(profile) + jpeg[2...]
    }

    /// Offset of the frame header's body (after marker and length).
    static func frameOffset(_ jpeg: [UInt8]) -> Int {
        var i = 2
        while i + 4 < jpeg.count {
            let marker = jpeg[i + 1]
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) { return i + 4 }
            i += 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
        }
        fatalError("no frame header")
    }

    static func withSize(_ jpeg: [UInt8], width: Int, height: Int) -> [UInt8] {
        var out = jpeg
        let at = frameOffset(jpeg)
        out[at + 1] = UInt8(height >> 8); out[at + 2] = UInt8(height & 255)
        out[at + 3] = UInt8(width >> 8); out[at + 4] = UInt8(width & 255)
        return out
    }

    static func withPrecision(_ jpeg: [UInt8], _ bits: UInt8) -> [UInt8] {
        var out = jpeg
        out[frameOffset(jpeg)] = bits
        return out
    }

    static func withFrameMarker(_ jpeg: [UInt8], _ marker: UInt8) -> [UInt8] {
        var out = jpeg
        out[frameOffset(jpeg) - 3] = marker
        return out
    }

    /// Overwrites bytes in the middle of the compressed data (no 0xFF, so the structure stays).
    static func withDamagedScan(_ jpeg: [UInt8]) -> [UInt8] {
        var out = jpeg
        let start = jpeg.count / 2
        for i in start..<(start + 600) { out[i] = UInt8(truncatingIfNeeded: i &* 37) & 0x7F }
        return out
    }

    /// Decodes at full size, for checking results (with no decode budget: these are our own outputs).
    static func pixels(_ jpeg: [UInt8]) throws -> PixelBuffer {
        let info = try JPEGInspector.inspect(jpeg)
        return try JPEGDecoder().decode(jpeg, info: info, target: (info.width, info.height), margin: 1,
                                        limits: ImageLimits(maxDecodeBytes: .max))
    }

    static func psnr(_ a: PixelBuffer, _ b: PixelBuffer) -> Double {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels, "size mismatch")
        var sum = 0.0
        for i in 0..<a.byteCount {
            let d = Double(a.pixels[i]) - Double(b.pixels[i])
            sum += d * d
        }
        let mse = sum / Double(a.byteCount)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// A straightforward double-precision Lanczos-3 (same pixel-centre convention), as the reference.
    static func referenceLanczos(_ src: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        func pass(_ input: [Double], _ inW: Int, _ inH: Int, _ c: Int, _ outN: Int, horizontal: Bool) -> [Double] {
            let inN = horizontal ? inW : inH
            let scale = Double(inN) / Double(outN), fs = max(scale, 1), support = 3 * fs
            let outW = horizontal ? outN : inW, outH = horizontal ? inH : outN
            var out = [Double](repeating: 0, count: outW * outH * c)
            for o in 0..<outN {
                let center = (Double(o) + 0.5) * scale
                let lo = max(0, Int(center - support + 0.5)), hi = min(inN, Int(center + support + 0.5))
                let ws = (lo..<hi).map { Resampler.lanczos3((Double($0) - center + 0.5) / fs) }
                let total = ws.reduce(0, +)
                for other in 0..<(horizontal ? inH : inW) {
                    for ch in 0..<c {
                        var sum = 0.0
                        for (k, j) in (lo..<hi).enumerated() {
                            let idx = horizontal ? (other * inW + j) * c + ch : (j * inW + other) * c + ch
                            sum += ws[k] / total * input[idx]
                        }
                        let oidx = horizontal ? (other * outW + o) * c + ch : (o * outW + other) * c + ch
                        out[oidx] = sum
                    }
                }
            }
            return out
        }
        let c = src.channels
        let h = pass(src.pixels.map(Double.init), src.width, src.height, c, width, horizontal: true)
        let v = pass(h, width, src.height, c, height, horizontal: false)
        return PixelBuffer(width: width, height: height, channels: c,
                           pixels: v.map { UInt8(max(0, min(255, $0.rounded()))) })
    }
}
