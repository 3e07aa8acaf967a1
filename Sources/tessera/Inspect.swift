import ArgumentParser
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraSupport
import TesseraLocal

/// `tessera inspect`: what a JPEG's markers say, without decoding it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a JPEG's layout from its markers alone.")

    @Argument(help: "Files to inspect.") var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                guard let bytes = readFile(file) else {
                    failed = true
                    print("\(file): cannot read it")
                    continue
                }
                let info = try JPEGInspector.inspect(bytes)
                print("\(file): \(info.width)x\(info.height) \(info.colorSpace.rawValue) \(info.subsampling)"
                    + (info.isProgressive ? " progressive" : " baseline") + (info.isArithmetic ? " arithmetic" : "")
                    + " \(info.scanCount) scan" + (info.scanCount == 1 ? "" : "s")
                    + " orientation \(info.orientation)" + (info.hasICCProfile ? " ICC" : ""))
                for note in info.notes { print("\(file): note: \(note)") }
            } catch let error as ImagingError {
                failed = true
                print("\(file): \(error.errorType): \(error)")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
