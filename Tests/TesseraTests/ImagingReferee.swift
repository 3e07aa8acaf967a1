import Foundation
@testable import TesseraImaging

/// Other programs as referees for the imaging tests: libjpeg-turbo's own `djpeg` and `jpegtran`, and
/// `exiftool` (Debian's libjpeg-turbo-progs and libimage-exiftool-perl, installed by scripts/setup).
enum ImagingReferee {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Run {
        var status: Int32
        var stderr: String
    }

    static func tool(_ name: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw Failure(description: "\(name) is not installed: scripts/setup installs it (libjpeg-turbo-progs, libimage-exiftool-perl)")
    }

    /// A fresh directory for one test's files, removed by the caller.
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a tool to its end; its standard output is not read (the tools write files).
    @discardableResult
    static func run(_ name: String, _ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try tool(name))
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// What libjpeg makes of a JPEG, decoded by `djpeg` at full size with its defaults (the accurate
    /// integer IDCT, fancy upsampling, block smoothing: TurboJPEG's defaults too). `status` is djpeg's
    /// exit status: 0, 2 when libjpeg warned (the picture decoded), 1 when it failed (no pixels).
    static func djpeg(_ jpeg: [UInt8]) throws -> (pixels: PixelBuffer?, status: Int32, messages: String) {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.jpg"), output = folder.appendingPathComponent("out.pnm")
        try Data(jpeg).write(to: input)
        let run = try run("djpeg", ["-pnm", "-outfile", output.path, input.path])
        let pixels = run.status == 1 ? nil : try pnm([UInt8](Data(contentsOf: output)))
        return (pixels, run.status, run.stderr)
    }

    /// A binary PPM (P6) or PGM (P5) as djpeg writes it: "P6\nW H\n255\n" and the samples.
    static func pnm(_ bytes: [UInt8]) throws -> PixelBuffer {
        var fields: [String] = [], at = 0
        while fields.count < 4 && at < bytes.count {
            while at < bytes.count && [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
            let start = at
            while at < bytes.count && ![0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
            fields.append(String(decoding: bytes[start..<at], as: UTF8.self))
        }
        at += 1  // the one whitespace byte after the maximum value
        guard fields.count == 4, ["P5", "P6"].contains(fields[0]), let width = Int(fields[1]), let height = Int(fields[2]),
              fields[3] == "255" else { throw Failure(description: "not a binary PNM from djpeg: \(fields)") }
        let channels = fields[0] == "P6" ? 3 : 1
        guard bytes.count - at == width * height * channels else { throw Failure(description: "PNM of the wrong size") }
        return PixelBuffer(width: width, height: height, channels: channels, pixels: Array(bytes[at...]))
    }
}
