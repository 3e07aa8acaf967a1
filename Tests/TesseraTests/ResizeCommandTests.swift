import Foundation
import Testing
import TesseraImaging
import TesseraLocal

/// `tessera resize` as a user runs it: a process, files in and out, an exit status.
struct ResizeCommandTests {
    /// Runs `tessera resize` on `input`; its exit status, output, result file, peak RSS and wall time.
    static func resize(_ input: [UInt8], _ arguments: [String])
        throws -> (status: Int32, log: String, output: [UInt8]?, peakRSSKiB: Int, seconds: Double) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("resize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inURL = dir.appendingPathComponent("in.jpg"), outURL = dir.appendingPathComponent("out.jpg")
        try Data(input).write(to: inURL)
        let binary = FunctionProcess.binDirectory.appendingPathComponent("tessera").path
        let start = Date()
        let child = try ChildProcess([binary, "resize", inURL.path, outURL.path] + arguments, environment: [:],
                                    logPath: dir.appendingPathComponent("log").path)
        let exit = child.waitForExit(timeout: 60)
        if exit == nil { child.terminate() }
        return (exit?.status ?? -1, child.log, try? [UInt8](Data(contentsOf: outURL)), exit?.peakRSSKiB ?? 0,
                Date().timeIntervalSince(start))
    }

    func resize(_ input: [UInt8], _ arguments: [String]) throws -> (status: Int32, log: String, output: [UInt8]?) {
        let result = try Self.resize(input, arguments)
        return (result.status, result.log, result.output)
    }

    @Test func resizesAndReportsTheSize() throws {
        let result = try resize(Fixtures.bytes("photos/fresh-flower.jpg"), ["--fit", "256x256", "--quality", "80"])
        #expect(result.status == 0, "\(result.log)")
        #expect(result.log.contains("256x192"))
        let info = try JPEGInspector.inspect(try #require(result.output))
        #expect((info.width, info.height) == (256, 192))
    }

    @Test func refusesHostileInputsWithTheirError() throws {
        let base = try Fixtures.bytes("photos/ladybird-420.jpg")
        let cases: [(String, [UInt8], String)] = [
            ("png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "unsupported format: PNG"),
            ("empty", [], "unsupported format: empty input"),
            ("huge header", JPEGSurgery.withSize(base, width: 65_535, height: 65_535), "over the limit of 50000000 pixels"),
            ("truncated", Array(base.prefix(base.count / 2)), "truncated JPEG"),
            ("12-bit", JPEGSurgery.withPrecision(base, 12), "12-bit samples"),
        ]
        for (what, bytes, message) in cases {
            let result = try resize(bytes, ["--scale", "50%"])
            #expect(result.status == 1, "\(what): \(result.log)")
            #expect(result.log.contains(message), "\(what): \(result.log)")
            #expect(result.output == nil, "\(what): no output file on failure")
        }
    }

    @Test func aScaleOverJPEGsLargestSideIsRefusedByName() throws {
        let strip = try JPEGEncoder().encode(PixelBuffer(width: 1, height: 65_500, channels: 1,
                                                         pixels: [UInt8](repeating: 90, count: 65_500)),
                                             quality: 85, subsampling: .s420)
        let result = try resize(strip, ["--scale", "300%", "--upscale"])
        #expect(result.status == 1, "\(result.log)")
        #expect(result.log.contains("Imaging.OutputTooLarge: rendition \"300%:upscale\" would be 3x196500, "
                                    + "over JPEG's largest side of 65500 pixels"), "\(result.log)")
        #expect(result.output == nil)
    }

    /// ArgumentParser's usage error: status 64 (EX_USAGE), the message, the usage line, and no output file.
    @Test func badArgumentsAreUsageErrors() throws {
        let base = try Fixtures.bytes("photos/ladybird-420.jpg")
        let cases: [([String], String)] = [
            (["--scale", "50%", "--fit", "10x10"], "give exactly one of --scale, --fit, --size, --width"),
            ([], "give exactly one of --scale, --fit, --size, --width"),
            (["--fit", "0x10"], #"invalid rendition "fit:0x10": "0" is not a whole number of pixels from 1 to 65500"#),
            (["--scale", "0%"], #"invalid rendition "0%": a percentage must be a number above 0, like 50%"#),
            (["--scale", "50%", "--quality", "0"], "--quality must be 1 to 100"),
            (["--scale", "50%", "--memory", "64"], "--memory must be a Lambda memory size, 128 to 10240 (MB)"),
            (["--scale", "50%", "--memory", "20000"], "--memory must be a Lambda memory size, 128 to 10240 (MB)"),
        ]
        for (arguments, message) in cases {
            let result = try resize(base, arguments)
            #expect(result.status == 64, "\(arguments): \(result.log)")
            #expect(result.log.hasPrefix("Error: \(message)\nUsage: tessera resize [<options>] <input> <output>\n"),
                    "\(arguments): \(result.log)")
            #expect(result.output == nil, "\(arguments)")
        }
    }
}
