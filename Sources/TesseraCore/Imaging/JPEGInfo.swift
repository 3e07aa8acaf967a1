/// What a JPEG's markers say, read without decoding any pixels.
public struct JPEGInfo: Sendable, Equatable {
    public enum ColorSpace: String, Sendable { case gray, yCbCr = "YCbCr", rgb = "RGB", cmyk = "CMYK", ycck = "YCCK" }

    public var width = 0
    public var height = 0
    public var components = 0
    public var precision = 8
    public var colorSpace = ColorSpace.yCbCr
    /// `4:2:0`, `4:2:2`, `4:4:4`, `4:4:0`, `4:1:1`, `gray` or `other`.
    public var subsampling = "other"
    public var isProgressive = false
    public var isArithmetic = false
    /// EXIF orientation 1...8 (1 when absent or invalid).
    public var orientation = 1
    /// File offset of the orientation value (2 bytes), to rewrite it when metadata is kept.
    public var orientationOffset: Int?
    public var orientationBigEndian = true
    /// The ICC profile, reassembled from its APP2 chunks.
    public var iccProfile: [UInt8]?
    /// The whole APP1 Exif segment (marker included), kept only on request.
    public var exifSegment: Range<Int>?
    /// An Adobe APP14 marker was present (its CMYK is stored inverted).
    public var hasAdobeMarker = false

    public var hasICCProfile: Bool { iccProfile != nil }

    /// Width and height as displayed, after the EXIF orientation.
    public var orientedSize: (width: Int, height: Int) {
        orientation >= 5 ? (height, width) : (width, height)
    }
}
