import CTurboJPEG
import TesseraSupport

/// A picture as TurboJPEG's separate planes (Y, then Cb and Cr unless gray), each a one-channel
/// `PixelBuffer` of TurboJPEG's plane size (`tjPlaneWidth`/`tjPlaneHeight`: padded to whole chroma
/// samples), with `width` x `height` the luma picture itself.
public struct YUVPlanes: Sendable {
    public var planes: [PixelBuffer]
    public var width: Int
    public var height: Int
    /// TurboJPEG's TJSAMP_* of the planes.
    public var subsampling: Int32

    /// The plane sizes TurboJPEG reads or writes for a `width` x `height` picture at `subsampling`.
    static func planeSizes(width: Int, height: Int, subsampling: Int32) -> [(width: Int, height: Int)] {
        let count = subsampling == Int32(TJSAMP_GRAY.rawValue) ? 1 : 3
        return (0..<count).map { (Int(tjPlaneWidth(Int32($0), Int32(width), subsampling)),
                                  Int(tjPlaneHeight(Int32($0), Int32(height), subsampling))) }
    }

    /// Luma pixels a sample of plane `index` spans, across and down (1 for luma; 2 and 2 for 4:2:0 chroma).
    static func samplePixels(_ index: Int, subsampling: Int32) -> (x: Int, y: Int) {
        guard index > 0 else { return (1, 1) }
        return (mcuWidth(subsampling) / 8, mcuHeight(subsampling) / 8)
    }

    static func mcuWidth(_ subsampling: Int32) -> Int {
        switch subsampling {
        case Int32(TJSAMP_422.rawValue), Int32(TJSAMP_420.rawValue): 16
        case Int32(TJSAMP_411.rawValue): 32
        default: 8
        }
    }

    static func mcuHeight(_ subsampling: Int32) -> Int {
        switch subsampling {
        case Int32(TJSAMP_420.rawValue), Int32(TJSAMP_440.rawValue): 16
        default: 8
        }
    }

    /// Bytes of the planes of a `width` x `height` picture.
    static func bytes(width: Int, height: Int, subsampling: Int32) -> Int {
        planeSizes(width: width, height: height, subsampling: subsampling).reduce(0) { $0 + $1.width * $1.height }
    }

    /// The name of a TJSAMP_* value, for notes.
    static func name(_ subsampling: Int32) -> String {
        switch subsampling {
        case Int32(TJSAMP_444.rawValue): "4:4:4"
        case Int32(TJSAMP_422.rawValue): "4:2:2"
        case Int32(TJSAMP_420.rawValue): "4:2:0"
        case Int32(TJSAMP_GRAY.rawValue): "gray"
        case Int32(TJSAMP_440.rawValue): "4:4:0"
        case Int32(TJSAMP_411.rawValue): "4:1:1"
        default: "other"
        }
    }
}
